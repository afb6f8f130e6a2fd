/**
 * `agents-sdk exec` stores its session as a run of one agent task, in the state backend
 * (`--backend json|sqlite`) under the id whose directory holds the raw output, so that
 * `status`, `logs`, `list`, `report` and `stats` know the id that `exec` prints.
 *
 * @module
 */
import { emptyTokens, type TokenUsage } from '../claude/stream-json.js';
import { AgentsSdkError, ValidationError, serializeError, type SerializedError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import { STATE_SCHEMA_VERSION, type ReleaseLock, type RunCheckpoint, type StateBackend } from '../persistence/state-backend.js';
import type { Workflow } from '../workflow/spec.js';
import { validateWorkflow } from '../workflow/validate-workflow.js';
import { toTaskResult, type AttemptRecord, type TaskRecord, type WorkflowStatus } from '../workflow/workflow-result.js';

/** The workflow id of a run stored by `exec`. */
export const EXEC_WORKFLOW_ID = 'exec';

/** What `exec` ran, as the one task of its run's workflow. */
export interface ExecTaskSpec {
  agentName: string;
  prompt: string;
  model?: string;
  cwd?: string;
  maxTurns?: number;
  timeoutS?: number;
  attempts: number;
  dangerouslySkipPermissions?: boolean;
  /** `--json-schema`: the schema object. */
  outputSchema?: Record<string, unknown>;
}

/**
 * The run's workflow: one agent task named after the agent (its raw output directory).
 *
 * @throws ValidationError when the agent name cannot be a task id.
 */
export function execWorkflow(spec: ExecTaskSpec): Workflow {
  try {
    return validateWorkflow({
      id: EXEC_WORKFLOW_ID,
      max_parallel: 1,
      tasks: [
        {
          id: spec.agentName,
          prompt: spec.prompt,
          retry_count: spec.attempts,
          ...(spec.model !== undefined && { model: spec.model }),
          ...(spec.cwd !== undefined && { cwd: spec.cwd }),
          ...(spec.maxTurns !== undefined && { max_turns: spec.maxTurns }),
          ...(spec.timeoutS !== undefined && { timeout: spec.timeoutS }),
          ...(spec.dangerouslySkipPermissions && { dangerously_skip_permissions: true }),
          ...(spec.outputSchema !== undefined && { output_schema: spec.outputSchema }),
        },
      ],
    });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issue = error.issues.find((i) => i.path.endsWith('.id') || i.path.startsWith('tasks['));
    if (issue) throw new ValidationError(`exec: --agent "${spec.agentName}" ${issue.message} (it names the run's task and raw output directory)`);
    throw error;
  }
}

/** A run of `exec` being stored: {@link ExecRun.finish} saves how it ended and releases the run. */
export interface ExecRun {
  finish(outcome: { result: ExecutionResult } | { error: unknown }, attemptLog: readonly AttemptRecord[]): Promise<void>;
  /** Releases the run's lock without saving (the process is going down). */
  release(): Promise<void>;
}

/**
 * Stores the run as `running` (its lock held, so `list` and `status` say `running`, and
 * `interrupted` if this process dies) before the agent starts.
 */
export async function startExecRun(backend: StateBackend, runId: string, workflow: Workflow, now: () => number = Date.now): Promise<ExecRun> {
  const release: ReleaseLock = await backend.lockRun(runId);
  const startedAt = now();
  const taskId = workflow.tasks[0]!.id;
  const running: TaskRecord = { ...blankRecord(taskId), status: 'running', startedAt };
  const checkpoint = (status: RunCheckpoint['status'], record: TaskRecord, at: number): RunCheckpoint => ({
    schemaVersion: STATE_SCHEMA_VERSION,
    runId,
    workflowId: workflow.id,
    status,
    workflow,
    startedAt,
    updatedAt: at,
    records: [record],
  });
  try {
    await backend.saveCheckpoint(runId, checkpoint('running', running, startedAt));
  } catch (error) {
    await release();
    throw error;
  }
  let released = false;
  const releaseOnce = async (): Promise<void> => {
    if (released) return;
    released = true;
    await release();
  };
  return {
    release: releaseOnce,
    async finish(outcome, attemptLog) {
      const endedAt = now();
      const log = attemptLog.map((a) => ({ ...a }));
      const spent = sum(log);
      const status: WorkflowStatus = 'result' in outcome ? 'completed' : isCancel(outcome.error) ? 'cancelled' : 'failed';
      const record: TaskRecord = {
        taskId,
        status,
        attempts: log.filter((a) => a.status !== 'cancelled').length,
        attemptLog: log,
        output: 'result' in outcome ? outcome.result.output : null,
        sessionId: 'result' in outcome ? outcome.result.sessionId : (log.findLast((a) => a.sessionId !== null)?.sessionId ?? null),
        tokens: spent.tokens,
        costUsd: spent.costUsd,
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
        error: 'error' in outcome ? withoutResult(serializeError(outcome.error)) : null,
      };
      if ('result' in outcome && outcome.result.json !== undefined) record.json = outcome.result.json;
      const run = checkpoint(status, record, endedAt);
      run.result = {
        workflowId: workflow.id,
        runId,
        status,
        success: status === 'completed',
        taskResults: [toTaskResult(record)],
        totalTimeMs: endedAt - startedAt,
        tokens: spent.tokens,
        costUsd: spent.costUsd,
      };
      try {
        await backend.saveCheckpoint(runId, run);
      } finally {
        await releaseOnce();
      }
    },
  };
}

function blankRecord(taskId: string): TaskRecord {
  return { taskId, status: 'pending', attempts: 0, attemptLog: [], output: null, sessionId: null, tokens: emptyTokens(), costUsd: 0, startedAt: null, endedAt: null, durationMs: null, error: null };
}

function sum(log: readonly AttemptRecord[]): { tokens: TokenUsage; costUsd: number } {
  const tokens = emptyTokens();
  let costUsd = 0;
  for (const a of log) {
    tokens.input += a.tokens.input;
    tokens.output += a.tokens.output;
    tokens.cacheRead += a.tokens.cacheRead;
    tokens.cacheCreation += a.tokens.cacheCreation;
    costUsd += a.costUsd;
  }
  return { tokens, costUsd };
}

function isCancel(error: unknown): boolean {
  return error instanceof AgentsSdkError && error.code === 'CANCELLED';
}

/** The error as a record keeps it: without the partial result (its tokens and cost are the record's). */
function withoutResult(error: SerializedError): SerializedError {
  const { result: _result, ...rest } = error;
  return rest;
}
