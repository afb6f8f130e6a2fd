/**
 * `SqliteMemoryBackend`: a memory store in a SQLite database (better-sqlite3, WAL), with
 * full-text search by FTS5 ranked with `bm25()`. Any number of instances and processes may
 * share a file. better-sqlite3 is an optional (native) dependency, loaded only when a database
 * is opened.
 *
 * Tables (its own, so the file may hold other tables too; it never sets `user_version`):
 * - `memory_entries(key, value, created_at, updated_at, expires_at, schema_version)`
 * - `memory_fts(key, text)`: an FTS5 table whose rowid is the entry's rowid, the key weighing
 *   double in the rank. Words of the query are matched as whole words, and as prefixes from 3
 *   characters on.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { PermanentError } from '../errors.js';
import type { JsonValue, ListOptions, MemoryBackend, MemoryEntry, SearchOptions, SearchResult, StoreOptions } from './memory-backend.js';
import { assertValidMemoryKey, assertValidQuery, expiryOf, limitOf, jsonTextOf, searchTextOf } from './memory-input.js';
import { DEFAULT_SEARCH_LIMIT } from './memory-table.js';
import { EmbeddingCache, mergeWithVectors, vectorWeightOf, type VectorSearchOptions } from './vector-rank.js';
import { MEMORY_SCHEMA_VERSION } from './json-memory-backend.js';

type Driver = typeof BetterSqlite3;
type Database = BetterSqlite3.Database;

const MEMORY = ':memory:';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS memory_entries (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  schema_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_entries_by_expiry ON memory_entries (expires_at) WHERE expires_at IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(key, text, tokenize = 'unicode61');
`;

/** Options of {@link SqliteMemoryBackend.open}. */
export interface SqliteMemoryBackendOptions extends VectorSearchOptions {
  /** The clock, epoch ms (default `Date.now`). */
  now?: () => number;
  /** How long a write waits for another connection's write to finish, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** `NORMAL` (default): a process crash loses nothing, a power loss may lose the last stores. `FULL`: fsync every commit. */
  synchronous?: 'NORMAL' | 'FULL';
  /** Path of a `better_sqlite3.node` to load instead of the one better-sqlite3 finds itself (bundlers). */
  nativeBinding?: string;
}

interface EntryRow {
  key: string;
  value: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

interface ScoredRow extends EntryRow {
  score: number;
}

/** A memory store in one SQLite database file (or `:memory:`), opened with {@link SqliteMemoryBackend.open}. */
export class SqliteMemoryBackend implements MemoryBackend {
  /** Absolute path of the database file, or `:memory:`. */
  readonly file: string;
  private readonly db: Database;
  private readonly now: () => number;
  private readonly vectorOptions: VectorSearchOptions;
  private readonly vectors: EmbeddingCache | null;
  private readonly vectorWeight: number;
  private readonly sql: Statements;
  private readonly put: BetterSqlite3.Transaction<(key: string, text: string, searchText: string, now: number, expiresAt: number | null) => void>;
  private readonly remove: BetterSqlite3.Transaction<(key: string, now: number) => boolean>;
  private readonly removeExpired: BetterSqlite3.Transaction<(now: number) => number>;

  private constructor(db: Database, file: string, options: SqliteMemoryBackendOptions) {
    this.db = db;
    this.file = file;
    this.now = options.now ?? (() => Date.now());
    this.vectorOptions = options;
    this.vectors = options.embed ? new EmbeddingCache(options.embed) : null;
    this.vectorWeight = vectorWeightOf(options);
    const sql = prepareStatements(db);
    this.sql = sql;
    this.put = db.transaction((key: string, text: string, searchText: string, now: number, expiresAt: number | null) => {
      const previous = sql.row.get(key);
      const createdAt = previous && (previous.expires_at === null || previous.expires_at > now) ? previous.created_at : now;
      const { rowid } = sql.upsert.get(key, text, createdAt, now, expiresAt, MEMORY_SCHEMA_VERSION)!;
      if (previous) sql.deleteText.run(rowid);
      sql.insertText.run(rowid, key, searchText);
    });
    this.remove = db.transaction((key: string, now: number) => {
      const previous = sql.row.get(key);
      if (!previous) return false;
      sql.deleteText.run(previous.rowid);
      sql.deleteEntry.run(previous.rowid);
      return previous.expires_at === null || previous.expires_at > now;
    });
    this.removeExpired = db.transaction((now: number) => {
      sql.deleteExpiredText.run(now);
      return sql.deleteExpired.run(now).changes;
    });
  }

