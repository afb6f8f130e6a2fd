/**
 * The event bus: a typed publish/subscribe bus over mitt (which holds the handlers and calls
 * them), for the runtime's lifecycle events and for messages between agents and tasks. Over
 * mitt's fire-and-forget emit, it:
 * - calls a handler with an envelope (`type`, `payload`, `source`, `timestamp`, `priority`);
 * - lets `publish` be awaited until every handler of the event has settled;
 * - queues the events published while it is delivering, and delivers the queue highest
 *   priority first (`critical` > `high` > `normal` > `low`), first in first out within one;
 * - turns a handler's throw or rejection into a `bus.handler_error` event instead of letting it
 *   reach the publisher or the other handlers;
 * - keeps the last `historyLimit` delivered events.
 *
 * Delivering an event means calling its handlers; an async handler's promise is collected, not
 * waited for before the next event, so a handler may `await bus.publish(...)` without deadlock.
 *
 * `orchestrator.bus` and `session.bus` carry the runtime's lifecycle events, typed by the
 * {@link Events} catalogue (see {@link lifecyclePriority} for the priorities they are published
 * at).
 *
 * @module
 */
import mittDefault, { type Emitter, type EventType, type Handler, type WildcardHandler } from 'mitt';
import { ValidationError } from './errors.js';
import type { Events } from './events.js';

/** How urgent an event is; queued events are delivered highest first. */
export type BusPriority = 'low' | 'normal' | 'high' | 'critical';

/** The priorities, highest first: the order in which the queue is drained. */
export const BUS_PRIORITIES: readonly BusPriority[] = ['critical', 'high', 'normal', 'low'];

/** What a bus delivers: one event with its envelope. */
export interface BusEvent<T extends string = string, P = unknown> {
  type: T;
  payload: P;
  /** Who published it: an agent or task id. */
  source: string;
  /** Epoch milliseconds; filled in by `publish` when missing. */
  timestamp: number;
  /** Default `normal`. */
  priority: BusPriority;
}

/** Payload of `bus.handler_error`: a handler of an event threw or rejected. */
export interface BusHandlerErrorPayload {
  /** The type of the event whose handler failed. */
  eventType: string;
  /** The error's message (`String(error)` for a thrown non-Error). */
  message: string;
}

/** The events every bus has, whatever its map. */
export interface BuiltInBusEvents {
  'bus.handler_error': BusHandlerErrorPayload;
}

/** A map from event type to payload type, e.g. `{ 'review.requested': { taskId: string } }`. */
export type BusEventMap = Record<string, unknown>;

/** The user's map plus the built-in events. */
export type AllBusEvents<M> = M & BuiltInBusEvents;

/** The union of every event a bus over `M` delivers. */
export type AnyBusEvent<M> = { [K in keyof AllBusEvents<M> & string]: BusEvent<K, AllBusEvents<M>[K]> }[keyof AllBusEvents<M> &
  string];

/** What `publish` takes: an event whose `timestamp` and `priority` may be left out. */
export type PublishedEvent<T extends string, P> = Omit<BusEvent<T, P>, 'timestamp' | 'priority'> & {
  timestamp?: number;
  priority?: BusPriority;
};

/** A handler; a returned promise is awaited by `publish`. */
export type BusHandler<E> = (event: E) => void | Promise<void>;

/** Options of an {@link EventBus}. */
export interface EventBusOptions {
  /** How many delivered events `getHistory` keeps, the oldest dropped first. Default 1,000; 0 keeps none. */
  historyLimit?: number;
  /** Clock for missing timestamps. Default `Date.now`. */
  now?: () => number;
  /**
   * Called when a handler of `bus.handler_error` itself fails: that error is not published
   * again (it could loop forever). Default: `console.error`.
   */
  onUnreportedError?: (error: unknown, event: BusEvent) => void;
}

/** The default of {@link EventBusOptions.historyLimit}. */
export const DEFAULT_HISTORY_LIMIT = 1000;

const HANDLER_ERROR = 'bus.handler_error';

// mitt's typings describe its CommonJS build; under NodeNext the ESM default export is the factory itself.
const mitt = mittDefault as unknown as <E extends Record<EventType, unknown>>() => Emitter<E>;

interface Pending {
  event: BusEvent;
  resolve: () => void;
}

/**
 * A typed bus over the map `M` (type → payload).
 *
 * @example
 * ```ts
 * const bus = new EventBus<{ 'review.requested': { file: string } }>();
 * bus.subscribe('review.requested', (e) => console.log(e.source, e.payload.file));
 * await bus.publish({ type: 'review.requested', payload: { file: 'a.ts' }, source: 'coder' });
 * ```
 */
