/**
 * Routing with `when:`: a classifier's output picks one branch, the other is skipped with its
 * reason (costing nothing: no agent call), and the join after them runs. An expression that
 * cannot be evaluated fails its task with EXPRESSION_ERROR.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type Events, type TaskResult, type WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function writeWorkflow(yaml: string): string {
  const file = join(world.root, 'flow.yaml');
  writeFileSync(file, yaml);
  return file;
}

async function run(yaml: string, runId: string, extra: string[] = []): Promise<{ code: number; result: WorkflowResult; stderr: string }> {
  const out = await cli(['run', writeWorkflow(yaml), '--run-id', runId, '--json', '--state-dir', world.stateDir, ...extra], world.env);
  return { code: out.code, result: JSON.parse(out.stdout) as WorkflowResult, stderr: out.stderr };
}

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/** A classifier printing `label`, one agent branch per label, and a join reading both. */
const ROUTING = (label: string) => `
id: triage
inputs:
  issue: "the login page crashes"
tasks:
  - id: classify
    command: [node, -e, "process.stdout.write(process.argv[1])", "${label}"]
  - id: fix_bug
    depends_on: [classify]
    when: tasks.classify.output == "bug"
    prompt: "fix the bug: {{inputs.issue}}"
  - id: add_feature
    depends_on: [classify]
    when: tasks.classify.output == "feature"
    prompt: "build the feature: {{inputs.issue}}"
  - id: report
    depends_on: [fix_bug, add_feature]
    command: [node, -e, "process.stdout.write(process.argv.slice(1).join('|'))", "{{tasks.fix_bug.status}}", "{{tasks.add_feature.status}}", "{{tasks.add_feature.output}}"]
`;

describe('routing: when picks one branch', () => {
  it('runs the branch the classifier chose, skips the other with its reason and no agent call, then the join', async () => {
    const { code, result } = await run(ROUTING('bug'), 'route-bug');
    expect(code).toBe(0);
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    expect(tasks.fix_bug).toMatchObject({ status: 'completed', attempts: 1 });
    expect(tasks.add_feature).toMatchObject({
      status: 'skipped',
      skippedBy: 'when',
      attempts: 0,
      costUsd: 0,
      reason: 'when: tasks.classify.output == "feature" is false (tasks.classify.output = "bug")',
    });
    expect(tasks.report!.output).toBe('completed|skipped|');
    // One agent call: the branch taken. The other never reached claude.
    const prompts = world.invocations().filter((c) => c.prompt).map((c) => String(c.prompt));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('fix the bug: the login page crashes');
  });

  it('the other label takes the other branch', async () => {
    const { result } = await run(ROUTING('feature'), 'route-feature');
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    expect(tasks.fix_bug).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    expect(tasks.add_feature).toMatchObject({ status: 'completed' });
    expect(tasks.report!.output).toMatch(/^skipped\|completed\|.+/);
    expect(world.invocations().filter((c) => c.prompt).map((c) => String(c.prompt))).toEqual([expect.stringContaining('build the feature')]);
  });

  it('when false on an agent task costs nothing: claude is never started', async () => {
    const { result } = await run(
      `
id: nothing-to-do
inputs:
  mode: dry
tasks:
  - id: write
    when: inputs.mode == "wet"
    prompt: "write the code"
`,
      'no-call',
    );
    expect(result.status).toBe('completed');
    expect(result.costUsd).toBe(0);
    expect(byId(result).write).toMatchObject({ status: 'skipped', costUsd: 0, attempts: 0, reason: 'when: inputs.mode == "wet" is false (inputs.mode = "dry")' });
    expect(world.invocations()).toEqual([]);
  });

  it('a task skipped because a dependency failed still skips its dependants (on_failure: continue)', async () => {
    const { result } = await run(
      `
id: broken
on_failure: continue
tasks:
  - id: build
    retry_count: 1
    command: [node, -e, "process.exit(3)"]
  - id: test
    depends_on: [build]
    when: tasks.build.exit_code == 0
    command: [node, -e, "1"]
  - id: deploy
    depends_on: [test]
    command: [node, -e, "1"]
`,
      'dep-failed',
    );
    expect(result.status).toBe('failed');
    const tasks = byId(result);
    expect(tasks.test).toMatchObject({ status: 'skipped', reason: 'dependency "build" failed' });
    expect(tasks.test!.skippedBy).toBeUndefined();
    expect(tasks.deploy).toMatchObject({ status: 'skipped', reason: 'dependency "build" failed' });
  });

  it('emits task.skipped with the reason', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const skipped: Array<Events['task.skipped']> = [];
    o.bus.subscribe('task.skipped', ({ payload: e }) => {
    skipped.push(e);
  });
    const result = await o.runWorkflow(
      {
        id: 'events',
        tasks: [
          { id: 'probe', command: ['node', '-e', 'process.stdout.write("3")'] },
          { id: 'big', depends_on: ['probe'], when: 'int(tasks.probe.output) > 10', command: ['node', '-e', '1'] },
        ],
      },
      { runId: 'ev' },
    );
    expect(result.status).toBe('completed');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ taskId: 'big', record: { status: 'skipped', skippedBy: 'when', reason: 'when: int(tasks.probe.output) > 10 is false (tasks.probe.output = "3")' } });
  });
});

