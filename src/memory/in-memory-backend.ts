/**
 * `InMemoryBackend`: a memory store that lives as long as the process, optionally bounded by
 * `maxEntries` with least-recently-used eviction. For tests, short-lived agents, and as a cache
 * in front of nothing.
 *
 * @module
 */
import type { JsonValue, ListOptions, MemoryBackend, MemoryEntry, SearchOptions, SearchResult, StoreOptions } from './memory-backend.js';
import { assertValidMemoryKey, expiryOf, isExpired, jsonTextOf } from './memory-input.js';
import { MemoryTable } from './memory-table.js';
import type { VectorSearchOptions } from './vector-rank.js';
import { ValidationError } from '../errors.js';

/** Options of {@link InMemoryBackend}. */
export interface InMemoryBackendOptions extends VectorSearchOptions {
  /**
   * At most this many entries: storing one more evicts the least recently used (stored or
   * retrieved longest ago). Default: no bound.
   */
  maxEntries?: number;
  /** The clock, epoch ms (default `Date.now`; tests give a fake one, or use fake timers). */
  now?: () => number;
}

/** A memory store in this process's memory, with LRU eviction past `maxEntries`. */
export class InMemoryBackend implements MemoryBackend {
  private readonly table: MemoryTable;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: InMemoryBackendOptions = {}) {
    const max = options.maxEntries ?? Number.POSITIVE_INFINITY;
    if (!(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && max >= 1))) {
      throw new ValidationError(`maxEntries must be an integer >= 1, got ${String(options.maxEntries)}`);
    }
    this.maxEntries = max;
    this.now = options.now ?? (() => Date.now());
    this.table = new MemoryTable(options);
  }

  /** How many entries are held, expired ones not yet cleared included. */
  get size(): number {
    return this.table.size;
  }

  async store(key: string, value: JsonValue, options?: StoreOptions): Promise<void> {
    assertValidMemoryKey(key);
    // Stored as read back from JSON: later changes to the caller's object do not reach the store.
    const copy = JSON.parse(jsonTextOf(key, value)) as JsonValue;
    const now = this.now();
    const expiresAt = expiryOf(options, now);
    const previous = this.table.get(key);
    const createdAt = previous && !isExpired(previous.expiresAt, now) ? previous.createdAt : now;
    this.table.put({ key, value: copy, createdAt, updatedAt: now, expiresAt });
    while (this.table.size > this.maxEntries) this.table.remove(this.table.oldestKey()!);
  }

  async retrieve(key: string): Promise<JsonValue | undefined> {
    assertValidMemoryKey(key);
    const entry = this.live(key);
    if (entry === undefined) return undefined;
    this.table.touch(key);
    return structuredClone(entry.value);
  }

  async delete(key: string): Promise<boolean> {
    assertValidMemoryKey(key);
    const live = this.live(key) !== undefined;
    this.table.remove(key);
    return live;
  }

  async list(options: ListOptions = {}): Promise<MemoryEntry[]> {
    return this.table.list(options, this.now()).map((entry) => structuredClone(entry));
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    return (await this.table.search(query, options, this.now())).map((result) => structuredClone(result));
  }

  async clearExpired(): Promise<number> {
    const expired = this.table.expiredKeys(this.now());
    for (const key of expired) this.table.remove(key);
    return expired.length;
  }

  async close(): Promise<void> {}

  /** The unexpired entry under `key`. An expired one stays until `clearExpired` (or eviction), as in the other stores. */
  private live(key: string): MemoryEntry | undefined {
    const entry = this.table.get(key);
    return entry === undefined || isExpired(entry.expiresAt, this.now()) ? undefined : entry;
  }
}
