/**
 * Per-task records and the result of a whole run.
 *
 * @module
 */
import type { TokenUsage } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { Signal } from '../signals/signal.js';

/** Where a task is in its life. */
export type TaskStatus = 'pending' | 'waiting' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** One plain record per task: what the run knows about it. Checkpointed as is. */
export interface TaskRecord {
  taskId: string;
  status: TaskStatus;
  /** Attempts made so far (across resumes). */
  attempts: number;
  output: string | null;
  /** The Claude session id, known from the stream's init line on. */
  sessionId: string | null;
  tokens: TokenUsage;
  costUsd: number;
  /** Epoch ms. */
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  error: SerializedError | null;
  /** Why a task was skipped. */
  reason?: string;
  /** A `wait_for` task: when it began waiting for its event (epoch ms; its timeout counts from here, across resumes). */
  waitingSince?: number;
  /** A `wait_for` task: the event that let it start. */
  signal?: Signal;
}

/** How a run ended. */
export type WorkflowStatus = 'completed' | 'failed' | 'cancelled' | 'budget_exceeded';

/** A finished task, as reported in {@link WorkflowResult.taskResults}. */
export interface TaskResult {
  taskId: string;
  status: 'completed' | 'failed' | 'skipped' | 'cancelled';
  attempts: number;
  output: string | null;
  sessionId: string | null;
  tokens: TokenUsage;
  costUsd: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  error: SerializedError | null;
  reason?: string;
}

/** The result of a run. */
export interface WorkflowResult {
  workflowId: string;
  runId: string;
  status: WorkflowStatus;
  success: boolean;
  /** In completion order. */
  taskResults: TaskResult[];
  totalTimeMs: number;
  tokens: TokenUsage;
  costUsd: number;
}

/** A task record as a {@link TaskResult}. */
export function toTaskResult(record: TaskRecord): TaskResult {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const out: TaskResult = {
    taskId: record.taskId,
    status: record.status as TaskResult['status'],
    attempts: record.attempts,
    output: record.output,
    sessionId: record.sessionId,
    tokens: record.tokens,
    costUsd: record.costUsd,
    startedAt: iso(record.startedAt),
    endedAt: iso(record.endedAt),
    durationMs: record.durationMs,
    error: record.error,
  };
  if (record.reason !== undefined) out.reason = record.reason;
  return out;
}
