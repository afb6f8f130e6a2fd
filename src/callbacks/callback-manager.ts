/**
 * Callbacks and progress: `onStart`, `onProgress`, `onComplete` and `onError` hooks fed by the
 * session and task events of an {@link AgentSession} or a {@link WorkflowOrchestrator}, with a
 * {@link ProgressSnapshot} built from the real Claude Code stream (never an invented percentage).
 *
 * @module
 */
import type { ClaudeProgressEvent, TokenUsage } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { Events, SessionEvent, TaskEvent } from '../events.js';
import { onLifecycleEvent, type EventBus } from '../event-bus.js';
import type { ExecutionResult } from '../execution-result.js';
import type { TaskRecord } from '../workflow/workflow-result.js';

/** One tool call seen in the stream. */
export interface ToolCallSummary {
  name: string;
  /** The tool's input, summarised on one line (at most 80 characters). */
  inputSummary: string;
}

/** What the stream has shown so far of one execution (a session prompt or a task), over all its attempts. */
export interface ProgressSnapshot {
  /** The current attempt, from 1. */
  attempt: number;
  /** Assistant messages seen (consecutive text and tool-call blocks count once). */
  turn: number;
  toolCalls: ToolCallSummary[];
  /**
   * Tokens so far: from assistant usage when progress events carry it, else from the result
   * once the execution ends; `null` until then.
   */
  tokens: TokenUsage | null;
  /** The latest assistant text, clipped to 500 characters; `null` before any. */
  latestText: string | null;
  /** Milliseconds since the execution's first attempt started. */
  elapsedMs: number;
  /** Claude Code's own API retries (`system/api_retry` lines). */
  apiRetries: { count: number; lastError: string | null; lastStatus: number | null };
}

/** Who an event is about: a session (id: the session id) or a workflow task (id: the task id). */
export interface CallbackSource {
  kind: 'session' | 'task';
  /** The session id, or the task id. */
  id: string;
  /** Sessions only. */
  agentName?: string;
  /** Tasks only. */
  workflowId?: string;
  /** Tasks only. */
  runId?: string;
}

/** Argument of `onStart` callbacks: an attempt starts. */
export interface StartInfo {
  source: CallbackSource;
  attempt: number;
  maxAttempts: number;
  at: number;
}

/** Argument of `onProgress` callbacks: one stream event and the snapshot it leads to. */
export interface ProgressInfo {
  source: CallbackSource;
  event: ClaudeProgressEvent;
  snapshot: ProgressSnapshot;
}

/** Argument of `onComplete` callbacks. */
export interface CompleteInfo {
  source: CallbackSource;
  output: string | null;
  tokens: TokenUsage;
  costUsd: number;
  snapshot: ProgressSnapshot;
  /** Sessions: the execution result. */
  result?: ExecutionResult;
  /** Tasks: the task record. */
  record?: TaskRecord;
}

/** Argument of `onError` callbacks: the execution failed (or, for a task, was cancelled). */
export interface ErrorInfo {
  source: CallbackSource;
  error: SerializedError;
  snapshot: ProgressSnapshot;
  /** Tasks: the task record. */
  record?: TaskRecord;
}

/** A callback; a returned promise is awaited before the next callback runs. */
export type Callback<T> = (info: T) => void | Promise<void>;

/** A callback that threw (or rejected), kept in {@link CallbackManager.errors}. */
export interface CallbackError {
  event: 'start' | 'progress' | 'complete' | 'error';
  error: unknown;
}

type Kind = CallbackError['event'];
type InfoOf = { start: StartInfo; progress: ProgressInfo; complete: CompleteInfo; error: ErrorInfo };

const SUMMARY_MAX = 80;
const TEXT_MAX = 500;

/**
 * Registers callbacks and calls them for the events it is fed. Several callbacks per event are
 * allowed; each registration returns its unregister function. Callbacks run one at a time, in
 * the order the events happened and, for one event, in the order of registration; async ones
 * are awaited. A callback that throws never stops the others nor the run: its error is kept in
 * {@link CallbackManager.errors} and passed to the `onCallbackError` handlers.
 *
 * `AgentSession` and `WorkflowOrchestrator` each have one (`callbacks`), and their
 * `execute…` / `runWorkflow` / `resume` promises settle only once its callbacks are done.
 *
 * @example
 * ```ts
 * const session = new AgentSession({ agentName: 'builder' });
 * session.callbacks.onProgress(({ snapshot }) => console.log(`turn ${snapshot.turn}`, snapshot.toolCalls.at(-1)?.name));
 * session.callbacks.onComplete(async ({ output }) => save(output));
 * await session.execute('Build it');
 * ```
 */
