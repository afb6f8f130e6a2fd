/**
 * What SqliteStateBackend does beyond the shared contract (test/state-backend.conformance.test.ts):
 * `:memory:`, WAL, its own failure modes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { checkpoint, record } from './helpers/records.js';
import { failureOf } from './helpers/failure-of.js';

/** Runs SQL on the file through a second connection, as another process would. */
function withDb<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

let dir: string;
let file: string;
const open: SqliteStateBackend[] = [];
async function openBackend(path = file): Promise<SqliteStateBackend> {
  const backend = await SqliteStateBackend.open(path);
  open.push(backend);
  return backend;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-sqlite-'));
  file = join(dir, 'agents.sqlite');
});
afterEach(async () => {
  for (const backend of open.splice(0)) await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Where better-sqlite3's native module is not built (it is optional) there is nothing to test. */
const built = (() => {
  try {
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!built)('SqliteStateBackend', () => {
  it('works in :memory:, nothing written to disk', async () => {
    const backend = await openBackend(':memory:');
    expect(backend.file).toBe(':memory:');
    await backend.save('__proto__', { polluted: true });
    expect(await backend.load('__proto__')).toEqual({ polluted: true });
    await backend.saveCheckpoint('m', checkpoint('m', ['a', 'b'], 5));
    await backend.saveTaskRecords('m', [record('b', 'completed', 0.25), record('new', 'running', 0)]);
    const run = await backend.loadRun('m');
    expect(run!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'pending'],
      ['b', 'completed'],
      ['new', 'running'],
    ]);
    expect(await backend.listRuns()).toMatchObject([{ runId: 'm', tasksDone: 1, tasksTotal: 3, costUsd: 0.25 }]);
    const release = await backend.lockRun('m');
    expect((await failureOf(backend.lockRun('m'))).code).toBe('LOCKED');
    await release();
    await (await backend.lockRun('m'))();
    await backend.deleteRun('m');
    expect(await backend.loadRun('m')).toBeUndefined();
    expect(existsSync(join(process.cwd(), ':memory:'))).toBe(false);
  });

  it('creates the directory, uses WAL, and keeps everything across a reopen', async () => {
    const nested = join(dir, 'a', 'b', 'state.sqlite');
    const backend = await openBackend(nested);
    await backend.save('k', { v: 1 });
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    await backend.saveTaskRecords('r', [record('a')]);
    await backend.close();
    expect(withDb(nested, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
    const again = await openBackend(nested);
    expect(await again.load('k')).toEqual({ v: 1 });
    expect((await again.loadRun('r'))!.records[0]!.status).toBe('completed');
  });

  it('moves updatedAt on each task record, and stores undefined as no value', async () => {
    const backend = await openBackend();
    await backend.saveCheckpoint('r', checkpoint('r', ['a'], 1000));
    await backend.saveTaskRecords('r', [record('a')]);
    expect((await backend.loadRun('r'))!.updatedAt).toBeGreaterThan(1000);
    expect((await backend.loadCheckpoint('r'))!.updatedAt).toBe(1000);
    await backend.save('k', 1);
    await backend.save('k', undefined);
    expect(await backend.load('k')).toBeUndefined();
  });

  it('refuses task records of a run that has no checkpoint', async () => {
    const backend = await openBackend();
    expect((await failureOf(backend.saveTaskRecords('ghost', [record('a')]))).code).toBe('NOT_FOUND');
    await backend.saveTaskRecords('ghost', []);
    expect(await backend.loadRun('ghost')).toBeUndefined();
  });

  it('locks across connections; a release only deletes its own lock, even after close', async () => {
    const one = await openBackend();
    const two = await openBackend();
    const release = await one.lockRun('r');
    const error = await failureOf(two.lockRun('r'));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`pid ${process.pid} on ${hostname()}`);
    expect(error.message).toContain(file);

    // a dead process's lock is taken over; the dead one's release must not free it
    const dead = JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), acquiredAt: 1 });
    withDb(file, (db) => db.prepare('UPDATE locks SET owner = ? WHERE run_id = ?').run(dead, 'r'));
    const releaseTwo = await two.lockRun('r');
    await release();
    expect((await failureOf(one.lockRun('r'))).code).toBe('LOCKED');

    // released after its backend was closed: still released
    await two.close();
    await releaseTwo();
    await (await one.lockRun('r'))();
    // junk in the lock row is taken over too
    withDb(file, (db) => db.prepare('INSERT INTO locks (run_id, owner) VALUES (?, ?)').run('j', 'not json'));
    await (await one.lockRun('j'))();
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM locks').get())).toEqual({ n: 0 });
  });

  it('a release frees only its own lock, also when two locks were taken in the same millisecond', async () => {
    // one process, one clock tick: the two owners differ only by the id each lock gets
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    try {
      const one = await openBackend();
      const two = await openBackend();
      const release = await one.lockRun('r');
      // the first holder looks dead (as after a crash): the second takes the lock over
      const dead = JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), acquiredAt: 1 });
      withDb(file, (db) => db.prepare('UPDATE locks SET owner = ? WHERE run_id = ?').run(dead, 'r'));
      const releaseTwo = await two.lockRun('r');
      await release();
      expect(await two.lockHolder('r')).toMatchObject({ pid: process.pid, acquiredAt: 1_700_000_000_000 });
      expect((await failureOf(one.lockRun('r'))).code).toBe('LOCKED');
      await releaseTwo();
      expect(await two.lockHolder('r')).toBeNull();
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('names the file, table and row of corrupt data; listRuns lists a corrupt run as unreadable', async () => {
    const backend = await openBackend();
    await backend.saveCheckpoint('good', checkpoint('good', ['a'], 1));
    await backend.saveCheckpoint('bad', checkpoint('bad', ['t1'], 2));
    await backend.save('cfg', { a: 1 });
    withDb(file, (db) => {
      db.prepare('UPDATE tasks SET record = ? WHERE run_id = ?').run('{"taskId": "t1", ', 'bad');
      db.prepare('UPDATE state SET value = ? WHERE key = ?').run('{nope', 'cfg');
    });
    const task = await failureOf(backend.loadRun('bad'));
    expect(task.code).toBe('CORRUPT_STATE');
    expect(task.message).toContain(file);
    expect(task.message).toContain('table tasks, run bad, task t1');
    withDb(file, (db) => db.prepare('UPDATE runs SET checkpoint = ? WHERE run_id = ?').run('[1, 2]', 'bad'));
    const cp = await failureOf(backend.loadCheckpoint('bad'));
    expect(cp.code).toBe('CORRUPT_STATE');
    expect(cp.message).toContain('table runs, run bad');
    expect(cp.message).toContain('not a JSON object');
    const value = await failureOf(backend.load('cfg'));
    expect(value.code).toBe('CORRUPT_STATE');
    expect(value.message).toContain('table state, key "cfg"');
    expect((await backend.listRuns()).map((r) => [r.runId, r.status, r.problem?.code])).toEqual([
      ['good', 'running', undefined],
      ['bad', 'unreadable', 'CORRUPT_STATE'],
    ]);
  });

  it('refuses data written by a newer version', async () => {
    const backend = await openBackend();
    await backend.save('k', 1);
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    withDb(file, (db) => {
      db.prepare('UPDATE state SET schema_version = ?').run(STATE_SCHEMA_VERSION + 1);
      db.prepare('UPDATE runs SET schema_version = ?').run(STATE_SCHEMA_VERSION + 1);
    });
    expect((await failureOf(backend.load('k'))).code).toBe('UNSUPPORTED_SCHEMA');
    expect((await failureOf(backend.loadRun('r'))).code).toBe('UNSUPPORTED_SCHEMA');
    expect((await backend.listRuns()).map((r) => [r.runId, r.status, r.problem?.code])).toEqual([['r', 'unreadable', 'UNSUPPORTED_SCHEMA']]);
    await backend.close();
    withDb(file, (db) => db.pragma('user_version = 99'));
    const error = await failureOf(SqliteStateBackend.open(file));
    expect(error.code).toBe('UNSUPPORTED_SCHEMA');
    expect(error.message).toContain(file);
  });

  it('reports a file that is not a database, and a directory it cannot open', async () => {
    writeFileSync(file, 'this is not sqlite, just text long enough to fill a header of one hundred bytes.'.repeat(4));
    const notDb = await failureOf(SqliteStateBackend.open(file));
    expect(notDb.code).toBe('CORRUPT_STATE');
    expect(notDb.message).toContain(file);
    const cannot = await failureOf(SqliteStateBackend.open(dir));
    expect(cannot.code).toBe('BACKEND_UNAVAILABLE');
    expect(cannot.message).toContain(dir);
  });

  it('rejects (never throws) on bad keys and once closed', async () => {
    const backend = await openBackend();
    const bad = backend.loadCheckpoint('../x');
    expect((await failureOf(bad)).code).toBe('INVALID_KEY');
    expect((await failureOf(backend.loadCheckpoint('a/b'))).code).toBe('INVALID_KEY');
    expect((await failureOf(backend.deleteRun('..'))).code).toBe('INVALID_KEY');
    await backend.close();
    await backend.close();
    const closed = await failureOf(backend.load('k'));
    expect(closed.code).toBe('BACKEND_UNAVAILABLE');
    expect(closed.message).toContain('closed');
    expect((await failureOf(backend.listRuns())).code).toBe('BACKEND_UNAVAILABLE');
  });

  it('says how to install better-sqlite3 when its native module cannot be loaded', async () => {
    const error = await failureOf(SqliteStateBackend.open(file, { nativeBinding: join(dir, 'missing.node') }));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toContain('npm install better-sqlite3');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('says how to install better-sqlite3 when the package is missing', async () => {
    // only the third-party package is faked: the backend's own lazy import() meets the failure
    vi.doMock('better-sqlite3', () => {
      throw new Error("Cannot find package 'better-sqlite3'");
    });
    try {
      const error = await failureOf(SqliteStateBackend.open(':memory:'));
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
      expect(error.message).toContain('npm install better-sqlite3');
      expect(error.message).toContain('could not be loaded');
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      vi.doUnmock('better-sqlite3');
    }
  });
});
