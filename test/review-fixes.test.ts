/**
 * Behaviours a code review asked for, each pinned by a test.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, JsonStateBackend, TransientError, WorkflowOrchestrator, createReplayExecutor, runClaudeCode, type ExecutionResult } from '../src/index.js';
import { classifyFailure } from '../src/claude/classify-failure.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint } from './helpers/records.js';
import { failureOf } from './helpers/failure-of.js';
import { okResult } from './helpers/results.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const OK: ExecutionResult = okResult({ tokens: { input: 1, output: 1, cacheRead: 0, cacheCreation: 0 }, costUsd: 1, durationMs: 1, numTurns: 1 });

describe('runner', () => {
  it('passes a prompt that starts with "-" (a markdown list) without it being read as a flag', async () => {
    const prompt = '- fix the bug\n- add tests [[echo]]';
    const result = await runClaudeCode({ prompt, env: world.env, stateDir: world.stateDir });
    expect(result.output).toBe(prompt);
  });

  it('retries a network failure the CLI reports in its result line', () => {
    const error = classifyFailure({
      result: { type: 'result', subtype: 'success', is_error: true, api_error_status: null, result: 'API Error: Unable to connect to API (ConnectionRefused)' },
      killedBy: null,
      exitCode: 1,
    });
    expect([error?.code, error?.transient]).toEqual(['NETWORK_ERROR', true]);
  });

  it('still runs when the raw output cannot be recorded', async () => {
    const notADir = join(world.root, 'file');
    writeFileSync(notADir, 'x');
    const result = await runClaudeCode({ prompt: 'hi [[reply:fine]]', env: world.env, stateDir: notADir, runId: 'r' });
    expect(result.output).toBe('fine');
  });

  it('refuses a missing working directory and names that escape the state directory', async () => {
    expect((await failureOf(runClaudeCode({ prompt: 'x', env: world.env, stateDir: world.stateDir, cwd: join(world.root, 'nope') }))).code).toBe('INVALID_ARGUMENTS');
    expect((await failureOf(runClaudeCode({ prompt: 'x', env: world.env, stateDir: world.stateDir, runId: 'r', agentName: '../../x' }))).code).toBe(
      'INVALID_KEY',
    );
  });
});

describe('AgentSession', () => {
  it("one call's retry settings do not carry into the next", async () => {
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir, retry: { baseDelayMs: 10, jitter: 'none' } } });
    await failureOf(s.execute('[[transient:2]] first'));
    const result = await s.executeWithRetry('[[transient:2]] second');
    expect(result.success).toBe(true);
    expect(s.context.attempt).toBe(3);
  });

  it('rejects a pending prompt when the session is stopped, and any prompt after', async () => {
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir } });
    const running = s.execute('[[hang]] x');
    setTimeout(() => s.stop(), 300);
    expect((await failureOf(running)).code).toBe('CANCELLED');
    expect((await failureOf(s.execute('after'))).code).toBe('CANCELLED');
  });

  it('turns an executor that throws into a failure, not a crash', async () => {
    const s = new AgentSession({
      agentName: 'a',
      context: { stateDir: world.stateDir },
      executor: () => {
        throw new TransientError('API_ERROR', 'thrown, not rejected');
      },
    });
    expect((await failureOf(s.execute('x'))).message).toBe('thrown, not rejected');
  });

  it('a session restored while waiting to retry retries at once', async () => {
    const flaky = new AgentSession({
      agentName: 'a',
      context: { stateDir: world.stateDir, retry: { baseDelayMs: 60_000, jitter: 'none' } },
      executor: async () => {
        throw new TransientError('API_OVERLOADED', 'busy');
      },
    });
    void flaky.executeWithRetry('x', { maxRetries: 3 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(flaky.status).toBe('retrying');
    const snapshot = JSON.parse(JSON.stringify(flaky.getPersistedSnapshot()));
    flaky.stop();
    const restored = new AgentSession({ agentName: 'a', snapshot, executor: async () => OK });
    await new Promise((r) => setTimeout(r, 100));
    expect(restored.status).toBe('completed');
    expect(restored.context.attempt).toBe(2);
  });
});

describe('orchestrator', () => {
  const replay = () => createReplayExecutor('examples/recordings/plan-build', { speed: 0 });

  it('a cancel() that arrives while the run is being set up still cancels it', async () => {
    const o = new WorkflowOrchestrator({ stateDir: world.stateDir, executor: replay() });
    const run = o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] });
    await o.cancel();
    expect((await run).status).toBe('cancelled');
  });

  it('a run whose last task reaches the budget still completes', async () => {
    const o = new WorkflowOrchestrator(null, { executor: async () => OK });
    const result = await o.runWorkflow({ id: 'w', budget_usd: 2, max_parallel: 1, tasks: [{ id: 'a', prompt: 'a' }, { id: 'b', prompt: 'b' }] });
    expect([result.status, result.costUsd]).toEqual(['completed', 2]);
  });

  it("writes raw outputs beside a JSON backend's checkpoints by default", async () => {
    const backend = new JsonStateBackend(join(world.root, 'state'));
    const o = new WorkflowOrchestrator(backend, { executor: replay() });
    await o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }] }, { runId: 'r1' });
    expect(existsSync(join(world.root, 'state', 'r1', 'plan', 'raw_output.jsonl'))).toBe(true);
    expect(existsSync(join(world.root, 'state', 'r1', 'checkpoint.json'))).toBe(true);
  });
});

describe('state', () => {
  it('parallel saves of one key all land, and the file stays whole', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => backend.save('k', { i })));
    expect(((await backend.load('k')) as { i: number }).i).toBe(19);
  });

  it("takes over a lock left by a dead process that had this process's pid (a restarted container)", async () => {
    const backend = new JsonStateBackend(world.stateDir);
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    writeFileSync(join(world.stateDir, 'r', 'run.lock'), JSON.stringify({ pid: process.pid, host: hostname(), acquiredAt: 1, token: 'previous-life' }));
    const release = await backend.lockRun('r');
    await release();
  });
});
