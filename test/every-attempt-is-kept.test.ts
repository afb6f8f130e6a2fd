/**
 * Every attempt of a task is kept: its own raw stream file, and an entry in the task record's
 * `attemptLog` with its status, error, tokens, cost and duration, so that a task retried after
 * two 529s says so. Cancelled and interrupted attempts are kept too, and never overwritten by
 * the attempt after them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, JsonStateBackend, WorkflowOrchestrator, createReplayExecutor, type ExecutionResult, type Executor, type TaskRecord } from '../src/index.js';
import { readRunEventLog, runEventLogPath } from '../src/persistence/run-event-log.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint, record } from './helpers/records.js';
import { okResult } from './helpers/results.js';

const NO_WAIT = { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } as const;

describe('a task that failed twice with 529, then succeeded', () => {
  let world: FakeWorld;
  let restoreEnv: () => void;
  beforeEach(() => {
    world = fakeWorld();
    restoreEnv = setProcessEnv(world.env);
  });
  afterEach(() => {
    restoreEnv();
    world.cleanup();
  });

  it('keeps the three attempts: three raw streams, and an attempt log with both 529s, tokens, cost and times', async () => {
    const orchestrator = new WorkflowOrchestrator({ stateDir: world.stateDir, retry: NO_WAIT });
    const result = await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: '[[transient:2]] Plan it', retry_count: 3 }] }, { runId: 'r529' });
    expect(result.status).toBe('completed');

    const stored = (await orchestrator.stateBackend!.loadRun('r529'))!.records[0]!;
    await orchestrator.stateBackend!.close();
    expect(stored).toMatchObject({ status: 'completed', attempts: 3, error: null });
    const log = stored.attemptLog!;
    expect(log.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    for (const failed of log.slice(0, 2)) {
      expect(failed.error).toMatchObject({ code: 'API_OVERLOADED', transient: true, apiErrorStatus: 529 });
      expect(failed.error!.message).toContain('529');
      // The attempt's spend is its own fields, not a copy of the result inside the error.
      expect(failed.error!.result).toBeUndefined();
    }
    expect(log[2]!.error).toBeNull();
    expect(log[2]!.tokens.output).toBeGreaterThan(0);
    expect(log[2]!.costUsd).toBeGreaterThan(0);
    expect(log[2]!.sessionId).toBe(stored.sessionId);
    for (const a of log) {
      expect(a.endedAt).toBeGreaterThanOrEqual(a.startedAt);
      expect(a.durationMs).toBe(a.endedAt! - a.startedAt);
    }
    expect(log[1]!.startedAt).toBeGreaterThanOrEqual(log[0]!.endedAt!);
    // The record's totals are the sum of its attempts'.
    expect(log.reduce((sum, a) => sum + a.costUsd, 0)).toBeCloseTo(stored.costUsd, 10);
    expect(JSON.stringify(stored)).toContain('529');

    // Each attempt recorded its own stream: the first under the name it always had.
    const dir = join(world.stateDir, 'r529', 'plan');
    expect(log.map((a) => a.rawFile)).toEqual([
      join(dir, 'raw_output.jsonl'),
      join(dir, 'raw_output.attempt-2.jsonl'),
      join(dir, 'raw_output.attempt-3.jsonl'),
    ]);
    const streams = log.map((a) => readFileSync(a.rawFile!, 'utf8'));
    for (const failed of streams.slice(0, 2)) {
      expect(failed).toContain('"subtype":"api_retry"');
      expect(failed).toMatch(/"api_error_status":529/);
    }
    expect(streams[2]).not.toContain('api_error_status":529');
    expect(streams[2]).toContain('"is_error":false');
    // Their result lines are in the streams: no second copy beside them (that is ADW's layout only).
    expect(existsSync(join(dir, 'raw_output.attempt-2.json'))).toBe(false);
    expect(existsSync(join(dir, 'raw_output.attempt-3.json'))).toBe(false);

    // The result says it too.
    expect(result.taskResults[0]!.attemptLog).toEqual(log);

    // And the run's event log has both retries with their errors.
    const { events } = await readRunEventLog(runEventLogPath(world.stateDir, 'r529'));
    const retrying = events.filter((e) => e.type === 'task.retrying');
    expect(retrying.map((e) => [e.attempt, (e.error as { code: string }).code])).toEqual([
      [1, 'API_OVERLOADED'],
      [2, 'API_OVERLOADED'],
    ]);
    for (const e of retrying) expect((e.error as { message: string }).message).toContain('529');
    const completed = events.find((e) => e.type === 'task.completed')!;
    expect((completed.record as TaskRecord).attemptLog).toHaveLength(3);

    // Replaying the run replays its retries: each attempt from its own recording.
    const replay = new WorkflowOrchestrator({ stateDir: world.stateDir, retry: NO_WAIT, executor: createReplayExecutor(join(world.stateDir, 'r529'), { speed: 0 }) });
    const replayed = await replay.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'Plan it', retry_count: 3 }] }, { runId: 'again' });
    await replay.stateBackend!.close();
    expect(replayed.taskResults[0]!.attemptLog.map((a) => [a.status, a.error?.code ?? null])).toEqual([
      ['failed', 'API_OVERLOADED'],
      ['failed', 'API_OVERLOADED'],
      ['succeeded', null],
    ]);
  });

  it('AgentSession lists the attempts of its latest prompt, each with its raw stream', async () => {
    const session = new AgentSession({ agentName: 'planner', context: { stateDir: world.stateDir, runId: 's1', retry: NO_WAIT } });
    await session.executeWithRetry('[[transient:1]] Plan', { maxRetries: 3 });
    expect(session.attemptLog.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
      [1, 'failed', 'API_OVERLOADED'],
      [2, 'succeeded', null],
    ]);
    expect(session.attemptLog[1]!.rawFile).toBe(join(world.stateDir, 's1', 'planner', 'raw_output.attempt-2.jsonl'));
    for (const a of session.attemptLog) expect(existsSync(a.rawFile!)).toBe(true);

    // The next prompt starts a new list (its first attempt records raw_output.jsonl again).
    await session.execute('[[reply:ok]]');
    expect(session.attemptLog.map((a) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
    session.stop();
  });
});

describe('attempts around cancels, crashes and old checkpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'attempt-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Hangs until aborted on the calls listed in `hangOn`, else succeeds; notes each request's attempt number. */
  function executor(hangOn: number[]): Executor & { attempts: Array<number | undefined> } {
    const attempts: Array<number | undefined> = [];
    const run: Executor = (request, hooks) => {
      attempts.push(request.kind === 'claude' ? request.attempt : undefined);
      if (!hangOn.includes(attempts.length)) return Promise.resolve(okResult({ output: 'done' }));
      return new Promise<ExecutionResult>((_resolve, reject) => {
        if (hooks.signal.aborted) reject(new Error('aborted'));
        hooks.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    };
    return Object.assign(run, { attempts });
  }

  it('a cancelled attempt stays in the log and the attempt after it gets the next number and file', async () => {
    const run = executor([1]);
    const first = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor: run });
    first.bus.subscribe('task.started', () => void first.cancel());
    const cancelled = await first.runWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'x' }] }, { runId: 'c1' });
    expect(cancelled.taskResults[0]).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(cancelled.taskResults[0]!.attemptLog).toMatchObject([{ attempt: 1, status: 'cancelled', error: { code: 'CANCELLED' } }]);

    const second = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor: run });
    const resumed = await second.resume('c1');
    expect(resumed.taskResults[0]).toMatchObject({ status: 'completed', attempts: 1 });
    expect(resumed.taskResults[0]!.attemptLog.map((a) => [a.attempt, a.status, a.rawFile])).toEqual([
      [1, 'cancelled', join(dir, 'c1', 'a', 'raw_output.jsonl')],
      [2, 'succeeded', join(dir, 'c1', 'a', 'raw_output.attempt-2.jsonl')],
    ]);
    // The runner was told which attempt it ran, so it names the file the log points at.
    expect(run.attempts).toEqual([1, 2]);
  });

  it('an attempt running when the process died is interrupted on resume; a record without a log reads as none', async () => {
    const backend = new JsonStateBackend(dir);
    const base = checkpoint('crashed', ['a', 'old']);
    const running: TaskRecord = {
      ...record('a', 'running', 0),
      attempts: 1,
      attemptLog: [
        { attempt: 1, status: 'running', startedAt: 5, endedAt: null, durationMs: null, error: null, tokens: record('a').tokens, costUsd: 0, sessionId: null, rawFile: null },
      ],
    };
    // Written before attemptLog existed.
    const { attemptLog: _none, ...old } = record('old', 'completed');
    await backend.saveCheckpoint('crashed', { ...base, records: [running, old] });
    const orchestrator = new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor: executor([]) });
    const result = await orchestrator.resume('crashed');
    const a = result.taskResults.find((t) => t.taskId === 'a')!;
    expect(a).toMatchObject({ status: 'completed', attempts: 2 });
    expect(a.attemptLog.map((x) => [x.attempt, x.status])).toEqual([
      [1, 'interrupted'],
      [2, 'succeeded'],
    ]);
    expect(a.attemptLog[1]!.rawFile).toBe(join(dir, 'crashed', 'a', 'raw_output.attempt-2.jsonl'));
    expect(result.taskResults.find((t) => t.taskId === 'old')).toMatchObject({ status: 'completed', attempts: 1, attemptLog: [] });
    const stored = (await backend.loadRun('crashed'))!;
    expect(stored.records.find((r) => r.taskId === 'old')!.attemptLog).toBeUndefined();
    await backend.close();
  });

  it('command tasks log their attempts with no raw file', async () => {
    const orchestrator = new WorkflowOrchestrator(null);
    const result = await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'c', command: ['node', '-e', 'process.exit(3)'], retry_count: 2 }] });
    expect(result.taskResults[0]!.attemptLog).toMatchObject([{ attempt: 1, status: 'failed', rawFile: null, error: { code: 'COMMAND_FAILED' } }]);
  });
});
