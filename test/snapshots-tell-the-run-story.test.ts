/**
 * What an inspector sees of a run: every orchestrator snapshot keeps showing the state of its own
 * event (nothing changes it later, even when it is serialized a tick after), and the statechart
 * goes through the run's phases (running, waiting, draining) to a final state per outcome.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { JsonStateBackend, WorkflowOrchestrator, type WorkflowSpecInput } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const echo = (text: string) => ['node', '-e', 'process.stdout.write(process.argv[1])', text];
const fail = ['node', '-e', 'process.exit(3)'];

interface Seen {
  snapshot: { value: unknown; context: unknown };
  json: string;
}

/** Runs a workflow, keeping each orchestrator snapshot with its JSON at the moment it was emitted. */
async function inspectRun(spec: WorkflowSpecInput, during?: (o: WorkflowOrchestrator, runId: string) => Promise<void>) {
  const seen: Seen[] = [];
  const states: unknown[] = [];
  const backend = new JsonStateBackend(world.stateDir);
  const runId = `r-${spec.id}`;
  const o = new WorkflowOrchestrator(backend, {
    stateDir: world.stateDir,
    retry: { baseDelayMs: 1, maxDelayMs: 5, jitter: 'none' },
    inspect: (e: InspectionEvent) => {
      if (e.type !== '@xstate.snapshot') return;
      const snapshot = e.snapshot as unknown as Seen['snapshot'];
      if ((snapshot.context as { run?: { runId?: string } })?.run?.runId !== runId) return;
      seen.push({ snapshot, json: JSON.stringify(snapshot.context) });
      if (states.at(-1) !== snapshot.value) states.push(snapshot.value);
    },
  });
  const done = o.runWorkflow(spec, { runId });
  await during?.(o, runId);
  const result = await done;
  await backend.close();
  return { seen, states, result };
}

describe('orchestrator snapshots', () => {
  it('never change after they were emitted: each shows the state of its own event', async () => {
    const { seen, result } = await inspectRun(
      {
        id: 'mixed',
        on_failure: 'continue',
        max_parallel: 2,
        tasks: [
          { id: 'a', command: echo('a') },
          { id: 'b', depends_on: ['a'], command: echo('b from {{tasks.a.output}}') },
          { id: 'flaky', command: fail, retry_count: 2 },
          { id: 'after-flaky', depends_on: ['flaky'], command: echo('never') },
          { id: 'c', depends_on: ['a'], command: echo('c'), publish: 'c.done' },
          { id: 'd', wait_for: 'c.done', command: echo('d got {{events.c.done.payload}}') },
        ],
      },
    );
    expect(result.status).toBe('failed');
    expect(seen.length).toBeGreaterThan(5);
    const changed = seen.filter((s) => JSON.stringify(s.snapshot.context) !== s.json);
    expect(changed).toEqual([]);
    // And they do differ from one another: each is its own state, not one shared object.
    const statuses = seen.map((s) => (s.snapshot.context as { records: Array<Array<{ status: string }>> }).records.flat().map((r) => r.status).join(','));
    expect(new Set(statuses).size).toBeGreaterThan(5);
    expect(statuses[0]).toMatch(/^running,pending,running,pending,pending,waiting$|^running,pending,running/);
    expect(statuses.at(-1)).toBe('completed,completed,failed,skipped,completed,completed');
  });
});

describe('the statechart tells the run story', () => {
  it('running → completed', async () => {
    const { states } = await inspectRun({ id: 'ok', tasks: [{ id: 'a', command: echo('a') }] });
    expect(states).toEqual(['running', 'completed']);
  });

  it('running → draining → failed when a task fails under on_failure: stop while another still runs', async () => {
    const { states, result } = await inspectRun({
      id: 'stop',
      tasks: [
        { id: 'bad', command: fail, retry_count: 1 },
        { id: 'slow', command: ['node', '-e', 'setTimeout(() => {}, 400)'] },
        { id: 'later', depends_on: ['slow'], command: echo('never') },
      ],
    });
    expect(result.status).toBe('failed');
    expect(states).toEqual(['running', 'draining', 'failed']);
  });

  it('waiting → running → completed around a signal (waiting from the first step: nothing can start); waiting → cancelled', async () => {
    const waited = await inspectRun(
      { id: 'gate', tasks: [{ id: 'g', wait_for: 'go', command: echo('went') }] },
      async (o, runId) => {
        await new Promise<void>((resolve) => o.bus.subscribe('task.waiting', () => resolve()));
        await o.signal(runId, 'go');
      },
    );
    expect(waited.states).toEqual(['waiting', 'running', 'completed']);

    const cancelled = await inspectRun({ id: 'cancel', tasks: [{ id: 'g', wait_for: 'go', command: echo('never') }] }, async (o) => {
      await new Promise<void>((resolve) => o.bus.subscribe('task.waiting', () => resolve()));
      await o.cancel();
    });
    expect(cancelled.states).toEqual(['waiting', 'cancelled']);
  });
});
