import { describe, expect, it, vi } from 'vitest';
import {
  createEventBus,
  publishLifecycleEvent,
  EventBus,
  type BusEvent,
  type BusHandlerErrorPayload,
} from '../src/event-bus.js';
import { ValidationError } from '../src/errors.js';

type TestEvents = {
  'review.requested': { file: string };
  'review.done': { file: string; ok: boolean };
  note: string;
  start: null;
};

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EventBus', () => {
  it('delivers events in publish order, with the envelope filled in', async () => {
    const bus = createEventBus<TestEvents>({ now: () => 42 });
    const seen: string[] = [];
    bus.subscribe('note', (e) => {
      seen.push(e.payload);
    });
    await bus.publish({ type: 'note', payload: 'a', source: 'agent-1' });
    await bus.publish({ type: 'note', payload: 'b', source: 'agent-1', timestamp: 7, priority: 'low' });
    void bus.publish({ type: 'note', payload: 'c', source: 'agent-2' });
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(bus.getHistory('note').map(({ payload, timestamp, priority, source }) => [payload, timestamp, priority, source])).toEqual([
      ['a', 42, 'normal', 'agent-1'],
      ['b', 7, 'low', 'agent-1'],
      ['c', 42, 'normal', 'agent-2'],
    ]);
  });

  it('calls type handlers then wildcard handlers, each once per event', async () => {
    const bus = new EventBus<TestEvents>();
    const calls: string[] = [];
    bus.subscribe('*', (e) => {
      calls.push(`*:${e.type}`);
    });
    bus.subscribe('note', () => {
      calls.push('note');
    });
    await bus.publish({ type: 'note', payload: 'x', source: 's' });
    await bus.publish({ type: 'review.requested', payload: { file: 'a.ts' }, source: 's' });
    expect(calls).toEqual(['note', '*:note', '*:review.requested']);
  });

  it('drains events published during a delivery highest priority first, FIFO within a priority', async () => {
    const bus = createEventBus<TestEvents>();
    const order: string[] = [];
    bus.subscribe('note', (e) => {
      order.push(`${e.priority}:${e.payload}`);
    });
    bus.subscribe('start', () => {
      void bus.publish({ type: 'note', payload: 'l1', source: 's', priority: 'low' });
      void bus.publish({ type: 'note', payload: 'n1', source: 's' });
      void bus.publish({ type: 'note', payload: 'h1', source: 's', priority: 'high' });
      void bus.publish({ type: 'note', payload: 'c1', source: 's', priority: 'critical' });
      void bus.publish({ type: 'note', payload: 'n2', source: 's', priority: 'normal' });
      void bus.publish({ type: 'note', payload: 'h2', source: 's', priority: 'high' });
      void bus.publish({ type: 'note', payload: 'l2', source: 's', priority: 'low' });
      order.push('start delivered');
    });
    await bus.publish({ type: 'start', payload: null, source: 's' });
    expect(order).toEqual([
      'start delivered',
      'critical:c1',
      'high:h1',
      'high:h2',
      'normal:n1',
      'normal:n2',
      'low:l1',
      'low:l2',
    ]);
  });

  it('re-sorts the queue as handlers of queued events publish more', async () => {
    const bus = createEventBus<TestEvents>();
    const order: string[] = [];
    bus.subscribe('note', (e) => {
      order.push(e.payload);
      // The normal event's handler publishes a critical one: it overtakes the queued low event.
      if (e.payload === 'n') void bus.publish({ type: 'note', payload: 'c-from-n', source: 's', priority: 'critical' });
    });
    bus.subscribe('start', () => {
      void bus.publish({ type: 'note', payload: 'l', source: 's', priority: 'low' });
      void bus.publish({ type: 'note', payload: 'n', source: 's' });
    });
    await bus.publish({ type: 'start', payload: null, source: 's' });
    expect(order).toEqual(['n', 'c-from-n', 'l']);
  });

  it('isolates a throwing handler: others still run, the publisher resolves, bus.handler_error is published', async () => {
    const bus = createEventBus<TestEvents>();
    const after = vi.fn();
    const errors: BusEvent<'bus.handler_error', BusHandlerErrorPayload>[] = [];
    bus.subscribe('bus.handler_error', (e) => {
      errors.push(e);
    });
    bus.subscribe('note', () => {
      throw new Error('boom');
    });
    bus.subscribe('note', after);
    await expect(bus.publish({ type: 'note', payload: 'x', source: 'agent-7' })).resolves.toMatchObject({ type: 'note' });
    expect(after).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      type: 'bus.handler_error',
      source: 'agent-7',
      priority: 'high',
      payload: { eventType: 'note', message: 'boom' },
    });
  });

  it('reports a rejecting async handler as bus.handler_error too', async () => {
    const bus = createEventBus<TestEvents>();
    const reported = deferred<BusHandlerErrorPayload>();
    bus.subscribe('bus.handler_error', (e) => reported.resolve(e.payload));
    bus.subscribe('note', async () => {
      await Promise.resolve();
      throw new Error('async boom');
    });
    const other = vi.fn();
    bus.subscribe('note', other);
    await bus.publish({ type: 'note', payload: 'x', source: 's' });
    expect(other).toHaveBeenCalledTimes(1);
    await expect(reported.promise).resolves.toEqual({ eventType: 'note', message: 'async boom' });
  });

  it('does not loop when a bus.handler_error handler throws', async () => {
    const unreported = vi.fn();
    const bus = createEventBus<TestEvents>({ onUnreportedError: unreported });
    const errorHandler = vi.fn(() => {
      throw new Error('error handler broken');
    });
    bus.subscribe('bus.handler_error', errorHandler);
    bus.subscribe('note', () => {
      throw new Error('boom');
    });
    await bus.publish({ type: 'note', payload: 'x', source: 's' });
    expect(errorHandler).toHaveBeenCalledTimes(1);
    expect(unreported).toHaveBeenCalledTimes(1);
    expect(unreported.mock.calls[0]?.[0]).toMatchObject({ message: 'error handler broken' });
    expect(bus.getHistory('bus.handler_error')).toHaveLength(1);
    expect(bus.getHistory()).toHaveLength(2);
  });

  it('keeps a bounded history, oldest first, filterable by type', async () => {
    const bus = createEventBus<TestEvents>({ historyLimit: 3 });
    for (const payload of ['1', '2', '3', '4']) await bus.publish({ type: 'note', payload, source: 's' });
    await bus.publish({ type: 'review.requested', payload: { file: 'f' }, source: 's' });
    expect(bus.getHistory().map((e) => e.type)).toEqual(['note', 'note', 'review.requested']);
    expect(bus.getHistory('note').map((e) => e.payload)).toEqual(['3', '4']);
    expect(bus.getHistory('review.done')).toEqual([]);
    bus.clearHistory();
    expect(bus.getHistory()).toEqual([]);
  });

  it('defaults the history to 1,000 events and rejects a bad limit', async () => {
    const bus = createEventBus<TestEvents>();
    expect(bus.historyLimit).toBe(1000);
    for (let i = 0; i < 1005; i++) await bus.publish({ type: 'note', payload: String(i), source: 's' });
    const history = bus.getHistory('note');
    expect(history).toHaveLength(1000);
    expect(history[0]?.payload).toBe('5');
    expect(history.at(-1)?.payload).toBe('1004');
    expect(() => createEventBus({ historyLimit: -1 })).toThrow(ValidationError);
    await bus.publish({ type: 'note', payload: 'x', source: 's' });
    expect(createEventBus({ historyLimit: 0 }).getHistory()).toEqual([]);
  });

  it('stops calling a handler once unsubscribed, even during a delivery, and tolerates a second call', async () => {
    const bus = createEventBus<TestEvents>();
    const first = vi.fn();
    const unsubscribeFirst = bus.subscribe('note', first);
    const unsubscribeStar = bus.subscribe('*', first);
    // A handler that unsubscribes another during delivery: the copy taken for this event still calls it.
    const second = vi.fn();
    let unsubscribeSecond = (): void => {};
    bus.subscribe('note', () => unsubscribeSecond());
    unsubscribeSecond = bus.subscribe('note', second);

    await bus.publish({ type: 'note', payload: '1', source: 's' });
    expect(first).toHaveBeenCalledTimes(2);
    expect(second).toHaveBeenCalledTimes(1);

    unsubscribeFirst();
    unsubscribeFirst();
    await bus.publish({ type: 'note', payload: '2', source: 's' });
    expect(first).toHaveBeenCalledTimes(3); // the wildcard subscription only
    expect(second).toHaveBeenCalledTimes(1);
    unsubscribeStar();
    await bus.publish({ type: 'note', payload: '3', source: 's' });
    expect(first).toHaveBeenCalledTimes(3);
  });

  it('resolves publish only when async handlers have settled', async () => {
    const bus = createEventBus<TestEvents>();
    const gate = deferred();
    let finished = false;
    bus.subscribe('note', async () => {
      await gate.promise;
      finished = true;
    });
    let published = false;
    const publishing = bus.publish({ type: 'note', payload: 'x', source: 's' }).then(() => {
      published = true;
    });
    // Let every pending microtask run: publish must still be waiting on the gate.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(published).toBe(false);
    gate.resolve();
    await publishing;
    expect(finished).toBe(true);
    expect(published).toBe(true);
  });

  it('lets an async handler await a publish of its own bus without deadlock', async () => {
    const bus = createEventBus<TestEvents>();
    const seen: string[] = [];
    bus.subscribe('review.done', (e) => {
      seen.push(`done:${e.payload.file}`);
    });
    bus.subscribe('review.requested', async (e) => {
      await bus.publish({ type: 'review.done', payload: { file: e.payload.file, ok: true }, source: 'reviewer' });
      seen.push('requested handled');
    });
    await bus.publish({ type: 'review.requested', payload: { file: 'a.ts' }, source: 'coder' });
    expect(seen).toEqual(['done:a.ts', 'requested handled']);
  });

  it('types payloads by event type', () => {
    const bus = createEventBus<TestEvents>();
    // Never delivered: these lines exist for tsc, which checks test/ too.
    const typeChecksOnly = (): void => {
      // @ts-expect-error payload of review.requested needs file: string
      void bus.publish({ type: 'review.requested', payload: { file: 1 }, source: 's' });
      // @ts-expect-error note carries a string
      void bus.publish({ type: 'note', payload: { file: 'a' }, source: 's' });
      // @ts-expect-error unknown event type
      void bus.publish({ type: 'nope', payload: null, source: 's' });
      // @ts-expect-error source is required
      void bus.publish({ type: 'note', payload: 'x' });
      // @ts-expect-error not a priority
      void bus.publish({ type: 'note', payload: 'x', source: 's', priority: 'urgent' });
      bus.subscribe('review.done', (e) => {
        // @ts-expect-error ok is a boolean
        const file: number = e.payload.ok;
        void file;
      });
      bus.subscribe('bus.handler_error', (e) => {
        const eventType: string = e.payload.eventType;
        void eventType;
      });
    };
    void typeChecksOnly;
    expect(() => bus.publish({ type: 'note', payload: 'x', source: 's', priority: 'urgent' as 'low' })).toThrow(
      ValidationError,
    );
  });
});

