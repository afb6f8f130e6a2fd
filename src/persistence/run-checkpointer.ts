/**
 * Persists a run while it executes: a checkpoint at the start and at the end, and the task's
 * plain record after every task state change (started, retrying, Claude session id known,
 * completed, failed, skipped, cancelled). Changes in the same tick are coalesced into one
 * write of the latest state of each task; writes are ordered, so a completed task's record
 * is never overwritten by an older one.
 *
 * @module
 */
import type { TaskEvent, WorkflowEvent } from '../events.js';
import type { Workflow } from '../workflow/spec.js';
import type { TaskRecord, WorkflowResult } from '../workflow/workflow-result.js';
import { STATE_SCHEMA_VERSION, type RunCheckpoint, type StateBackend } from './state-backend.js';

/** Reads the live state of the run being recorded. */
export interface RunView {
  records(): TaskRecord[];
  recordOf(taskId: string): TaskRecord | undefined;
  snapshot(): unknown;
}

/** Records one run into a backend. */
export class RunCheckpointer {
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private writes: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly backend: StateBackend,
    private readonly runId: string,
    private readonly workflow: Workflow,
    private readonly startedAt: number,
    private readonly view: RunView,
  ) {}

  /** Writes the first checkpoint (spec, snapshot, every record). */
  async begin(): Promise<void> {
    await this.backend.saveCheckpoint(this.runId, this.checkpoint('running'));
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
        return;
      default:
        break;
    }
    this.dirty.add(event.taskId);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes the latest state of every task changed since the last write. */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.dirty.size === 0) return this.writes;
    const records: TaskRecord[] = [];
    for (const id of this.dirty) {
      const record = this.view.recordOf(id);
      if (record) records.push({ ...record });
    }
    this.dirty.clear();
    this.writes = this.writes.then(() =>
      this.backend.saveTaskRecords(this.runId, records).catch((error: unknown) => {
        this.failure ??= error;
      }),
    );
    return this.writes;
  }

  /** Flushes, then writes the final checkpoint with the result. Rejects if any write failed. */
  async finish(result: WorkflowResult): Promise<void> {
    await this.flush();
    await this.backend.saveCheckpoint(this.runId, { ...this.checkpoint(result.status), result });
    if (this.failure) throw this.failure;
  }

  private checkpoint(status: RunCheckpoint['status']): RunCheckpoint {
    const now = Date.now();
    return {
      schemaVersion: STATE_SCHEMA_VERSION,
      runId: this.runId,
      workflowId: this.workflow.id,
      status,
      workflow: this.workflow,
      startedAt: this.startedAt,
      updatedAt: now,
      snapshot: this.view.snapshot(),
      records: this.view.records().map((r) => ({ ...r })),
    };
  }
}
