/**
 * The run's event log: `<stateDir>/<runId>/events.jsonl`, every bus event of a run appended as
 * it happens, one JSON line each. The events that describe task records are made durable in the
 * same commit as those records ({@link RunEventLog.commit}, called by the checkpointer before
 * each journal append): once a record is durable, so are the events that led to it. A crash
 * may leave a torn last line, which `readRunEventLog` tolerates.
 *
 * @module
 */
import { closeSync, fdatasyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PermanentError } from '../errors.js';
import type { Events } from '../events.js';
import type { RunEventSink } from './run-event-sink.js';

/** The log's file name inside a run's directory. */
export const EVENT_LOG_FILE = 'events.jsonl';

/**
 * Outputs longer than this (UTF-8 bytes) are not inlined in the log: the task record holds
 * them, the log a {@link RecordRef} to it.
 */
export const EVENT_LOG_INLINE_LIMIT = 64 * 1024;

/** Where a big output went: the task record of `taskId` (`bytes` long). */
export interface RecordRef {
  $ref: 'records';
  taskId: string;
  bytes: number;
}

/**
 * Where a big part of a progress event went: the raw stream of attempt `attempt` of `taskId`
 * (its `attemptLog` entry's `rawFile`, `raw_output[.attempt-<n>].jsonl`), `bytes` long. Put
 * beside the field it stands for (`textRef` beside `text` ...), which keeps its first
 * `EVENT_LOG_PREVIEW_CHARS` characters.
 */
export interface RawOutputRef {
  $ref: 'raw_output';
  taskId: string;
  attempt: number | null;
  bytes: number;
}

/** Characters of a referenced progress text kept in the log, as a preview. */
export const EVENT_LOG_PREVIEW_CHARS = 200;

/**
 * What the progress events of each task's current attempt have inlined so far: past
 * `EVENT_LOG_INLINE_LIMIT` bytes in all, their texts, tool inputs and tool results are
 * referenced ({@link RawOutputRef}), so an agent writing megabytes in many small messages
 * does not copy them into the log. One per event store of a run.
 */
export class ProgressBudget {
  private readonly spent = new Map<string, { attempt: number | null; bytes: number }>();

  /** Charges `bytes` to the attempt; false (nothing charged) when that would pass `limit`. */
  take(taskId: string, attempt: number | null, bytes: number, limit: number): boolean {
    let entry = this.spent.get(taskId);
    if (entry === undefined || entry.attempt !== attempt) {
      entry = { attempt, bytes: 0 };
      this.spent.set(taskId, entry);
    }
    if (entry.bytes + bytes > limit) return false;
    entry.bytes += bytes;
    return true;
  }

  /** Forgets a task whose attempt has ended. */
  end(taskId: string): void {
    this.spent.delete(taskId);
  }
}

/** One line of the log: the event, with the run, task, session and attempt it belongs to. */
export interface RunEventLogEntry {
  type: string;
  runId: string;
  /** The task the event is about (task events). */
  taskId?: string;
  /** The session the event is about: for orchestrated tasks, the task id. */
  sessionId?: string;
  /** The attempt, when the event has one. */
  attempt?: number;
  /** Epoch milliseconds. */
  at: number;
  /** The rest of the event (outputs over `EVENT_LOG_INLINE_LIMIT` as {@link RecordRef}s). */
  [field: string]: unknown;
}

/** The path of a run's event log. */
export function runEventLogPath(stateDir: string, runId: string): string {
  return join(stateDir, runId, EVENT_LOG_FILE);
}

type AnyEvent = Events[keyof Events];

/**
 * Appends a run's events to its `events.jsonl`. {@link append} never waits and never throws:
 * lines are batched per event-loop turn into one synchronous write (a write the event loop
 * would have to come back for fell seconds behind a busy run, and a kill lost what it held), so
 * appending costs the same at 10 or 10,000 tasks. {@link commit} writes what is pending and
 * fsyncs it. A failed write is kept in {@link error} and stops the log; the run goes on.
 */
export class RunEventLog implements RunEventSink {
  /** The first write error, if any (the log stops there). */
  error: unknown = null;
  private pending: string[] = [];
  private scheduled = false;
  private fd: number | null = null;
  /** Lines were written since the last fsync. */
  private unsynced = false;
  private closed = false;
  private readonly budget = new ProgressBudget();

