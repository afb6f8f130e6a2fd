/**
 * A looping group's iterations are checkpointed tasks: SIGKILL the CLI once iteration 2's first
 * task has completed, `resume`, and (from the fake `claude`'s own log) every task of every
 * iteration completed exactly once: the loop went on in the iteration it was in. Both backends.
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
    repeat: { until: iteration == 3, max: 5 }
    tasks:
      - id: test
        prompt: "work on test{{iteration}} after {{tasks.build.output}}"
      - id: resolve
        depends_on: [test]
        prompt: "work on resolve{{iteration}} [[delay:1500]]"
  - id: ship
    depends_on: [fix_tests]
    prompt: "work on ship"
`;

describe('a loop resumes after kill -9 in the iteration it was in', { concurrent: true }, () => {
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
      const child = start(['run', file, '--run-id', 'loop-kill', '--json']);
      const until = Date.now() + 30_000;
      for (;;) {
        const store = await factory.create(world.stateDir);
        const run = await store.loadRun('loop-kill').catch(() => undefined);
        await store.close();
        if (run?.records.some((r) => r.taskId === 'fix_tests#2.test' && r.status === 'completed')) {
          expect(run.records.find((r) => r.taskId === 'fix_tests')).toMatchObject({ status: 'running', iteration: 2 });
          break;
        }
        if (Date.now() > until) throw new Error("iteration 2's first task never completed");
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      await child;

      const resumed = await start(['resume', 'loop-kill', '--json']);
      expect(resumed.exitCode, String(resumed.stderr).slice(-1000)).toBe(0);
      const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
      expect(result.status).toBe('completed');
      const status = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t.status]));
      expect(status).toMatchObject({ fix_tests: 'completed', 'fix_tests#3.resolve': 'completed', ship: 'completed' });
      expect(result.taskResults.find((t) => t.taskId === 'fix_tests')!.iteration).toBe(3);
      expect(completionsPerTask(world)).toEqual({ build: 1, test1: 1, resolve1: 1, test2: 1, resolve2: 1, test3: 1, resolve3: 1, ship: 1 });
    });
  }
});
