/**
 * The executor: the one side-effecting function a session invokes to run one request.
 * The default runs Claude Code or a command; replay and tests provide others through
 * `machine.provide({ actors: { executor: createExecutorActor(myExecutor) } })`.
 *
 * @module
 */
import { fromCallback, type EventObject } from 'xstate';
import type { ClaudeProgressEvent } from '../claude/stream-json.js';
import { serializeError, type SerializedError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import type { TaskMemoryRequest } from '../memory/memory-executor.js';
import type { WorkspaceRequest } from '../workspace/workspace-request.js';
import { runClaudeCode, type ClaudeRunRequest } from './claude-code-runner.js';
import { runCommand, type CommandRunRequest } from './command-runner.js';

/**
 * A request for one execution. Plain JSON, so it can sit in machine context and checkpoints.
 * `memory`: set by the orchestrator on a task that uses memory (`{{memory.<key>}}`,
 * `{{hash "..."}}`, `cache:`, `remember:`), for the memory layer `WorkflowOrchestrator` wraps its
 * executor in; an executor given one directly ignores it.
 */
export type ExecutionRequest = (({ kind: 'claude' } & ClaudeRunRequest) | ({ kind: 'command' } & CommandRunRequest)) & {
  memory?: TaskMemoryRequest;
  /**
   * Set by the orchestrator on a task with `workspace: worktree` or `ports:`, for the workspace
   * layer `WorkflowOrchestrator` wraps its executor in (its worktree, its ports); an executor
   * given one directly ignores it.
   */
  workspace?: WorkspaceRequest;
  /** The task's `runs_on`: a remote executor sends the attempt only to workers with all these tags; a local one ignores it. */
  runsOn?: string[];
  /**
   * Set on resume when the attempts right before this one were cut short by the death of the
   * process driving the run (their numbers, newest first): a remote executor re-attaches to the
   * one whose job exists (takes its result, or waits for it) instead of starting another; a
   * local one ignores it (the process registry ended them).
   */
  interruptedAttempts?: number[];
};

/** Companions of an execution that cannot be serialized. */
export interface ExecutionHooks {
  /** Aborted when the attempt is cancelled: the executor stops its process. */
  signal: AbortSignal;
  /** Receives the attempt's progress (tool calls, turns, API retries) as it happens. */
  onEvent: (event: ClaudeProgressEvent) => void;
}

/** Runs one request; resolves with the result or rejects with a typed error. */
export type Executor = (request: ExecutionRequest, hooks: ExecutionHooks) => Promise<ExecutionResult>;

/** Runs Claude Code requests through the CLI and command requests with execa. */
export const defaultExecutor: Executor = (request, hooks) => {
  if (request.kind === 'command') {
    const { kind: _kind, ...command } = request;
    return runCommand(command, { signal: hooks.signal });
  }
  const { kind: _kind, ...claude } = request;
  return runClaudeCode(claude, hooks);
};

/** Events the executor actor sends back to the session that invoked it. */
export type ExecutorEvent =
  | { type: 'EXECUTOR.PROGRESS'; event: ClaudeProgressEvent }
  | { type: 'EXECUTOR.DONE'; result: ExecutionResult }
  | { type: 'EXECUTOR.FAILED'; error: SerializedError };

/**
 * Wraps an {@link Executor} as XState actor logic. Stopping the actor (the session left
 * `running`, was cancelled or stopped) aborts the execution, which kills its process tree.
 */
export function createExecutorActor(executor: Executor = defaultExecutor) {
  return fromCallback<EventObject, ExecutionRequest>(({ input, sendBack }) => {
    // Made on first use: most executions never look at their signal before they end.
    let controller: AbortController | null = null;
    let live = true;
    let settled = false;
    const send = (event: ExecutorEvent): void => {
      if (live) sendBack(event);
    };
    const hooks: ExecutionHooks = {
      get signal() {
        controller ??= new AbortController();
        if (!live) controller.abort();
        return controller.signal;
      },
      onEvent: (event) => send({ type: 'EXECUTOR.PROGRESS', event }),
    };
    // Promise.resolve().then: an executor that throws instead of rejecting is a failure, not a crash.
    Promise.resolve()
      .then(() => executor(input, hooks))
      .then(
        (result) => {
          settled = true;
          send({ type: 'EXECUTOR.DONE', result });
        },
        (error: unknown) => {
          settled = true;
          send({ type: 'EXECUTOR.FAILED', error: serializeError(error) });
        },
      );
    return () => {
      live = false;
      // Aborting builds a DOMException: only worth it while the execution still runs.
      if (!settled) controller?.abort();
    };
  });
}
