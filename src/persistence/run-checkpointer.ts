/**
 * Persists a run while it executes: a checkpoint at the start and at the end, and the task's
 * plain record after every task state change (started, retrying, Claude session id known,
 * completed, failed, skipped, cancelled).
 *
 * Writes are group commits: at most one write is in flight; every change noted meanwhile
 * joins the next write, which starts the moment the current one ends and carries the latest
 * state of each changed task. However heavy the load, the time from a task's change to its
 * record being durable is about two writes (the one in flight, then its own), and the queue
 * never grows: an earlier design queued one write per event-loop tick and fell seconds behind
 * the work (issue 9: 3,754 finished tasks of 5,000 ran again after a kill).
 *
 * After each write, `onDurable` is told which tasks' records are now durable (the
 * orchestrator starts a completed task's dependants only then); the first failed write is
 * reported once through `onFailure`, and no later write is attempted: the records on disk stay
 * those of the last complete write.
 *
 * @module
 */
import { AgentsSdkError, PermanentError } from '../errors.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import type { Workflow } from '../workflow/spec.js';
import type { TaskRecord, WorkflowResult } from '../workflow/workflow-result.js';
import { compactCheckpoint, STATE_SCHEMA_VERSION, type RunCheckpoint, type RunLaunch, type StateBackend } from './state-backend.js';

/** How long a change may wait for the next turn of the event loop before it is written at once (ms). */
const COALESCE_MS = 5;

/** Reads the live state of the run being recorded. */
export interface RunView {
  records(): TaskRecord[];
  recordOf(taskId: string): TaskRecord | undefined;
  snapshot(): unknown;
}

/** Hooks of a {@link RunCheckpointer}. */
export interface RunCheckpointerHooks {
  /** These completed tasks' records are durable (a completed record is final). */
  onDurable?: (taskIds: string[]) => void;
  /** A write failed (once: nothing more is written after it). */
  onFailure?: (error: AgentsSdkError) => void;
  /**
   * Called right before each write (checkpoint or task records), synchronously: the run's event
   * log commits the events noted so far here, so that they are durable no later than the
   * records they describe.
   */
  beforeCommit?: () => void;
}

/** One write's timing, for the durability bench. */
export interface CommitStats {
  /** Milliseconds from a task's end (completed or failed) being noted to its record being durable, per task. */
  latenciesMs: number[];
  /** Writes made. */
  writes: number;
}

/** Records one run into a backend. */
export class RunCheckpointer {
  /** Changed tasks not yet written, with when the first unwritten change was noted. */
  private dirty = new Map<string, number>();
  private scheduled = false;
  private pumpQueued = false;
  /** When the oldest unwritten change was noted (performance.now()). */
  private oldest = 0;
  private inflight: Promise<void> | null = null;
  private failure: AgentsSdkError | null = null;
  private idle: Array<() => void> = [];
  /** Filled when `stats` is passed to the constructor. */
  private readonly stats: CommitStats | undefined;
  /** Fields of the run fixed for its life, saved with every checkpoint (`rerunOf`). */
  readonly runFields: Pick<RunCheckpoint, 'rerunOf'> = {};

  constructor(
    private readonly backend: StateBackend,
    private readonly runId: string,
    private readonly workflow: Workflow,
    private readonly startedAt: number,
    private readonly view: RunView,
    private readonly hooks: RunCheckpointerHooks = {},
    stats?: CommitStats,
    /** Stored in every checkpoint: see {@link RunCheckpoint.launch}. */
    private readonly launch?: RunLaunch,
  ) {
    this.stats = stats;
  }

  /** The first write that failed, if any. */
  get writeFailure(): AgentsSdkError | null {
    return this.failure;
  }

  /** Writes the first checkpoint (spec, snapshot, every record). */
  async begin(): Promise<void> {
    try {
      this.hooks.beforeCommit?.();
      await this.backend.saveCheckpoint(this.runId, this.checkpoint('running'));
    } catch (error) {
      throw stateWriteError(error, this.runId, this.backend);
    }
  }

