/**
 * `SqliteStateBackend`: every value, run, checkpoint and lock in one SQLite database, written
 * with better-sqlite3. better-sqlite3 is an optional (native) dependency: it is loaded only when
 * a database is opened, so the rest of the package works where it is not installed or not built.
 *
 * Layout (one file, WAL mode, `PRAGMA user_version` = layout version):
 * - `state(key, value, schema_version)`: `save(key)`
 * - `runs(run_id, workflow_id, status, started_at, updated_at, checkpoint, schema_version)`: the
 *   last checkpoint of each run, without its task records
 * - `tasks(run_id, task_id, position, record, in_checkpoint, checkpoint_record, updated_at)`: the
 *   current record of every task, one row each, so saving a task record is one indexed row update
 *   whatever the size of the run. `in_checkpoint` = 0 for a task added since the last checkpoint;
 *   `checkpoint_record` keeps the checkpoint's record of a task changed since (NULL: unchanged).
 * - `locks(run_id, owner)`: who drives a run
 * - `events(run_id, seq, type, task_id, session_id, attempt, at, json)`: the run's event log,
 *   the same entries as a JSON backend's `events.jsonl` (outputs over 64 KB referenced), in
 *   `seq` order, appended one transaction per batch (layout 3)
 *
 * Only the last checkpoint of a run is kept, and a task's record (with its output) is stored once:
 * layout 1 also kept every checkpoint ever saved, whole, and grew without bound (404 MB for 50 MB
 * of task outputs). Opening a layout 1 database for writing drops that history.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open as openFile, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { AgentsSdkError, PermanentError } from '../errors.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import type { RunEventLogContents, RunEventLogEntry } from './run-event-log.js';
import type { RunEventSink, RunEventStore } from './run-event-sink.js';
import { SqliteRunEventSink, type EventRow } from './sqlite-run-event-sink.js';
import { checkSqliteFiles, databaseImage, type SqliteFiles } from './sqlite-file-check.js';
import { currentOwner, holderBlocks, isOwnerAlive, lockedMessage, type LockOptions, type LockOwner } from './process-lock.js';
import {
  STATE_SCHEMA_VERSION,
  expandCheckpoint,
  stateWriteFailed,
  summarizeRun,
  unreadableRun,
  type ReleaseLock,
  type RunCheckpoint,
  type RunSummary,
  type StateBackend,
} from './state-backend.js';
import { assertValidRunId, assertValidValueKey } from './state-keys.js';
import { BROADCAST_SCOPE, parseSignalLines, type Signal, type SignalStore } from '../signals/signal.js';

type Driver = typeof BetterSqlite3;
type Database = BetterSqlite3.Database;
// better-sqlite3 constrains transaction functions to `(...params: any[]) => unknown`.
type Transaction<F extends (...args: any[]) => unknown> = BetterSqlite3.Transaction<F>;

/**
 * Version of the table layout, kept in `PRAGMA user_version`. A newer database is refused; an
 * older one is migrated when opened for writing, and read as it is when opened read-only.
 */
const LAYOUT_VERSION = 3;
// Layout history: 1 kept every checkpoint; 2 keeps only the last; 3 adds the `signals` and
// `events` tables (added by SCHEMA's CREATE IF NOT EXISTS: nothing else to migrate).

const MEMORY = ':memory:';

/** How long to wait before looking at a database found damaged a second time (another process may be creating it). */
const RECHECK_DELAY_MS = 100;

// Rows that can be large (values, checkpoints, task outputs) live in ordinary rowid tables:
// a WITHOUT ROWID table keeps the whole row in its key b-tree, which suits only small rows.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  checkpoint TEXT NOT NULL,
  schema_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at DESC);