export class CallbackManager {
  /** Errors thrown by callbacks, oldest first. */
  readonly errors: CallbackError[] = [];
  private readonly lists: { [K in Kind]: Array<Callback<InfoOf[K]>> } = { start: [], progress: [], complete: [], error: [] };
  private readonly errorHandlers: Array<(error: CallbackError) => void> = [];
  private readonly snapshots = new Map<string, { startedAt: number; snapshot: ProgressSnapshot }>();
  private queue: Promise<void> = Promise.resolve();

  /** Called when an attempt starts. */
  onStart(callback: Callback<StartInfo>): () => void {
    return this.add('start', callback);
  }

  /** Called for every progress event of the stream (init, assistant text, tool use and result, API retry, result). */
  onProgress(callback: Callback<ProgressInfo>): () => void {
    return this.add('progress', callback);
  }

  /** Called when an execution (or task) completes. */
  onComplete(callback: Callback<CompleteInfo>): () => void {
    return this.add('complete', callback);
  }

  /** Called when an execution (or task) fails for good, after its retries, or a task is cancelled. */
  onError(callback: Callback<ErrorInfo>): () => void {
    return this.add('error', callback);
  }

  /** Called (synchronously) with every error a callback throws; its own errors are ignored. */
  onCallbackError(handler: (error: CallbackError) => void): () => void {
    this.errorHandlers.push(handler);
    return () => remove(this.errorHandlers, handler);
  }

  /** Resolves once every callback of the events fed so far has run. Never rejects. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** The current snapshot of a session (by session id) or a task (by task id and run id), if one has started. */
  snapshot(id: string, runId?: string): ProgressSnapshot | undefined {
    const entry = this.snapshots.get(runId === undefined ? id : `${runId}\u0000${id}`);
    return entry ? copy(entry) : undefined;
  }

  /** Feeds one session, task or workflow event (others are ignored). */
  handle(event: SessionEvent | TaskEvent | Events[keyof Events]): void {
    switch (event.type) {
      case 'session.started':
      case 'task.started': {
        const source = sourceOf(event);
        const key = keyOf(source);
        const entry = this.snapshots.get(key);
        if (event.attempt === 1 || !entry) this.snapshots.set(key, { startedAt: event.at, snapshot: fresh(event.attempt) });
        else entry.snapshot.attempt = event.attempt;
        this.dispatch('start', { source, attempt: event.attempt, maxAttempts: event.maxAttempts, at: event.at });
        return;
      }
      case 'session.progress':
      case 'task.progress': {
        const source = sourceOf(event);
        const entry = this.entry(keyOf(source), event.attempt, event.at);
        apply(entry.snapshot, event.progress);
        this.dispatch('progress', { source, event: event.progress, snapshot: copy(entry, event.at) });
        return;
      }
      case 'session.completed': {
        const source = sourceOf(event);
        const entry = this.entry(keyOf(source), event.attempt, event.at);
        entry.snapshot.tokens = event.result.tokens;
        const { output, tokens, costUsd } = event.result;
        this.dispatch('complete', { source, output, tokens, costUsd, snapshot: copy(entry, event.at), result: event.result });
        return;
      }
      case 'task.completed': {
        const source = sourceOf(event);
        const entry = this.entry(keyOf(source), event.record.attempts, event.at);
        entry.snapshot.tokens = event.record.tokens;
        const { output, tokens, costUsd } = event.record;
        this.dispatch('complete', { source, output, tokens, costUsd, snapshot: copy(entry, event.at), record: event.record });
        return;
      }
      case 'session.failed': {
        const source = sourceOf(event);
        const entry = this.entry(keyOf(source), event.attempt, event.at);
        if (event.error.result) entry.snapshot.tokens = event.error.result.tokens;
        this.dispatch('error', { source, error: event.error, snapshot: copy(entry, event.at) });
        return;
      }
      case 'task.failed':
      case 'task.cancelled': {
        const source = sourceOf(event);
        const entry = this.entry(keyOf(source), event.record.attempts, event.at);
        entry.snapshot.tokens = event.record.tokens;
        const error: SerializedError = event.record.error ?? {
          name: 'CancelledError',
          code: 'CANCELLED',
          message: `Task ${event.taskId} was cancelled`,
          transient: false,
        };
        this.dispatch('error', { source, error, snapshot: copy(entry, event.at), record: event.record });
        return;
      }
      default:
        return;
    }
  }

  private entry(key: string, attempt: number, at: number): { startedAt: number; snapshot: ProgressSnapshot } {
    let entry = this.snapshots.get(key);
    if (!entry) {
      entry = { startedAt: at, snapshot: fresh(Math.max(1, attempt)) };
      this.snapshots.set(key, entry);
    }
    return entry;
  }

  private add<K extends Kind>(kind: K, callback: Callback<InfoOf[K]>): () => void {
    const list = this.lists[kind] as Array<Callback<InfoOf[K]>>;
    list.push(callback);
    return () => remove(list, callback);
  }