  /** Notes the task state changes an event stands for. */
  onEvent(event: TaskEvent | WorkflowEvent): void {
    switch (event.type) {
      case 'task.progress':
        // The Claude session id arrives with init: needed to continue an interrupted agent.
        if (event.progress.type !== 'init') return;
        break;
      case 'workflow.started':
      case 'workflow.finished':
      case 'workflow.reaped':
      case 'workflow.signal':
        return;
      default:
        break;
    }
    const now = performance.now();
    if (this.dirty.size === 0) this.oldest = now;
    if (!this.dirty.has(event.taskId)) this.dirty.set(event.taskId, now);
    // A write in flight picks the change up when it ends. Otherwise the changes made until the
    // next turn of the event loop go out together; but a loaded loop can take seconds to turn
    // (one poll phase handling dozens of process exits, each spawning the next agent), so a
    // change that has waited COALESCE_MS is written right after the step that noted it.
    if (this.inflight !== null) return;
    if (now - this.oldest >= COALESCE_MS) {
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => {
          this.pumpQueued = false;
          this.pump();
        });
      }
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Resolves once every change noted so far is written (or a write has failed). */
  flush(): Promise<void> {
    this.scheduled = false;
    this.pump();
    if (this.inflight === null) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Flushes, then writes the final checkpoint with the result.
   *
   * @throws PermanentError `STATE_WRITE_FAILED` when any write of the run failed (the final
   *   checkpoint is still attempted, so that what can be saved is).
   */
  async finish(result: WorkflowResult): Promise<void> {
    await this.flush();
    try {
      this.hooks.beforeCommit?.();
      await this.backend.saveCheckpoint(this.runId, this.checkpoint(result.status, result));
    } catch (error) {
      this.failure ??= stateWriteError(error, this.runId, this.backend);
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Stops the run as a failed write of its state does (nothing new starts, the run ends with
   * `STATE_WRITE_FAILED`): another write the run needs (a worktree task's commit) failed.
   */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = stateWriteError(error, this.runId, this.backend);
    this.wakeIdle();
    this.hooks.onFailure?.(this.failure);
  }

  /** Starts the next group commit if none is in flight. */
  private pump(): void {
    if (this.inflight !== null) return;
    if (this.dirty.size === 0 || this.failure) {
      this.wakeIdle();
      return;
    }
    const batch = this.dirty;
    this.dirty = new Map();
    const records: TaskRecord[] = [];
    for (const id of batch.keys()) {
      const record = this.view.recordOf(id);
      if (record) records.push({ ...record });
    }
    this.hooks.beforeCommit?.();
    this.inflight = this.backend.saveTaskRecords(this.runId, records).then(
      () => {
        if (this.stats) {
          const now = performance.now();
          this.stats.writes += 1;
          for (const r of records) {
            if (r.status === 'completed' || r.status === 'failed') this.stats.latenciesMs.push(now - batch.get(r.taskId)!);
          }
        }
        this.inflight = null;
        try {
          // A failed task's too: the dependants of one allowed to fail (`allow_failure`) wait for it.
          // A fan-out's recorded list too: its instances start only once it is durable; and a
          // loop's iteration number: that iteration's tasks start only once it is durable.
          const completed = records
            .filter((r) => r.status === 'completed' || r.status === 'failed' || (r.status === 'running' && (r.items !== undefined || r.iteration !== undefined)))
            .map((r) => r.taskId);
          if (completed.length > 0) this.hooks.onDurable?.(completed);
        } finally {
          this.pump();
        }
      },
      (error: unknown) => {
        this.inflight = null;
        this.failure = stateWriteError(error, this.runId, this.backend);
        this.wakeIdle();
        this.hooks.onFailure?.(this.failure);
      },
    );
  }

  private wakeIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  private checkpoint(status: RunCheckpoint['status'], result?: WorkflowResult): RunCheckpoint {
    const now = Date.now();
    return compactCheckpoint({
      ...this.runFields,
      ...(result && { result }),
      ...(this.launch && { launch: this.launch }),
      schemaVersion: STATE_SCHEMA_VERSION,
      runId: this.runId,
      workflowId: this.workflow.id,
      status,
      workflow: this.workflow,
      startedAt: this.startedAt,
      updatedAt: now,
      snapshot: this.view.snapshot(),
      records: this.view.records().map((r) => ({ ...r })),
    });
  }
}

/**
 * The error a failed state write is reported as: `STATE_WRITE_FAILED`, naming the file (the
 * backend's, when it says which) and the cause (`ENOSPC`, `EIO`, `SQLITE_FULL`...). Typed
 * errors of the backend (LOCKED, CORRUPT_STATE, INVALID_KEY) keep their code.
 */
export function stateWriteError(error: unknown, runId: string, backend?: StateBackend): AgentsSdkError {
  if (error instanceof AgentsSdkError) return error;
  const errno = error as NodeJS.ErrnoException;
  const cause = errno.code ?? (error instanceof Error ? error.name : 'Error');
  const message = error instanceof Error ? error.message : String(error);
  const file = errno.path ?? (backend as { file?: unknown } | undefined)?.file;
  const where = typeof file === 'string' ? ` to ${file}` : '';
  const text = message.startsWith(cause) ? message : `${cause}: ${message}`;
  return new PermanentError('STATE_WRITE_FAILED', `Could not save the state of run ${runId}${where}: ${text}`, {
    cause: error,
    details: { runId, cause, ...(typeof file === 'string' && { file }) },
  });
}