export class EventBus<M extends object = BusEventMap> {
  readonly historyLimit: number;
  readonly #now: () => number;
  readonly #onUnreportedError: (error: unknown, event: BusEvent) => void;
  /** The handlers, by type (`'*'`: every type), each wrapped to isolate its failures. */
  readonly #emitter = mitt<Record<string, BusEvent>>();
  /** The async results of the handlers of the event being delivered. */
  #settling: Promise<void>[] = [];
  /** One FIFO queue per priority, in {@link BUS_PRIORITIES} order. */
  readonly #queues: Record<BusPriority, Pending[]> = { critical: [], high: [], normal: [], low: [] };
  #history: BusEvent[] = [];
  #delivering = false;
  /** Subscriptions of every type: none means `publish` has nobody to call (its fast path). */
  #subscriptions = 0;
  /** Deliveries whose async handlers have not all settled yet (see {@link idle}). */
  readonly #unsettled = new Set<Promise<void>>();

  constructor(options: EventBusOptions = {}) {
    const limit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new ValidationError('Invalid event bus options', [
        { path: 'historyLimit', message: `must be a non-negative integer, got ${String(limit)}` },
      ]);
    }
    this.historyLimit = limit;
    this.#now = options.now ?? Date.now;
    this.#onUnreportedError =
      options.onUnreportedError ??
      ((error, event) => console.error(`agents-sdk event bus: a handler of ${event.type} failed:`, error));
  }

  /**
   * Publishes an event. Its handlers are called at once, or, if the bus is already delivering
   * (a handler is publishing), after the events queued before it of equal or higher priority.
   * Resolves with the delivered event when every handler has settled; never rejects because
   * of a handler.
   */
  publish<K extends keyof AllBusEvents<M> & string>(
    event: PublishedEvent<K, AllBusEvents<M>[K]>,
  ): Promise<BusEvent<K, AllBusEvents<M>[K]>> {
    const full: BusEvent<K, AllBusEvents<M>[K]> = {
      type: event.type,
      payload: event.payload,
      source: event.source,
      timestamp: event.timestamp ?? this.#now(),
      priority: event.priority ?? 'normal',
    };
    if (!BUS_PRIORITIES.includes(full.priority)) {
      throw new ValidationError('Invalid bus event', [
        { path: 'priority', message: `must be one of ${BUS_PRIORITIES.join(', ')}, got ${String(full.priority)}` },
      ]);
    }
    if (this.#delivering) {
      return new Promise((resolve) => this.#queues[full.priority].push({ event: full, resolve: () => resolve(full) }));
    }
    // Not delivering, so nothing is queued (a drain empties the queues before it ends).
    if (this.#subscriptions === 0) {
      this.#remember(full);
      return Promise.resolve(full);
    }
    // Delivered at once, then what its handlers published; a promise only if one is async.
    this.#delivering = true;
    let settling: Promise<void> | undefined;
    try {
      settling = this.#emit(full);
      for (let next = this.#dequeue(); next; next = this.#dequeue()) this.#deliver(next);
    } finally {
      this.#delivering = false;
    }
    return settling ? settling.then(() => full) : Promise.resolve(full);
  }

  /** Calls `handler` with every event of `type` (or every event, for `'*'`) until unsubscribed. */
  subscribe<K extends keyof AllBusEvents<M> & string>(
    type: K,
    handler: BusHandler<BusEvent<K, AllBusEvents<M>[K]>>,
  ): () => void;
  subscribe(type: '*', handler: BusHandler<AnyBusEvent<M>>): () => void;
  subscribe(type: string, handler: BusHandler<never>): () => void {
    const call = (event: BusEvent): void => this.#call(handler as BusHandler<BusEvent>, event);
    const wildcard: WildcardHandler<Record<string, BusEvent>> = (_type, event) => call(event);
    if (type === '*') this.#emitter.on('*', wildcard);
    else this.#emitter.on(type, call as Handler<BusEvent>);
    this.#subscriptions++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      if (type === '*') this.#emitter.off('*', wildcard);
      else this.#emitter.off(type, call as Handler<BusEvent>);
      this.#subscriptions--;
    };
  }

  /**
   * Resolves once every event published so far has been delivered and its async handlers have
   * settled (at once when none is pending).
   */
  async idle(): Promise<void> {
    while (this.#unsettled.size > 0) await Promise.all([...this.#unsettled]);
  }

  /** The delivered events still kept, oldest first; only those of `type` if given. */
  getHistory<K extends keyof AllBusEvents<M> & string>(type: K): BusEvent<K, AllBusEvents<M>[K]>[];
  getHistory(): AnyBusEvent<M>[];
  getHistory(type?: string): BusEvent[] {
    return type === undefined ? [...this.#history] : this.#history.filter((e) => e.type === type);
  }

  /** Forgets the history. */
  clearHistory(): void {
    this.#history = [];
  }

  #dequeue(): Pending | undefined {
    for (const priority of BUS_PRIORITIES) {
      const queue = this.#queues[priority];
      if (queue.length > 0) return queue.shift();
    }
    return undefined;
  }

  #deliver({ event, resolve }: Pending): void {
    const settling = this.#emit(event);
    if (settling) void settling.then(resolve);
    else resolve();
  }

  /** Calls the handlers of `event`; a promise of their settling if any is async. */
  #emit(event: BusEvent): Promise<void> | undefined {
    this.#remember(event);
    // mitt calls the handlers of the type, then those of '*', each list as it was at emit.
    const settled: Promise<void>[] = (this.#settling = []);
    this.#emitter.emit(event.type, event);
    this.#settling = [];
    if (settled.length === 0) return undefined;
    const done: Promise<void> = Promise.all(settled).then(() => {
      this.#unsettled.delete(done);
    });
    this.#unsettled.add(done);
    return done;
  }

  #call(handler: BusHandler<BusEvent>, event: BusEvent): void {
    try {
      const result = handler(event);
      if (result && typeof result.then === 'function') {
        this.#settling.push(Promise.resolve(result).then(undefined, (error: unknown) => this.#handlerFailed(error, event)));
      }
    } catch (error) {
      this.#handlerFailed(error, event);
    }
  }

  #handlerFailed(error: unknown, event: BusEvent): void {
    if (event.type === HANDLER_ERROR) {
      this.#onUnreportedError(error, event);
      return;
    }
    const payload: BusHandlerErrorPayload = {
      eventType: event.type,
      message: error instanceof Error ? error.message : String(error),
    };
    void (this as EventBus<BusEventMap>).publish({
      type: HANDLER_ERROR,
      payload,
      source: event.source,
      priority: 'high',
    });
  }

  #remember(event: BusEvent): void {
    if (this.historyLimit === 0) return;
    this.#history.push(event);
    // One in, one out: shift() is O(1) on V8's arrays, where splice(0, 1) moves the whole history.
    if (this.#history.length > this.historyLimit) this.#history.shift();
  }
}

