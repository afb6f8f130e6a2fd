/**
 * kill -9 during a routed run, then `resume`, on both backends: a task skipped by its `when`
 * stays skipped as recorded (never evaluated again), completed tasks do not run again, and the
 * interrupted join runs to its end.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord, WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { cli, cliProcess } from './helpers/cli.js';
import { eventually, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** A command that appends its name to the counter file, then prints `out`. */
function counted(name: string, out: string): string {
  return `[node, -e, "require('fs').appendFileSync(process.argv[1], '${name}\\\\n'); process.stdout.write('${out}')", "{{inputs.counter}}"]`;
}

function writeSpec(): { file: string; counter: string; go: string } {
  const counter = join(world.root, 'runs.txt');
  const go = join(world.root, 'go');
  // The join waits for the go file (at most 60 s): the run is killed while it waits.
  const joinCommand = `[node, -e, "const fs = require('fs'); fs.appendFileSync(process.argv[1], 'join\\\\n'); const t = setInterval(() => { if (fs.existsSync(process.argv[2])) { clearInterval(t); process.stdout.write('joined') } }, 50); setTimeout(() => process.exit(1), 60000).unref()", "{{inputs.counter}}", "{{inputs.go}}"]`;
  const yaml = `
id: routed
inputs:
  counter: null
  go: null
tasks:
  - id: classify
    command: ${counted('classify', 'bug')}
  - id: fix_bug
    depends_on: [classify]
    when: tasks.classify.output == "bug"
    command: ${counted('fix_bug', 'fixed')}
  - id: add_feature
    depends_on: [classify]
    when: tasks.classify.output == "feature"
    prompt: "build the feature"
  - id: join
    depends_on: [fix_bug, add_feature]
    command: ${joinCommand}
`;
  const file = join(world.root, 'routed.yaml');
  writeFileSync(file, yaml);
  return { file, counter, go };
}

describe('resume after kill -9 keeps when-skipped tasks', () => {
  for (const factory of backendFactories()) {
    it(`${factory.name}: the skipped branch stays skipped, completed tasks do not rerun`, async () => {
      const { file, counter, go } = writeSpec();
      const kind = factory.name.startsWith('Sqlite') ? 'sqlite' : 'json';
      const state = ['--state-dir', world.stateDir, '--backend', kind];
      const inputs = ['--input', `counter=${counter}`, '--input', `go=${go}`];
      const child = cliProcess(['run', file, '--run-id', 'r1', ...inputs, ...state], { env: { ...process.env, ...world.env } as Record<string, string> });
      expect(await eventually(() => existsSync(counter) && readFileSync(counter, 'utf8').includes('join'), 30_000)).toBe(true);
      const backend = await factory.create(world.stateDir);
      let skippedBefore: TaskRecord | undefined;
      try {
        const stored = await backend.loadRun('r1');
        skippedBefore = stored!.records.find((r) => r.taskId === 'add_feature');
      } finally {
        await backend.close();
      }
      expect(skippedBefore).toMatchObject({ status: 'skipped', skippedBy: 'when', reason: 'when: tasks.classify.output == "feature" is false (tasks.classify.output = "bug")' });
      child.kill('SIGKILL');
      await child;

      writeFileSync(go, '');
      const resumed = await cli(['resume', 'r1', '--json', ...state], world.env);
      expect(resumed.code).toBe(0);
      const result = JSON.parse(resumed.stdout) as WorkflowResult;
      expect(result.status).toBe('completed');
      const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
      expect(byId.join).toMatchObject({ status: 'completed', output: 'joined' });
      // the skipped task is the record of the first process, as it was
      expect(byId.add_feature).toMatchObject({ status: 'skipped', skippedBy: 'when', reason: skippedBefore!.reason, endedAt: new Date(skippedBefore!.endedAt!).toISOString() });
      // classify and fix_bug ran once; the join was interrupted, then ran again; the agent never
      expect(readFileSync(counter, 'utf8').split('\n').filter(Boolean)).toEqual(['classify', 'fix_bug', 'join', 'join']);
      expect(world.invocations()).toEqual([]);
    }, 60_000);
  }
});
