/**
 * Every lifecycle event of runs, tasks and sessions goes through the priority bus
 * (`orchestrator.bus`, `session.bus`): typed by the event catalogue, with its source and
 * priority, in the order they happen, and runs settle once the bus handlers of their events
 * have.
 */
import { describe, expect, it } from 'vitest';
import { AgentSession, PermanentError, TransientError, WorkflowOrchestrator, createEventBus, type BusEvent, type Events, type Executor } from '../src/index.js';
import { lifecyclePriority, type LifecycleEvents } from '../src/event-bus.js';
import { okResult } from './helpers/results.js';

/** `flaky` fails once (529), `bad` fails for good, the rest echo their command. */
function executor(): Executor {
  let flakyCalls = 0;
  return async (request, hooks) => {
    const id = request.kind === 'command' ? request.command[1]! : request.prompt;
    hooks.onEvent({ type: 'assistant_text', sessionId: null, text: `working on ${id}` });
    await new Promise((r) => setImmediate(r));
    if (id === 'flaky' && ++flakyCalls === 1) throw new TransientError('API_OVERLOADED', 'API Error: 529', { apiErrorStatus: 529 });
    if (id === 'bad') throw new PermanentError('AGENT_ERROR', 'nope');
    return okResult({ output: `out-${id}`, costUsd: 0.01 });
  };
}

const workflow = {
  id: 'bus',
  on_failure: 'continue' as const,
  tasks: [
    { id: 'flaky', command: ['echo', 'flaky'], retry_count: 2 },
    { id: 'bad', command: ['echo', 'bad'] },
    { id: 'after', command: ['echo', 'after'], depends_on: ['bad'] },
  ],
};

const quick = { stateBackend: null, executor: executor(), retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' as const } };

describe('orchestrator.bus', () => {
  it('carries every lifecycle event, typed, with its source and priority, in the order they happen', async () => {
    const orchestrator = new WorkflowOrchestrator(quick);
    const onBus: BusEvent[] = [];
    orchestrator.bus.subscribe('*', (e) => {
      onBus.push(e);
    });
    const costs: Record<string, number> = {};
    orchestrator.bus.subscribe('task.completed', (e) => {
      costs[e.source] = e.payload.record.costUsd;
    });

    const result = await orchestrator.runWorkflow(workflow, { runId: 'r1' });
    expect(result.status).toBe('failed');

    const types = onBus.map((e) => e.type);
    expect(types[0]).toBe('workflow.started');
    expect(types.at(-1)).toBe('workflow.finished');
    expect(types.indexOf('task.retrying')).toBeGreaterThan(types.indexOf('task.started'));
    expect(costs).toEqual({ flaky: 0.01 });
    const by = (type: string) => onBus.filter((e) => e.type === type);
    expect(by('workflow.started')[0]).toMatchObject({ source: 'r1', priority: 'normal' });
    expect(by('task.progress').every((e) => e.priority === 'low')).toBe(true);
    expect(by('task.progress').length).toBeGreaterThan(0);
    expect(by('task.retrying')).toEqual([expect.objectContaining({ source: 'flaky', priority: 'normal' })]);
    expect(by('task.failed')).toEqual([expect.objectContaining({ source: 'bad', priority: 'high' })]);
    expect(by('task.skipped')).toEqual([expect.objectContaining({ source: 'after', priority: 'normal' })]);
    expect(by('workflow.finished')[0]).toMatchObject({ source: 'r1', priority: 'normal' });
    for (const e of onBus) expect(e.timestamp).toBe((e.payload as { at: number }).at);
    // The bus keeps its history too.
    expect(orchestrator.bus.getHistory('task.failed')[0]!.payload.record.error?.code).toBe('AGENT_ERROR');
  });

  it('resolves a run only once the async handlers of its events have settled', async () => {
    const orchestrator = new WorkflowOrchestrator(quick);
    let finishedHandled = false;
    orchestrator.bus.subscribe('workflow.finished', async () => {
      await new Promise((r) => setTimeout(r, 50));
      finishedHandled = true;
    });
    await orchestrator.runWorkflow({ id: 'one', tasks: [{ id: 'a', command: ['echo', 'a'] }] });
    expect(finishedHandled).toBe(true);
  });

  it('never lets a throwing bus handler break the run: it becomes bus.handler_error', async () => {
    const orchestrator = new WorkflowOrchestrator(quick);
    orchestrator.bus.subscribe('task.started', () => {
      throw new Error('listener bug');
    });
    const errors: string[] = [];
    orchestrator.bus.subscribe('bus.handler_error', (e) => {
      errors.push(`${e.payload.eventType}: ${e.payload.message}`);
    });
    const result = await orchestrator.runWorkflow({ id: 'one', tasks: [{ id: 'a', command: ['echo', 'a'] }] });
    expect(result.status).toBe('completed');
    expect(errors).toEqual(['task.started: listener bug']);
  });

  it('takes a bus of your own', async () => {
    const bus = createEventBus<Events>({ historyLimit: 10 });
    const orchestrator = new WorkflowOrchestrator({ ...quick, bus });
    expect(orchestrator.bus).toBe(bus);
    await orchestrator.runWorkflow({ id: 'one', tasks: [{ id: 'a', command: ['echo', 'a'] }] }, { runId: 'own' });
    expect(bus.getHistory('workflow.finished')[0]!.source).toBe('own');
  });
});

describe('session.bus', () => {
  it('carries the session events with the session id as source', async () => {
    const session = new AgentSession({ sessionId: 's1', agentName: 'writer', executor: executor() });
    const seen: [string, string, string][] = [];
    session.bus.subscribe('*', (e) => {
      seen.push([e.type, e.source, e.priority]);
    });
    await session.execute('hello');
    expect(seen).toEqual([
      ['session.started', 's1', 'normal'],
      ['session.progress', 's1', 'low'],
      ['session.completed', 's1', 'normal'],
    ]);
    await expect(session.execute('bad')).rejects.toMatchObject({ code: 'AGENT_ERROR' });
    expect(seen.at(-1)).toEqual(['session.failed', 's1', 'high']);
  });
});

describe('lifecyclePriority', () => {
  it('puts failures, cancels and reaps high, progress low, the rest normal', () => {
    const cases: [keyof LifecycleEvents, string][] = [
      ['task.failed', 'high'],
      ['session.failed', 'high'],
      ['task.cancelled', 'high'],
      ['workflow.reaped', 'high'],
      ['session.reaped', 'high'],
      ['task.progress', 'low'],
      ['session.progress', 'low'],
      ['task.retrying', 'normal'],
      ['task.completed', 'normal'],
      ['workflow.finished', 'normal'],
    ];
    expect(cases.map(([type]) => [type, lifecyclePriority(type)])).toEqual(cases);
    const typeChecksOnly = (e: Events['task.completed']) => e.record.status;
    void typeChecksOnly;
  });
});
