/**
 * Small factories of task records and checkpoints for the state backend tests.
 */
import { validateWorkflow, type RunCheckpoint, type TaskRecord } from '../../src/index.js';
import { STATE_SCHEMA_VERSION } from '../../src/persistence/state-backend.js';

export function record(taskId: string, status: TaskRecord['status'] = 'completed', costUsd = 0.01): TaskRecord {
  return {
    taskId,
    status,
    attempts: 1,
    output: `out-${taskId}`,
    sessionId: null,
    tokens: { input: 1, output: 2, cacheRead: 0, cacheCreation: 0 },
    costUsd,
    startedAt: 1,
    endedAt: 2,
    durationMs: 1,
    error: null,
  };
}

export function checkpoint(runId: string, taskIds: string[], startedAt = Date.now()): RunCheckpoint {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    runId,
    workflowId: 'wf',
    status: 'running',
    workflow: validateWorkflow({ id: 'wf', tasks: taskIds.map((id) => ({ id, prompt: 'x' })) }),
    startedAt,
    updatedAt: startedAt,
    records: taskIds.map((id) => record(id, 'pending', 0)),
  };
}