describe('when and wait_for', () => {
  it('a task whose condition is false does not wait for its event: it is skipped at once', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    let waited = false;
    o.bus.subscribe('task.waiting', () => {
      waited = true;
    });
    const result = await o.runWorkflow(
      {
        id: 'gate',
        tasks: [
          { id: 'check', command: ['node', '-e', 'process.stdout.write("clean")'] },
          { id: 'approve', depends_on: ['check'], when: 'tasks.check.output != "clean"', wait_for: 'approval.granted', command: ['node', '-e', '1'] },
          { id: 'ship', depends_on: ['approve'], command: ['node', '-e', 'process.stdout.write("shipped")'] },
        ],
      },
      { runId: 'gate' },
    );
    expect(result.status).toBe('completed');
    expect(waited).toBe(false);
    expect(byId(result).approve).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    expect(byId(result).ship).toMatchObject({ status: 'completed', output: 'shipped' });
  });
});

describe('EXPRESSION_ERROR', () => {
  it('an expression that cannot be evaluated fails its task, naming the expression and the values it saw', async () => {
    const { code, result } = await run(
      `
id: missing-field
on_failure: continue
tasks:
  - id: probe
    command: [node, -e, "process.stdout.write('ok')"]
  - id: next
    depends_on: [probe]
    when: int(tasks.probe.output) > 1
    prompt: "never"
  - id: after
    depends_on: [next]
    command: [node, -e, "1"]
`,
      'expr-error',
    );
    expect(code).not.toBe(0);
    expect(result.status).toBe('failed');
    const tasks = byId(result);
    expect(tasks.next).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'EXPRESSION_ERROR', transient: false } });
    expect(tasks.next!.error!.message).toContain('Task "next": when: int(tasks.probe.output) > 1: ');
    expect(tasks.next!.error!.message).toContain('(tasks.probe.output = "ok")');
    expect(tasks.after).toMatchObject({ status: 'skipped', reason: 'dependency "next" failed' });
    expect(world.invocations()).toEqual([]);
  });

  it('a value that is not a boolean is an EXPRESSION_ERROR too', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const result = await o.runWorkflow(
      {
        id: 'not-bool',
        tasks: [
          { id: 'probe', command: ['node', '-e', 'process.stdout.write("{}")'] },
          { id: 'next', depends_on: ['probe'], when: 'tasks.probe.json', command: ['node', '-e', '1'] },
        ],
      },
      { runId: 'nb' },
    );
    expect(result.status).toBe('failed');
    const next = result.taskResults.find((t) => t.taskId === 'next')!;
    expect(next.error).toMatchObject({ code: 'EXPRESSION_ERROR' });
    expect(next.error!.message).toContain('not a boolean');
  });
});