CREATE TABLE IF NOT EXISTS tasks (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  record TEXT NOT NULL,
  in_checkpoint INTEGER NOT NULL DEFAULT 1,
  checkpoint_record TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, task_id)
);
CREATE INDEX IF NOT EXISTS tasks_in_order ON tasks (run_id, position);
CREATE TABLE IF NOT EXISTS locks (
  run_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  signal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_by_scope ON signals (scope, seq);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  task_id TEXT,
  session_id TEXT,
  attempt INTEGER,
  at INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
`;

/** Options of {@link SqliteStateBackend.open}. */
export interface SqliteStateBackendOptions {
  /** How long a write waits for another connection's write to finish, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * `NORMAL` (default): in WAL mode a process crash loses nothing, a power loss may lose the last
   * transactions (never corrupts). `FULL`: fsync every commit, slower.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** Path of a `better_sqlite3.node` to load instead of the one better-sqlite3 finds itself (bundlers). */
  nativeBinding?: string;
  /**
   * Open for reading only (default `false`): nothing is created, migrated, changed or deleted,
   * and every write rejects with `BACKEND_UNAVAILABLE`. A missing file reads as a database
   * without runs and is not created, nor are its `-wal` and `-shm`: without a log the file is read
   * as it is (`immutable=1`), and a log without its `-shm` index from an image in memory. (With
   * both, SQLite shares the index with live connections and may update it: it holds no state.)
   */
  readonly?: boolean;
  /**
   * The directory where runs leave files of their own (`<runsDir>/<runId>/`: the agents' raw
   * outputs, the process registry); the CLI gives its state directory. When the database file
   * is empty or has no tables while this directory holds run directories, their state was in
   * the file: open refuses it (`CORRUPT_STATE`) rather than read it, or start it, as empty.
   */
  runsDir?: string;
}

interface ValueRow {
  value: string;
  schema_version: number;
}

interface RunRow {
  run_id: string;
  updated_at: number;
  checkpoint: string;
  schema_version: number;
}

interface TaskRow {
  task_id: string;
  record: string;
  updated_at: number;
}

interface CheckpointRow {
  data: string;
  schema_version: number;
}

/**
 * One SQLite database (default `agents/agents.sqlite`, or `:memory:`), opened with
 * {@link SqliteStateBackend.open}. Any number of instances and processes may share a file.
 * It keeps the last checkpoint of each run (earlier ones are not kept) and each task record once.
 */
export class SqliteStateBackend implements StateBackend, SignalStore, RunEventStore {
  /** Absolute path of the database file, or `:memory:`. */
  readonly file: string;
  private readonly db: Database;
  private readonly driver: Driver;
  private readonly driverOptions: BetterSqlite3.Options;
  private readonly layout: number;
  private readonly sql: ReadStatements;
  /** `null` when opened read-only: nothing is prepared that could write. */
  private readonly writes: WriteStatements | null;
  private readonly writeCheckpoint: Transaction<(runId: string, data: RunCheckpoint, head: string, records: string[]) => void>;
  private readonly writeTaskRecords: Transaction<(runId: string, records: TaskRecord[], texts: string[]) => void>;
  private readonly takeLock: Transaction<(runId: string, owner: string, force: boolean) => void>;
  private readonly readRunTx: Transaction<(runId: string) => RunCheckpoint | undefined>;
  private readonly readCheckpointTx: Transaction<(runId: string) => RunCheckpoint | undefined>;
  private readonly removeRun: Transaction<(runId: string) => void>;
  private readonly appendEvents: Transaction<(runId: string, rows: EventRow[]) => void>;
  /** The open event sink of each run this connection writes: its events join the run's record writes. */
  private readonly eventSinks = new Map<string, SqliteRunEventSink>();

  private constructor(db: Database, file: string, driver: Driver, driverOptions: BetterSqlite3.Options, layout: number, writable: boolean) {
    this.db = db;
    this.file = file;
    this.driver = driver;
    this.driverOptions = driverOptions;
    this.layout = layout;
    this.sql = readStatements(db, layout);
    this.writes = writable ? writeStatements(db) : null;
    const writes = () => this.writes!;

    // Writes that read first (the run row, the lock holder) start IMMEDIATE: a deferred
    // transaction upgrading to a write fails at once with SQLITE_BUSY if another process wrote
    // in between, instead of waiting for the busy timeout.
    this.writeCheckpoint = db.transaction((runId: string, data: RunCheckpoint, head: string, records: string[]) => {
      const sql = writes();
      this.insertPendingEvents(runId);
      sql.putRun.run(runId, data.workflowId, data.status, data.startedAt, data.updatedAt, head, STATE_SCHEMA_VERSION);
      // The checkpoint replaces the task records (as the JSON backend drops its journal), and
      // with them what the previous checkpoint held: only the last one is kept.
      sql.deleteTasks.run(runId);
      data.records.forEach((r, i) => sql.insertTask.run(runId, r.taskId, i, records[i]!, data.updatedAt));
    });

    this.writeTaskRecords = db.transaction((runId: string, records: TaskRecord[], texts: string[]) => {
      const sql = writes();
      // The run row is not written: it holds the whole checkpoint (spec, snapshot), and rewriting
      // it per record made a task record cost O(run size) (15 ms per record at 10,000 tasks).
      if (!sql.hasRun.get(runId)) {
        throw new PermanentError('NOT_FOUND', `Run ${runId} has no checkpoint yet: save one before its task records`, {
          details: { runId, file: this.file },
        });
      }
      // The events that led to these records, in the same transaction: durable together.
      this.insertPendingEvents(runId);
      const now = Date.now();
      records.forEach((r, i) => {
        if (sql.updateTask.run(texts[i]!, now, runId, r.taskId).changes === 0) {
          sql.appendTask.run(runId, r.taskId, texts[i]!, now, runId);
        }
      });
    });

    this.takeLock = db.transaction((runId: string, owner: string, force: boolean) => {
      const row = this.sql.getLock.get(runId);
      const holder = row ? parseOwner(row.owner) : null;
      if (holder && holderBlocks(holder, { force })) {
        throw new PermanentError('LOCKED', lockedMessage(runId, holder, `Database: ${this.file}, table locks`), {
          details: { runId, owner: holder, file: this.file },
        });
      }
      // No holder, or it died without releasing the lock (or left junk): take it over.
      writes().putLock.run(runId, owner);
    });

    // Read transactions: the run row and its task rows from one snapshot, even while another
    // process writes.
    this.readRunTx = db.transaction((runId: string) => this.readRun(runId));
    this.readCheckpointTx = db.transaction((runId: string) => this.readCheckpoint(runId));

    this.appendEvents = db.transaction((runId: string, rows: EventRow[]) => this.insertEvents(runId, rows));

    this.removeRun = db.transaction((runId: string) => {
      const sql = writes();
      sql.deleteEvents.run(runId);
      sql.deleteTasks.run(runId);
      sql.deleteRun.run(runId);
      sql.deleteLock.run(runId);
      db.prepare('DELETE FROM signals WHERE scope = ?').run(runId);
    });
  }

  /**
   * Opens a database file, or `:memory:`: for writing (creating the file and its directory if
   * missing, migrating an older layout), or with `readonly` for reading only.
   *
   * A damaged database is refused, never started over: a file that is missing, empty or without
   * tables while its write-ahead log (`<file>-wal`) holds data, or whose tables were in a log
   * that is gone, or while `runsDir` holds runs' directories; a log whose header or frames fail
   * their checksums where SQLite would drop committed transactions; a log missing, emptied or cut
   * while its `-shm` index records committed frames in it; a file shorter than its pages; and,
   * before opening for writing, a file failing `PRAGMA quick_check` (see `sqlite-file-check.ts`).
   * Nothing is changed or deleted then.
   *
   * @throws PermanentError `BACKEND_UNAVAILABLE` when better-sqlite3 is not installed or not
   *   built for this Node, or the file cannot be opened; `CORRUPT_STATE` when the file is not a
   *   SQLite database or is damaged as above; `UNSUPPORTED_SCHEMA` when it was written by a
   *   newer version.
   */
  static async open(file: string = 'agents/agents.sqlite', options: SqliteStateBackendOptions = {}): Promise<SqliteStateBackend> {
    const driver = await loadDriver();
    const path = file === MEMORY ? MEMORY : resolve(file);
    const driverOptions: BetterSqlite3.Options = { timeout: options.busyTimeoutMs ?? 5000 };
    if (options.nativeBinding !== undefined) driverOptions.nativeBinding = options.nativeBinding;
    const readonly = options.readonly === true;
    // Everything about the file is checked before SQLite opens it: SQLite deletes the WAL beside
    // an empty database file, and a connection that can write checkpoints a damaged log away when
    // it closes. So a file is first looked at from outside, then read through a read-only connection.
    let checked: SqliteStateBackend | 'write' | 'empty';
    try {
      checked = await SqliteStateBackend.check(path, driver, driverOptions, readonly, options.runsDir);
    } catch (error) {
      if (!(error instanceof AgentsSdkError) || error.code !== 'CORRUPT_STATE') throw error;
      // Looked at once more: another process may be creating the database this very moment
      // (its file in WAL mode, its tables not yet committed to the log).
      await new Promise((r) => setTimeout(r, RECHECK_DELAY_MS));
      checked = await SqliteStateBackend.check(path, driver, driverOptions, readonly, options.runsDir);
    }
    if (checked === 'empty') return SqliteStateBackend.empty(path, driver, driverOptions);
    if (checked !== 'write') return checked;
    if (path !== MEMORY) await mkdir(dirname(path), { recursive: true });
    const db = connect(driver, path, driverOptions);
    try {
      configure(db, path, options.synchronous ?? 'NORMAL');
      return new SqliteStateBackend(db, path, driver, driverOptions, LAYOUT_VERSION, true);
    } catch (error) {
      db.close();
      throw openError(error, path, driver, true);
    }
  }

  /**
   * Looks at the file from outside, then through a connection that changes nothing: the backend
   * opened read-only, `'empty'` (no runs), or `'write'` (nothing found against opening it for writing).
   */
  private static async check(
    path: string,
    driver: Driver,
    driverOptions: BetterSqlite3.Options,
    readonly: boolean,
    runsDir: string | undefined,
  ): Promise<SqliteStateBackend | 'write' | 'empty'> {
    const found: FoundFile = path === MEMORY ? { kind: 'missing' } : await inspectFile(path, runsDir);
    if (readonly && found.kind !== 'database') return 'empty';
    if (found.kind !== 'database') return 'write';
    const db = await openForReading(driver, path, driverOptions, found);
    try {
      const layout = layoutOf(db, path);
      if (layout === 0) await assertNothingLost(path, found, runsDir);
      if (readonly && layout > 0) return new SqliteStateBackend(db, path, driver, driverOptions, layout, false);
      // Before anything is written: a damaged file is refused, not written over.
      if (!readonly) assertIntact(db, path);
    } catch (error) {
      db.close();
      throw openError(error, path, driver, true);
    }
    db.close();
    // A database file without tables (and nothing lost): read-only, it has no runs.
    return readonly ? 'empty' : 'write';
  }

  /** A read-only backend without runs, for a database file that does not exist (yet). */
  private static empty(path: string, driver: Driver, driverOptions: BetterSqlite3.Options): SqliteStateBackend {
    const db = connect(driver, MEMORY, driverOptions);
    db.exec(SCHEMA);
    return new SqliteStateBackend(db, path, driver, driverOptions, LAYOUT_VERSION, false);
  }

  async save(key: string, value: unknown): Promise<void> {
    assertValidValueKey(key);
    this.assertWritable();
    const text = JSON.stringify(value) as string | undefined;
    // `undefined` (or a function) has no JSON: storing it means "no value", as load then answers.
    if (text === undefined) this.writes!.deleteValue.run(key);
    else this.writes!.putValue.run(key, text, STATE_SCHEMA_VERSION);
  }

  async load(key: string): Promise<unknown> {
    assertValidValueKey(key);
    this.assertOpen();
    const row = this.reading(() => this.sql.getValue.get(key));
    if (!row) return undefined;
    const where = `key ${JSON.stringify(key)}`;
    this.assertSchema(row.schema_version, 'state', where);
    return this.parse(row.value, 'state', where);
  }

  /**
   * Replaces the run's checkpoint: the run row without its task records, and one row per
   * record. Earlier checkpoints are not kept.
   */
  async saveCheckpoint(runId: string, data: RunCheckpoint): Promise<void> {
    assertValidRunId(runId);
    this.assertWritable();
    // Each record is stored once, in its task row; the run row holds the rest as it is given.
    const { records, ...head } = data;
    this.writeCheckpoint.immediate(
      runId,
      data,
      JSON.stringify(head),
      records.map((r) => JSON.stringify(r)),
    );
  }

  /** The last checkpoint saved, without later task records folded in (earlier ones are not kept). */
  async loadCheckpoint(runId: string): Promise<RunCheckpoint | undefined> {
    assertValidRunId(runId);
    this.assertOpen();
    return this.reading(() => this.readCheckpointTx.deferred(runId));
  }

  /** Upserts each record (one indexed row write each); the run's `updatedAt` (in `loadRun`) becomes now. */
  async saveTaskRecords(runId: string, records: TaskRecord[]): Promise<void> {
    assertValidRunId(runId);
    this.assertWritable();
    if (records.length === 0) return;
    this.writeTaskRecords.immediate(
      runId,
      records,
      records.map((r) => JSON.stringify(r)),
    );
  }

  async loadRun(runId: string): Promise<RunCheckpoint | undefined> {
    assertValidRunId(runId);
    this.assertOpen();
    const run = this.reading(() => this.readRunTx.deferred(runId));
    return run && expandCheckpoint(run);
  }

  /** Every run, newest first; a run whose rows are corrupt is left out (`loadRun` reports it). */
  async listRuns(): Promise<RunSummary[]> {
    this.assertOpen();
    const list = this.db.transaction(() => {
      const runs: RunSummary[] = [];
      for (const { run_id } of this.sql.runIds.all()) {
        try {
          const run = this.readRun(run_id);
          if (run) runs.push(summarizeRun(run));
        } catch (error) {
          // A damaged run is listed as such, not hidden.
          const unreadable = unreadableRun(run_id, error);
          if (!unreadable) throw error;
          runs.push(unreadable);
        }
      }
      // Newest first; unreadable runs (no start time) last.
      return runs.sort((a, b) => b.startedAt - a.startedAt);
    });
    return this.reading(() => list.deferred());
  }

  /**
   * A sink appending the run's events to the `events` table, one transaction per batch.
   *
   * @throws PermanentError `BACKEND_UNAVAILABLE` when the database is read-only or closed.
   */
  openRunEventSink(runId: string): RunEventSink {
    assertValidRunId(runId);
    this.assertWritable();
    const sink: SqliteRunEventSink = new SqliteRunEventSink(
      runId,
      (rows) => {
        this.assertWritable();
        this.appendEvents.immediate(runId, rows);
      },
      undefined,
      () => {
        if (this.eventSinks.get(runId) === sink) this.eventSinks.delete(runId);
      },
    );
    this.eventSinks.set(runId, sink);
    return sink;
  }

  /**
   * The run's events in the order appended (`torn` is always false: a transaction is whole or
   * absent); none for an unknown run or a database of a layout without the table.
   *
   * @throws PermanentError `CORRUPT_STATE` naming the row of an entry that is not a JSON event.
   */
  async readRunEvents(runId: string): Promise<RunEventLogContents> {
    assertValidRunId(runId);
    this.assertOpen();
    const events = this.reading(() => this.sql.events?.all(runId) ?? []).map((row) => {
      const entry = this.parse(row.json, 'events', `run ${runId}, seq ${row.seq}`);
      if (typeof entry !== 'object' || entry === null || typeof (entry as { type?: unknown }).type !== 'string') {
        throw this.corrupt('events', `run ${runId}, seq ${row.seq}`, 'not a JSON event');
      }
      return entry as RunEventLogEntry;
    });
    return { events, torn: false };
  }

  /** Deletes the run's rows from every table, its lock and events included. */
  async deleteRun(runId: string): Promise<void> {
    assertValidRunId(runId);
    this.assertWritable();
    this.removeRun.immediate(runId);
  }

  /** Appends to the `signals` table (`scope` is a run id or `*`); a signal already there (same id) is kept once. */
  async appendSignal(scope: string, signal: Signal): Promise<void> {
    if (scope !== BROADCAST_SCOPE) assertValidRunId(scope);
    this.assertWritable();
    try {
      this.db.prepare('INSERT OR IGNORE INTO signals (scope, id, signal) VALUES (?, ?, ?)').run(scope, signal.id, JSON.stringify(signal));
    } catch (error) {
      throw stateWriteFailed(this.file, error);
    }
  }

  /** The signals of `scope` whose row number is above `cursor`. */
  async readSignals(scope: string, cursor = 0): Promise<{ signals: Signal[]; cursor: number }> {
    if (scope !== BROADCAST_SCOPE) assertValidRunId(scope);
    this.assertOpen();
    let rows: Array<{ seq: number; signal: string }>;
    try {
      rows = this.reading(
        () => this.db.prepare('SELECT seq, signal FROM signals WHERE scope = ? AND seq > ? ORDER BY seq').all(scope, cursor) as Array<{ seq: number; signal: string }>,
      );
    } catch (error) {
      // A database opened read-only from before signals existed has no table: no signals.
      if (/no such table/.test((error as Error).message)) return { signals: [], cursor };
      throw error;
    }
    const signals = rows.flatMap((row) => parseSignalLines(row.signal));
    return { signals, cursor: rows.length > 0 ? rows[rows.length - 1]!.seq : cursor };
  }

  async lockRun(runId: string, options: LockOptions = {}): Promise<ReleaseLock> {
    assertValidRunId(runId);
    this.assertWritable();
    const owner = JSON.stringify(ownerWithLockId());
    this.takeLock.immediate(runId, owner, options.force === true);
    return async () => this.releaseLock(runId, owner);
  }

  async lockHolder(runId: string): Promise<LockOwner | null> {
    assertValidRunId(runId);
    this.assertOpen();
    const row = this.reading(() => this.sql.getLock.get(runId));
    const holder = row ? parseOwner(row.owner) : null;
    return holder && isOwnerAlive(holder) ? holder : null;
  }

  /** Closes the database (idempotent). Later calls reject with `BACKEND_UNAVAILABLE`. */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * Deletes the lock row if it is still ours (a process that took it over keeps it). The row is
   * matched on its whole owner text, which holds this lock's own `lockId`.
   */
  private releaseLock(runId: string, owner: string): void {
    // Released after close(): a lock left behind would look alive to this very process (its pid
    // is alive), so reopen the file for the delete. An in-memory database is gone with its lock.
    if (!this.db.open && this.file === MEMORY) return;
    const db = this.db.open ? this.db : new this.driver(this.file, this.driverOptions);
    try {
      db.prepare<[string, string]>('DELETE FROM locks WHERE run_id = ? AND owner = ?').run(runId, owner);
    } finally {
      if (db !== this.db) db.close();
    }
  }

  /** Appends rows to the run's events, after those already stored (a resumed run's log goes on). */
  private insertEvents(runId: string, rows: EventRow[]): void {
    if (rows.length === 0) return;
    const sql = this.writes!;
    let seq = sql.lastEventSeq.get(runId)!.seq;
    for (const r of rows) sql.insertEvent.run(runId, ++seq, r.type, r.taskId, r.sessionId, r.attempt, r.at, r.json);
  }

  /** Inside a write transaction of the run: the events its sink holds go in with it. */
  private insertPendingEvents(runId: string): void {
    const sink = this.eventSinks.get(runId);
    if (sink) this.insertEvents(runId, sink.takePending());
  }

  /** The run row with its current task rows folded in, in checkpoint order. */
  private readRun(runId: string): RunCheckpoint | undefined {
    const row = this.sql.getRun.get(runId);
    if (!row) return undefined;
    const where = `run ${runId}`;
    this.assertSchema(row.schema_version, 'runs', where);
    const head = this.parseObject(row.checkpoint, 'runs', where);
    let updatedAt = row.updated_at;
    const records = this.sql.tasks.all(runId).map((t) => {
      updatedAt = Math.max(updatedAt, t.updated_at);
      return this.parseObject(t.record, 'tasks', `run ${runId}, task ${t.task_id}`) as unknown as TaskRecord;
    });
    // updatedAt: the checkpoint's, or the last task record's if later.
    return { ...(head as unknown as Omit<RunCheckpoint, 'records'>), updatedAt, records };
  }

  /** The checkpoint as saved: the run row with the task rows as that checkpoint had them. */
  private readCheckpoint(runId: string): RunCheckpoint | undefined {
    if (this.layout === 1) return this.readLayout1Checkpoint(runId);
    const row = this.sql.getRun.get(runId);
    if (!row) return undefined;
    const where = `run ${runId}`;
    this.assertSchema(row.schema_version, 'runs', where);
    const head = this.parseObject(row.checkpoint, 'runs', where);
    const records = this.sql.checkpointTasks!
      .all(runId)
      .map((t) => this.parseObject(t.record, 'tasks', `run ${runId}, task ${t.task_id}`) as unknown as TaskRecord);
    return { ...(head as unknown as Omit<RunCheckpoint, 'records'>), records };
  }

  /** A database of layout 1, opened read-only (so not migrated), kept whole checkpoints. */
  private readLayout1Checkpoint(runId: string): RunCheckpoint | undefined {
    const row = this.sql.layout1Checkpoint!.get(runId);
    if (!row) return undefined;
    const where = `run ${runId}`;
    this.assertSchema(row.schema_version, 'checkpoints', where);
    return this.parseObject(row.data, 'checkpoints', where) as unknown as RunCheckpoint;
  }

  /**
   * Runs a read; SQLite finding the file damaged (a malformed page, a page past its end) is
   * `CORRUPT_STATE` naming the file, like any other damage.
   */
  private reading<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw sqliteDamage(error, this.file, this.driver) ?? error;
    }
  }

  private assertWritable(): void {
    this.assertOpen();
    if (!this.writes) {
      throw new PermanentError('BACKEND_UNAVAILABLE', `The SQLite state database ${this.file} is opened read-only: nothing can be written`, {
        details: { file: this.file },
      });
    }
  }

  private assertOpen(): void {
    if (!this.db.open) {
      throw new PermanentError('BACKEND_UNAVAILABLE', `The SQLite state database ${this.file} is closed`, { details: { file: this.file } });
    }
  }

  private assertSchema(version: number, table: string, where: string): void {
    if (version > STATE_SCHEMA_VERSION) {
      throw new PermanentError(
        'UNSUPPORTED_SCHEMA',
        `${this.file}, table ${table}, ${where}: written with state schema ${version}, this version reads up to ${STATE_SCHEMA_VERSION}; upgrade agents-sdk`,
        { details: { file: this.file, table, version } },
      );
    }
  }

  private parse(text: string, table: string, where: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw this.corrupt(table, where, (error as Error).message);
    }
  }

  /** Parses a row that must hold a JSON object (a checkpoint, a task record). */
  private parseObject(text: string, table: string, where: string): Record<string, unknown> {
    const value = this.parse(text, table, where);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.corrupt(table, where, 'not a JSON object');
    return value as Record<string, unknown>;
  }

  private corrupt(table: string, where: string, why: string): PermanentError {
    return new PermanentError('CORRUPT_STATE', `Corrupt state in ${this.file}, table ${table}, ${where}: ${why}; nothing was changed`, {
      details: { file: this.file, table, where },
    });
  }
}

/** The statements that read, prepared once per connection, for the database's layout. */
function readStatements(db: Database, layout: number) {
  return {
    getValue: db.prepare<[string], ValueRow>('SELECT value, schema_version FROM state WHERE key = ?'),
    getRun: db.prepare<[string], RunRow>('SELECT run_id, updated_at, checkpoint, schema_version FROM runs WHERE run_id = ?'),
    runIds: db.prepare<[], { run_id: string }>('SELECT run_id FROM runs ORDER BY started_at DESC, run_id'),
    tasks: db.prepare<[string], TaskRow>('SELECT task_id, record, updated_at FROM tasks WHERE run_id = ? ORDER BY position'),
    checkpointTasks:
      layout === 1
        ? null
        : db.prepare<[string], TaskRow>(
            'SELECT task_id, coalesce(checkpoint_record, record) AS record, updated_at FROM tasks ' +
              'WHERE run_id = ? AND in_checkpoint = 1 ORDER BY position',
          ),
    layout1Checkpoint:
      layout === 1
        ? db.prepare<[string], CheckpointRow>('SELECT data, schema_version FROM checkpoints WHERE run_id = ? ORDER BY seq DESC LIMIT 1')
        : null,
    getLock: db.prepare<[string], { owner: string }>('SELECT owner FROM locks WHERE run_id = ?'),
    // Read-only, a database of an older layout has no events table (and gets none).
    events: layout < 3 ? null : db.prepare<[string], { seq: number; json: string }>('SELECT seq, json FROM events WHERE run_id = ? ORDER BY seq'),
  };
}

type ReadStatements = ReturnType<typeof readStatements>;

/** The statements that write, prepared once per connection opened for writing (current layout). */
function writeStatements(db: Database) {
  return {
    putValue: db.prepare<[string, string, number]>(
      'INSERT INTO state (key, value, schema_version) VALUES (?, ?, ?) ' +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value, schema_version = excluded.schema_version',
    ),
    deleteValue: db.prepare<[string]>('DELETE FROM state WHERE key = ?'),
    // Answered from the primary key index alone: the run's (large) checkpoint is not read.
    hasRun: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM runs WHERE run_id = ?'),
    putRun: db.prepare<[string, string, string, number, number, string, number]>(
      'INSERT INTO runs (run_id, workflow_id, status, started_at, updated_at, checkpoint, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (run_id) DO UPDATE SET workflow_id = excluded.workflow_id, status = excluded.status, ' +
        'started_at = excluded.started_at, updated_at = excluded.updated_at, checkpoint = excluded.checkpoint, ' +
        'schema_version = excluded.schema_version',
    ),
    deleteRun: db.prepare<[string]>('DELETE FROM runs WHERE run_id = ?'),
    insertTask: db.prepare<[string, string, number, string, number]>(
      // A task id twice in one checkpoint: the later record wins, at the first one's place.
      'INSERT INTO tasks (run_id, task_id, position, record, updated_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (run_id, task_id) DO UPDATE SET record = excluded.record',
    ),
    // The first change of a task since the checkpoint moves the checkpoint's record aside (the
    // right-hand sides all see the row as it was), so that loadCheckpoint still answers it.
    updateTask: db.prepare<[string, number, string, string]>(
      'UPDATE tasks SET checkpoint_record = CASE WHEN in_checkpoint = 1 THEN coalesce(checkpoint_record, record) END, ' +
        'record = ?, updated_at = ? WHERE run_id = ? AND task_id = ?',
    ),
    // Only for a task the checkpoint did not have: placed after the others.
    appendTask: db.prepare<[string, string, string, number, string]>(
      'INSERT INTO tasks (run_id, task_id, position, record, in_checkpoint, updated_at) ' +
        'SELECT ?, ?, coalesce(max(position) + 1, 0), ?, 0, ? FROM tasks WHERE run_id = ?',
    ),
    deleteTasks: db.prepare<[string]>('DELETE FROM tasks WHERE run_id = ?'),
    putLock: db.prepare<[string, string]>(
      'INSERT INTO locks (run_id, owner) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner',
    ),
    deleteLock: db.prepare<[string]>('DELETE FROM locks WHERE run_id = ?'),
    lastEventSeq: db.prepare<[string], { seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM events WHERE run_id = ?'),
    insertEvent: db.prepare<[string, number, string, string | null, string | null, number | null, number, string]>(
      'INSERT INTO events (run_id, seq, type, task_id, session_id, attempt, at, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteEvents: db.prepare<[string]>('DELETE FROM events WHERE run_id = ?'),
  };
}

type WriteStatements = ReturnType<typeof writeStatements>;

/** Loads better-sqlite3 on first use, so that only users of this backend need it. */
async function loadDriver(): Promise<Driver> {
  // SQLite URIs (`file:...?immutable=1`, to read a database without its -shm index and create
  // none) are on only if asked for before better-sqlite3's native module loads; if it loaded
  // already without them, such a database is read from an image in memory instead.
  process.env.SQLITE_USE_URI ??= '1';
  try {
    const mod = (await import('better-sqlite3')) as { default: Driver };
    return mod.default;
  } catch (error) {
    throw unavailable(`better-sqlite3 could not be loaded (${(error as Error).message})`, error);
  }
}

function unavailable(what: string, cause: unknown): PermanentError {
  return new PermanentError(
    'BACKEND_UNAVAILABLE',
    `SqliteStateBackend needs the optional dependency better-sqlite3: ${what}. ` +
      `Run \`npm install better-sqlite3\` (it builds a native module; \`npm rebuild better-sqlite3\` after changing Node versions), ` +
      `or use JsonStateBackend.`,
    { cause },
  );
}

