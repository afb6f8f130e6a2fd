/**
 * A loop through the CLI (ADW's test → resolve): a looping group whose test command fails in
 * iteration 1 (allowed), an agent (the fake `claude`) resolves it, iteration 2 passes. `run
 * --dry-run` shows the loop's bound, `status` lists the iterations under the loop in order (a row each, its tasks under it),
 * `logs <run> fix_tests#1.resolve` shows one iteration's task, `events` shows
 * `loop.iteration`, `report` runs.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const WORKFLOW = `
id: fix-loop
tasks:
  - id: fix_tests
    repeat: { until: tasks.test.exit_code == 0, max: 3 }
    tasks:
      - id: test
        command: [node, -e, "process.stdout.write('run ' + process.argv[1]); process.exit(Number(process.argv[1]) >= 2 ? 0 : 1)", "{{iteration}}"]
        allow_failure: true
        retry_count: 1
      - id: resolve
        depends_on: [test]
        when: tasks.test.status == "failed"
        prompt: "resolve the failures of iteration {{iteration}}: {{tasks.test.output}}"
  - id: ship
    depends_on: [fix_tests]
    command: [node, -e, "process.stdout.write('shipped ' + process.argv[1])", "{{tasks.fix_tests.test.output}}"]
`;

const EXHAUSTED = `
id: tries
tasks:
  - id: tries
    command: [node, -e, "process.stdout.write('try ' + process.argv[1])", "{{iteration}}"]
    repeat: { until: tasks.tries.output == "never", max: 2, on_exhausted: continue }
  - id: never
    when: "false"
    repeat: { until: "true", max: 2 }
    tasks:
      - id: a
        command: [node, -e, ""]
  - id: after
    depends_on: [tries, never]
    command: [node, -e, "process.stdout.write(process.argv[1])", "{{tasks.tries.output}}"]
`;

describe('a loop seen through the CLI', () => {
  it('an exhausted loop that continues: --dry-run says so, status notes it, stats counts its iterations (not a skipped loop)', async () => {
    const file = join(world.root, 'tries.yaml');
    writeFileSync(file, EXHAUSTED);
    const state = ['--state-dir', world.stateDir];
    const dry = await cli(['run', file, '--dry-run'], world.env);
    expect(dry.stdout).toContain('repeat ≤ 2: until tasks.tries.output == "never" (iterations tries#<k> from 1; then it completes, exhausted)');
    const run = await cli(['run', file, '--run-id', 'tries1', '--json', ...state], world.env);
    expect(run.code, run.stderr).toBe(0);
    const byId = Object.fromEntries((JSON.parse(run.stdout) as WorkflowResult).taskResults.map((t) => [t.taskId, t]));
    expect(byId.tries).toMatchObject({ status: 'completed', exhausted: true, iteration: 2 });
    expect(byId.never).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    expect(byId.after!.output).toBe('try 2');
    const status = await cli(['status', 'tries1', ...state], world.env);
    expect(status.stdout).toContain('loop: iteration 2 (exhausted: until never held)');
    const stats = await cli(['stats', 'tries1', '--by', 'task', ...state], world.env);
    expect(stats.stdout).toMatch(/^tries\s+2\s+100%/m);
    expect(stats.stdout).not.toMatch(/^never/m);
  });

  it('runs, and --dry-run, status, logs, events and report show its iterations', async () => {
    const file = join(world.root, 'flow.yaml');
    writeFileSync(file, WORKFLOW);
    const state = ['--state-dir', world.stateDir];

    const dry = await cli(['run', file, '--dry-run'], world.env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('wave 1: fix_tests (repeat ≤ 3)');
    expect(dry.stdout).toContain('fix_tests (group of test, resolve, 1 attempt)');
    expect(dry.stdout).toContain('repeat ≤ 3: until tasks.test.exit_code == 0 (iterations fix_tests#<k>.<task> from 1; then it fails)');

    const run = await cli(['run', file, '--run-id', 'loop1', '--json', ...state], world.env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.fix_tests).toMatchObject({ status: 'completed', iteration: 2 });
    expect(byId['fix_tests#1.test']).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(byId['fix_tests#2.resolve']).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    expect(byId.ship!.output).toBe('shipped run 2');
    const prompts = world.invocations().filter((c) => c.prompt !== undefined).map((c) => String(c.prompt));
    expect(prompts).toEqual(['resolve the failures of iteration 1: run 1']);
    expect(existsSync(join(world.stateDir, 'loop1', 'fix_tests#1.resolve', 'raw_output.jsonl'))).toBe(true);

    const status = await cli(['status', 'loop1', ...state], world.env);
    expect(status.code).toBe(0);
    const rows = status.stdout.split('\n\n')[1]!.split('\n').slice(2);
    expect(rows.map((l) => /^ *\S+/.exec(l)![0])).toEqual(['fix_tests', '  fix_tests#1', '    fix_tests#1.test', '    fix_tests#1.resolve', '  fix_tests#2', '    fix_tests#2.test', '    fix_tests#2.resolve', 'ship']);
    expect(status.stdout).toContain('loop: iteration 2; 2/2 done, 1 failed');
    expect(status.stdout).toMatch(/\n  fix_tests#2 +completed .*iteration: 2\/2 done, 1 skipped\n/);

    const logs = await cli(['logs', 'loop1', 'fix_tests#1.resolve', ...state], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('fix_tests#1.resolve');
    expect(logs.stdout).not.toContain('fix_tests#1.test');
    const unknown = await cli(['logs', 'loop1', 'fix_tests#1.nope', ...state], world.env);
    expect(unknown.code).not.toBe(0);

    const events = await cli(['events', 'loop1', ...state], world.env);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/loop\.iteration\s+fix_tests\s+iteration 1 of at most 3/);
    expect(events.stdout).toMatch(/loop\.iteration\s+fix_tests\s+iteration 2 of at most 3/);
    // The iteration's last task (skipped by its when) comes before the loop's end.
    const lines = events.stdout.split('\n');
    const skipped = lines.findIndex((l) => /task\.skipped\s+fix_tests#2\.resolve/.test(l));
    const ended = lines.findIndex((l) => /task\.completed\s+fix_tests\s/.test(l));
    expect([skipped > 0, ended > skipped]).toEqual([true, true]);

    // stats counts the iterations' tasks under the loop's (fix_tests.test), not per iteration.
    const stats = await cli(['stats', 'loop1', '--by', 'task', ...state], world.env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^fix_tests\.test\s+2\s+50%/m);
    expect(stats.stdout).toMatch(/^fix_tests\.resolve\s+1\s+100%/m);
    expect(stats.stdout).not.toContain('fix_tests#');

    const report = await cli(['report', 'loop1', '-o', '-', ...state], world.env);
    expect(report.code, report.stderr).toBe(0);
    // (How the report presents the iterations is the report's: here, it runs and names the loop.)
    expect(report.stdout).toContain('fix_tests');
  });
});
