/**
 * `resume(runId, { retryFailed })` reruns the failed (and skipped) tasks of a finished failed
 * run with fresh attempts, keeping the completed ones; `resume(runId, { budgetUsd })` continues
 * a run that went over budget under a new cap. In-process executors: no timing involved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  JsonStateBackend,
  PermanentError,
  TransientError,
  ValidationError,
  WorkflowOrchestrator,
  type ExecutionResult,
  type Executor,
} from '../src/index.js';

const ok = (output: string, costUsd = 0): ExecutionResult => ({
  success: true,
  output,
  sessionId: null,
  tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
  costUsd,
  durationMs: 0,
  cliDurationMs: null,
  numTurns: 1,
  exitCode: 0,
  stderrTail: '',
});

/** Runs task `agentName` through `behave`, counting calls per task. */
function byTask(behave: (taskId: string, call: number) => Promise<ExecutionResult>): Executor & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const executor: Executor = (request) => {
    const id = request.kind === 'claude' ? request.agentName ?? '?' : '?';
    calls[id] = (calls[id] ?? 0) + 1;
    return behave(id, calls[id]);
  };
  return Object.assign(executor, { calls });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resume-options-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function orchestrator(executor: Executor, starts: Array<[string, number, number, number | undefined]> = []) {
  const o = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });
  o.bus.subscribe('task.started', ({ payload: e }) => {
    starts.push([e.taskId, e.attempt, e.maxAttempts, e.counted]);
  });
  return o;
}

describe('resume --retry-failed', () => {
  const spec = {
    id: 'w',
    tasks: [
      { id: 'a', prompt: 'a' },
      { id: 'b', prompt: 'b', depends_on: ['a'], retry_count: 2 },
      { id: 'c', prompt: 'c', depends_on: ['b'] },
      { id: 'd', prompt: 'd' },
    ],
  };

  it('reruns the failed task with fresh attempts and the tasks skipped because of it; completed ones are kept', async () => {
    let fixed = false;
    const executor = byTask(async (id) => {
      if (id === 'b' && !fixed) throw new TransientError('API_OVERLOADED', 'overloaded');
      return ok(`out-${id}`);
    });
    const starts: Array<[string, number, number, number | undefined]> = [];
    const failed = await orchestrator(executor, starts).runWorkflow(spec, { runId: 'f1' });
    expect(failed.status).toBe('failed');
    const status = (r: typeof failed) => Object.fromEntries(r.taskResults.map((t) => [t.taskId, [t.status, t.attempts]]));
    expect(status(failed)).toEqual({ a: ['completed', 1], b: ['failed', 2], c: ['skipped', 0], d: ['completed', 1] });

    // Without the option a finished run is not run again.
    fixed = true;
    const again = await orchestrator(executor).resume('f1');
    expect(again).toEqual(failed);
    expect(executor.calls).toEqual({ a: 1, b: 2, d: 1 });

    const retried = await orchestrator(executor, starts).resume('f1', { retryFailed: true });
    expect(retried.status).toBe('completed');
    expect(status(retried)).toEqual({ a: ['completed', 1], b: ['completed', 1], c: ['completed', 1], d: ['completed', 1] });
    expect(retried.taskResults.find((t) => t.taskId === 'c')!.output).toBe('out-c');
    expect(executor.calls).toEqual({ a: 1, b: 3, c: 1, d: 1 });
    // b: attempts 1 and 2 of 2 in the first run, then attempt 3 (numbered as its attempt log
    // numbers it), the first of 2 fresh ones.
    expect(starts.filter(([id]) => id === 'b')).toEqual([
      ['b', 1, 2, 1],
      ['b', 2, 2, 2],
      ['b', 3, 2, 1],
    ]);
    const stored = await new JsonStateBackend(dir).loadRun('f1');
    expect(stored!.status).toBe('completed');
    expect(stored!.result!.status).toBe('completed');
  });

  it('a retried task that fails again leaves the run failed, with its dependants skipped again', async () => {
    const executor = byTask(async (id) => {
      if (id === 'b') throw new PermanentError('AGENT_ERROR', 'no');
      return ok(id);
    });
    expect((await orchestrator(executor).runWorkflow(spec, { runId: 'f2' })).status).toBe('failed');
    const retried = await orchestrator(executor).resume('f2', { retryFailed: true });
    expect(retried.status).toBe('failed');
    expect(retried.taskResults.map((t) => [t.taskId, t.status, t.attempts])).toEqual(
      expect.arrayContaining([
        ['b', 'failed', 1],
        ['c', 'skipped', 0],
      ]),
    );
    expect(executor.calls).toEqual({ a: 1, b: 2, d: 1 });
  });
});

describe('resume --budget', () => {
  const spec = {
    id: 'w',
    budget_usd: 1,
    max_parallel: 1,
    tasks: [
      { id: 'a', prompt: 'a' },
      { id: 'b', prompt: 'b', depends_on: ['a'] },
      { id: 'c', prompt: 'c', depends_on: ['b'] },
    ],
  };
  const executor = () => byTask(async (id) => ok(`out-${id}`, 0.6));

  it('continues a budget_exceeded run under the new cap, keeping what it spent', async () => {
    const run = executor();
    const over = await orchestrator(run).runWorkflow(spec, { runId: 'b1' });
    expect(over.status).toBe('budget_exceeded');
    expect(over.taskResults.map((t) => t.status)).toEqual(['completed', 'completed', 'skipped']);

    // Without a new budget the run stays as it was.
    expect((await orchestrator(run).resume('b1')).status).toBe('budget_exceeded');
    expect(run.calls).toEqual({ a: 1, b: 1 });

    const resumed = await orchestrator(run).resume('b1', { budgetUsd: 5 });
    expect(resumed.status).toBe('completed');
    expect(resumed.costUsd).toBeCloseTo(1.8);
    expect(run.calls).toEqual({ a: 1, b: 1, c: 1 });
    // The new cap is the run's from now on.
    expect((await new JsonStateBackend(dir).loadRun('b1'))!.workflow.budget_usd).toBe(5);
  });

  it('a cap below what was already spent ends the run over budget again, running nothing', async () => {
    const run = executor();
    await orchestrator(run).runWorkflow(spec, { runId: 'b2' });
    const resumed = await orchestrator(run).resume('b2', { budgetUsd: 1.1 });
    expect(resumed.status).toBe('budget_exceeded');
    expect(run.calls).toEqual({ a: 1, b: 1 });
  });

  it('refuses a budget that is not a positive number', async () => {
    for (const budgetUsd of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(orchestrator(executor()).resume('nope', { budgetUsd })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
