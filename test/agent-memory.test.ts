import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentMemory, InMemoryBackend, type AgentMemoryState } from '../src/index.js';
import { failureOf } from './helpers/failure-of.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('AgentMemory values', () => {
  it('keeps values short-term unless told to persist them in the backend', async () => {
    const backend = new InMemoryBackend();
    const memory = new AgentMemory({ backend });
    await memory.store('draft', { title: 'Plan', steps: 3 });
    await memory.store('skill:lint', 'npm run lint', { persist: true });

    expect(await memory.retrieve('draft')).toEqual({ title: 'Plan', steps: 3 });
    expect(await backend.retrieve('draft')).toBeUndefined();
    expect(await backend.retrieve('skill:lint')).toBe('npm run lint');
    // a new memory over the same backend knows only the persisted value
    const later = new AgentMemory({ backend });
    expect(await later.retrieve('draft')).toBeUndefined();
    expect(await later.retrieve('skill:lint')).toBe('npm run lint');
  });

  it('retrieves the short-term value first, then the backend', async () => {
    const backend = new InMemoryBackend();
    await backend.store('style', 'tabs');
    const memory = new AgentMemory({ backend });
    expect(await memory.retrieve('style')).toBe('tabs');
    await memory.store('style', 'spaces');
    expect(await memory.retrieve('style')).toBe('spaces');
    expect(await backend.retrieve('style')).toBe('tabs');
    expect(await memory.retrieve('missing')).toBeUndefined();
  });

  it('passes the ttl to the backend and expires the short-term value with it', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), toFake: ['Date'] });
    const backend = new InMemoryBackend();
    const memory = new AgentMemory({ backend });
    await memory.store('token', 'abc', { persist: true, ttl: 60 });
    const [entry] = await backend.list({ prefix: 'token' });
    expect(entry!.expiresAt).toBe(Date.now() + 60_000);
    expect(memory.state.values.token).toEqual({ value: 'abc', expiresAt: Date.now() + 60_000 });

    vi.setSystemTime(Date.now() + 61_000);
    expect(await memory.retrieve('token')).toBeUndefined();
    expect(memory.state.values).toEqual({});
  });

  it('deletes a value short-term and in the backend', async () => {
    const backend = new InMemoryBackend();
    const memory = new AgentMemory({ backend });
    await memory.store('a', 1, { persist: true });
    expect(await memory.delete('a')).toBe(true);
    expect(await memory.retrieve('a')).toBeUndefined();
    expect(await memory.delete('a')).toBe(false);
    await memory.store('b', 2);
    expect(await new AgentMemory().delete('b')).toBe(false);
    expect(await memory.delete('b')).toBe(true);
  });

  it('refuses an empty key, a value that is not JSON, a bad ttl, and persist without a backend', async () => {
    const memory = new AgentMemory();
    expect((await failureOf(memory.store('', 1))).code).toBe('INVALID_KEY');
    expect((await failureOf(memory.store('n', Number.NaN))).code).toBe('VALIDATION_ERROR');
    const error = await failureOf(memory.store('k', 1, { persist: true, ttl: -1 }));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain('ttl: must be a positive number of seconds (got -1)');
    expect(error.message).toContain('persist: needs a backend');
    expect(() => new AgentMemory({ maxHistoryTurns: 0 })).toThrow(/maxHistoryTurns: must be a positive integer/);
  });

  it('treats hostile keys as plain keys', async () => {
    const memory = new AgentMemory();
    expect(await memory.retrieve('constructor')).toBeUndefined();
    await memory.store('__proto__', 'not a prototype');
    expect(await memory.retrieve('__proto__')).toBe('not a prototype');
    expect(Object.getPrototypeOf(memory.state.values)).toBe(Object.prototype);
    const restored = AgentMemory.fromJSON(JSON.parse(JSON.stringify(memory.toJSON())));
    expect(await restored.retrieve('__proto__')).toBe('not a prototype');
  });
});

