import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLifecycleEvent } from '../src/event-bus.js';
import {
  WorkflowOrchestrator,
  type TaskEvent,
  type WorkflowResult,
  type WorkflowSpecInput,
} from '../src/index.js';
import { eventually, fakeWorld, isAlive, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let restoreEnv: () => void;
beforeEach(() => {
  world = fakeWorld();
  // Tasks run the fake claude: point the runtime at it through the process env, as a user would.
  restoreEnv = setProcessEnv(world.env);
});
afterEach(() => {
  restoreEnv();
  world.cleanup();
});

function orchestrator(): WorkflowOrchestrator {
  return new WorkflowOrchestrator({ stateDir: world.stateDir, retry: { baseDelayMs: 20, jitter: 'none' } });
}

function task(id: string, depends_on: string[] = [], prompt = `Do ${id} [[delay:150]]`) {
  return { id, prompt, depends_on };
}

/** Intervals [start, end] of each task, from the results. */
function spans(result: WorkflowResult): Record<string, [number, number]> {
  return Object.fromEntries(
    result.taskResults
      .filter((t) => t.startedAt && t.endedAt)
      .map((t) => [t.taskId, [Date.parse(t.startedAt!), Date.parse(t.endedAt!)]]),
  );
}

function maxConcurrency(s: Record<string, [number, number]>): number {
  const points = Object.values(s).flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  // ends before starts at the same millisecond
  points.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d!));
  return max;
}

