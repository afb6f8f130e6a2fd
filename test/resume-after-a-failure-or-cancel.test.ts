/**
 * Resuming a run that already had a failure (the failure policy applies again), a run without a
 * backend (nothing persisted, no resume), and a cancelled run (finished tasks kept).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, createReplayExecutor, validateWorkflow, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { record } from './helpers/records.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('resume of a run that already had a failure', () => {
  it.each([
    ['continue', { b: 'skipped', c: 'completed' }, 'failed'],
    ['stop', { b: 'skipped', c: 'skipped' }, 'failed'],
  ] as const)('on_failure %s applies again to what the first process finished', async (policy, expected, status) => {
    const backend = new JsonStateBackend(world.stateDir);
    const workflow = validateWorkflow({
      id: 'w',
      on_failure: policy,
      tasks: [
        { id: 'a', prompt: 'a' },
        { id: 'b', prompt: 'b', depends_on: ['a'] },
        { id: 'c', prompt: 'c [[reply:c done]]' },
      ],
    });
    const failed: TaskRecord = { ...record('a', 'failed'), error: { name: 'PermanentError', code: 'AGENT_ERROR', message: 'x', transient: false } };
    await backend.saveCheckpoint('r1', {
      schemaVersion: STATE_SCHEMA_VERSION,
      runId: 'r1',
      workflowId: 'w',
      status: 'running',
      workflow,
      startedAt: 1,
      updatedAt: 1,
      records: [failed, record('b', 'pending'), record('c', 'running')],
    });
    const restoreEnv = setProcessEnv(world.env);
    try {
      const result = await new WorkflowOrchestrator(backend, { stateDir: world.stateDir }).resume('r1');
      expect(result.status).toBe(status);
      const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t.status]));
      expect({ b: byId.b, c: byId.c }).toEqual(expected);
      expect(byId.a).toBe('failed');
      expect((await backend.loadRun('r1'))!.status).toBe('failed');
    } finally {
      restoreEnv();
      await backend.close();
    }
  });

  it('an orchestrator without a backend persists nothing and cannot resume', async () => {
    const o = new WorkflowOrchestrator(null, { executor: createReplayExecutor('examples/recordings/plan-build', { speed: 0 }), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'plan-build', tasks: [{ id: 'plan', prompt: 'p' }] });
    expect(result.status).toBe('completed');
    expect(o.stateBackend).toBeNull();
    expect((await failureOf(o.resume(result.runId))).code).toBe('NOT_FOUND');
  });
});

describe('cancel, then resume', () => {
  it('continues a cancelled run: finished tasks are kept, cancelled and skipped ones run', async () => {
    const restoreEnv = setProcessEnv(world.env);
    try {
      const spec = {
        id: 'w',
        tasks: [
          { id: 'quick', prompt: 'quick [[reply:q]]' },
          { id: 'slow', prompt: 'slow [[delay:1500]] [[reply:s]]', depends_on: ['quick'] },
          { id: 'last', prompt: 'last [[reply:l]]', depends_on: ['slow'] },
        ],
      };
      const first = new WorkflowOrchestrator({ stateDir: world.stateDir });
      first.bus.subscribe('task.started', ({ payload: e }) => {
        if (e.taskId === 'slow') setTimeout(() => void first.cancel(), 200);
      });
      const cancelled = await first.runWorkflow(spec, { runId: 'c1' });
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.taskResults.map((t) => [t.taskId, t.status])).toEqual([
        ['quick', 'completed'],
        ['slow', 'cancelled'],
        ['last', 'skipped'],
      ]);
      const resumed = await new WorkflowOrchestrator({ stateDir: world.stateDir }).resume('c1');
      expect(resumed.status).toBe('completed');
      expect(resumed.taskResults.map((t) => [t.taskId, t.status, t.output])).toEqual([
        ['quick', 'completed', 'q'],
        ['slow', 'completed', 's'],
        ['last', 'completed', 'l'],
      ]);
      expect(resumed.taskResults[1]!.attempts).toBe(1); // the cancelled attempt does not count
      expect(world.invocations().filter((c) => String(c.prompt).startsWith('quick'))).toHaveLength(1);
    } finally {
      restoreEnv();
    }
  });
});
