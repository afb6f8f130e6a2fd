/**
 * One contract, every memory store: the same suite runs against InMemoryBackend,
 * JsonMemoryBackend and SqliteMemoryBackend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryBackend, JsonMemoryBackend, openMemoryBackend, type MemoryBackend, type VectorSearchOptions } from '../src/index.js';
import { SqliteMemoryBackend } from '../src/memory/sqlite-memory-backend.js';
import { failureOf } from './helpers/failure-of.js';
import { sqliteAvailable } from './helpers/memory-stores.js';

interface StoreFactory {
  name: string;
  create(dir: string, options?: VectorSearchOptions): Promise<MemoryBackend>;
}

const factories: StoreFactory[] = [
  { name: 'InMemoryBackend', create: async (_dir, options) => new InMemoryBackend(options) },
  { name: 'JsonMemoryBackend', create: async (dir, options) => new JsonMemoryBackend(dir, options) },
  ...(sqliteAvailable ? [{ name: 'SqliteMemoryBackend', create: (dir: string, options?: VectorSearchOptions) => SqliteMemoryBackend.open(join(dir, 'memory.sqlite'), options) }] : []),
];

/** A toy embedder: how often each letter a-z occurs. Deterministic, no model. */
async function bagOfLetters(text: string): Promise<number[]> {
  const vector = new Array<number>(26).fill(0);
  for (const c of text.toLowerCase()) {
    const i = c.charCodeAt(0) - 97;
    if (i >= 0 && i < 26) vector[i]!++;
  }
  return vector;
}

