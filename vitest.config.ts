import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real subprocesses on a 2-core machine: keep file-level parallelism modest.
    maxWorkers: 2,
    // Test files share their worker's module graph instead of importing src/ (instrumented for
    // coverage) again for each file: that import was ~140 s of the suite's CPU time. Tests put
    // back what they change (process.env, timers, mocks), so files do not see each other's state.
    isolate: false,
    // ...and a file that leaves process.env changed (FAKE_*, CLAUDE_*, ...) fails, put back.
    setupFiles: ['test/setup/env-guard.ts'],
    // ...and the suite fails if it wrote into the repository (agents/, or any new untracked file).
    globalSetup: ['test/setup/repository-guard.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.d.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        lines: 85,
        branches: 85,
      },
    },
  },
});