describe('AgentMemory subscriptions', () => {
  it('tells subscribers every change, values and history alike', async () => {
    const memory = new AgentMemory();
    const seen: AgentMemoryState[] = [];
    const unsubscribe = memory.subscribe((state) => seen.push(state));
    await memory.store('step', 1);
    memory.addMessage('user', 'hello');
    unsubscribe();
    await memory.store('step', 2);
    expect(seen.map((s) => [s.values.step?.value, s.history.length])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    // the store itself is there for selectors
    expect(memory.stateStore.getSnapshot().context.values.step!.value).toBe(2);
  });
});

describe('AgentMemory conversation history', () => {
  it('formats the conversation as [USER] / [ASSISTANT] blocks, optionally the last N messages', () => {
    const memory = new AgentMemory();
    memory.addMessage('user', 'What is 2 + 2?');
    memory.addMessage('assistant', '4', { costUsd: 0.01 });
    memory.addMessage('user', 'And times 3?');
    memory.addMessage('assistant', '12');

    expect(memory.getConversationContext()).toBe('[USER] What is 2 + 2?\n\n[ASSISTANT] 4\n\n[USER] And times 3?\n\n[ASSISTANT] 12');
    expect(memory.getConversationContext({ lastN: 2 })).toBe('[USER] And times 3?\n\n[ASSISTANT] 12');
    expect(memory.getConversationContext({ lastN: 0 })).toBe('');
    const [first, second] = memory.getHistory();
    expect(first).toMatchObject({ role: 'user', content: 'What is 2 + 2?', timestamp: expect.any(Number) });
    expect(second!.metadata).toEqual({ costUsd: 0.01 });
  });

  it('keeps at most maxHistoryTurns turns, dropping the oldest', () => {
    const memory = new AgentMemory({ maxHistoryTurns: 2 });
    for (const n of [1, 2, 3]) {
      memory.addMessage('user', `q${n}`);
      memory.addMessage('assistant', `a${n}`);
    }
    expect(memory.getHistory().map((m) => m.content)).toEqual(['q2', 'a2', 'q3', 'a3']);
    memory.clearHistory();
    expect(memory.getHistory()).toEqual([]);
  });

  it('a turn joins the history only with its reply', () => {
    const memory = new AgentMemory();
    memory.beginTurn('will fail');
    memory.abandonTurn();
    memory.completeTurn('orphan reply');
    expect(memory.getHistory()).toEqual([]);
    memory.beginTurn('will work');
    expect(memory.state.pending).toMatchObject({ role: 'user', content: 'will work' });
    memory.completeTurn('done');
    expect(memory.getConversationContext()).toBe('[USER] will work\n\n[ASSISTANT] done');
  });

  it('round-trips through toJSON / fromJSON, leaving expired values out', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), toFake: ['Date'] });
    const memory = new AgentMemory();
    await memory.store('keep', 'me');
    await memory.store('brief', 'gone soon', { ttl: 1 });
    memory.addMessage('user', 'hi');
    memory.addMessage('assistant', 'hello');
    expect(memory.toJSON()).toBe(memory.state);
    vi.setSystemTime(Date.now() + 2_000);

    const json = JSON.parse(JSON.stringify(memory.toJSON())) as AgentMemoryState;
    expect(Object.keys(json.values)).toEqual(['keep']);
    const restored = AgentMemory.fromJSON(json, { maxHistoryTurns: 1 });
    expect(await restored.retrieve('keep')).toBe('me');
    expect(restored.getConversationContext()).toBe('[USER] hi\n\n[ASSISTANT] hello');
  });

  it('refuses a state that is not a memory state, or of a newer version', () => {
    expect(() => AgentMemory.fromJSON({} as AgentMemoryState)).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
    expect(() => AgentMemory.fromJSON({ schemaVersion: 99, values: {}, history: [], pending: null })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_SCHEMA' }),
    );
  });
});
