/**
 * Per-task records and the result of a whole run.
 *
 * @module
 */
import { emptyTokens, type TokenUsage } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { OutputCut } from '../execution-result.js';
import type { Signal } from '../signals/signal.js';

/** Where a task is in its life. */
export type TaskStatus = 'pending' | 'waiting' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/**
 * How one attempt ended: `running` while it runs; `succeeded`; `failed` (retried after, or the
 * task failed with it); `cancelled` (the run was cancelled or could not save its state: it does
 * not count in {@link TaskRecord.attempts}); `interrupted` (the process driving the run died
 * during it, seen on resume).
 */
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/**
 * One attempt of a task, as kept in {@link TaskRecord.attemptLog}: why it was retried, what it
 * spent, where its stream is. Plain JSON; times in epoch ms.
 */
export interface AttemptRecord {
  /**
   * Its place in the task's log, from 1, across resumes and `--retry-failed`: the number its
   * raw files are named by (`raw_output.attempt-<n>.jsonl`; the first is `raw_output.jsonl`).
   */
  attempt: number;
  status: AttemptStatus;
  startedAt: number;
  /** `null` while it runs, and for an interrupted attempt (the process died, when is unknown). */
  endedAt: number | null;
  durationMs: number | null;
  /**
   * Why it did not succeed (the 529 it was retried after, the cancel); `null` otherwise. Without
   * the error's partial `result`: its tokens and cost are this record's.
   */
  error: SerializedError | null;
  tokens: TokenUsage;
  costUsd: number;
  /** The Claude session id the attempt reported (or continued); `null` for commands. */
  sessionId: string | null;
  /**
   * Where the attempt's raw stream is recorded (`<stateDir>/<runId>/<taskId>/raw_output[.attempt-<n>].jsonl`).
   * A command task's is `null`, unless its stdout outgrew the record: then the file holding the
   * whole of it (`raw_stdout[.attempt-<n>].txt`, see {@link TaskRecord.truncated}). An executor
   * that records nothing (a test's) leaves no file there.
   */
  rawFile: string | null;
}

/** One plain record per task: what the run knows about it. Checkpointed as is. */
export interface TaskRecord {
  taskId: string;
  status: TaskStatus;
  /**
   * How many attempts count against the task's `retry_count` (across resumes; an attempt
   * stopped by a cancel does not count). The count only: {@link TaskRecord.attemptLog} has
   * each attempt's detail.
   */
  attempts: number;
  /**
   * Every attempt made, in order, cancelled and interrupted ones included (so it can be longer
   * than `attempts`): its status, error, tokens, cost, duration and raw stream file. Absent in
   * records written before it existed: read it as `[]`.
   */
  attemptLog?: AttemptRecord[];
  output: string | null;
  /** Structured output (`output_schema`, or a command's `output: json`): see `ExecutionResult.json`. Absent otherwise. */
  json?: unknown;
  /**
   * A command task printed more than its record keeps (10 MiB by default): `output` is the tail
   * of its stdout, and `outputFile` the file holding the whole of it (`outputBytes` bytes;
   * `agents-sdk logs <run> <task>` prints it).
   */
  truncated?: boolean;
  /** See {@link TaskRecord.truncated}. */
  outputFile?: string;
  /** See {@link TaskRecord.truncated}. */
  outputBytes?: number;
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
  /** Completed from memory (its `cache:` entry) without an agent call or a command: cost 0. */
  cached?: boolean;
  /**
   * Kept by a rerun (`rerun --from`): the id of the run that produced this record (its output
   * and attempts); it did not run again here, and its tokens and cost stay that run's (0 here).
   */
  keptFrom?: string;
  /** Its output was cut before its end: see {@link OutputCut}. */
  outputCut?: OutputCut;
  /**
   * The exit code of its last attempt's process (a command's; the Claude CLI's for an agent
   * task), when it ran one: `tasks.<id>.exit_code` in expressions and templates.
   */
  exitCode?: number | null;
  /**
   * A skipped task: `when` if its `when:` condition was false (it counts as done for its
   * dependants, and stays skipped on resume); absent if a dependency failed or the run halted.
   */
  skippedBy?: 'when';
  /** A failed task with `allow_failure`: its failure does not fail the run. */
  allowedFailure?: boolean;
  /**
   * A fan-out task (`for_each`): the list its expression gave, recorded once before any
   * instance starts and never evaluated again (its instances are the records `<id>[<index>]`).
   */
  items?: unknown[];
  /**
   * A loop (`repeat`): the iteration it is in (from 1; recorded before that iteration's tasks
   * start), or ended in. Its iterations are the records `<id>#<k>` (`<id>#<k>.<child>` for a group).
   */
  iteration?: number;
  /** A loop that reached its `max` without its `until` holding, and completed (`on_exhausted: continue`). */
  exhausted?: boolean;
  /** A `workspace: worktree` task that completed: the commit it made (everything its attempt changed), on {@link TaskRecord.branch}. */
  commit?: string;
  /** A `workspace: worktree` task: its branch (`agents-sdk-task/<runId>/<task>`). */
  branch?: string;
  /** A `workspace: worktree` task whose attempt failed: that attempt's worktree, kept for inspection until the run completes (or `agents-sdk clean`). */
  worktree?: string;
}

