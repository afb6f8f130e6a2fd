/**
 * The backends the conformance suite runs against, with the two test-only manipulations each
 * needs (forge a lock owner, corrupt a checkpoint) done from outside, as another process would.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { JsonStateBackend, type StateBackend } from '../../src/index.js';
import { SqliteStateBackend } from '../../src/persistence/sqlite-state-backend.js';

export interface LockOwnerLike {
  pid: number;
  host: string;
  acquiredAt: number;
  startTicks?: number;
}

export interface BackendFactory {
  name: string;
  create(dir: string): Promise<StateBackend>;
  /** Makes the run's lock look held by `owner`. */
  forgeLock(dir: string, runId: string, owner: LockOwnerLike): Promise<void>;
  /** Corrupts the stored checkpoint of a run; returns what the error must name. */
  corrupt(dir: string, runId: string): Promise<string>;
}

export const jsonBackend: BackendFactory = {
  name: 'JsonStateBackend',
  create: async (dir) => new JsonStateBackend(dir),
  forgeLock: async (dir, runId, owner) => writeFileSync(join(dir, runId, 'run.lock'), JSON.stringify(owner)),
  corrupt: async (dir, runId) => {
    const file = join(dir, runId, 'checkpoint.json');
    writeFileSync(file, '{"schemaVersion": 1, "runId": "bad", "records": [');
    return file;
  },
};

/** better-sqlite3 is optional: where it is not installed or not built the suite runs without it. */
function loadSqlite(): typeof BetterSqlite3 | null {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    new Database(':memory:').close(); // loads the native module too
    return Database;
  } catch {
    return null;
  }
}

const Sqlite = loadSqlite();

/** A second connection to the backend's file, as another process would open it. */
function withDb(dir: string, work: (db: BetterSqlite3.Database) => void): void {
  const db = new Sqlite!(join(dir, 'agents.sqlite'));
  try {
    work(db);
  } finally {
    db.close();
  }
}

export const sqliteBackend: BackendFactory = {
  name: 'SqliteStateBackend',
  create: async (dir) => SqliteStateBackend.open(join(dir, 'agents.sqlite')),
  forgeLock: async (dir, runId, owner) =>
    withDb(dir, (db) => {
      db.prepare('INSERT INTO locks (run_id, owner) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner').run(
        runId,
        JSON.stringify(owner),
      );
    }),
  corrupt: async (dir, runId) => {
    withDb(dir, (db) => {
      db.prepare('UPDATE runs SET checkpoint = ? WHERE run_id = ?').run('{"schemaVersion": 1, "runId": "bad", "records": [', runId);
    });
    return join(dir, 'agents.sqlite');
  },
};

export function backendFactories(): BackendFactory[] {
  return Sqlite ? [jsonBackend, sqliteBackend] : [jsonBackend];
}
