/**
 * The attempt log of a task ({@link TaskRecord.attemptLog}): one entry per attempt, opened when
 * it starts and closed when it ends, so that a retried task shows why it was retried. Each
 * change touches the last entry only (O(1)), in place, like the rest of the record.
 *
 * @module
 */
import { emptyTokens } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import type { AttemptRecord, AttemptStatus, TaskRecord } from './workflow-result.js';

/** What the log lives in: a task record, or `AgentSession`'s record of its latest execution. */
export type AttemptLogHolder = Pick<TaskRecord, 'attemptLog' | 'sessionId'>;

/** The record's log, created on first use (records written before it existed have none). */
function logOf(record: AttemptLogHolder): AttemptRecord[] {
  return (record.attemptLog ??= []);
}

/** Adds a `running` entry for an attempt that starts now; returns its number (its place in the log, from 1). */
export function openAttempt(record: AttemptLogHolder, at: number, rawFile: (attempt: number) => string | null): number {
  const log = logOf(record);
  const attempt = log.length + 1;
  log.push({
    attempt,
    status: 'running',
    startedAt: at,
    endedAt: null,
    durationMs: null,
    error: null,
    tokens: emptyTokens(),
    costUsd: 0,
    sessionId: null,
    rawFile: rawFile(attempt),
  });
  return attempt;
}

/**
 * Closes the running attempt (if one is open) as `status`, with what it spent (`result`, or the
 * partial result an error carries) and why it did not succeed.
 */
export function closeAttempt(
  record: AttemptLogHolder,
  status: Exclude<AttemptStatus, 'running'>,
  at: number,
  error: SerializedError | null,
  result?: ExecutionResult,
): void {
  const entry = record.attemptLog?.at(-1);
  if (!entry || entry.status !== 'running') return;
  const spent = result ?? error?.result;
  entry.status = status;
  entry.endedAt = at;
  entry.durationMs = at - entry.startedAt;
  entry.error = error === null ? null : withoutResult(error);
  if (spent) {
    entry.tokens = spent.tokens;
    entry.costUsd = spent.costUsd;
    entry.sessionId = spent.sessionId;
    // A command whose stdout outgrew its record: the attempt's file holds the whole of it.
    if (spent.outputFile !== undefined) entry.rawFile = spent.outputFile;
  } else entry.sessionId = record.sessionId;
}

/**
 * The log of a record read back on resume: an attempt still `running` there was cut short when
 * the process driving the run died (`interrupted`). A copy: the stored record is not changed.
 */
export function resumedAttemptLog(record: TaskRecord): AttemptRecord[] {
  return (record.attemptLog ?? []).map((entry) => (entry.status === 'running' ? { ...entry, status: 'interrupted' } : entry));
}

/** The error without its partial result: the attempt's tokens and cost are kept beside it. */
function withoutResult(error: SerializedError): SerializedError {
  if (error.result === undefined) return error;
  const { result: _result, ...rest } = error;
  return rest;
}

/**
 * A record's attempts. A record written before attempt logs existed kept one stream file, its
 * last attempt's (`raw_output.jsonl`): it is given as that one attempt, with `rawFile` `null`.
 */
export function attemptLogOf(record: TaskRecord): AttemptRecord[] {
  if (record.attemptLog !== undefined) return record.attemptLog;
  if (record.startedAt === null || record.status === 'pending' || record.status === 'skipped') return [];
  const status: AttemptRecord['status'] =
    record.status === 'completed' ? 'succeeded' : record.status === 'failed' ? 'failed' : record.status === 'cancelled' ? 'cancelled' : 'running';
  return [
    {
      attempt: Math.max(1, record.attempts),
      status,
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      durationMs: record.durationMs,
      error: record.error,
      tokens: record.tokens,
      costUsd: record.costUsd,
      sessionId: record.sessionId,
      rawFile: null,
    },
  ];
}

/**
 * An attempt as the live view and the logs say it: `2/3` (the attempt's number in the task's
 * attempt log, as `status` and `logs` number it, of `retry_count`), or `2 (1/3 counted)` when an
 * earlier attempt was cancelled and so does not count against `retry_count`. `short`: `#2 1/3`.
 */
export function attemptLabel(attempt: number, counted: number | undefined, maxAttempts: number, short = false): string {
  if (counted === undefined || counted === attempt) return `${attempt}/${maxAttempts}`;
  return short ? `#${attempt} ${counted}/${maxAttempts}` : `${attempt} (${counted}/${maxAttempts} counted)`;
}
