/**
 * `MemoryPatterns`: the usual ways agents use a memory store, as named methods over key
 * conventions, so that every agent and the CLI find the same entries:
 * - skills (how to do something, learned once, kept until replaced): `skill:<name>`
 * - cached analyses (the result of an expensive look at some content, keyed by its hash, kept
 *   for a TTL): `cache:analysis:<hash>`
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { JsonValue, MemoryBackend, MemoryEntry, SearchResult, StoreOptions } from './memory-backend.js';

/** Key prefix of skills. */
export const SKILL_PREFIX = 'skill:';
/** Key prefix of cached analyses. */
export const ANALYSIS_CACHE_PREFIX = 'cache:analysis:';
/** TTL of a cached analysis when none is given: one day, in seconds. */
export const DEFAULT_ANALYSIS_TTL_SECONDS = 86_400;

/** Named uses of a {@link MemoryBackend} (see the module comment); holds no state of its own. */
export class MemoryPatterns {
  constructor(readonly memory: MemoryBackend) {}

  /** Stores a skill under `skill:<name>` (no TTL unless given: skills are kept until replaced). */
  async storeSkill(name: string, skill: JsonValue, options?: StoreOptions): Promise<void> {
    return this.memory.store(skillKey(name), skill, options);
  }

  /** The skill `<name>`, or `undefined`. */
  async retrieveSkill(name: string): Promise<JsonValue | undefined> {
    return this.memory.retrieve(skillKey(name));
  }

  /** Every stored skill, by name. */
  async listSkills(): Promise<MemoryEntry[]> {
    return this.memory.list({ prefix: SKILL_PREFIX });
  }

  /** Deletes the skill `<name>`; whether there was one. */
  async forgetSkill(name: string): Promise<boolean> {
    return this.memory.delete(skillKey(name));
  }

  /**
   * Caches the result of an analysis of some content under `cache:analysis:<hash>` (the hash
   * of that content), for `ttl` seconds (default one day).
   */
  async cacheAnalysis(hash: string, result: JsonValue, ttl: number = DEFAULT_ANALYSIS_TTL_SECONDS): Promise<void> {
    return this.memory.store(analysisKey(hash), result, { ttl });
  }

  /** The cached analysis of the content with this hash, or `undefined` (never cached, or expired). */
  async getCachedAnalysis(hash: string): Promise<JsonValue | undefined> {
    return this.memory.retrieve(analysisKey(hash));
  }

  /** Ranked search over every memory (skills, analyses, anything else), best first. */
  async searchMemories(query: string, limit = 10): Promise<SearchResult[]> {
    return this.memory.search(query, { limit });
  }

  /** Ranked search over the skills only. */
  async searchSkills(query: string, limit = 10): Promise<SearchResult[]> {
    return this.memory.search(query, { limit, prefix: SKILL_PREFIX });
  }

  /** Removes expired entries (cached analyses past their TTL, ...); returns how many. */
  async cleanup(): Promise<number> {
    return this.memory.clearExpired();
  }
}

function skillKey(name: string): string {
  return `${SKILL_PREFIX}${nonEmpty(name, 'skill name')}`;
}

function analysisKey(hash: string): string {
  return `${ANALYSIS_CACHE_PREFIX}${nonEmpty(hash, 'analysis hash')}`;
}

function nonEmpty(part: string, what: string): string {
  if (typeof part !== 'string' || part.length === 0) throw new ValidationError(`A ${what} must be a non-empty string, got ${JSON.stringify(part) ?? String(part)}`);
  return part;
}
