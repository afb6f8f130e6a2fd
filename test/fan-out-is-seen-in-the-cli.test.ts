/**
 * A fan-out through the CLI: a planner command's JSON list, one agent instance per item (the
 * fake `claude`), an integrator reading `{{tasks.impl.outputs}}`. `status` lists the instances
 * under their task, `logs <run> impl[1]` shows one instance, `stats` counts them as their task,
 * `report` tells what they did,
 * `events` shows `fanout.expanded`,
 * and `run --dry-run` shows the fan-out as `× n` before anything runs; the live view lists the
 * instances under their task.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowResult } from '../src/index.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const WORKFLOW = `
id: orchestrator-workers
tasks:
  - id: plan
    command: [node, -e, "process.stdout.write(JSON.stringify({subtasks: [{title: 'alpha'}, {title: 'beta'}]}))"]
    output: json
  - id: impl
    depends_on: [plan]
    for_each: tasks.plan.json.subtasks
    max_parallel: 1
    prompt: "implement {{item.title}} (#{{index}})"
  - id: check
    depends_on: [plan]
    for_each: tasks.plan.json.subtasks
    command: [node, -e, "process.stdout.write('checked ' + process.argv[1])", "{{item.title}}"]
  - id: integrate
    depends_on: [impl, check]
    command: [node, -e, "process.stdout.write(process.argv[1] + process.argv[2])", "{{tasks.impl.outputs}}", "{{tasks.check.outputs}}"]
`;

describe('a fan-out seen through the CLI', () => {
  it('runs, and status, logs, events and --dry-run show its instances', async () => {
    const file = join(world.root, 'flow.yaml');
    writeFileSync(file, WORKFLOW);
    const state = ['--state-dir', world.stateDir];

    const dry = await cli(['run', file, '--dry-run'], world.env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('wave 2: impl × n');
    expect(dry.stdout).toContain('for each item of: tasks.plan.json.subtasks (× n: one instance impl[<index>] per item, at most 1000, 1 at once)');
    expect(dry.stdout).toContain('implement <item.title> (#<index>)');

    const run = await cli(['run', file, '--run-id', 'fan1', '--json', ...state], world.env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.impl!.status).toBe('completed');
    const [agents, commands] = byId.integrate!.output!.split('][').map((part, k) => JSON.parse(k === 0 ? `${part}]` : `[${part}`) as string[]);
    expect(agents).toEqual([byId['impl[0]']!.output, byId['impl[1]']!.output]);
    expect(commands).toEqual(['checked alpha', 'checked beta']);
    // Each agent instance's stream is recorded in a directory of its own.
    expect(existsSync(join(world.stateDir, 'fan1', 'impl[1]', 'raw_output.jsonl'))).toBe(true);
    const prompts = world.invocations().filter((c) => c.prompt !== undefined).map((c) => String(c.prompt));
    expect(prompts).toEqual(['implement alpha (#0)', 'implement beta (#1)']);

    const status = await cli(['status', 'fan1', ...state], world.env);
    expect(status.code).toBe(0);
    const rows = status.stdout.split('\n\n')[1]!.split('\n').slice(2);
    expect(rows.map((l) => /^ *\S+/.exec(l)![0])).toEqual(['plan', 'impl', '  impl[0]', '  impl[1]', 'check', '  check[0]', '  check[1]', 'integrate']);
    expect(status.stdout).toContain('fan-out of 2 items');

    const logs = await cli(['logs', 'fan1', 'impl[1]', ...state], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('impl[1]');
    expect(logs.stdout).not.toContain('impl[0]');

    // stats counts the instances as their declared task (the fan-out itself ran nothing).
    const stats = await cli(['stats', 'fan1', '--by', 'task', ...state], world.env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^impl\s+2\s+100%/m);
    expect(stats.stdout).toMatch(/^check\s+2\s+100%/m);
    expect(stats.stdout).not.toContain('impl[');

    // The report tells what a fan-out's instances did.
    const report = await cli(['report', 'fan1', '-o', '-', ...state], world.env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('fan-out of 2 items: 2 completed');

    const events = await cli(['events', 'fan1', ...state], world.env);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/fanout\.expanded\s+impl\s+list recorded: 2 items \(impl\[0\]\.\.impl\[1\]\)/);
  });
});

describe('the live view of a fan-out', () => {
  const base = { workflowId: 'w', runId: 'r', at: 1_000 };

  it('lists the instances under their task once the list is recorded, and those of a resumed run as they come, under it too', () => {
    const view = new ProgressView(() => 2_000);
    view.apply({ type: 'workflow.started', ...base, taskIds: ['plan', 'impl', 'integrate'], resumed: false });
    expect(view.apply({ type: 'fanout.expanded', ...base, taskId: 'impl', count: 2 })).toBe('impl: fan-out of 2 items');
    view.apply({ type: 'task.started', ...base, taskId: 'impl[1]', attempt: 1, maxAttempts: 1 });
    const ids = (text: string) => text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
    expect(ids(view.render())).toEqual(['plan', 'impl', 'impl[0]', 'impl[1]', 'integrate']);
    expect(view.render().split('\n')[0]).toBe('tasks: 4 pending, 1 running');

    const resumed = new ProgressView(() => 2_000);
    resumed.apply({ type: 'workflow.started', ...base, taskIds: ['plan', 'impl', 'integrate'], resumed: true });
    resumed.apply({ type: 'task.started', ...base, taskId: 'impl[4]', attempt: 1, maxAttempts: 1 });
    // Listed under its task too, even though no fanout.expanded was seen in this process.
    expect(ids(resumed.render())).toEqual(['plan', 'impl', 'impl[4]', 'integrate']);
  });
});
