/**
 * A fan-out through the CLI: a planner command's JSON list, one agent instance per item (the
 * fake `claude`), an integrator reading `{{tasks.impl.outputs}}`. `status` lists the instances
 * under their task, `logs <run> impl[1]` shows one instance, `events` shows `fanout.expanded`,
 * and `run --dry-run` shows the fan-out as `× n` before anything runs.
 */
import { writeFileSync } from 'node:fs';
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
  - id: integrate
    depends_on: [impl]
    command: [node, -e, "process.stdout.write(process.argv[1])", "{{tasks.impl.outputs}}"]
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
    const outputs = JSON.parse(byId.integrate!.output!) as string[];
    expect(outputs).toEqual([byId['impl[0]']!.output, byId['impl[1]']!.output]);
    const prompts = world.invocations().filter((c) => c.prompt !== undefined).map((c) => String(c.prompt));
    expect(prompts).toEqual(['implement alpha (#0)', 'implement beta (#1)']);

    const status = await cli(['status', 'fan1', ...state], world.env);
    expect(status.code).toBe(0);
    const rows = status.stdout.split('\n').filter((l) => /^(plan|impl|  impl\[|integrate)/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/)[0]!.trim() || l.trim().split(/\s+/)[0])).toEqual(['plan', 'impl', 'impl[0]', 'impl[1]', 'integrate']);
    expect(status.stdout).toContain('fan-out of 2 items');

    const logs = await cli(['logs', 'fan1', 'impl[1]', ...state], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('impl[1]');
    expect(logs.stdout).not.toContain('impl[0]');

    const events = await cli(['events', 'fan1', ...state], world.env);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/fanout\.expanded\s+impl\s+list recorded: 2 items \(impl\[0\]\.\.impl\[1\]\)/);
  });
});
