/**
 * A run with a group and a fan-out of 25, through the CLI and the fake `claude`, seen in
 * `status` (the group a row with its tasks indented under it; the fan-out a row counting its
 * instances, only those not completed listed past 20, all with --all), `report` (instances
 * under their task, the skipped branch with its reason), `stats` (instances counted as their
 * declared task) and `events` (`task.skipped` with its reason).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const WORKFLOW = `
id: views
max_parallel: 8
tasks:
  - id: plan
    command: [node, -e, "process.stdout.write(JSON.stringify(Array.from({length: 25}, (_, k) => k)))"]
    output: json
  - id: impl
    depends_on: [plan]
    for_each: tasks.plan.json
    allow_failure: true
    command: [node, -e, "process.exit(process.argv[1] === '7' ? 3 : 0)", "{{item}}"]
  - id: checks
    depends_on: [plan]
    tasks:
      - id: lint
        prompt: lint it
      - id: docs
        when: size(tasks.plan.json) > 100
        prompt: write docs
  - id: ship
    depends_on: [impl, checks]
    command: [node, -e, "process.stdout.write('shipped')"]
`;

describe('groups and fan-outs seen in every view', () => {
  it('status, report, stats and events show them grouped', async () => {
    const file = join(world.root, 'flow.yaml');
    writeFileSync(file, WORKFLOW);
    const state = ['--state-dir', world.stateDir];
    const run = await cli(['run', file, '--run-id', 'v1', '--json', ...state], world.env);
    expect(run.code, run.stderr).toBe(0);

    const status = await cli(['status', 'v1', ...state], world.env);
    expect(status.code, status.stderr).toBe(0);
    const table = status.stdout.split('\n\n')[1]!.split('\n').slice(2).filter((l) => l.trim() !== '');
    const first = (l: string) => /^ *\S+/.exec(l)![0];
    expect(table.map(first)).toEqual(['plan', 'impl', '  impl[7]', 'checks', '  checks.lint', '  checks.docs', 'ship', '(24']);
    expect(table[1]).toMatch(/^impl\s+failed \(allowed\)\s.*fan-out of 25 items: 25\/25 done, 1 failed; COMMAND_FAILED: Task "impl": 1 of 25 instances failed/);
    expect(table[2]).toMatch(/^ {2}impl\[7\]\s+failed \(allowed\)\s+1\s.*COMMAND_FAILED/);
    expect(table[3]).toMatch(/^checks\s+completed\s.*group: 2\/2 done, 1 skipped$/);
    expect(table[5]).toMatch(/^ {2}checks\.docs\s+skipped\s.*size\(tasks\.plan\.json\) > 100/);
    expect(table[7]).toBe('(24 completed not listed: agents-sdk status v1 --all lists every instance and iteration)');

    const all = await cli(['status', 'v1', '--all', ...state], world.env);
    const rows = all.stdout.split('\n\n')[1]!.split('\n').slice(2).map(first);
    expect(rows.slice(1, 27)).toEqual(['impl', ...Array.from({ length: 25 }, (_, k) => `  impl[${k}]`)]);

    const report = await cli(['report', 'v1', '-o', '-', ...state], world.env);
    expect(report.code, report.stderr).toBe(0);
    const instanceRows = [...report.stdout.matchAll(/<tr data-task-id="(impl\[\d+\])" data-status="(\w+)"[^>]*data-instance-of="impl"/g)].map((m) => [m[1], m[2]]);
    expect(instanceRows).toHaveLength(25);
    expect(instanceRows[7]).toEqual(['impl[7]', 'failed']);
    expect(instanceRows[10]).toEqual(['impl[10]', 'completed']);
    expect(report.stdout).toMatch(/<tr class="group-row" data-group="checks" data-status="completed">.*2\/2 done, 1 skipped/);
    expect(report.stdout).toMatch(/<li data-task-id="checks\.docs" data-outcome="skipped"><code>checks\.docs<\/code>: skipped: [^<]*size\(tasks\.plan\.json\) &#62; 100 is false/);

    const stats = await cli(['stats', 'v1', '--by', 'task', ...state], world.env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^impl\s+25\s+96%/m);
    expect(stats.stdout).not.toContain('impl[');

    const events = await cli(['events', 'v1', '--json', ...state], world.env);
    const logged = events.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; taskId?: string; record?: { reason?: string }; groups?: unknown });
    const skipped = logged.find((e) => e.type === 'task.skipped' && e.taskId === 'checks.docs');
    expect(skipped?.record?.reason).toContain('size(tasks.plan.json) > 100');
    // The live view and the inspector read the groups from workflow.started.
    expect(logged.find((e) => e.type === 'workflow.started')?.groups).toEqual({ checks: ['checks.lint', 'checks.docs'] });
  });

  it('the summary at the end of a run lists the instances under their task, the completed ones counted past 20', async () => {
    const file = join(world.root, 'flow.yaml');
    writeFileSync(file, WORKFLOW);
    const run = await cli(['run', file, '--run-id', 'v2', '--state-dir', world.stateDir], world.env);
    expect(run.code, run.stderr).toBe(0);
    const table = run.stdout.slice(run.stdout.indexOf('task '));
    expect(table).toMatch(/\nimpl +failed \(allowed\) .*\n {2}impl\[7\] +failed \(allowed\) .*\n {2}… 24 completed\n/);
  });
});