describe('EventBus without subscribers, and idle()', () => {
  it('only keeps a published event in the history when nobody listens, and delivers to later subscribers', async () => {
    const bus = createEventBus<TestEvents>({ historyLimit: 2, now: () => 1 });
    await expect(bus.publish({ type: 'note', payload: 'a', source: 's' })).resolves.toMatchObject({ payload: 'a', timestamp: 1 });
    void bus.publish({ type: 'note', payload: 'b', source: 's' });
    void bus.publish({ type: 'note', payload: 'c', source: 's' });
    expect(bus.getHistory().map((e) => e.payload)).toEqual(['b', 'c']);
    const seen: string[] = [];
    const off = bus.subscribe('note', (e) => {
      seen.push(e.payload);
    });
    await bus.publish({ type: 'note', payload: 'd', source: 's' });
    off();
    off(); // twice is harmless
    await bus.publish({ type: 'note', payload: 'e', source: 's' });
    expect(seen).toEqual(['d']);
  });

  it('idle() waits for the async handlers of every event published so far', async () => {
    const bus = createEventBus<TestEvents>();
    await bus.idle();
    const gate = deferred();
    let done = false;
    bus.subscribe('note', async () => {
      await gate.promise;
      done = true;
    });
    void bus.publish({ type: 'note', payload: 'x', source: 's' });
    const idle = bus.idle();
    gate.resolve();
    await idle;
    expect(done).toBe(true);
  });
});

