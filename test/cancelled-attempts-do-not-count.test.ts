/**
 * A cancelled attempt (Ctrl-C, `cancel()`) does not count against `retry_count`; a crashed one
 * does (test/crash-resume.test.ts). Executors here are in-process and hang until aborted, so
 * nothing depends on timing: each cancel is sent when the attempt has started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { okResult } from './helpers/results.js';
import {
  JsonStateBackend,
  TransientError,
  WorkflowOrchestrator,
  type ExecutionResult,
  type Executor,
  type TaskEvent,
  type WorkflowSpecInput,
} from '../src/index.js';

const OK = okResult({ output: 'done', numTurns: 1 });

/** Settles as `steps` says, one entry per call: `hang` waits for the abort, `fail` is transient, `ok` succeeds. */
function scripted(steps: Array<'hang' | 'fail' | 'ok'>): Executor & { calls: number } {
  const executor = ((_request, hooks) => {
    const step = steps[executor.calls++] ?? 'ok';
    if (step === 'ok') return Promise.resolve(OK);
    if (step === 'fail') return Promise.reject(new TransientError('API_OVERLOADED', 'overloaded'));
    return new Promise<ExecutionResult>((_resolve, reject) => {
      const signal = hooks.signal;
      if (signal.aborted) reject(new Error('aborted'));
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }) as Executor & { calls: number };
  executor.calls = 0;
  return executor;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cancelled-attempts-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An orchestrator on the shared state dir that cancels once `when` is emitted, collecting task events. */
function orchestrator(executor: Executor, when: 'task.started' | 'task.retrying' | null, seen: TaskEvent[], retryDelayMs = 60_000) {
  const o = new WorkflowOrchestrator({
    stateBackend: new JsonStateBackend(dir),
    stateDir: dir,
    executor,
    retry: { baseDelayMs: retryDelayMs, maxDelayMs: retryDelayMs, jitter: 'none' },
  });
  for (const type of ['task.started', 'task.retrying', 'task.cancelled', 'task.completed'] as const) {
    o.bus.subscribe(type, ({ payload: e }) => {
      seen.push(e);
      if (e.type === when) void o.cancel();
    });
  }
  return o;
}

const spec = (retry_count: number): WorkflowSpecInput => ({ id: 'w', tasks: [{ id: 'a', prompt: 'x', retry_count }] });

describe('a cancelled attempt does not count against retry_count', () => {
  it('retry_count 1, cancelled twice and resumed: attempts 1, 2 and 3 each count as 1/1, and the task completes after 1 counted attempt', async () => {
    const executor = scripted(['hang', 'hang', 'ok']);
    const seen: TaskEvent[] = [];
    const first = await orchestrator(executor, 'task.started', seen).runWorkflow(spec(1), { runId: 'r1' });
    expect(first.status).toBe('cancelled');
    expect(first.taskResults[0]).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect((await new JsonStateBackend(dir).loadRun('r1'))!.records[0]).toMatchObject({ status: 'cancelled', attempts: 0 });

    const second = await orchestrator(executor, 'task.started', seen).resume('r1');
    expect(second.status).toBe('cancelled');
    expect(second.taskResults[0]!.attempts).toBe(0);

    const third = await orchestrator(executor, null, seen).resume('r1');
    expect(third.status).toBe('completed');
    expect(third.taskResults[0]).toMatchObject({ status: 'completed', attempts: 1, output: 'done' });
    expect(executor.calls).toBe(3);
    // Numbered as the attempt log (and status, logs, the raw files) number them; counted against retry_count.
    const starts = seen.filter((e) => e.type === 'task.started').map((e) => e.type === 'task.started' && [e.attempt, e.counted, e.maxAttempts]);
    expect(starts).toEqual([
      [1, 1, 1],
      [2, 1, 1],
      [3, 1, 1],
    ]);
    expect((await new JsonStateBackend(dir).loadRun('r1'))!.records[0]).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('attempts that failed before the cancel still count; the resumed task gets only what is left', async () => {
    // Attempt 1 fails (transient), attempt 2 is cancelled; on resume attempt 3 (the second that
    // counts) fails, and with retry_count 3 one attempt is left: attempt 4 succeeds.
    const executor = scripted(['fail', 'hang', 'fail', 'ok']);
    const seen: TaskEvent[] = [];
    const o = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });
    o.bus.subscribe('task.started', ({ payload: e }) => {
      seen.push(e);
      if (e.attempt === 2) void o.cancel();
    });
    const first = await o.runWorkflow(spec(3), { runId: 'r2' });
    expect(first.status).toBe('cancelled');
    expect(first.taskResults[0]!.attempts).toBe(1);

    const resumed = await orchestrator(executor, null, seen, 1).resume('r2');
    expect(resumed.taskResults[0]).toMatchObject({ status: 'completed', attempts: 3 });
    expect(seen.filter((e) => e.type === 'task.started').map((e) => e.type === 'task.started' && [e.attempt, e.counted])).toEqual([
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
    ]);
  });

  it('a task cancelled while it waits to retry keeps the attempt that failed', async () => {
    const executor = scripted(['fail', 'ok']);
    const seen: TaskEvent[] = [];
    const first = await orchestrator(executor, 'task.retrying', seen).runWorkflow(spec(2), { runId: 'r3' });
    expect(first.status).toBe('cancelled');
    expect(first.taskResults[0]).toMatchObject({ status: 'cancelled', attempts: 1 });
    const resumed = await orchestrator(executor, null, seen).resume('r3');
    expect(resumed.taskResults[0]).toMatchObject({ status: 'completed', attempts: 2 });
    const starts = seen.filter((e) => e.type === 'task.started').map((e) => e.type === 'task.started' && [e.attempt, e.maxAttempts]);
    expect(starts).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