  /**
   * @param file - the log file (see {@link runEventLogPath}).
   * @param runId - the run every entry belongs to.
   * @param inlineLimit - outputs longer than this (bytes) become {@link RecordRef}s.
   */
  constructor(
    readonly file: string,
    readonly runId: string,
    private readonly inlineLimit = EVENT_LOG_INLINE_LIMIT,
  ) {}

  /** Queues `event` for the next write. */
  append(event: AnyEvent): void {
    if (this.closed || this.error !== null) return;
    let line: string;
    try {
      line = JSON.stringify(toRunEventLogEntry(event, this.runId, this.inlineLimit, this.budget)) + '\n';
    } catch (error) {
      this.error = error;
      return;
    }
    this.pending.push(line);
    // The run's own events (workflow.started, .finished, .reaped: one or two per process life)
    // are written at once: starting the first tasks can hold the loop for a while.
    if (event.type.startsWith('workflow.') && event.type !== 'workflow.signal') {
      this.commit();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.write();
    });
  }

  /**
   * Writes every event appended so far and makes it durable (fdatasync), now: the checkpointer
   * calls it before it commits the records these events describe. Never throws (see {@link error}).
   */
  commit(): void {
    this.write();
    if (this.fd === null || !this.unsynced || this.error !== null) return;
    try {
      fdatasyncSync(this.fd);
      this.unsynced = false;
    } catch (error) {
      this.fail(error);
    }
  }

  /** Resolves once every event appended so far is written (or the log has failed). */
  async flush(): Promise<void> {
    this.write();
  }

  /** Writes and syncs what is pending and stops the log: later events are ignored. */
  async close(): Promise<void> {
    this.commit();
    this.closed = true;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private write(): void {
    if (this.pending.length === 0 || this.error !== null) return;
    const batch = Buffer.from(this.pending.join(''));
    this.pending = [];
    try {
      if (this.fd === null) {
        mkdirSync(dirname(this.file), { recursive: true });
        this.fd = openSync(this.file, 'a+');
        dropTornTail(this.fd);
      }
      for (let offset = 0; offset < batch.length; ) offset += writeSync(this.fd, batch, offset, batch.length - offset);
      this.unsynced = true;
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.error = error;
    this.pending = [];
  }
}

/**
 * The event as a log entry: run, task, session and attempt first; outputs over `limit` bytes
 * referenced. With a `budget`, the texts, tool inputs and tool results of progress events are
 * referenced once an attempt's have passed `limit` bytes in all (without one, each event's
 * alone counts). Shared by every event store (the JSONL file, the SQLite table).
 */
export function toRunEventLogEntry(event: AnyEvent, runId: string, limit = EVENT_LOG_INLINE_LIMIT, budget?: ProgressBudget): RunEventLogEntry {
  const e = event as unknown as Record<string, unknown>;
  const taskId = typeof e.taskId === 'string' ? e.taskId : undefined;
  const sessionId = typeof e.sessionId === 'string' ? e.sessionId : taskId;
  const head: RunEventLogEntry = { type: event.type, runId, at: typeof e.at === 'number' ? e.at : Date.now() };
  if (taskId !== undefined) head.taskId = taskId;
  if (sessionId !== undefined) head.sessionId = sessionId;
  if (typeof e.attempt === 'number') head.attempt = e.attempt;
  const entry: RunEventLogEntry = { ...head, ...e, ...head };
  const owner = taskId ?? sessionId ?? '';
  if (isObject(e.progress)) {
    entry.progress = withProgressRefs(e.progress, owner, head.attempt ?? null, limit, budget);
  } else if (budget !== undefined && owner !== '' && ENDS_ATTEMPT.has(event.type)) {
    budget.end(owner);
  }
  if (isObject(e.record)) {
    const record = withOutputRef(e.record, stringOr(e.record.taskId, owner), limit);
    entry.record = withErrorResultRef(record, stringOr(e.record.taskId, owner), limit);
  }
  if (isObject(e.result)) {
    let result = withOutputRef(e.result, owner, limit);
    if (Array.isArray(result.taskResults)) {
      result = {
        ...result,
        taskResults: result.taskResults.map((r: unknown) =>
          isObject(r) ? withErrorResultRef(withOutputRef(r, stringOr(r.taskId, owner), limit), stringOr(r.taskId, owner), limit) : r,
        ),
      };
    }
    entry.result = result;
  }
  if (isObject(e.error) && isObject(e.error.result)) entry.error = { ...e.error, result: withOutputRef(e.error.result, owner, limit) };
  return entry;
}

/** Events after which a task's attempt has no more progress: its budget is forgotten. */
const ENDS_ATTEMPT = new Set(['task.retrying', 'task.completed', 'task.failed', 'task.cancelled', 'session.retrying', 'session.completed', 'session.failed']);

/** The field of each kind of progress event that can be big. */
const PROGRESS_PAYLOAD: Record<string, string> = { assistant_text: 'text', result: 'text', tool_result: 'content', tool_use: 'input' };

/**
 * A progress event with its big field (see {@link PROGRESS_PAYLOAD}) cut to a preview and
 * referenced ({@link RawOutputRef}, as `<field>Ref`) when it is over `limit` bytes, or, with a
 * `budget`, when the attempt's inlined fields would pass `limit` in all.
 */
function withProgressRefs(progress: Record<string, unknown>, taskId: string, attempt: number | null, limit: number, budget: ProgressBudget | undefined): Record<string, unknown> {
  const field = typeof progress.type === 'string' ? PROGRESS_PAYLOAD[progress.type] : undefined;
  if (field === undefined) return progress;
  const value = progress[field];
  if (value === undefined || value === null) return progress;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // Nothing to gain: the preview would be the whole of it.
  if (text.length <= EVENT_LOG_PREVIEW_CHARS) return progress;
  const bytes = Buffer.byteLength(text, 'utf8');
  const fits = budget === undefined ? bytes <= limit : budget.take(taskId, attempt, bytes, limit);
  if (fits) return progress;
  const ref: RawOutputRef = { $ref: 'raw_output', taskId, attempt, bytes };
  return { ...progress, [field]: text.slice(0, EVENT_LOG_PREVIEW_CHARS), [`${field}Ref`]: ref };
}

/** `value` with its `error.result.output` (a failed attempt's partial output) referenced like an output. */
function withErrorResultRef(value: Record<string, unknown>, taskId: string, limit: number): Record<string, unknown> {
  const error = value.error;
  if (!isObject(error) || !isObject(error.result)) return value;
  const result = withOutputRef(error.result, taskId, limit);
  return result === error.result ? value : { ...value, error: { ...error, result } };
}

/** `value` with its `output` replaced by a {@link RecordRef} when that is over `limit` bytes. */
function withOutputRef(value: Record<string, unknown>, taskId: string, limit: number): Record<string, unknown> {
  const output = value.output;
  // A string of n UTF-16 units is at most 3n UTF-8 bytes: short ones need no count.
  if (typeof output !== 'string' || output.length * 3 <= limit) return value;
  const bytes = Buffer.byteLength(output, 'utf8');
  if (bytes <= limit) return value;
  const ref: RecordRef = { $ref: 'records', taskId, bytes };
  return { ...value, output: ref };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/**
 * A log that a crash left ending mid-line (no newline) is cut back to its last complete line
 * before anything is appended: else the next line would be glued to the torn one.
 */
function dropTornTail(fd: number): void {
  const { size } = fstatSync(fd);
  if (size === 0) return;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  let checkedLast = false;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const bytesRead = readSync(fd, chunk, 0, end - start, start);
    const slice = chunk.subarray(0, bytesRead);
    if (!checkedLast) {
      if (slice[slice.length - 1] === 0x0a) return;
      checkedLast = true;
    }
    const nl = slice.lastIndexOf(0x0a);
    if (nl >= 0) {
      ftruncateSync(fd, start + nl + 1);
      return;
    }
    end = start;
  }
  ftruncateSync(fd, 0);
}

/** What `readRunEventLog` found. */
export interface RunEventLogContents {
  /** Every complete entry, in the order written. */
  events: RunEventLogEntry[];
  /** The file ended in a torn line (a crash mid-append): it was left out. */
  torn: boolean;
}

/**
 * Reads a run's event log. A torn last line (no newline: the process died mid-append) is left
 * out and reported as `torn`.
 *
 * @throws PermanentError `CORRUPT_STATE` naming the file and line when a complete line is not
 *   a JSON event; the file system's error when the file cannot be read.
 */
export async function readRunEventLog(file: string): Promise<RunEventLogContents> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  // The part after the last newline: empty for a whole file, else a torn line.
  const tail = lines.pop() ?? '';
  const events: RunEventLogEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (!isObject(value) || typeof value.type !== 'string') {
      throw new PermanentError('CORRUPT_STATE', `${file}: line ${i + 1} is not a JSON event: ${line.slice(0, 80)}`, {
        details: { file, line: i + 1 },
      });
    }
    events.push(value as RunEventLogEntry);
  });
  return { events, torn: tail.length > 0 };
}
