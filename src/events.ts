/**
 * The catalogue of everything the runtime can say: one typed map, carried by the event bus
 * (`orchestrator.bus`, `session.bus`: see `event-bus.ts`).
 *
 * Session events are emitted by every session actor (`actor.on(type, ...)`) and re-published
 * by the orchestrator on its bus with the task id; workflow events come from the orchestrator.
 *
 * @module
 */
import type { ReapedProcess } from './actors/process-registry.js';
import type { ClaudeProgressEvent } from './claude/stream-json.js';
import type { SerializedError } from './errors.js';
import type { Signal } from './signals/signal.js';
import type { ExecutionResult } from './execution-result.js';
import type { TaskRecord, WorkflowResult } from './workflow/workflow-result.js';
import type { RerunOrigin } from './workflow/rerun-plan.js';

/** Fields every session event carries. */
export interface SessionEventBase {
  /** The session's id (for orchestrated tasks, the task id). */
  sessionId: string;
  agentName: string;
  /** Attempt number within the current execution, from 1. */
  attempt: number;
  /** Epoch milliseconds. */
  at: number;
}

/** Lifecycle and progress events of one session, in the order they happen. */
export type SessionEvent =
  | (SessionEventBase & { type: 'session.started'; maxAttempts: number })
  | (SessionEventBase & { type: 'session.progress'; progress: ClaudeProgressEvent })
  | (SessionEventBase & { type: 'session.retrying'; error: SerializedError; delayMs: number })
  | (SessionEventBase & { type: 'session.completed'; result: ExecutionResult })
  | (SessionEventBase & { type: 'session.failed'; error: SerializedError })
  /**
   * A session restored from a snapshot taken mid-execution, before it runs its request again:
   * the agent processes its previous life left running (see `reapProcesses`), killed so that
   * the prompt never has two agents at once.
   */
  | (SessionEventBase & { type: 'session.reaped'; processes: ReapedProcess[] });

/** Fields every task event carries. */
export interface TaskEventBase {
  workflowId: string;
  runId: string;
  taskId: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Lifecycle and progress of the tasks of a run (a task's session events, with the task id). */
export type TaskEvent =
  /**
   * A `wait_for` task's dependencies are done and it waits for its event; `deadline` (epoch ms)
   * is when it fails if the event has not come, `null` without a timeout.
   */
  | (TaskEventBase & { type: 'task.waiting'; event: string; deadline: number | null })
  /**
   * `attempt`: the attempt's number in the task's attempt log, across resumes (as `status`
   * says `#2`, `logs --attempt 2`, `raw_output.attempt-2.jsonl`); `counted`: how many attempts
   * count against `retry_count` (`maxAttempts`), this one included: fewer than `attempt` when
   * an earlier attempt was cancelled (a cancelled attempt does not count).
   */
  | (TaskEventBase & { type: 'task.started'; attempt: number; counted?: number; maxAttempts: number })
  | (TaskEventBase & { type: 'task.progress'; attempt: number; progress: ClaudeProgressEvent })
  | (TaskEventBase & { type: 'task.retrying'; attempt: number; counted?: number; error: SerializedError; delayMs: number })
  | (TaskEventBase & { type: 'task.completed'; record: TaskRecord })
  | (TaskEventBase & { type: 'task.failed'; record: TaskRecord })
  | (TaskEventBase & { type: 'task.skipped'; record: TaskRecord })
  | (TaskEventBase & { type: 'task.cancelled'; record: TaskRecord })
  /**
   * A fan-out task's list is recorded: `count` instances (`<id>[0]`...) will run. For a fan-out
   * over a group, `tasks` are the group's tasks (local ids): instance k runs `<id>[k].<task>`.
   */
  | (TaskEventBase & { type: 'fanout.expanded'; count: number; tasks?: string[] })
  /** A loop (`repeat`) starts iteration `iteration` (from 1; at most `max`): its tasks (`<id>#<k>`...) will run. */
  | (TaskEventBase & { type: 'loop.iteration'; iteration: number; max: number });

/** Lifecycle of a whole run. */
export type WorkflowEvent =
  | {
      type: 'workflow.started';
      workflowId: string;
      runId: string;
      at: number;
      taskIds: string[];
      /** The workflow's groups by full id, each with its tasks' full ids (see `Workflow.groups`): the live view draws them. */
      groups?: Record<string, string[]>;
      resumed: boolean;
      /** A run made by `rerun --from`: the run it was made from (see `RunCheckpoint.rerunOf`). */
      rerunOf?: RerunOrigin;
    }
  | { type: 'workflow.finished'; workflowId: string; runId: string; at: number; result: WorkflowResult }
  /**
   * On resume, before anything runs: agent process groups that the interrupted process left
   * running (see `reapProcesses`), killed so that no task has two agents at once.
   */
  | { type: 'workflow.reaped'; workflowId: string; runId: string; at: number; processes: ReapedProcess[] }
  /**
   * A signal reached the run (`received`: sent with `agents-sdk signal`, `orchestrator.signal()`
   * or published by another run) or a task of the run published one (`published`: its
   * `publish:` field). Each signal is announced once per process.
   */
  | { type: 'workflow.signal'; workflowId: string; runId: string; at: number; origin: 'received' | 'published'; signal: Signal };

/** Every lifecycle event, keyed by its `type`: the event map of `orchestrator.bus` and `session.bus`. */
export type Events = {
  [E in SessionEvent | TaskEvent | WorkflowEvent as E['type']]: E;
};
