/**
 * Memory that outlives the process: entries written by one process are read by the next, two
 * processes writing into one store at once lose nothing, and compaction keeps every entry.
 * The writers are real processes running the built package (dist/).
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonMemoryBackend, openMemoryBackend, type MemoryBackend } from '../src/index.js';
import { SqliteMemoryBackend } from '../src/memory/sqlite-memory-backend.js';
import { failureOf } from './helpers/failure-of.js';
import { sqliteAvailable } from './helpers/memory-stores.js';

/**
 * The built package's memory modules: the children load these rather than the package's index,
 * which loads everything else too (about a CPU-second more per process).
 */
const DIST_MEMORY = ['json-memory-backend.js', 'open-memory-backend.js'].map((f) => pathToFileURL(join(import.meta.dirname, '..', 'dist', 'memory', f)).href);

/** Runs an ES module script with the built package's memory backends as `sdk`, in a new Node process. */
function node(script: string, args: string[] = []) {
  const imports = DIST_MEMORY.map((url) => `...(await import(${JSON.stringify(url)}))`).join(', ');
  const code = `const sdk = { ${imports} }; const [dir, kind, id] = process.argv.slice(1);\n${script}`;
  return execa(process.execPath, ['--input-type=module', '-e', code, ...args], { reject: false });
}

/** Opens the store of `kind` in a child (JSON: compacting every 16 KB, so that compactions race the appends). */
const OPEN_IN_CHILD = `const memory = kind === 'json' ? new sdk.JsonMemoryBackend(dir, { compactionMinBytes: 16384 }) : await sdk.openMemoryBackend(kind, dir);`;

const kinds = sqliteAvailable ? (['json', 'sqlite'] as const) : (['json'] as const);

describe.each(kinds)('memory persistence: %s', (kind) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps entries for a new process: what one process stored, the next one reads and finds', async () => {
    const writer = await node(
      `${OPEN_IN_CHILD}
       await memory.store('skill:deploy', { steps: ['build', 'ship'] });
       await memory.store('cache:analysis:abc', 'fine', { ttl: 3600 });
       await memory.store('gone', 1);
       await memory.delete('gone');
       await memory.close();`,
      [dir, kind],
    );
    expect(writer.stderr).toBe('');
    expect(writer.exitCode).toBe(0);

    const reader = await node(
      `${OPEN_IN_CHILD}
       console.log(JSON.stringify({
         skill: await memory.retrieve('skill:deploy'),
         keys: (await memory.list()).map((e) => e.key),
         found: (await memory.search('ship')).map((r) => r.key),
       }));
       await memory.close();`,
      [dir, kind],
    );
    expect(reader.stderr).toBe('');
    expect(JSON.parse(reader.stdout)).toEqual({
      skill: { steps: ['build', 'ship'] },
      keys: ['cache:analysis:abc', 'skill:deploy'],
      found: ['skill:deploy'],
    });
  });

  it('two processes storing 1,000 keys each into one store at once lose none', { timeout: 120_000 }, async () => {
    const writer = `${OPEN_IN_CHILD}
       for (let i = 0; i < 1000; i++) await memory.store(\`w\${id}:\${i}\`, { id, i, text: 'remembered by writer ' + id });
       await memory.close();`;
    const [a, b] = await Promise.all([node(writer, [dir, kind, 'a']), node(writer, [dir, kind, 'b'])]);
    expect([a.stderr, b.stderr]).toEqual(['', '']);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);

    const memory = await openMemoryBackend(kind, dir);
    try {
      const entries = await memory.list();
      expect(entries).toHaveLength(2000);
      for (const id of ['a', 'b']) {
        for (const i of [0, 1, 499, 998, 999]) expect(await memory.retrieve(`w${id}:${i}`)).toEqual({ id, i, text: `remembered by writer ${id}` });
      }
      expect(await memory.search('writer', { prefix: 'wb:', limit: 2000 })).toHaveLength(1000);
    } finally {
      await memory.close();
    }
    if (kind === 'json') {
      // the journal was compacted while both appended: a later generation, one journal left
      const snapshot = JSON.parse(readFileSync(join(dir, 'memory', 'memory-snapshot.json'), 'utf8')) as { generation: number };
      expect(snapshot.generation).toBeGreaterThan(0);
      expect(readdirSync(join(dir, 'memory')).filter((f) => f.endsWith('.jsonl'))).toEqual([`memory-journal-${snapshot.generation}.jsonl`]);
    }
  });
});