/** Creates an {@link EventBus} over the map `M` (type → payload). */
export function createEventBus<M extends object = BusEventMap>(options?: EventBusOptions): EventBus<M> {
  return new EventBus<M>(options);
}

/** The runtime's lifecycle events on a bus: type → the event itself (the {@link Events} catalogue). */
export type LifecycleEvents = Events;

/** One lifecycle event (a session, task or workflow event). */
export type LifecycleEvent = Events[keyof Events];


/**
 * The priority a lifecycle event is published at: `high` for what went wrong or was stopped
 * (`*.failed`, `task.cancelled`, `*.reaped`), `low` for the stream of progress
 * (`*.progress`), `normal` for the rest (started, retrying, completed, skipped, finished).
 */
export function lifecyclePriority(type: keyof LifecycleEvents): BusPriority {
  if (type.endsWith('.failed') || type.endsWith('.reaped') || type === 'task.cancelled') return 'high';
  if (type.endsWith('.progress')) return 'low';
  return 'normal';
}

/** Who a lifecycle event is about: its task id, else its session id, else its run id. */
export function lifecycleSource(event: LifecycleEvent): string {
  return 'taskId' in event ? event.taskId : 'sessionId' in event ? event.sessionId : event.runId;
}

/**
 * Publishes a lifecycle event on `bus` without waiting for its handlers (never throws). With
 * no subscriber this is the bus's fast path: the event is only kept in the history.
 */
export function publishLifecycleEvent<M extends Events>(bus: EventBus<M>, event: LifecycleEvent): void {
  void (bus as unknown as EventBus<BusEventMap>).publish({
    type: event.type,
    payload: event,
    source: lifecycleSource(event),
    timestamp: event.at,
    priority: lifecyclePriority(event.type),
  });
}

/**
 * Calls `handler` with every lifecycle event published on `bus` (not `bus.handler_error`), as
 * the event itself; returns the function that stops it.
 */
export function onLifecycleEvent(bus: EventBus<Events>, handler: (event: LifecycleEvent) => void): () => void {
  return (bus as unknown as EventBus<BusEventMap>).subscribe('*', (e: BusEvent) => {
    if (e.type !== HANDLER_ERROR) handler(e.payload as LifecycleEvent);
  });
}
