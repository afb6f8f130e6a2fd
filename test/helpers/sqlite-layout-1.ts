/**
 * A database as SqliteStateBackend's table layout 1 left it (every checkpoint kept, whole), to
 * test that newer versions still open it.
 */
import Database from 'better-sqlite3';
import { STATE_SCHEMA_VERSION } from '../../src/persistence/state-backend.js';
import { checkpoint, record } from './records.js';

/** The table layout 1 of SqliteStateBackend, which kept every checkpoint, whole. */
const LAYOUT_1 = `
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, schema_version INTEGER NOT NULL);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, checkpoint TEXT NOT NULL, schema_version INTEGER NOT NULL);
CREATE INDEX runs_by_start ON runs (started_at DESC);
CREATE TABLE tasks (run_id TEXT NOT NULL, task_id TEXT NOT NULL, position INTEGER NOT NULL, record TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY (run_id, task_id));
CREATE INDEX tasks_in_order ON tasks (run_id, position);
CREATE TABLE checkpoints (run_id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
  data TEXT NOT NULL, schema_version INTEGER NOT NULL, PRIMARY KEY (run_id, seq), UNIQUE (run_id, name));
CREATE TABLE locks (run_id TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
`;

/**
 * Writes a layout 1 database as that version left it: run `old` with two whole checkpoints, then
 * task `a` completed and task `late` added after the second.
 */
export function writeLayout1Database(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(LAYOUT_1);
    const first = checkpoint('old', ['a', 'b'], 1000);
    const second = { ...first, updatedAt: 2000, snapshot: { step: 2 } };
    const { records, ...head } = second;
    const insertCheckpoint = db.prepare('INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)');
    insertCheckpoint.run('old', 1, 'checkpoint-1', 1000, JSON.stringify(first), STATE_SCHEMA_VERSION);
    insertCheckpoint.run('old', 2, 'checkpoint-2', 2000, JSON.stringify(second), STATE_SCHEMA_VERSION);
    db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)').run('old', 'wf', 'running', 1000, 2000, JSON.stringify(head), STATE_SCHEMA_VERSION);
    const insertTask = db.prepare('INSERT INTO tasks VALUES (?, ?, ?, ?, ?)');
    insertTask.run('old', 'a', 0, JSON.stringify(record('a')), 3000);
    insertTask.run('old', 'b', 1, JSON.stringify(records[1]), 2000);
    insertTask.run('old', 'late', 2, JSON.stringify(record('late', 'running', 0)), 3000);
    db.prepare('INSERT INTO state VALUES (?, ?, ?)').run('cfg', '{"a":1}', STATE_SCHEMA_VERSION);
  } finally {
    db.close();
  }
}
