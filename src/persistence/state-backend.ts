/**
 * The `StateBackend` interface: where runs, their checkpoints and free-form state are kept.
 * Two implementations: {@link JsonStateBackend} (lowdb, the default) and `SqliteStateBackend`.
 *
 * @module
 */
import { AgentsSdkError, PermanentError } from '../errors.js';
import type { LockOptions, LockOwner } from './process-lock.js';
import type { Workflow } from '../workflow/spec.js';
import type { RerunOrigin } from '../workflow/rerun-plan.js';
import type { TaskRecord, WorkflowResult, WorkflowStatus } from '../workflow/workflow-result.js';

/** Version of every stored record's shape. A record from a newer version is refused. */
export const STATE_SCHEMA_VERSION = 1;

/** Status of a stored run: `running` until it finishes (or while its process is dead). */
export type RunStatus = 'running' | WorkflowStatus;

/**
 * A run's checkpoint: the spec, the orchestrator's persisted snapshot and one plain record per
 * task. Tasks change far more often than the rest, so they are saved on their own
 * ({@link StateBackend.saveTaskRecords}) at O(1) cost and folded in by {@link StateBackend.loadRun}.
 */
export interface RunCheckpoint {
  schemaVersion: number;
  runId: string;
  workflowId: string;
  status: RunStatus;
  /** The validated workflow the run executes. */
  workflow: Workflow;
  /** Epoch ms. */
  startedAt: number;
  updatedAt: number;
  /** `getPersistedSnapshot()` of the orchestrator actor, when one was taken. */
  snapshot?: unknown;
  /** One record per task. */
  records: TaskRecord[];
  /** Set once the run has finished. */
  result?: WorkflowResult;
  /**
   * How the run was started (or last resumed): the CLI's `--replay`, `--redis`, ... so that a
   * plain `resume` drives it the same way. Absent for runs started without one.
   */
  launch?: RunLaunch;
  /**
   * `records`: task outputs are stored once, in `records`; the copies in `snapshot` and
   * `result` were left out when saving and are filled back in on load (see
   * `compactCheckpoint`).
   */
  outputs?: 'records';
  /** A run made by `rerun --from` (`WorkflowOrchestrator.rerun`): the run it was made from. */
  rerunOf?: RerunOrigin;
}

/**
 * How a run is driven, as given when it was started (`run`) or last resumed: stored with the
 * run (in its checkpoint) so that `agents-sdk resume <run>` drives it the same way (a replayed
 * run is replayed again, not handed to the real `claude`), unless told otherwise. Plain JSON;
 * the orchestrator stores it as given.
 */
export interface RunLaunch {
  /** `--replay DIR` (absolute) and `--replay-speed X`: agent tasks answered from recordings. */
  replay?: { dir: string; speed?: number };
  /** `--redis URL`: attempts ran on workers through BullMQ. */
  redis?: string;
  /** `--queue NAME` with `redis`. */
  queue?: string;
  /** `--max-parallel N` (also in the stored workflow's `max_parallel`). */
  maxParallel?: number;
  /** `--input key=value` values (also rendered into the stored workflow). */
  inputs?: Record<string, string>;
  /** The state directory (absolute) and backend the run was stored in. */
  stateDir?: string;
  backend?: 'json' | 'sqlite';
}

/** One line of `agents-sdk list`. */
export interface RunSummary {
  runId: string;
  /** Empty for an unreadable run. */
  workflowId: string;
  /** `unreadable`: its state is corrupt or from a newer schema (see `problem`). */
  status: RunStatus | 'unreadable';
  startedAt: number;
  updatedAt: number;
  tasksDone: number;
  tasksTotal: number;
  costUsd: number;
  /** Why an unreadable run cannot be read (`CORRUPT_STATE`, `UNSUPPORTED_SCHEMA`). */
  problem?: { code: string; message: string };
  /** See {@link RunCheckpoint.rerunOf}. */
  rerunOf?: RerunOrigin;
}

/**
 * The summary of a run whose state cannot be read, or `undefined` when `error` is not about
 * the stored state (such errors are the caller's to throw).
 */
export function unreadableRun(runId: string, error: unknown): RunSummary | undefined {
  if (!(error instanceof AgentsSdkError) || (error.code !== 'CORRUPT_STATE' && error.code !== 'UNSUPPORTED_SCHEMA')) return undefined;
  return {
    runId,
    workflowId: '',
    status: 'unreadable',
    startedAt: 0,
    updatedAt: 0,
    tasksDone: 0,
    tasksTotal: 0,
    costUsd: 0,
    problem: { code: error.code, message: error.message },
  };
}

/** Releases a run lock. */
export type ReleaseLock = () => Promise<void>;