  private dispatch<K extends Kind>(kind: K, info: InfoOf[K]): void {
    const list = this.lists[kind] as Array<Callback<InfoOf[K]>>;
    if (list.length === 0) return;
    const callbacks = [...list];
    this.queue = this.queue.then(async () => {
      for (const callback of callbacks) {
        try {
          await callback(info);
        } catch (error) {
          this.report({ event: kind, error });
        }
      }
    });
  }

  private report(failure: CallbackError): void {
    this.errors.push(failure);
    for (const handler of [...this.errorHandlers]) {
      try {
        handler(failure);
      } catch {
        // an error handler's own bug is ignored
      }
    }
  }
}

/** Something callbacks can be attached to: an `AgentSession` (its `onEvent`), an orchestrator (its `bus`), or a bus. */
export type CallbackTarget =
  | {
      /** Subscribes to the session's events; returns the unsubscribe function. */
      onEvent(handler: (event: SessionEvent) => void): () => void;
    }
  | { bus: EventBus<Events> }
  | EventBus<Events>;

/**
 * Feeds `manager` with the events of a session, an orchestrator or an event bus; returns the
 * detach function. (Sessions and orchestrators already feed their own `callbacks`.)
 */
export function attachCallbacks(target: CallbackTarget, manager: CallbackManager): () => void {
  if ('onEvent' in target) return target.onEvent((event) => manager.handle(event));
  const bus: EventBus<Events> = 'bus' in target ? target.bus : target;
  return onLifecycleEvent(bus, (event) => manager.handle(event));
}

/** A short one-line summary of a tool input (at most 80 characters). */
export function summarizeToolInput(input: unknown): string {
  let text: string;
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const record = input as Record<string, unknown>;
    const main = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description'].find((k) => typeof record[k] === 'string');
    text = main ? String(record[main]) : safeJson(input);
  } else {
    text = typeof input === 'string' ? input : safeJson(input);
  }
  return clip(text.replace(/\s+/g, ' ').trim(), SUMMARY_MAX);
}

const inTurn = new WeakSet<ProgressSnapshot>();

function apply(snapshot: ProgressSnapshot, event: ClaudeProgressEvent): void {
  switch (event.type) {
    case 'assistant_text':
      if (!inTurn.has(snapshot)) snapshot.turn += 1;
      snapshot.latestText = clip(event.text, TEXT_MAX);
      break;
    case 'tool_use':
      if (!inTurn.has(snapshot)) snapshot.turn += 1;
      snapshot.toolCalls.push({ name: event.name, inputSummary: summarizeToolInput(event.input) });
      break;
    case 'api_retry':
      snapshot.apiRetries.count += 1;
      snapshot.apiRetries.lastError = event.error;
      snapshot.apiRetries.lastStatus = event.errorStatus;
      break;
    default:
      break;
  }
  // The blocks of one assistant message come one after another: they make one turn.
  if (event.type === 'assistant_text' || event.type === 'tool_use') inTurn.add(snapshot);
  else inTurn.delete(snapshot);
  // Usage, should a progress event carry it, is the freshest count there is.
  const usage = (event as { usage?: unknown }).usage;
  if (usage !== null && typeof usage === 'object') {
    const u = usage as Partial<TokenUsage>;
    if (typeof u.input === 'number' && typeof u.output === 'number') {
      const prev = snapshot.tokens ?? { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
      snapshot.tokens = {
        input: prev.input + u.input,
        output: prev.output + u.output,
        cacheRead: prev.cacheRead + (u.cacheRead ?? 0),
        cacheCreation: prev.cacheCreation + (u.cacheCreation ?? 0),
      };
    }
  }
}

function fresh(attempt: number): ProgressSnapshot {
  return { attempt, turn: 0, toolCalls: [], tokens: null, latestText: null, elapsedMs: 0, apiRetries: { count: 0, lastError: null, lastStatus: null } };
}

function copy(entry: { startedAt: number; snapshot: ProgressSnapshot }, at = Date.now()): ProgressSnapshot {
  const s = entry.snapshot;
  return {
    ...s,
    toolCalls: s.toolCalls.map((t) => ({ ...t })),
    tokens: s.tokens ? { ...s.tokens } : null,
    apiRetries: { ...s.apiRetries },
    elapsedMs: Math.max(0, at - entry.startedAt),
  };
}

function sourceOf(event: SessionEvent | TaskEvent): CallbackSource {
  if ('taskId' in event) return { kind: 'task', id: event.taskId, workflowId: event.workflowId, runId: event.runId };
  return { kind: 'session', id: event.sessionId, agentName: event.agentName };
}

function keyOf(source: CallbackSource): string {
  return source.kind === 'task' ? `${source.runId}\u0000${source.id}` : source.id;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