  /**
   * Opens (creating if missing) a database file, or `:memory:`, and its memory tables.
   *
   * @throws PermanentError `BACKEND_UNAVAILABLE` when better-sqlite3 is not installed or not
   *   built for this Node, or the file cannot be opened; `CORRUPT_STATE` when it is not a
   *   SQLite database.
   */
  static async open(file: string = 'agents/memory.sqlite', options: SqliteMemoryBackendOptions = {}): Promise<SqliteMemoryBackend> {
    const driver = await loadDriver();
    const path = file === MEMORY ? MEMORY : resolve(file);
    const driverOptions: BetterSqlite3.Options = { timeout: options.busyTimeoutMs ?? 5000 };
    if (options.nativeBinding !== undefined) driverOptions.nativeBinding = options.nativeBinding;
    if (path !== MEMORY) await mkdir(dirname(path), { recursive: true });
    let db: Database;
    try {
      db = new driver(path, driverOptions);
    } catch (error) {
      throw new PermanentError('BACKEND_UNAVAILABLE', `Cannot open the memory database ${path}: ${(error as Error).message}`, { cause: error, details: { file: path } });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
      db.exec(SCHEMA);
      // The key counts double in the rank, as in the in-memory index.
      db.prepare("INSERT INTO memory_fts (memory_fts, rank) VALUES ('rank', 'bm25(2.0, 1.0)')").run();
      return new SqliteMemoryBackend(db, path, options);
    } catch (error) {
      db.close();
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new PermanentError('CORRUPT_STATE', `${path} is not a SQLite database (or is damaged): ${(error as Error).message}`, { cause: error, details: { file: path } });
      }
      throw new PermanentError('BACKEND_UNAVAILABLE', `Cannot open the memory database ${path}: ${(error as Error).message}`, { cause: error, details: { file: path } });
    }
  }

  async store(key: string, value: JsonValue, options?: StoreOptions): Promise<void> {
    assertValidMemoryKey(key);
    const text = jsonTextOf(key, value);
    const now = this.now();
    this.put.immediate(key, text, searchTextOf(value), now, expiryOf(options, now));
  }

  async retrieve(key: string): Promise<JsonValue | undefined> {
    assertValidMemoryKey(key);
    const row = this.sql.get.get(key, this.now());
    return row ? (JSON.parse(row.value) as JsonValue) : undefined;
  }

  async delete(key: string): Promise<boolean> {
    assertValidMemoryKey(key);
    return this.remove.immediate(key, this.now());
  }

  async list(options: ListOptions = {}): Promise<MemoryEntry[]> {
    const limit = limitOf(options.limit, -1);
    const prefix = options.prefix ?? '';
    return this.sql.list.all(this.now(), prefix, prefix.length, prefix, limit).map(entryOf);
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    assertValidQuery(query);
    const limit = limitOf(options.limit, DEFAULT_SEARCH_LIMIT);
    const prefix = options.prefix ?? '';
    const match = ftsQuery(query);
    const now = this.now();
    const embed = this.vectorOptions.embed;
    if (!this.vectors || !embed) {
      if (match === null) return [];
      return this.sql.search.all(match, now, prefix.length, prefix, limit).map((row) => ({ ...entryOf(row), score: row.score }));
    }
    const textRows = match === null ? [] : this.sql.search.all(match, now, prefix.length, prefix, Math.max(limit * 10, 100));
    const rows = new Map(this.sql.candidates.all(now, prefix, prefix.length, prefix).map((row) => [row.key, row]));
    const candidates = [...rows.values()].map((row) => ({ key: row.key, text: `${row.key}\n${searchTextOf(JSON.parse(row.value) as JsonValue)}` }));
    const ranked = await mergeWithVectors(query, textRows.map((row) => ({ key: row.key, score: row.score })), candidates, this.vectors, embed, this.vectorWeight, limit);
    return ranked.map(({ key, score }) => ({ ...entryOf(rows.get(key)!), score }));
  }