describe('JsonMemoryBackend files', () => {
  let dir: string;
  const open: MemoryBackend[] = [];
  const store = (options: ConstructorParameters<typeof JsonMemoryBackend>[1] = {}) => {
    const memory = new JsonMemoryBackend(dir, options);
    open.push(memory);
    return memory;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
  });
  afterEach(async () => {
    for (const memory of open.splice(0)) await memory.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('compaction keeps every entry, its replacements and deletions, and drops the old journal', async () => {
    const memory = store({ compactionMinBytes: 4096, sync: false });
    for (let i = 0; i < 300; i++) await memory.store(`k${i}`, { i, words: `entry number ${i}` });
    for (let i = 0; i < 300; i += 3) await memory.delete(`k${i}`);
    for (let i = 1; i < 300; i += 3) await memory.store(`k${i}`, { i, replaced: true });
    expect(await memory.compact()).toBe(true);

    const files = readdirSync(join(dir, 'memory')).sort();
    const snapshot = JSON.parse(readFileSync(join(dir, 'memory', 'memory-snapshot.json'), 'utf8')) as { schemaVersion: number; generation: number; entries: unknown[] };
    expect(snapshot).toMatchObject({ schemaVersion: 1, entries: expect.any(Array) });
    expect(snapshot.entries).toHaveLength(200);
    expect(files).toEqual([`memory-journal-${snapshot.generation}.jsonl`, 'memory-snapshot.json']);

    const reader = store();
    const entries = await reader.list();
    expect(entries).toHaveLength(200);
    expect(await reader.retrieve('k0')).toBeUndefined();
    expect(await reader.retrieve('k1')).toEqual({ i: 1, replaced: true });
    expect(await reader.retrieve('k2')).toEqual({ i: 2, words: 'entry number 2' });
    expect((await reader.search('number', { limit: 500 })).length).toBe(100);
  });

  it('an instance sees what another wrote since, even across a compaction that deleted its journal', async () => {
    const a = store({ sync: false });
    const b = store({ sync: false });
    await a.store('first', 1);
    expect(await b.retrieve('first')).toBe(1);
    await a.compact();
    await a.store('second', 2);
    await a.compact();
    await a.store('third', 3);
    // b's journal was sealed and deleted twice: it reads the snapshot again
    expect((await b.list()).map((e) => e.key)).toEqual(['first', 'second', 'third']);
    await b.store('fourth', 4);
    expect(await a.retrieve('fourth')).toBe(4);
    expect(await b.delete('first')).toBe(true);
    expect(await a.retrieve('first')).toBeUndefined();
  });

  it('skips a line torn by a crash mid-write without losing the next one', async () => {
    const memory = store();
    await memory.store('before', 1);
    await memory.close();
    appendFileSync(join(dir, 'memory', 'memory-journal-0.jsonl'), '\n{"v":1,"op":"set","w":"x","entry":{"key":"torn","val');
    const next = store();
    await next.store('after', 2);
    const reader = store();
    expect((await reader.list()).map((e) => e.key)).toEqual(['after', 'before']);
  });

  it('refuses a damaged or newer snapshot, naming the file', async () => {
    const memory = store();
    await memory.store('k', 1);
    writeFileSync(join(dir, 'memory', 'memory-snapshot.json'), '{"schemaVersion": 1, "gener');
    const damaged = await failureOf(store().list());
    expect([damaged.code, damaged.message]).toEqual(['CORRUPT_STATE', expect.stringContaining('memory-snapshot.json is not JSON')]);
    writeFileSync(join(dir, 'memory', 'memory-snapshot.json'), '{"schemaVersion": 99, "generation": 0, "entries": []}');
    expect((await failureOf(store().list())).code).toBe('UNSUPPORTED_SCHEMA');
    writeFileSync(join(dir, 'memory', 'memory-snapshot.json'), '{"schemaVersion": 1}');
    expect((await failureOf(store().list())).code).toBe('CORRUPT_STATE');
  });

  it('picks up after a compaction that died between its seal and its snapshot', async () => {
    const memory = store();
    await memory.store('before-seal', 1);
    await memory.close();
    // what a compaction leaves when killed after sealing journal 0: journal 1 exists, the snapshot still names 0
    const files = join(dir, 'memory');
    writeFileSync(join(files, 'memory-journal-1.jsonl'), '');
    appendFileSync(join(files, 'memory-journal-0.jsonl'), '\n{"v":1,"op":"seal","next":1}\n\n{"v":1,"op":"set","w":"late","entry":{"key":"after-seal","value":0,"createdAt":0,"updatedAt":0,"expiresAt":null}}\n');
    const next = store();
    await next.store('in-journal-1', 2);
    expect((await next.list()).map((e) => e.key)).toEqual(['before-seal', 'in-journal-1']);
    expect(await next.compact()).toBe(true);
    expect(readdirSync(files).filter((f) => f.endsWith('.jsonl'))).toEqual(['memory-journal-2.jsonl']);
    expect((await store().list()).map((e) => e.key)).toEqual(['before-seal', 'in-journal-1']);
  });

  it('skips compaction while another holds the lock, and says a missing snapshot is damage', async () => {
    const memory = store();
    await memory.store('k', 1);
    const { takeRunLock } = await import('../src/persistence/json-run-lock.js');
    const release = await takeRunLock(join(dir, 'memory'), 'memory compaction');
    try {
      expect(await memory.compact()).toBe(false);
    } finally {
      await release();
    }
    expect(await memory.compact()).toBe(true);
    rmSync(join(dir, 'memory', 'memory-snapshot.json'));
    const error = await failureOf(store().retrieve('k'));
    expect([error.code, error.message]).toEqual(['CORRUPT_STATE', expect.stringContaining('memory-snapshot.json is missing, but memory-journal-')]);
  });

  it('is not a run: the JSON state backend lists no run for the memory directory', async () => {
    await store().store('k', 1);
    const { JsonStateBackend } = await import('../src/index.js');
    expect(await new JsonStateBackend(dir).listRuns()).toEqual([]);
  });

  it('refuses operations once closed', async () => {
    const memory = store();
    await memory.close();
    await memory.close();
    expect((await failureOf(memory.retrieve('k'))).code).toBe('BACKEND_UNAVAILABLE');
  });
});

describe.runIf(sqliteAvailable)('SqliteMemoryBackend files', () => {
  it('refuses a file that is not a SQLite database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
    try {
      writeFileSync(join(dir, 'memory.sqlite'), 'this is not a database, just some text that is long enough '.repeat(20));
      const error = await failureOf(SqliteMemoryBackend.open(join(dir, 'memory.sqlite')));
      expect(error.code).toBe('CORRUPT_STATE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its tables beside the state backend\'s in a shared file, each reading its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-'));
    try {
      const { SqliteStateBackend } = await import('../src/sqlite.js');
      const state = await SqliteStateBackend.open(join(dir, 'agents.sqlite'));
      await state.save('setting', { a: 1 });
      const memory = await SqliteMemoryBackend.open(join(dir, 'agents.sqlite'));
      await memory.store('skill:x', 'shared file');
      await memory.close();
      await state.close();
      const again = await SqliteStateBackend.open(join(dir, 'agents.sqlite'));
      expect(await again.load('setting')).toEqual({ a: 1 });
      await again.close();
      const memoryAgain = await SqliteMemoryBackend.open(join(dir, 'agents.sqlite'), { synchronous: 'FULL' });
      expect((await memoryAgain.search('shared')).map((r) => r.key)).toEqual(['skill:x']);
      await memoryAgain.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