/** How a run ended. */
export type WorkflowStatus = 'completed' | 'failed' | 'cancelled' | 'budget_exceeded';

/** A finished task, as reported in {@link WorkflowResult.taskResults}. */
export interface TaskResult {
  taskId: string;
  status: 'completed' | 'failed' | 'skipped' | 'cancelled';
  /** See {@link TaskRecord.attempts}: the count. */
  attempts: number;
  /** See {@link TaskRecord.attemptLog}: each attempt (times in epoch ms, as in the record). */
  attemptLog: AttemptRecord[];
  output: string | null;
  /** See {@link TaskRecord.json}. */
  json?: unknown;
  /** See {@link TaskRecord.truncated}. */
  truncated?: boolean;
  /** See {@link TaskRecord.truncated}. */
  outputFile?: string;
  /** See {@link TaskRecord.truncated}. */
  outputBytes?: number;
  sessionId: string | null;
  tokens: TokenUsage;
  costUsd: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  error: SerializedError | null;
  reason?: string;
  /** See {@link TaskRecord.cached}. */
  cached?: boolean;
  /** See {@link TaskRecord.keptFrom}. */
  keptFrom?: string;
  /** See {@link TaskRecord.outputCut}. */
  outputCut?: OutputCut;
  /** See {@link TaskRecord.exitCode}. */
  exitCode?: number | null;
  /** See {@link TaskRecord.skippedBy}. */
  skippedBy?: 'when';
  /** See {@link TaskRecord.allowedFailure}. */
  allowedFailure?: boolean;
  /** See {@link TaskRecord.iteration}. */
  iteration?: number;
  /** See {@link TaskRecord.exhausted}. */
  exhausted?: boolean;
  /** See {@link TaskRecord.commit}. */
  commit?: string;
  /** See {@link TaskRecord.branch}. */
  branch?: string;
  /** See {@link TaskRecord.worktree}. */
  worktree?: string;
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
  /**
   * A run with `workspace: worktree` tasks that completed: its result branch
   * (`agents-sdk/<runId>`) and commit, the merge of its sink tasks' commits; or why it could
   * not be made (the sinks' commits conflict).
   */
  workspace?: { branch: string; commit: string } | { error: SerializedError };
}

/** A task record as a {@link TaskResult}. */
export function toTaskResult(record: TaskRecord): TaskResult {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const out: TaskResult = {
    taskId: record.taskId,
    status: record.status as TaskResult['status'],
    attempts: record.attempts,
    attemptLog: record.attemptLog ?? [],
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
  if (record.json !== undefined) out.json = record.json;
  if (record.truncated) {
    out.truncated = true;
    if (record.outputFile !== undefined) out.outputFile = record.outputFile;
    if (record.outputBytes !== undefined) out.outputBytes = record.outputBytes;
  }
  if (record.cached) out.cached = true;
  if (record.keptFrom !== undefined) out.keptFrom = record.keptFrom;
  if (record.outputCut) out.outputCut = record.outputCut;
  if (record.exitCode !== undefined) out.exitCode = record.exitCode;
  if (record.skippedBy !== undefined) out.skippedBy = record.skippedBy;
  if (record.allowedFailure) out.allowedFailure = true;
  if (record.iteration !== undefined) out.iteration = record.iteration;
  if (record.exhausted) out.exhausted = true;
  if (record.commit !== undefined) out.commit = record.commit;
  if (record.branch !== undefined) out.branch = record.branch;
  if (record.worktree !== undefined) out.worktree = record.worktree;
  return out;
}

/** The record of a task that has not started. */
export function emptyTaskRecord(taskId: string): TaskRecord {
  return {
    taskId,
    status: 'pending',
    attempts: 0,
    output: null,
    sessionId: null,
    tokens: emptyTokens(),
    costUsd: 0,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    error: null,
    attemptLog: [],
  };
}