  async clearExpired(): Promise<number> {
    return this.removeExpired.immediate(this.now());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: Database) {
  return {
    get: db.prepare<[string, number], EntryRow>('SELECT * FROM memory_entries WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)'),
    row: db.prepare<[string], { rowid: number; created_at: number; expires_at: number | null }>(
      'SELECT rowid, created_at, expires_at FROM memory_entries WHERE key = ?',
    ),
    upsert: db.prepare<[string, string, number, number, number | null, number], { rowid: number }>(
      `INSERT INTO memory_entries (key, value, created_at, updated_at, expires_at, schema_version) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, updated_at = excluded.updated_at,
         expires_at = excluded.expires_at, schema_version = excluded.schema_version
       RETURNING rowid`,
    ),
    deleteEntry: db.prepare<[number]>('DELETE FROM memory_entries WHERE rowid = ?'),
    deleteText: db.prepare<[number]>('DELETE FROM memory_fts WHERE rowid = ?'),
    insertText: db.prepare<[number, string, string]>('INSERT INTO memory_fts (rowid, key, text) VALUES (?, ?, ?)'),
    deleteExpiredText: db.prepare<[number]>('DELETE FROM memory_fts WHERE rowid IN (SELECT rowid FROM memory_entries WHERE expires_at <= ?)'),
    deleteExpired: db.prepare<[number]>('DELETE FROM memory_entries WHERE expires_at <= ?'),
    list: db.prepare<[number, string, number, string, number], EntryRow>(
      `SELECT * FROM memory_entries WHERE (expires_at IS NULL OR expires_at > ?) AND key >= ? AND substr(key, 1, ?) = ?
       ORDER BY key LIMIT ?`,
    ),
    search: db.prepare<[string, number, number, string, number], ScoredRow>(
      `SELECT e.*, -memory_fts.rank AS score FROM memory_fts JOIN memory_entries e ON e.rowid = memory_fts.rowid
       WHERE memory_fts MATCH ? AND (e.expires_at IS NULL OR e.expires_at > ?) AND substr(e.key, 1, ?) = ?
       ORDER BY memory_fts.rank LIMIT ?`,
    ),
    candidates: db.prepare<[number, string, number, string], EntryRow>(
      'SELECT * FROM memory_entries WHERE (expires_at IS NULL OR expires_at > ?) AND key >= ? AND substr(key, 1, ?) = ?',
    ),
  };
}

/**
 * The FTS5 query of a user's words: each word quoted (no FTS5 syntax gets through), a prefix
 * match from 3 characters on, any word matching. `null` when the query has no word.
 */
function ftsQuery(query: string): string | null {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  if (!words) return null;
  return [...new Set(words)].map((word) => (word.length >= 3 ? `"${word}"*` : `"${word}"`)).join(' OR ');
}

function entryOf(row: EntryRow): MemoryEntry {
  return { key: row.key, value: JSON.parse(row.value) as JsonValue, createdAt: row.created_at, updatedAt: row.updated_at, expiresAt: row.expires_at };
}

async function loadDriver(): Promise<Driver> {
  try {
    return ((await import('better-sqlite3')) as { default: Driver }).default;
  } catch (error) {
    throw new PermanentError(
      'BACKEND_UNAVAILABLE',
      `SqliteMemoryBackend needs the optional dependency better-sqlite3: it could not be loaded (${(error as Error).message}). ` +
        'Run `npm install better-sqlite3`, or use JsonMemoryBackend.',
      { cause: error },
    );
  }
}
