/**
 * `MemoryTable`: the entries of a memory store held in this process, with the ranked search
 * over them. `InMemoryBackend` is one (plus LRU eviction); `JsonMemoryBackend` keeps one as the
 * state its files fold to.
 *
 * Search is MiniSearch's (BM25+ over the key and the value's text, the key counting double,
 * prefix matching for words of 3+ characters and a small edit distance for words of 5+). Its
 * index is built on the first search only, then kept up to date: a process that only reads and
 * writes keys never pays for it.
 *
 * @module
 */
import MiniSearch from 'minisearch';
import type { JsonValue, ListOptions, MemoryEntry, SearchOptions, SearchResult } from './memory-backend.js';
import { assertValidQuery, isExpired, limitOf, searchTextOf } from './memory-input.js';
import { EmbeddingCache, mergeWithVectors, vectorWeightOf, type RankedKey, type VectorSearchOptions } from './vector-rank.js';

/** Results of a search when `limit` is not given. */
export const DEFAULT_SEARCH_LIMIT = 10;

interface IndexedDoc {
  id: string;
  value: JsonValue;
}

function newIndex(): MiniSearch<IndexedDoc> {
  return new MiniSearch<IndexedDoc>({
    fields: ['key', 'text'],
    extractField: (doc, field) => (field === 'text' ? searchTextOf(doc.value) : doc.id),
    searchOptions: {
      boost: { key: 2 },
      combineWith: 'OR',
      prefix: (term) => term.length >= 3,
      fuzzy: (term) => (term.length >= 5 ? 0.2 : false),
    },
  });
}

/** The entries of a store, in least-recently-used-first order, with their search index. */
export class MemoryTable {
  /** Map order is use order: the first key is the least recently used. */
  private readonly entries = new Map<string, MemoryEntry>();
  private index: MiniSearch<IndexedDoc> | null = null;
  private readonly vectors: EmbeddingCache | null;
  private readonly vectorWeight: number;

  constructor(private readonly vectorOptions: VectorSearchOptions = {}) {
    this.vectors = vectorOptions.embed ? new EmbeddingCache(vectorOptions.embed) : null;
    this.vectorWeight = vectorWeightOf(vectorOptions);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry under `key`, expired or not. */
  get(key: string): MemoryEntry | undefined {
    return this.entries.get(key);
  }

  /** Sets (or replaces) an entry; it becomes the most recently used. */
  put(entry: MemoryEntry): void {
    const had = this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    if (this.index) {
      if (had) this.index.discard(entry.key);
      this.index.add({ id: entry.key, value: entry.value });
    }
  }

  /** Removes an entry; whether there was one. */
  remove(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    this.index?.discard(key);
    this.vectors?.forget(key);
    return true;
  }

  /** Makes an entry the most recently used. */
  touch(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /** The least recently used key. */
  oldestKey(): string | undefined {
    return this.entries.keys().next().value;
  }

  /** Every entry, in use order. */
  all(): IterableIterator<MemoryEntry> {
    return this.entries.values();
  }

  /** Unexpired entries in key order, filtered and cut as {@link ListOptions} say. */
  list(options: ListOptions, now: number): MemoryEntry[] {
    const limit = limitOf(options.limit, Number.POSITIVE_INFINITY);
    const prefix = options.prefix ?? '';
    const found: MemoryEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.key.startsWith(prefix) && !isExpired(entry.expiresAt, now)) found.push(entry);
    }
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found.length > limit ? found.slice(0, limit) : found;
  }

  /** Keys of the entries expired at `now`. */
  expiredKeys(now: number): string[] {
    const keys: string[] = [];
    for (const entry of this.entries.values()) if (isExpired(entry.expiresAt, now)) keys.push(entry.key);
    return keys;
  }

  /** Ranked search over the unexpired entries (see the module comment), best first. */
  async search(query: string, options: SearchOptions, now: number): Promise<SearchResult[]> {
    assertValidQuery(query);
    const limit = limitOf(options.limit, DEFAULT_SEARCH_LIMIT);
    const prefix = options.prefix ?? '';
    const wanted = (key: string) => {
      const entry = this.entries.get(key);
      return entry !== undefined && key.startsWith(prefix) && !isExpired(entry.expiresAt, now);
    };
    const index = this.searchIndex();
    const textRanked: RankedKey[] = index
      .search(query, { filter: (result) => wanted(result.id as string) })
      .map((result) => ({ key: result.id as string, score: result.score }));
    let ranked = textRanked.slice(0, limit);
    if (this.vectors && this.vectorOptions.embed) {
      const candidates = [...this.entries.values()]
        .filter((entry) => wanted(entry.key))
        .map((entry) => ({ key: entry.key, text: `${entry.key}\n${searchTextOf(entry.value)}` }));
      ranked = await mergeWithVectors(query, textRanked, candidates, this.vectors, this.vectorOptions.embed, this.vectorWeight, limit);
    }
    // An entry deleted while the query was being embedded is not returned.
    return ranked.flatMap(({ key, score }) => {
      const entry = this.entries.get(key);
      return entry ? [{ ...entry, score }] : [];
    });
  }

  private searchIndex(): MiniSearch<IndexedDoc> {
    if (this.index === null) {
      this.index = newIndex();
      this.index.addAll([...this.entries.values()].map((entry) => ({ id: entry.key, value: entry.value })));
    }
    return this.index;
  }
}
