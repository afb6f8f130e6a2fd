import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { AgentSession, TransientError, agentSessionMachine, createExecutorActor, retryPolicy, type AgentSessionState, type SessionEvent } from '../src/index.js';
import { backoffDelay } from '../src/retry-policy.js';
import { eventually, fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';
import { okResult } from './helpers/results.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function session(extra: { tokenBudget?: number } = {}): AgentSession {
  return new AgentSession({
    sessionId: 'sess-1',
    agentName: 'builder',
    context: { env: world.env, stateDir: world.stateDir, retry: { baseDelayMs: 50, jitter: 'none' }, ...extra },
  });
}

describe('AgentSession with the fake claude', () => {
  it('goes idle → running → completed and reports the result', async () => {
    const s = session();
    const states: AgentSessionState[] = [];
    s.actor.subscribe((snap) => {
      if (states.at(-1) !== snap.value) states.push(snap.value as AgentSessionState);
    });
    expect(s.status).toBe('idle');
    const result = await s.execute('Write the plan [[reply:the plan]]', { model: 'haiku' });
    expect(result.output).toBe('the plan');
    expect(s.status).toBe('completed');
    expect(states).toEqual(['running', 'completed']);
    expect(s.context.tokensUsed).toBeGreaterThan(0);
    expect(s.context.costUsd).toBeCloseTo(result.costUsd);
    expect(world.invocations()[0]!.argv).toEqual(expect.arrayContaining(['--model', 'haiku']));
    // raw output lands under <stateDir>/<sessionId>/<agentName>/
    expect(s.context.settings.runId).toBe('sess-1');
  });

  it('retries transient failures with exponential backoff, then succeeds', async () => {
    const s = session();
    const events: SessionEvent[] = [];
    s.onEvent((e) => events.push(e));
    const result = await s.executeWithRetry('Flaky [[transient:2]] [[reply:ok at last]]', { maxRetries: 3, backoffFactor: 3 });
    expect(result.output).toBe('ok at last');
    expect(s.context.attempt).toBe(3);
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(3);
    const retries = events.filter((e): e is Extract<SessionEvent, { type: 'session.retrying' }> => e.type === 'session.retrying');
    expect(retries.map((r) => [r.attempt, r.delayMs, r.error.code])).toEqual([
      [1, 50, 'API_OVERLOADED'],
      [2, 150, 'API_OVERLOADED'],
    ]);
    expect(events.filter((e) => e.type === 'session.started').map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(events.at(-1)!.type).toBe('session.completed');
  });

  it('does not retry a permanent failure', async () => {
    const s = session();
    const error = await failureOf(s.executeWithRetry('[[auth-failure]] nope', { maxRetries: 5 }));
    expect(error.code).toBe('AUTH_FAILED');
    expect(s.status).toBe('failed');
    expect(s.context.attempt).toBe(1);
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(1);
  });

  it('fails once retries are exhausted, keeping the last error', async () => {
    const s = session();
    const error = await failureOf(s.executeWithRetry('[[api-error:529]] always busy', { maxRetries: 2 }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('API_OVERLOADED');
    expect(s.status).toBe('failed');
    expect(s.context.lastError?.code).toBe('API_OVERLOADED');
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(2);
  });

  it('execute() makes a single attempt', async () => {
    const s = session();
    await failureOf(s.execute('[[transient:1]] once'));
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(1);
    // and the session accepts the next prompt after failing
    const result = await s.execute('[[transient:1]] once');
    expect(result.success).toBe(true);
  });

  it('continues the Claude session: the second prompt passes --resume with the first session id', async () => {
    const s = session();
    const first = await s.execute('Step one [[reply:one]]');
    const second = await s.execute('Step two [[echo]]');
    const [call1, call2] = world.invocations().filter((i) => i.prompt);
    expect(call1!.argv).not.toContain('--resume');
    expect(call2!.argv).toEqual(expect.arrayContaining(['--resume', first.sessionId]));
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.output).toBe(`[resumed ${first.sessionId}] Step two [[echo]]`);
    const fresh = await s.execute('Step three', { continueSession: false });
    expect(fresh.sessionId).not.toBe(first.sessionId);
  });

  it('refuses a prompt once the token budget is spent', async () => {
    const s = session({ tokenBudget: 10 });
    await s.execute('Spend tokens');
    expect(s.context.tokensUsed).toBeGreaterThanOrEqual(10);
    const error = await failureOf(s.execute('One more'));
    expect(error.code).toBe('TOKEN_BUDGET_EXCEEDED');
    expect(error.message).toMatch(/token budget/);
    expect(s.status).toBe('failed');
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(1);
    await failureOf(s.execute('Still refused'));
  });

  it('refuses a second prompt while one is running, and cancels the running one', async () => {
    const s = session();
    const running = s.execute('[[hang-child]] long');
    await eventually(() => world.invocations().length > 0);
    expect((await failureOf(s.execute('meanwhile'))).code).toBe('SESSION_BUSY');
    s.cancel('user pressed stop');
    const error = await failureOf(running);
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toBe('user pressed stop');
    const pid = world.invocations()[0]!.pid as number;
    expect(await eventually(() => !isAlive(pid))).toBe(true);
  });

  it('lets a listener subscribe to one event type and to progress', async () => {
    const s = session();
    const progress: string[] = [];
    const off = s.on('session.progress', (e) => progress.push(e.progress.type));
    await s.execute('[[tool-turns:1]] go');
    off();
    await s.execute('again');
    expect(progress).toEqual(['init', 'tool_use', 'tool_result', 'assistant_text', 'result']);
  });

  it('persists a plain-JSON snapshot that restores tokens and the Claude session', async () => {
    const s = session();
    const first = await s.execute('remember me');
    const snapshot = s.getPersistedSnapshot();
    const json = JSON.parse(JSON.stringify(snapshot));
    expect(json).toEqual(snapshot);
    s.stop();

    const restored = new AgentSession({
      agentName: 'builder',
      context: { env: world.env, stateDir: world.stateDir },
      snapshot: json,
    });
    expect(restored.status).toBe('completed');
    expect(restored.claudeSessionId).toBe(first.sessionId);
    expect(restored.context.tokensUsed).toBe(s.context.tokensUsed);
    await restored.execute('continue [[echo]]');
    expect(world.invocations().filter((i) => i.prompt).at(-1)!.argv).toEqual(
      expect.arrayContaining(['--resume', first.sessionId]),
    );
  });
});

const OK_RESULT = okResult();

describe('AgentSession restored mid-execution', () => {
  it('a session restored while running runs its prompt again, and settled() awaits it', async () => {
    const first = new AgentSession({ agentName: 'a', context: { stateDir: world.stateDir }, executor: () => new Promise(() => {}) });
    void first.execute('the prompt').catch(() => undefined);
    expect(first.status).toBe('running');
    const snapshot = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const prompts: string[] = [];
    const restored = new AgentSession({
      agentName: 'a',
      snapshot,
      executor: async (request) => {
        prompts.push(request.kind === 'claude' ? request.prompt : '');
        return { ...OK_RESULT, output: 'again' };
      },
    });
    await expect(restored.settled()).resolves.toMatchObject({ output: 'again' });
    expect(prompts).toEqual(['the prompt']);
    // once settled it reports the same outcome, and the session takes the next prompt
    await expect(restored.settled()).resolves.toMatchObject({ output: 'again' });
    await expect(restored.execute('next')).resolves.toMatchObject({ output: 'again' });
  });

  it('settled() rejects with the last error, or NOT_FOUND before anything ran', async () => {
    const fresh = new AgentSession({ agentName: 'a', context: { stateDir: world.stateDir }, executor: async () => OK_RESULT });
    await expect(fresh.settled()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const failing = new AgentSession({
      agentName: 'a',
      context: { stateDir: world.stateDir },
      executor: async () => {
        throw new TransientError('API_OVERLOADED', 'busy');
      },
    });
    await expect(failing.execute('x')).rejects.toMatchObject({ code: 'API_OVERLOADED' });
    await expect(failing.settled()).rejects.toMatchObject({ code: 'API_OVERLOADED' });
  });
});

describe('agentSessionMachine (fake timers, provided executor)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the backoff in `retrying` before running again', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const machine = agentSessionMachine.provide({
      actors: {
        executor: createExecutorActor(async () => {
          calls += 1;
          throw new TransientError('API_OVERLOADED', 'busy');
        }),
      },
    });
    const actor = createActor(machine, {
      input: { agentName: 'a', retry: { maxAttempts: 3, baseDelayMs: 1000, factor: 2, jitter: 'none' } },
    }).start();
    actor.send({ type: 'EXECUTE', request: { prompt: 'x' } });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('retrying');
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(actor.getSnapshot().value).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    expect(actor.getSnapshot().context.nextDelayMs).toBe(2000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toBe(3);
    expect(actor.getSnapshot().value).toBe('failed');
    actor.send({ type: 'CANCEL' });
    expect(actor.getSnapshot().value).toBe('failed');
  });

  it('can be cancelled while waiting to retry', async () => {
    vi.useFakeTimers();
    const machine = agentSessionMachine.provide({
      actors: {
        executor: createExecutorActor(async () => {
          throw new TransientError('RATE_LIMITED', 'slow down');
        }),
      },
    });
    const actor = createActor(machine, { input: { agentName: 'a', retry: { baseDelayMs: 5000 } } }).start();
    actor.send({ type: 'EXECUTE', request: { prompt: 'x' } });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('retrying');
    actor.send({ type: 'CANCEL' });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.lastError?.code).toBe('CANCELLED');
  });

  it('numbers the attempts 1, 2, 3 in its events and context', async () => {
    vi.useFakeTimers();
    const machine = agentSessionMachine.provide({
      actors: {
        executor: createExecutorActor(async () => {
          throw new TransientError('API_OVERLOADED', 'busy');
        }),
      },
    });
    const actor = createActor(machine, { input: { agentName: 'a', retry: { maxAttempts: 3, baseDelayMs: 10, jitter: 'none' } } });
    const seen: string[] = [];
    actor.on('*', (e) => seen.push(`${e.type}#${e.attempt}`));
    actor.start();
    actor.send({ type: 'EXECUTE', request: { prompt: 'x' } });
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual([
      'session.started#1',
      'session.retrying#1',
      'session.started#2',
      'session.retrying#2',
      'session.started#3',
      'session.failed#3',
    ]);
    // A new execution counts from 1 again.
    actor.send({ type: 'EXECUTE', request: { prompt: 'y' }, retry: { maxAttempts: 1 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.slice(6)).toEqual(['session.started#1', 'session.failed#1']);
  });

  it('gives an executor that looks at its signal after the session stopped an aborted one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: AbortSignal | undefined;
    const machine = agentSessionMachine.provide({
      actors: {
        executor: createExecutorActor(async (_request, hooks) => {
          await gate;
          seen = hooks.signal;
          return { ...OK_RESULT };
        }),
      },
    });
    const actor = createActor(machine, { input: { agentName: 'a', execute: { request: { prompt: 'x' } } } }).start();
    expect(actor.getSnapshot().value).toBe('running');
    actor.send({ type: 'CANCEL' });
    release();
    await eventually(() => seen !== undefined);
    expect(seen!.aborted).toBe(true);
    expect(actor.getSnapshot().context.lastError?.code).toBe('CANCELLED');
  });

  it('aborts the signal of a running execution when cancelled', async () => {
    let signal: AbortSignal | undefined;
    const machine = agentSessionMachine.provide({
      actors: {
        executor: createExecutorActor(
          (_request, hooks) =>
            new Promise((_resolve, reject) => {
              signal = hooks.signal;
              signal.addEventListener('abort', () => reject(new Error('aborted')));
            }),
        ),
      },
    });
    const actor = createActor(machine, { input: { agentName: 'a', execute: { request: { prompt: 'x' } } } }).start();
    await eventually(() => signal !== undefined);
    expect(signal!.aborted).toBe(false);
    actor.send({ type: 'CANCEL' });
    expect(signal!.aborted).toBe(true);
  });

  it('starts at once when created with a request, and runs commands too', async () => {
    const actor = createActor(agentSessionMachine, {
      input: { agentName: 'tests', execute: { request: { kind: 'command', command: [process.execPath, '-e', 'console.log("hi")'] } } },
    }).start();
    expect(actor.getSnapshot().value).toBe('running');
    await eventually(() => actor.getSnapshot().value !== 'running');
    expect(actor.getSnapshot().value).toBe('completed');
    expect(actor.getSnapshot().context.lastResult?.output).toBe('hi');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter between 0 and the cap', () => {
    const policy = retryPolicy({ baseDelayMs: 1000, factor: 2, maxDelayMs: 5000, jitter: 'none' });
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy))).toEqual([1000, 2000, 4000, 5000]);
    const jittered = retryPolicy({ baseDelayMs: 1000, factor: 2, maxDelayMs: 5000 });
    expect(backoffDelay(2, jittered, 0)).toBe(0);
    expect(backoffDelay(2, jittered, 0.5)).toBe(1000);
    expect(backoffDelay(3, jittered, 0.999)).toBeLessThanOrEqual(4000);
  });
});
