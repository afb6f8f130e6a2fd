/**
 * Where a run's event log goes: a {@link RunEventSink} takes every event of the run as it
 * happens. A backend with an event store of its own (the SQLite backend's `events` table)
 * keeps them there; otherwise they go to `<stateDir>/<runId>/events.jsonl` ({@link RunEventLog}).
 * {@link readRunEvents} reads them back from whichever holds them.
 *
 * @module
 */
import type { Events } from '../events.js';
import { RunEventLog, readRunEventLog, runEventLogPath, type RunEventLogContents } from './run-event-log.js';
import type { StateBackend } from './state-backend.js';

/**
 * Takes a run's events. `append` never waits and never throws: entries are batched per
 * event-loop turn (one write, or one transaction, per batch), so appending costs the same at
 * 10 or 10,000 tasks. A failed write is kept in `error` and stops the sink; the run goes on.
 */
export interface RunEventSink {
  /** The first write error, if any (the sink stops there). */
  readonly error: unknown;
  /** Queues `event` for the next batch. */
  append(event: Events[keyof Events]): void;
  /** Resolves once every event appended so far is written (or the sink has failed). */
  flush(): Promise<void>;
  /**
   * Writes every event appended so far durably, now (never throws): the run calls it right
   * before each commit of task records, so that the events describing a durable record are
   * durable too. Optional: a sink without it is flushed on its own schedule.
   */
  commit?(): void;
  /** Flushes and stops the sink: later events are ignored. */
  close(): Promise<void>;
}

/** A backend that keeps run events itself (the SQLite backend). */
export interface RunEventStore {
  /** A sink appending to the run's events (after those already stored, on resume). */
  openRunEventSink(runId: string): RunEventSink;
  /** The run's events in the order appended; none for a run without any. */
  readRunEvents(runId: string): Promise<RunEventLogContents>;
}

/** Whether `backend` keeps run events itself. */
export function hasRunEventStore(backend: unknown): backend is RunEventStore {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as RunEventStore).openRunEventSink === 'function' &&
    typeof (backend as RunEventStore).readRunEvents === 'function'
  );
}

/** The sink of a run's events: the backend's store if it has one, else the run's `events.jsonl`. */
export function openRunEventSink(backend: StateBackend | null | undefined, stateDir: string, runId: string): RunEventSink {
  return hasRunEventStore(backend) ? backend.openRunEventSink(runId) : new RunEventLog(runEventLogPath(stateDir, runId), runId);
}

/** Where {@link readRunEvents} looks. */
export interface RunEventsLocation {
  /** The run's backend: its event store when it has one (SQLite). */
  backend?: StateBackend | null;
  /** The state directory holding `<runId>/events.jsonl`, for backends without a store. */
  stateDir: string;
}

/**
 * A run's events, from the backend's event store (SQLite) or its `events.jsonl`. A run without
 * any (no log written) reads as no events; a torn last line of the file is left out (`torn`).
 *
 * @throws PermanentError `CORRUPT_STATE` for an entry that is not a JSON event.
 */
export async function readRunEvents(runId: string, where: RunEventsLocation): Promise<RunEventLogContents> {
  if (hasRunEventStore(where.backend)) return where.backend.readRunEvents(runId);
  try {
    return await readRunEventLog(runEventLogPath(where.stateDir, runId));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], torn: false };
    throw error;
  }
}