/** Where state lives. Keys and run ids are validated: nothing can reach outside the store. */
export interface StateBackend {
  /** Stores a JSON value under a key (`a/b` style keys nest). */
  save(key: string, value: unknown): Promise<void>;
  /** The value stored under a key, or `undefined`. */
  load(key: string): Promise<unknown>;
  /** Replaces a run's checkpoint (spec, snapshot, records). */
  saveCheckpoint(runId: string, data: RunCheckpoint): Promise<void>;
  /** The last checkpoint saved, without later task records folded in. */
  loadCheckpoint(runId: string): Promise<RunCheckpoint | undefined>;
  /** Saves task records of a run (O(1) per record, whatever the size of the run). */
  saveTaskRecords(runId: string, records: TaskRecord[]): Promise<void>;
  /** The run as of its last write: checkpoint with every later task record folded in. */
  loadRun(runId: string): Promise<RunCheckpoint | undefined>;
  /** Every stored run, newest first. */
  listRuns(): Promise<RunSummary[]>;
  /** Deletes a run and everything stored with it. */
  deleteRun(runId: string): Promise<void>;
  /**
   * Takes the run's lock so that two processes cannot drive one run. A lock whose holder is
   * dead is taken over; `force` takes it from any holder (one on another host cannot be checked).
   *
   * @throws PermanentError `LOCKED` while another live process holds it.
   */
  lockRun(runId: string, options?: LockOptions): Promise<ReleaseLock>;
  /**
   * Who holds the run's lock, without taking it: `null` when it is free or its holder is dead.
   * (A holder on another host counts as live: it cannot be checked from here.)
   */
  lockHolder(runId: string): Promise<LockOwner | null>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** A summary of a run from its (folded) checkpoint. */
export function summarizeRun(run: RunCheckpoint): RunSummary {
  let done = 0;
  let cost = 0;
  for (const r of run.records) {
    if (r.status === 'completed') done += 1;
    cost += r.costUsd;
  }
  return {
    runId: run.runId,
    workflowId: run.workflowId,
    status: run.status,
    startedAt: run.startedAt,
    updatedAt: run.updatedAt,
    tasksDone: done,
    tasksTotal: run.records.length,
    costUsd: run.result?.costUsd ?? cost,
    ...(run.rerunOf && { rerunOf: run.rerunOf }),
  };
}

/** Replaces records by task id (later ones win), keeping the checkpoint's order. */
export function foldRecords(base: TaskRecord[], later: Iterable<TaskRecord>): TaskRecord[] {
  const index = new Map(base.map((r, i) => [r.taskId, i]));
  const out = base.slice();
  for (const record of later) {
    const i = index.get(record.taskId);
    if (i === undefined) {
      index.set(record.taskId, out.length);
      out.push(record);
    } else out[i] = record;
  }
  return out;
}

/**
 * The checkpoint as stored: each task output once, in its record. The snapshot's copies are
 * dropped (resume rebuilds from the records, never from the snapshot's context) and the
 * result's are filled back in by {@link expandCheckpoint}. A 50 MB output used to be stored
 * four times (records, result, snapshot records, snapshot output).
 */
export function compactCheckpoint(checkpoint: RunCheckpoint): RunCheckpoint {
  const out: RunCheckpoint = { ...checkpoint, outputs: 'records' };
  if (checkpoint.result) {
    out.result = { ...checkpoint.result, taskResults: checkpoint.result.taskResults.map((t) => (t.output === null ? t : { ...t, output: null })) };
  }
  // The orchestrator keeps its records in chunks (see RECORD_CHUNK); a flat list is handled too.
  const snapshot = checkpoint.snapshot as { context?: { records?: Array<TaskRecord | TaskRecord[]> }; output?: WorkflowResult } | undefined;
  const withoutOutput = (r: TaskRecord) => (r.output === null ? r : { ...r, output: null });
  if (snapshot?.context?.records) {
    out.snapshot = {
      ...snapshot,
      context: { ...snapshot.context, records: snapshot.context.records.map((r) => (Array.isArray(r) ? r.map(withoutOutput) : withoutOutput(r))) },
      // The machine's output once it is done: the run's result, whose outputs are in the records too.
      ...(snapshot.output?.taskResults && {
        output: { ...snapshot.output, taskResults: snapshot.output.taskResults.map((t) => (t.output === null ? t : { ...t, output: null })) },
      }),
    };
  }
  return out;
}

/** Fills a loaded checkpoint's result back in with the outputs of its records (the reverse of `compactCheckpoint`). */
export function expandCheckpoint(checkpoint: RunCheckpoint): RunCheckpoint {
  if (checkpoint.outputs !== 'records' || !checkpoint.result) return checkpoint;
  const outputOf = new Map(checkpoint.records.map((r) => [r.taskId, r.output]));
  return {
    ...checkpoint,
    result: { ...checkpoint.result, taskResults: checkpoint.result.taskResults.map((t) => ({ ...t, output: outputOf.get(t.taskId) ?? t.output })) },
  };
}

/**
 * A failed write of state as a typed error naming the file and the cause (`ENOSPC`, `EIO`...):
 * `STATE_WRITE_FAILED`. Errors that are already typed pass through.
 */
export function stateWriteFailed(file: string, error: unknown): AgentsSdkError {
  if (error instanceof AgentsSdkError) return error;
  const cause = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : 'Error');
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentError('STATE_WRITE_FAILED', `Cannot write ${file}: ${message}`, { cause: error, details: { file, cause } });
}
