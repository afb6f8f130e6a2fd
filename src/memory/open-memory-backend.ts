/**
 * Opens the memory store the CLI's `--backend` and `--state-dir` name, and the one agents use
 * by default: `json` (`<stateDir>/memory/`), `sqlite` (`<stateDir>/memory.sqlite`) or `memory`
 * (this process only).
 *
 * @module
 */
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { InMemoryBackend } from './in-memory-backend.js';
import { JsonMemoryBackend } from './json-memory-backend.js';
import type { MemoryBackend } from './memory-backend.js';
import type { VectorSearchOptions } from './vector-rank.js';

/** The memory stores {@link openMemoryBackend} knows. */
export type MemoryBackendKind = 'json' | 'sqlite' | 'memory';

/**
 * File name of the SQLite memory database in the state directory. Not the state database
 * (`agents.sqlite`): that one refuses to open a file whose tables are not its own as damaged,
 * and a memory kept apart can be copied, shared or deleted without touching the runs.
 */
export const MEMORY_SQLITE_FILE = 'memory.sqlite';

/** Options of {@link openMemoryBackend}. */
export interface OpenMemoryBackendOptions extends VectorSearchOptions {
  /** The clock, epoch ms (default `Date.now`). */
  now?: () => number;
  /** `memory` only: at most this many entries, least recently used evicted first. */
  maxEntries?: number;
}

/**
 * Opens a memory store over a state directory (the `memory` kind ignores it). SQLite is loaded
 * only when asked for, so the package works where better-sqlite3 is not built.
 *
 * @throws ValidationError for an unknown kind; PermanentError `BACKEND_UNAVAILABLE` when
 *   `sqlite` is asked for and better-sqlite3 cannot be loaded.
 */
export async function openMemoryBackend(kind: MemoryBackendKind | string, stateDir: string, options: OpenMemoryBackendOptions = {}): Promise<MemoryBackend> {
  if (kind === 'json') return new JsonMemoryBackend(stateDir, options);
  if (kind === 'memory') return new InMemoryBackend(options);
  if (kind === 'sqlite') {
    const { SqliteMemoryBackend } = await import('./sqlite-memory-backend.js');
    return SqliteMemoryBackend.open(join(stateDir, MEMORY_SQLITE_FILE), options);
  }
  throw new ValidationError(`The memory backend must be json, sqlite or memory, got "${kind}"`);
}