describe('WorkflowOrchestrator', () => {
  it('runs a diamond in dependency order and passes outputs through templates', async () => {
    const spec: WorkflowSpecInput = {
      id: 'diamond',
      inputs: { feature: 'dark mode' },
      tasks: [
        { id: 'plan', prompt: 'Plan {{inputs.feature}} [[echo]]' },
        { id: 'api', prompt: 'API for: {{tasks.plan.output}} [[echo]]', depends_on: ['plan'] },
        { id: 'ui', prompt: 'UI [[reply:ui done]]', depends_on: ['plan'] },
        { id: 'merge', prompt: 'Merge {{tasks.api.output}} + {{tasks.ui.output}} from {{tasks.plan.session_id}} [[echo]]', depends_on: ['api', 'ui'] },
      ],
    };
    const result = await orchestrator().runWorkflow(spec);
    expect(result.status).toBe('completed');
    expect(result.success).toBe(true);
    expect(result.taskResults.map((t) => t.taskId)[0]).toBe('plan');
    expect(result.taskResults.map((t) => t.taskId)[3]).toBe('merge');
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.plan!.output).toBe('Plan dark mode [[echo]]');
    expect(byId.api!.output).toBe('API for: Plan dark mode [[echo]] [[echo]]');
    expect(byId.merge!.output).toContain(`+ ui done from ${byId.plan!.sessionId}`);
    expect(result.costUsd).toBeCloseTo(result.taskResults.reduce((s, t) => s + t.costUsd, 0));
    expect(result.tokens.input).toBeGreaterThan(0);
    const s = spans(result);
    expect(s.api![0]).toBeGreaterThanOrEqual(s.plan![1]);
    expect(s.merge![0]).toBeGreaterThanOrEqual(Math.max(s.api![1], s.ui![1]));
    expect(result.workflowId).toBe('diamond');
    expect(result.runId).toMatch(/\w+/);
  });

  it('never runs more than max_parallel tasks at once on a wide DAG', async () => {
    const tasks = Array.from({ length: 9 }, (_, i) => task(`t${i}`));
    const result = await orchestrator().runWorkflow({ id: 'wide', max_parallel: 3, tasks });
    expect(result.status).toBe('completed');
    expect(maxConcurrency(spans(result))).toBe(3);
    const calls = world.invocations().filter((c) => c.prompt);
    expect(calls).toHaveLength(9);
  });

  it('starts a task as soon as its own dependency ends, while an unrelated sibling still runs (no barrier)', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'no-barrier',
      tasks: [
        task('slow', [], 'slow [[delay:2000]]'),
        task('fast', [], 'fast [[delay:50]]'),
        task('after-fast', ['fast'], 'after fast [[delay:50]]'),
      ],
    });
    const s = spans(result);
    expect(s['after-fast']![0]).toBeLessThan(s.slow![1]);
    expect(result.taskResults.map((t) => t.taskId)).toEqual(['fast', 'after-fast', 'slow']);
  });

  it('starts the ready task with the longest remaining critical path first', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'critical',
      max_parallel: 1,
      tasks: [
        task('leaf', [], 'leaf'),
        task('head', [], 'head'),
        task('mid', ['head'], 'mid'),
        task('tail', ['mid'], 'tail'),
      ],
    });
    // head (path of 3) beats leaf (1); then mid (2) beats leaf; then leaf and tail tie (1): declaration order.
    expect(result.taskResults.map((t) => t.taskId)).toEqual(['head', 'mid', 'leaf', 'tail']);
  });

  it('on_failure stop: nothing starts after a failure, running tasks finish, the rest is skipped', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'stop',
      max_parallel: 2,
      tasks: [
        { id: 'bad', prompt: '[[is-error:broken]] bad', retry_count: 1 },
        task('running', [], 'long [[delay:800]]'),
        task('later', [], 'later'),
        task('child', ['bad'], 'child'),
      ],
    });
    expect(result.status).toBe('failed');
    expect(result.success).toBe(false);
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.bad!.status).toBe('failed');
    expect(byId.bad!.error?.code).toBe('AGENT_ERROR');
    expect(byId.running!.status).toBe('completed');
    expect(byId.later!.status).toBe('skipped');
    expect(byId.child!.status).toBe('skipped');
    expect(world.invocations().filter((c) => c.prompt).map((c) => c.prompt)).not.toContain('later');
  });

  it('on_failure continue: only the transitive dependants of the failed task are skipped', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'continue',
      on_failure: 'continue',
      tasks: [
        { id: 'bad', prompt: '[[crash]] bad', retry_count: 1 },
        task('child', ['bad'], 'child'),
        task('grandchild', ['child'], 'grandchild'),
        task('independent', [], 'independent'),
        task('after-independent', ['independent'], 'after'),
      ],
    });
    expect(result.status).toBe('failed');
    const status = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t.status]));
    expect(status).toEqual({ bad: 'failed', child: 'skipped', grandchild: 'skipped', independent: 'completed', 'after-independent': 'completed' });
    const skipped = result.taskResults.find((t) => t.taskId === 'grandchild')!;
    expect(skipped.reason).toMatch(/bad/);
  });

  it('retries a transient failure within a task and counts the attempts', async () => {
    const o = orchestrator();
    const seen: string[] = [];
    onLifecycleEvent(o.bus, (e) => {
      if ('attempt' in e) seen.push(`${e.type}#${e.attempt}${'maxAttempts' in e ? `/${e.maxAttempts}` : ''}`);
    });
    const result = await o.runWorkflow({ id: 'retry', tasks: [{ id: 'flaky', prompt: '[[transient:2]] flaky', retry_count: 3 }] });
    expect(result.status).toBe('completed');
    expect(result.taskResults[0]!.attempts).toBe(3);
    expect(seen.filter((s) => !s.startsWith('task.progress'))).toEqual([
      'task.started#1/3',
      'task.retrying#1',
      'task.started#2/3',
      'task.retrying#2',
      'task.started#3/3',
    ]);
  });

  it("waits below retry_delay (a task's own, else the defaults'), doubling per retry, over the orchestrator's backoff", async () => {
    // The orchestrator's own policy would wait exactly 20 ms (jitter none): retry_delay overrides its base only.
    const o = orchestrator();
    const delays: Record<string, number[]> = {};
    o.bus.subscribe('task.retrying', ({ payload: e }) => void (delays[e.taskId] ??= []).push(e.delayMs));
    const result = await o.runWorkflow({
      id: 'delays',
      defaults: { retry_delay: 0.3 },
      tasks: [
        { id: 'own', prompt: '[[transient:2]] own', retry_delay: 0.1 },
        { id: 'inherited', prompt: '[[transient:1]] inherited' },
        { id: 'none', prompt: '[[transient:2]] none', retry_delay: 0 },
      ],
    });
    expect(result.status).toBe('completed');
    expect(delays).toEqual({ own: [100, 200], inherited: [300], none: [0, 0] });
  });

  it('stops starting tasks once the budget is reached and ends budget_exceeded', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'budget',
      max_parallel: 1,
      budget_usd: 0.000001,
      tasks: [task('first', [], 'first'), task('second', [], 'second')],
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.success).toBe(false);
    expect(result.taskResults.map((t) => [t.taskId, t.status])).toEqual([
      ['first', 'completed'],
      ['second', 'skipped'],
    ]);
  });

  it('cancel() kills running agents and their children, and the run ends cancelled', async () => {
    const o = orchestrator();
    const started: string[] = [];
    o.bus.subscribe('task.started', ({ payload: e }) => {
    started.push(e.taskId);
  });
    const run = o.runWorkflow({
      id: 'cancel',
      tasks: [task('hang1', [], '[[hang-child]] one'), task('hang2', [], '[[hang]] two'), task('next', ['hang1'], 'next')],
    });
    await eventually(() => world.invocations().filter((c) => c.prompt).length === 2);
    await o.cancel();
    const result = await run;
    expect(result.status).toBe('cancelled');
    const status = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t.status]));
    expect(status).toEqual({ hang1: 'cancelled', hang2: 'cancelled', next: 'skipped' });
    for (const call of world.invocations().filter((c) => c.prompt)) {
      expect(await eventually(() => !isAlive(call.pid as number))).toBe(true);
    }
    expect(started.sort()).toEqual(['hang1', 'hang2']);
  });

  it('runs command tasks with templated arguments, no shell', async () => {
    const result = await orchestrator().runWorkflow({
      id: 'commands',
      inputs: { name: 'world' },
      tasks: [
        { id: 'hello', command: [process.execPath, '-e', 'console.log("hello " + process.argv[1])', '{{inputs.name}}'] },
        { id: 'shout', command: [process.execPath, '-e', 'console.log(process.argv[1].toUpperCase())', '{{tasks.hello.output}} $HOME'], depends_on: ['hello'] },
        { id: 'fails', command: [process.execPath, '-e', 'process.exit(3)'], depends_on: ['shout'] },
      ],
    });
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.hello!.output).toBe('hello world');
    expect(byId.shout!.output).toBe('HELLO WORLD $HOME');
    expect(byId.fails!.status).toBe('failed');
    expect(byId.fails!.error).toMatchObject({ code: 'COMMAND_FAILED', exitCode: 3 });
    expect(byId.fails!.attempts).toBe(1);
    // a finished run leaves no process registry behind
    expect(existsSync(join(world.stateDir, result.runId, '.processes'))).toBe(false);
  });

  it('keeps a process registry only for a checkpointed run (only such a run can be resumed)', async () => {
    const spec = { id: 'reg', tasks: [{ id: 'peek', command: [process.execPath, '-e', 'setTimeout(() => {}, 300)'] }] };
    const seen: boolean[] = [];
    for (const o of [orchestrator(), new WorkflowOrchestrator(null, { stateDir: world.stateDir })]) {
      const runId = `reg-${seen.length}`;
      o.bus.subscribe('task.started', () => {
        setTimeout(() => seen.push(existsSync(join(world.stateDir, runId, '.processes'))), 150);
      });
      expect((await o.runWorkflow(spec, { runId })).status).toBe('completed');
    }
    expect(seen).toEqual([true, false]);
  });

  it('publishes typed task and workflow events on its bus', async () => {
    const o = orchestrator();
    const seen: string[] = [];
    onLifecycleEvent(o.bus, (e) => {
      if (e.type !== 'task.progress') seen.push(`${e.type}:${(e as TaskEvent).taskId ?? ''}`);
    });
    await o.runWorkflow({ id: 'events', tasks: [task('only', [], 'only')] });
    expect(seen).toEqual(['workflow.started:', 'task.started:only', 'task.completed:only', 'workflow.finished:']);
  });

  it('rejects an invalid spec before anything runs', async () => {
    await expect(orchestrator().runWorkflow({ id: 'bad', tasks: [{ id: 'a', prompt: '' }] })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    expect(world.invocations()).toHaveLength(0);
  });
});