describe.each(factories)('MemoryBackend conformance: $name', ({ create }) => {
  let dir: string;
  let memory: MemoryBackend;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
    memory = await create(dir);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await memory.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores any JSON value under a key, replaces it, and forgets it on delete', async () => {
    await memory.store('settings', { depth: 2, tags: ['a', 'b'], on: true, none: null });
    await memory.store('greeting', 'hello');
    await memory.store('count', 42);
    expect(await memory.retrieve('settings')).toEqual({ depth: 2, tags: ['a', 'b'], on: true, none: null });
    expect(await memory.retrieve('greeting')).toBe('hello');
    expect(await memory.retrieve('count')).toBe(42);
    expect(await memory.retrieve('missing')).toBeUndefined();

    await memory.store('count', [1, 2, 3]);
    expect(await memory.retrieve('count')).toEqual([1, 2, 3]);

    expect(await memory.delete('count')).toBe(true);
    expect(await memory.delete('count')).toBe(false);
    expect(await memory.retrieve('count')).toBeUndefined();
  });

  it('hands out copies: changing a stored or retrieved object changes nothing in the store', async () => {
    const value = { list: [1] };
    await memory.store('k', value);
    value.list.push(2);
    const read = (await memory.retrieve('k')) as { list: number[] };
    read.list.push(3);
    expect(await memory.retrieve('k')).toEqual({ list: [1] });
  });

  it('keeps createdAt when an entry is replaced, and moves updatedAt', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    await memory.store('k', 1);
    vi.setSystemTime(2_000_000);
    await memory.store('k', 2);
    expect(await memory.list()).toEqual([{ key: 'k', value: 2, createdAt: 1_000_000, updatedAt: 2_000_000, expiresAt: null }]);
  });

  it('treats hostile keys safely: __proto__ is just a key; empty, over-long and control-character keys are refused', async () => {
    await memory.store('__proto__', { polluted: true });
    await memory.store('../../etc/passwd', 'not a file');
    await memory.store('x'.repeat(512), 'longest');
    expect(await memory.retrieve('__proto__')).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await memory.retrieve('../../etc/passwd')).toBe('not a file');
    expect(await memory.retrieve('x'.repeat(512))).toBe('longest');
    for (const key of ['', 'x'.repeat(513), 'a\0b', 'line\nbreak', 'tab\there', '\u007f']) {
      const error = await failureOf(memory.store(key, 1));
      expect(error.code).toBe('INVALID_KEY');
      expect((await failureOf(memory.retrieve(key))).code).toBe('INVALID_KEY');
      expect((await failureOf(memory.delete(key))).code).toBe('INVALID_KEY');
    }
    expect((await failureOf(memory.store('x'.repeat(513), 1))).message).toContain('longer than 512');
    expect((await memory.list()).map((e) => e.key).sort()).toEqual(['../../etc/passwd', 'x'.repeat(512), '__proto__'].sort());
  });

  it('refuses a value that is not JSON, saying where, and stores nothing', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cases: Array<[unknown, string]> = [
      [undefined, 'undefined is not JSON'],
      [() => 1, 'function is not JSON'],
      [{ a: { b: Number.NaN } }, '.a.b'],
      [[1, Infinity], '[1]'],
      [new Map(), 'Map is not plain JSON'],
      [{ when: new Date() }, 'Date is not plain JSON'],
      [cycle, 'cycle'],
      [{ big: 1n }, 'bigint is not JSON'],
    ];
    for (const [value, said] of cases) {
      const error = await failureOf(memory.store('bad', value as never));
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.message).toContain(said);
    }
    expect(await memory.list()).toEqual([]);
  });

  it('expires an entry after its TTL: never returned once expired, cleared by clearExpired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    await memory.store('cache:analysis:abc', { verdict: 'ok' }, { ttl: 60 });
    await memory.store('skill:deploy', 'deploy steps');
    expect((await memory.list())[0]).toMatchObject({ key: 'cache:analysis:abc', expiresAt: Date.parse('2030-01-01T00:01:00Z') });

    vi.advanceTimersByTime(59_000);
    expect(await memory.retrieve('cache:analysis:abc')).toEqual({ verdict: 'ok' });

    vi.advanceTimersByTime(1_000);
    expect(await memory.retrieve('cache:analysis:abc')).toBeUndefined();
    expect((await memory.list()).map((e) => e.key)).toEqual(['skill:deploy']);
    expect(await memory.search('verdict analysis')).toEqual([]);

    expect(await memory.clearExpired()).toBe(1);
    expect(await memory.clearExpired()).toBe(0);
    expect(await memory.retrieve('skill:deploy')).toBe('deploy steps');
  });

  it('a new store replaces an expired entry as a new one; deleting an expired one says there was none', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    await memory.store('a', 1, { ttl: 1 });
    await memory.store('b', 1, { ttl: 1 });
    vi.setSystemTime(2_000_000);
    await memory.store('a', 2);
    expect(await memory.list()).toEqual([{ key: 'a', value: 2, createdAt: 2_000_000, updatedAt: 2_000_000, expiresAt: null }]);
    expect(await memory.delete('b')).toBe(false);
    expect(await memory.clearExpired()).toBe(0);
  });

  it('refuses a TTL that is not a positive number of seconds', async () => {
    for (const ttl of [0, -5, Number.NaN, Infinity, '60' as unknown as number]) {
      const error = await failureOf(memory.store('k', 1, { ttl }));
      expect([error.code, error.message]).toEqual(['VALIDATION_ERROR', expect.stringContaining('ttl must be a positive number of seconds')]);
    }
    await memory.store('k', 1, { ttl: 0.5 });
    expect(await memory.retrieve('k')).toBe(1);
  });

  it('lists entries in key order, by prefix, up to a limit', async () => {
    for (const key of ['skill:b', 'cache:x', 'skill:a', 'skill:c', 'skills', 'note']) await memory.store(key, key);
    expect((await memory.list()).map((e) => e.key)).toEqual(['cache:x', 'note', 'skill:a', 'skill:b', 'skill:c', 'skills']);
    expect((await memory.list({ prefix: 'skill:' })).map((e) => e.key)).toEqual(['skill:a', 'skill:b', 'skill:c']);
    expect((await memory.list({ prefix: 'skill:', limit: 2 })).map((e) => e.key)).toEqual(['skill:a', 'skill:b']);
    expect(await memory.list({ prefix: 'nothing:' })).toEqual([]);
    expect((await failureOf(memory.list({ limit: 0 }))).code).toBe('VALIDATION_ERROR');
  });

  it('ranks search results best first, with a score: the more relevant entry comes first', async () => {
    await memory.store('note:lunch', 'We had lunch, then talked about the weather, the office plants and, briefly, a deploy.');
    await memory.store('skill:deploy', 'How to deploy: build, run the deploy script, check the deploy dashboard.');
    await memory.store('skill:test', 'How to run the tests with vitest.');
    const results = await memory.search('deploy');
    expect(results.map((r) => r.key)).toEqual(['skill:deploy', 'note:lunch']);
    expect(results[0]!.score).toBeGreaterThan(results[1]!.score);
    expect(results[0]).toMatchObject({ value: expect.stringContaining('deploy script'), expiresAt: null });

    // several words: an entry matching more of them ranks higher
    const both = await memory.search('vitest tests');
    expect(both[0]!.key).toBe('skill:test');
  });

  it('searches keys as well as values, and structured values by their words', async () => {
    await memory.store('skill:kubernetes-rollout', 'steps');
    await memory.store('analysis:1', { summary: 'The parser leaks memory', files: ['src/parser.ts'] });
    expect((await memory.search('kubernetes')).map((r) => r.key)).toEqual(['skill:kubernetes-rollout']);
    expect((await memory.search('parser leaks')).map((r) => r.key)).toEqual(['analysis:1']);
  });

  it('filters search by key prefix and cuts at the limit', async () => {
    await memory.store('skill:deploy', 'deploy the service');
    await memory.store('note:deploy', 'deploy went fine');
    for (let i = 0; i < 15; i++) await memory.store(`log:${i}`, `deploy number ${i}`);
    expect((await memory.search('deploy', { prefix: 'skill:' })).map((r) => r.key)).toEqual(['skill:deploy']);
    expect(await memory.search('deploy')).toHaveLength(10);
    expect(await memory.search('deploy', { limit: 3 })).toHaveLength(3);
    expect(await memory.search('deploy', { prefix: 'log:', limit: 100 })).toHaveLength(15);
  });

  it('refuses an empty query clearly; a query of no words finds nothing', async () => {
    await memory.store('k', 'words');
    for (const query of ['', '   ']) {
      const error = await failureOf(memory.search(query));
      expect([error.code, error.message]).toEqual(['VALIDATION_ERROR', 'A memory search needs a query: it is empty']);
    }
    expect(await memory.search('!!! ???')).toEqual([]);
  });

  it('does not find deleted or replaced words', async () => {
    await memory.store('a', 'the zebra crossing');
    await memory.store('b', 'a giraffe');
    expect((await memory.search('zebra')).map((r) => r.key)).toEqual(['a']);
    await memory.store('a', 'the pelican crossing');
    expect(await memory.search('zebra')).toEqual([]);
    await memory.delete('b');
    expect(await memory.search('giraffe')).toEqual([]);
    expect((await memory.search('pelican')).map((r) => r.key)).toEqual(['a']);
  });

  it('with an embed hook, merges vector similarity into the rank (a toy bag-of-letters embedder)', async () => {
    const entries: Array<[string, string]> = [
      ['doc:words', 'apple apple apple quizzical jukebox wavy fjord vexing'],
      ['doc:letters', 'apple plea pale leap'],
      ['doc:anagram', 'pplae'],
    ];
    for (const [key, value] of entries) await memory.store(key, value);
    // by words alone: the entry saying "apple" three times first; the anagram is no word match
    expect((await memory.search('apple')).map((r) => r.key)).toEqual(['doc:words', 'doc:letters']);

    const withVectors = await create(join(dir, 'vectors'), { embed: bagOfLetters, vectorWeight: 0.8 });
    try {
      for (const [key, value] of entries) await withVectors.store(key, value);
      const results = await withVectors.search('apple');
      // by letters too: the entry made of the letters of "apple" rises to the top, and the
      // anagram, which no word matches, is found
      expect(results.map((r) => r.key)).toEqual(['doc:letters', 'doc:words', 'doc:anagram']);
      expect(results[0]!.score).toBeGreaterThan(results[1]!.score);
      expect((await withVectors.search('apple', { prefix: 'doc:w' })).map((r) => r.key)).toEqual(['doc:words']);
      expect(await withVectors.search('apple', { limit: 1 })).toHaveLength(1);
    } finally {
      await withVectors.close();
    }
  });
});

