/**
 * A group's finished tasks are ordinary checkpointed tasks: SIGKILL the CLI once the group's
 * first task has completed, `resume`, and (from the fake `claude`'s own log) every task,
 * group children included, completed exactly once. Both backends.
 */
import { execa, type ResultPromise } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { CLI_BIN } from './helpers/cli.js';
import { completionsPerTask, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

const test = it.extend<{ world: FakeWorld }>({
  world: async ({}, use) => {
    const world = fakeWorld();
    await use(world);
    world.cleanup();
  },
});

const SPEC = `id: fix
max_parallel: 1
tasks:
  - id: build
    prompt: "work on build"
  - id: fix_tests
    depends_on: [build]
    tasks:
      - id: test
        prompt: "work on test after {{tasks.build.output}}"
      - id: resolve
        depends_on: [test]
        prompt: "work on resolve [[delay:300]]"
  - id: ship
    depends_on: [fix_tests]
    prompt: "work on ship"
`;

const IDS = ['build', 'fix_tests.test', 'fix_tests.resolve', 'ship'];

describe('a group resumes after kill -9 without running a finished task again', { concurrent: true }, () => {
  for (const factory of backendFactories()) {
    const backend = factory.name === 'SqliteStateBackend' ? 'sqlite' : 'json';
    test(`${factory.name}`, { timeout: 90_000 }, async ({ world, expect }) => {
      const file = join(world.root, 'fix.yaml');
      writeFileSync(file, SPEC);
      const start = (args: string[]): ResultPromise =>
        execa(process.execPath, [CLI_BIN, ...args, '--state-dir', world.stateDir, '--backend', backend], {
          env: { ...world.env, FAKE_CLAUDE_EXIT_WITH_PARENT: '1' },
          reject: false,
          stdin: 'ignore',
        });
      const child = start(['run', file, '--run-id', 'g-kill', '--json']);
      const until = Date.now() + 30_000;
      for (;;) {
        const store = await factory.create(world.stateDir);
        const run = await store.loadRun('g-kill').catch(() => undefined);
        await store.close();
        if (run?.records.some((r) => r.taskId === 'fix_tests.test' && r.status === 'completed')) break;
        if (Date.now() > until) throw new Error('the group\'s first task never completed');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      await child;

      const resumed = await start(['resume', 'g-kill', '--json']);
      expect(resumed.exitCode).toBe(0);
      const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
      expect(result.status).toBe('completed');
      expect(result.taskResults.map((t) => [t.taskId, t.status])).toEqual(IDS.map((id) => [id, 'completed']));
      expect(completionsPerTask(world)).toEqual({ build: 1, test: 1, resolve: 1, ship: 1 });
    });
  }
});
