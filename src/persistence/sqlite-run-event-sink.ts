/**
 * A run's events into the SQLite backend's `events` table: the same entries as `events.jsonl`
 * (big outputs referenced), batched per event-loop turn into one transaction. The backend also
 * takes the events appended so far into each transaction that writes the run's task records or
 * checkpoint ({@link SqliteRunEventSink.takePending}): a record is never durable without the
 * events that led to it (before, a kill -9 lost events whose records were saved: 982 of 1,005).
 *
 * @module
 */
import type { Events } from '../events.js';
import { EVENT_LOG_INLINE_LIMIT, ProgressBudget, toRunEventLogEntry, type RunEventLogEntry } from './run-event-log.js';
import type { RunEventSink } from './run-event-sink.js';

/** One entry as the table holds it: the indexed columns and the whole entry as JSON. */
export interface EventRow {
  type: string;
  taskId: string | null;
  sessionId: string | null;
  attempt: number | null;
  at: number;
  json: string;
}

/** Appends a run's events through `writeBatch` (one transaction per batch, given by the backend). */
export class SqliteRunEventSink implements RunEventSink {
  error: unknown = null;
  private pending: EventRow[] = [];
  private scheduled = false;
  private closed = false;
  private readonly budget = new ProgressBudget();

  constructor(
    readonly runId: string,
    private readonly writeBatch: (rows: EventRow[]) => void,
    private readonly inlineLimit = EVENT_LOG_INLINE_LIMIT,
    private readonly onClose?: () => void,
  ) {}

  append(event: Events[keyof Events]): void {
    if (this.closed || this.error !== null) return;
    try {
      this.pending.push(toRow(toRunEventLogEntry(event, this.runId, this.inlineLimit, this.budget)));
    } catch (error) {
      this.error = error;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.write();
    });
  }

  async flush(): Promise<void> {
    this.write();
  }

  async close(): Promise<void> {
    this.write();
    this.closed = true;
    this.onClose?.();
  }

  /**
   * The events appended and not yet written, handed to a transaction of the backend that
   * writes them itself (with the records they describe); the sink forgets them.
   */
  takePending(): EventRow[] {
    if (this.error !== null || this.pending.length === 0) return [];
    const rows = this.pending;
    this.pending = [];
    return rows;
  }

  private write(): void {
    if (this.pending.length === 0 || this.error !== null) return;
    const rows = this.pending;
    this.pending = [];
    try {
      this.writeBatch(rows);
    } catch (error) {
      this.error = error;
    }
  }
}

function toRow(entry: RunEventLogEntry): EventRow {
  return {
    type: entry.type,
    taskId: entry.taskId ?? null,
    sessionId: entry.sessionId ?? null,
    attempt: entry.attempt ?? null,
    at: entry.at,
    json: JSON.stringify(entry),
  };
}
