/**
 * An agent session's prompts: retry settings per call, backoff options, a stop that rejects what
 * is pending, an executor that throws, and a session restored while waiting to retry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, TransientError, type ExecutionResult } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';
import { okResult } from './helpers/results.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const OK: ExecutionResult = okResult({ tokens: { input: 1, output: 1, cacheRead: 0, cacheCreation: 0 }, costUsd: 1, durationMs: 1, numTurns: 1 });

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

describe('AgentSession options', () => {
  it('passes backoff options through and cancels without a reason', async () => {
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir } });
    const delays: number[] = [];
    s.on('session.retrying', (e) => delays.push(e.delayMs));
    await s.executeWithRetry('[[transient:2]] again', { maxRetries: 3, baseDelayMs: 30, maxDelayMs: 40, backoffFactor: 5, jitter: 'none' });
    expect(delays).toEqual([30, 40]);
    const running = s.execute('[[hang]] wait');
    setTimeout(() => s.cancel(), 300);
    expect((await failureOf(running)).message).toBe('Session was cancelled');
    s.stop();
  });
});
