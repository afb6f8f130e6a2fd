/**
 * `agents-sdk/sqlite`: the SQLite backends (better-sqlite3, an optional dependency): runs in
 * {@link SqliteStateBackend} (one database with its `events` table), agent memory in
 * {@link SqliteMemoryBackend} (FTS5 search ranked by `bm25()`).
 *
 * @packageDocumentation
 */
export { SqliteStateBackend, type SqliteStateBackendOptions } from './persistence/sqlite-state-backend.js';
export { SqliteMemoryBackend, type SqliteMemoryBackendOptions } from './memory/sqlite-memory-backend.js';