describe('lifecycle events on the bus', () => {
  it('are published with their source (task, else session, else run id), `at` as timestamp, and their priority', async () => {
    const bus = createEventBus<import('../src/events.js').Events>();
    const failed = deferred<BusEvent>();
    bus.subscribe('task.failed', (e) => failed.resolve(e));

    publishLifecycleEvent(bus, { type: 'workflow.started', workflowId: 'w', runId: 'r1', at: 1, taskIds: ['t1'], resumed: false });
    publishLifecycleEvent(bus, { type: 'session.started', sessionId: 's1', agentName: 'a', attempt: 1, at: 2, maxAttempts: 3 });
    publishLifecycleEvent(bus, { type: 'task.started', workflowId: 'w', runId: 'r1', taskId: 't1', at: 3, attempt: 1, maxAttempts: 3 });
    const record = { taskId: 't1', status: 'failed' } as unknown as import('../src/workflow/workflow-result.js').TaskRecord;
    publishLifecycleEvent(bus, { type: 'task.failed', workflowId: 'w', runId: 'r1', taskId: 't1', at: 4, record });

    await expect(failed.promise).resolves.toMatchObject({ source: 't1', priority: 'high', timestamp: 4 });
    expect(bus.getHistory().map((e) => [e.type, e.source, e.priority])).toEqual([
      ['workflow.started', 'r1', 'normal'],
      ['session.started', 's1', 'normal'],
      ['task.started', 't1', 'normal'],
      ['task.failed', 't1', 'high'],
    ]);
    expect(bus.getHistory('task.failed')[0]?.payload.record).toBe(record);
  });

  it('share one bus with your own events: one history, one priority order', async () => {
    type Mine = import('../src/events.js').Events & { 'review.requested': { file: string } };
    const bus = createEventBus<Mine>();
    const seen: string[] = [];
    bus.subscribe('*', (e) => {
      seen.push(e.type);
      if (e.type === 'task.started') {
        // Published while delivering: queued, the urgent one first.
        void bus.publish({ type: 'review.requested', payload: { file: 'a.ts' }, source: 'coder' });
        void bus.publish({ type: 'review.requested', payload: { file: 'b.ts' }, source: 'coder', priority: 'critical' });
      }
    });
    publishLifecycleEvent(bus, { type: 'task.started', workflowId: 'w', runId: 'r1', taskId: 't1', at: 3, attempt: 1, maxAttempts: 3 });
    await bus.idle();
    expect(seen).toEqual(['task.started', 'review.requested', 'review.requested']);
    expect(bus.getHistory('review.requested').map((e) => e.payload.file)).toEqual(['b.ts', 'a.ts']);
  });
});