describe('InMemoryBackend', () => {
  it('evicts the least recently used entry past maxEntries; retrieving an entry counts as use', async () => {
    const memory = new InMemoryBackend({ maxEntries: 3 });
    await memory.store('a', 1);
    await memory.store('b', 2);
    await memory.store('c', 3);
    expect(await memory.retrieve('a')).toBe(1); // a is now the most recently used
    await memory.store('d', 4); // evicts b
    expect((await memory.list()).map((e) => e.key)).toEqual(['a', 'c', 'd']);
    await memory.store('c', 30); // replacing is use too, and evicts nothing
    await memory.store('e', 5); // evicts a
    expect((await memory.list()).map((e) => e.key)).toEqual(['c', 'd', 'e']);
    expect(memory.size).toBe(3);
    expect(await memory.search('anything')).toEqual([]);
  });

  it('takes its clock from the now option', async () => {
    let now = 0;
    const memory = new InMemoryBackend({ now: () => now });
    await memory.store('k', 'v', { ttl: 10 });
    now = 9_999;
    expect(await memory.retrieve('k')).toBe('v');
    now = 10_000;
    expect(await memory.retrieve('k')).toBeUndefined();
    expect(memory.size).toBe(1); // held until cleared (or evicted)
    expect(await memory.clearExpired()).toBe(1);
    expect(memory.size).toBe(0);
  });

  it('refuses a maxEntries that is not a positive integer, and a vectorWeight out of 0..1', () => {
    expect(() => new InMemoryBackend({ maxEntries: 0 })).toThrow('maxEntries must be an integer >= 1');
    expect(() => new InMemoryBackend({ maxEntries: 1.5 })).toThrow('maxEntries must be an integer >= 1');
    expect(() => new InMemoryBackend({ vectorWeight: 2 })).toThrow('vectorWeight must be between 0 and 1');
  });
});

describe('openMemoryBackend', () => {
  it('opens each kind by name over a state directory, and refuses an unknown one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
    try {
      const memory = await openMemoryBackend('memory', dir, { maxEntries: 1 });
      expect(memory).toBeInstanceOf(InMemoryBackend);
      const json = await openMemoryBackend('json', dir);
      expect(json).toBeInstanceOf(JsonMemoryBackend);
      expect((json as JsonMemoryBackend).dir).toBe(join(dir, 'memory'));
      await json.close();
      if (sqliteAvailable) {
        const sqlite = await openMemoryBackend('sqlite', dir);
        expect((sqlite as SqliteMemoryBackend).file).toBe(join(dir, 'memory.sqlite'));
        await sqlite.close();
      }
      const error = await failureOf(openMemoryBackend('redis', dir));
      expect([error.code, error.message]).toEqual(['VALIDATION_ERROR', 'The memory backend must be json, sqlite or memory, got "redis"']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
