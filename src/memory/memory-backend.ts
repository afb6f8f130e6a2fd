/**
 * The `MemoryBackend` interface: where agents keep what they learned between runs (skills,
 * cached analyses, remembered outputs), with TTLs and ranked search. Implementations:
 * `InMemoryBackend` (LRU), `JsonMemoryBackend` (the default state dir: a journal plus
 * compaction) and `SqliteMemoryBackend` (FTS5).
 *
 * @module
 */

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of {@link MemoryBackend.store}. */
export interface StoreOptions {
  /** Seconds until the entry expires (> 0); default never. */
  ttl?: number;
}

/** One stored entry. */
export interface MemoryEntry {
  key: string;
  value: JsonValue;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  /** Epoch ms, or `null` for no expiry. */
  expiresAt: number | null;
}

/** Options of {@link MemoryBackend.list}. */
export interface ListOptions {
  /** Only keys starting with this (e.g. `skill:`). */
  prefix?: string;
  /** At most this many entries. */
  limit?: number;
}

/** Options of {@link MemoryBackend.search}. */
export interface SearchOptions {
  /** At most this many results (default 10). */
  limit?: number;
  /** Only keys starting with this. */
  prefix?: string;
}

/** A search result: the entry and its relevance (higher is better; comparable within one search only). */
export interface SearchResult extends MemoryEntry {
  score: number;
}

/**
 * A key-value store of JSON values with TTLs and ranked full-text search. An expired entry is
 * never returned (checked on read), whether or not `clearExpired` has run.
 */
export interface MemoryBackend {
  /** Stores (or replaces) a value. */
  store(key: string, value: JsonValue, options?: StoreOptions): Promise<void>;
  /** The value under `key`, or `undefined` (missing or expired). */
  retrieve(key: string): Promise<JsonValue | undefined>;
  /** Deletes an entry; whether there was one. */
  delete(key: string): Promise<boolean>;
  /** Unexpired entries, in key order. */
  list(options?: ListOptions): Promise<MemoryEntry[]>;
  /**
   * Ranked full-text search over keys and values, best first.
   *
   * @throws ValidationError for an empty query.
   */
  search(query: string, options?: SearchOptions): Promise<SearchResult[]>;
  /** Removes expired entries; returns how many. */
  clearExpired(): Promise<number>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