/** WAL, durability, and the tables, created once, versioned and migrated. */
function configure(db: Database, file: string, synchronous: 'NORMAL' | 'FULL'): void {
  // WAL: readers never block the writer, and a task record commit is one append to the log.
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
  if (layoutOf(db, file) === LAYOUT_VERSION) return;
  db.transaction(() => {
    // Read again inside the write transaction: another process may have just done it.
    const version = layoutOf(db, file);
    if (version === 1) migrateFromLayout1(db);
    if (version < LAYOUT_VERSION) {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${LAYOUT_VERSION}`);
    }
  }).immediate();
}

/** The table layout of a database (0: no tables yet); a newer one than this version knows is refused. */
function layoutOf(db: Database, file: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LAYOUT_VERSION) {
    throw new PermanentError(
      'UNSUPPORTED_SCHEMA',
      `${file} has table layout ${version}, this version of agents-sdk reads up to ${LAYOUT_VERSION}; upgrade agents-sdk`,
      { details: { file, version } },
    );
  }
  return version;
}

/**
 * Layout 1 to 2: drops the history of whole checkpoints (the `checkpoints` table), after noting
 * in the task rows what each run's last checkpoint held, so that `loadCheckpoint` answers the
 * same. (The file does not shrink: SQLite reuses the freed pages; `VACUUM` gives them back.)
 */
function migrateFromLayout1(db: Database): void {
  db.exec('ALTER TABLE tasks ADD COLUMN in_checkpoint INTEGER NOT NULL DEFAULT 1; ALTER TABLE tasks ADD COLUMN checkpoint_record TEXT;');
  const runIds = db.prepare<[], { run_id: string }>('SELECT DISTINCT run_id FROM checkpoints').all();
  const latest = db.prepare<[string], { data: string }>('SELECT data FROM checkpoints WHERE run_id = ? ORDER BY seq DESC LIMIT 1');
  const notInCheckpoint = db.prepare<[string]>('UPDATE tasks SET in_checkpoint = 0 WHERE run_id = ?');
  const inCheckpoint = db.prepare<[string, string, string, string]>(
    'UPDATE tasks SET in_checkpoint = 1, checkpoint_record = CASE WHEN record = ? THEN NULL ELSE ? END WHERE run_id = ? AND task_id = ?',
  );
  for (const { run_id: runId } of runIds) {
    let records: unknown;
    try {
      records = (JSON.parse(latest.get(runId)!.data) as { records?: unknown }).records;
    } catch {
      continue; // a damaged checkpoint: its run is reported as such when read
    }
    if (!Array.isArray(records)) continue;
    notInCheckpoint.run(runId);
    for (const r of records as TaskRecord[]) {
      const text = JSON.stringify(r);
      inCheckpoint.run(text, text, runId, r.taskId);
    }
  }
  db.exec('DROP TABLE checkpoints');
}

/** A connection; the constructor's errors named (see {@link openError}). */
function connect(driver: Driver, path: string, options: BetterSqlite3.Options, image?: Buffer): Database {
  try {
    return new driver(image ?? path, options);
  } catch (error) {
    throw openError(error, path, driver);
  }
}

/** What a look at a database file from outside (no SQLite) found. */
type FoundFile =
  | { kind: 'missing' | 'empty' }
  | {
      kind: 'database';
      /** Bytes in `<file>-wal` (0: none). */
      walBytes: number;
      /** The header says WAL mode: the file's changes go to the log first. */
      walMode: boolean;
      /** The log and index as checked from outside (`null`: not checked, the path is not a file). */
      files: SqliteFiles | null;
    };

/**
 * Looks at a database file and its write-ahead log before SQLite opens them, and refuses the
 * damage SQLite would answer with an empty database (deleting the log while at it).
 */
async function inspectFile(path: string, runsDir: string | undefined): Promise<FoundFile> {
  const wal = `${path}-wal`;
  const [main, log] = await Promise.all([statOrNull(path), statOrNull(wal)]);
  const walBytes = log?.isFile() ? log.size : 0;
  if (!main) {
    if (walBytes > 0) throw damaged(path, `the file is missing, but its write-ahead log ${wal} holds ${walBytes} bytes of it`);
    return { kind: 'missing' };
  }
  // Not a file (a directory): SQLite says why it cannot open it.
  if (!main.isFile()) return { kind: 'database', walBytes, walMode: false, files: null };
  if (main.size === 0) {
    if (walBytes > 0) throw damaged(path, `the file is empty (0 bytes), but its write-ahead log ${wal} holds ${walBytes} bytes of it`);
    await assertNoRunDirectories(path, runsDir, 'the file is empty (0 bytes)');
    return { kind: 'empty' };
  }
  const header = await readHeader(path);
  // Bytes 18 and 19 are 2 in WAL mode; page 1 is the schema table, a leaf (0x0d) with no cells
  // when there are no tables in the file itself.
  const walMode = header.length >= 20 && header[18] === 2 && header[19] === 2;
  const noTablesInFile = header.length >= 105 && header[100] === 0x0d && header.readUInt16BE(103) === 0;
  if (walMode && noTablesInFile && walBytes === 0) {
    // The tables were created in the log (this backend creates them right after turning WAL on).
    throw damaged(path, `its tables are not in the file but were in its write-ahead log ${wal}, which is ${log ? 'empty' : 'missing'}`);
  }
  const check = await checkSqliteFiles(path);
  if (check.damage) throw damaged(path, check.damage);
  return { kind: 'database', walBytes, walMode, files: check.files };
}

/**
 * A read-only connection that creates and changes no file: through SQLite (sharing the `-shm`
 * index with live connections) when the index exists, else from an image of the database in
 * memory (SQLite would create the index, and an empty log beside a file without one).
 */
async function openForReading(driver: Driver, path: string, options: BetterSqlite3.Options, found: FoundFile & { kind: 'database' }): Promise<Database> {
  const files = found.files;
  const logCommits = (files?.wal?.committedFrames ?? 0) > 0;
  // No log (no live writer: one keeps its log until it closes), or no index and nothing in the
  // log: the file alone, read as it is (no lock, no index, no log created).
  if (files && (!files.walExists || (!files.shmExists && !logCommits))) {
    const immutable = openImmutable(driver, path, options);
    if (immutable) return immutable;
  }
  // With its index, through SQLite: shared with live connections (it may update the index).
  if (!files || (files.shmExists && files.walExists)) return connect(driver, path, { ...options, readonly: true, fileMustExist: true });
  let image: Buffer;
  try {
    image = await databaseImage(path, files.wal);
  } catch (error) {
    throw openError(error, path, driver);
  }
  return connect(driver, path, { ...options, readonly: true }, image);
}

/** A read-only connection to the file alone (`immutable=1`), or `null` when SQLite URIs are off in this process. */
function openImmutable(driver: Driver, path: string, options: BetterSqlite3.Options): Database | null {
  try {
    return new driver(`${pathToFileURL(path).href}?immutable=1`, { ...options, readonly: true, fileMustExist: true });
  } catch (error) {
    if (error instanceof driver.SqliteError && error.code === 'SQLITE_CANTOPEN') return null;
    throw openError(error, path, driver);
  }
}

/** `PRAGMA quick_check` before a database is written: a damaged one is refused. */
function assertIntact(db: Database, path: string): void {
  const result = db.pragma('quick_check(1)', { simple: true }) as string;
  if (result !== 'ok') throw damaged(path, `PRAGMA quick_check finds it damaged (${result})`);
}

/** A database file that SQLite found without tables: refused if its tables, with runs, were lost. */
async function assertNothingLost(path: string, found: FoundFile & { kind: 'database' }, runsDir: string | undefined): Promise<void> {
  const wal = `${path}-wal`;
  if (found.walBytes > 0) {
    throw damaged(path, `it has no tables that SQLite can read, though its write-ahead log ${wal} holds ${found.walBytes} bytes: the log is damaged`);
  }
  if (found.walMode) throw damaged(path, `it has no tables, and its write-ahead log ${wal} that held them is empty`);
  await assertNoRunDirectories(path, runsDir, 'it has no tables');
}

/** Refuses an empty database while runs' directories say that it held runs. */
async function assertNoRunDirectories(path: string, runsDir: string | undefined, what: string): Promise<void> {
  if (runsDir === undefined) return;
  const entries = await readdir(runsDir, { withFileTypes: true }).catch(() => []);
  const runs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  if (runs.length === 0) return;
  const named = runs.slice(0, 3).join(', ') + (runs.length > 3 ? `, and ${runs.length - 3} more` : '');
  throw damaged(path, `${what}, but ${resolve(runsDir)} holds the directories of runs whose state was in it (${named})`);
}

function damaged(path: string, why: string): PermanentError {
  return new PermanentError(
    'CORRUPT_STATE',
    `Damaged state database ${path}: ${why}. Nothing was changed or deleted; ` +
      `copy ${path} and its -wal and -shm files aside before any repair (if no run was ever saved in it, delete them)`,
    { details: { file: path } },
  );
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The 100-byte database header and page 1's b-tree header after it. */
async function readHeader(path: string): Promise<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(108);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * SQLite's own word that a file is damaged (`SQLITE_CORRUPT*`, `SQLITE_NOTADB`, or a page read
 * past the end of a cut file) as `CORRUPT_STATE` naming the file; `undefined` for other errors.
 */
function sqliteDamage(error: unknown, file: string, driver: Driver): PermanentError | undefined {
  if (!(error instanceof driver.SqliteError)) return undefined;
  const code = error.code;
  if (!code.startsWith('SQLITE_CORRUPT') && code !== 'SQLITE_NOTADB' && code !== 'SQLITE_IOERR_SHORT_READ') return undefined;
  return new PermanentError(
    'CORRUPT_STATE',
    `Damaged state database ${file}: SQLite reports "${error.message}" (${code}). Nothing was changed; ` +
      `copy ${file} and its -wal and -shm files aside before any repair`,
    { cause: error, details: { file } },
  );
}

/** Names what went wrong opening a database: the driver, the file, or its contents. */
function openError(error: unknown, file: string, driver: Driver, opened = false): unknown {
  if (error instanceof AgentsSdkError) return error;
  if (error instanceof driver.SqliteError) {
    const damage = sqliteDamage(error, file, driver);
    if (damage) return damage;
    return new PermanentError('BACKEND_UNAVAILABLE', `Cannot open the SQLite state database ${file}: ${error.message} (${error.code})`, {
      cause: error,
      details: { file },
    });
  }
  if (opened) return error;
  // Anything else thrown by the constructor is the native module failing to load (not built,
  // built for another Node): the JavaScript part of better-sqlite3 loads without it.
  return unavailable(`its native module could not be loaded (${(error as Error).message})`, error);
}

/**
 * The current process as the owner of one lock, with an id of that lock's own: two locks taken
 * by one process in the same millisecond would otherwise be the same text, and releasing one
 * would delete the other. (`currentOwner()` may give the id itself; it is kept then.)
 */
function ownerWithLockId(): LockOwner & { lockId: string } {
  const owner: LockOwner & { lockId?: unknown } = currentOwner();
  return { ...owner, lockId: typeof owner.lockId === 'string' ? owner.lockId : randomUUID() };
}

/** The lock owner stored in a row, or `null` for junk (which is then taken over). */
function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null;
    if (owner && typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.acquiredAt === 'number') {
      return owner as LockOwner;
    }
  } catch {
    // junk: fall through
  }
  return null;
}
