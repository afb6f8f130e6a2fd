/**
 * The optional `embed` hook of memory search: vector similarity merged with the text rank.
 *
 * No model ships with agents-sdk: the caller gives `embed(text) => Promise<number[]>` (an
 * embeddings API, a local model). Each entry's text (its key and value) is embedded once and
 * cached per key until the entry changes; the query is embedded per search.
 *
 * The merge is a normalized score sum: the text score of each result is divided by the best
 * text score of that search (so it lies in 0..1), the cosine similarity to the query is clamped
 * to 0..1, and the final score is `(1 - vectorWeight) * text + vectorWeight * similarity`. A
 * sum (rather than reciprocal rank fusion) keeps how much better one result is than the next,
 * and an entry the words do not match can still be found by its meaning. Similarity is
 * computed against every candidate entry (brute force): meant for thousands of entries.
 *
 * @module
 */
import { ValidationError } from '../errors.js';

/** Turns a text into a vector (same length for every text). Supplied by the caller: no model ships. */
export type EmbedFunction = (text: string) => Promise<number[]>;

/** Options of the vector part of search, given to a backend's constructor or `open`. */
export interface VectorSearchOptions {
  /** Embeds entries and queries; without it, search ranks by text only. */
  embed?: EmbedFunction;
  /** Weight of the vector similarity in the merged score, 0..1 (default 0.5). */
  vectorWeight?: number;
}

/** A key and its score, higher is better. */
export interface RankedKey {
  key: string;
  score: number;
}

/** A candidate entry of a vector search: its key and the text to embed. */
export interface VectorCandidate {
  key: string;
  text: string;
}

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** The vectors of entries' texts, computed once per key and text. */
export class EmbeddingCache {
  private readonly vectors = new Map<string, { text: string; vector: number[] }>();
  constructor(private readonly embed: EmbedFunction) {}

  async vectorOf(key: string, text: string): Promise<number[]> {
    const cached = this.vectors.get(key);
    if (cached?.text === text) return cached.vector;
    const vector = await this.embed(text);
    this.vectors.set(key, { text, vector });
    return vector;
  }

  forget(key: string): void {
    this.vectors.delete(key);
  }
}

/**
 * Merges a text ranking with the similarity of each candidate to the query (see the module
 * comment); best first, at most `limit`.
 */
export async function mergeWithVectors(
  query: string,
  textRanked: readonly RankedKey[],
  candidates: Iterable<VectorCandidate>,
  cache: EmbeddingCache,
  embed: EmbedFunction,
  weight: number,
  limit: number,
): Promise<RankedKey[]> {
  const queryVector = await embed(query);
  const best = textRanked.reduce((max, r) => Math.max(max, r.score), 0);
  const text = new Map(textRanked.map((r) => [r.key, best > 0 ? r.score / best : 0]));
  const merged: RankedKey[] = [];
  for (const candidate of candidates) {
    const similarity = Math.max(0, cosineSimilarity(queryVector, await cache.vectorOf(candidate.key, candidate.text)));
    const score = (1 - weight) * (text.get(candidate.key) ?? 0) + weight * similarity;
    if (score > 0) merged.push({ key: candidate.key, score });
  }
  return merged.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1)).slice(0, limit);
}

/** Checks `vectorWeight` and returns it (default 0.5). */
export function vectorWeightOf(options: VectorSearchOptions): number {
  const weight = options.vectorWeight ?? 0.5;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
    throw new ValidationError(`vectorWeight must be between 0 and 1, got ${String(weight)}`);
  }
  return weight;
}
