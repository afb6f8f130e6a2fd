/**
 * Checks of what callers give a memory store (keys, values, TTLs, queries), shared by every
 * backend so that they refuse the same input with the same errors.
 *
 * @module
 */
import { PermanentError, ValidationError } from '../errors.js';
import type { JsonValue, StoreOptions } from './memory-backend.js';

/** Longest memory key accepted, in characters. */
export const MAX_MEMORY_KEY_LENGTH = 512;

// C0 and C1 control characters, DEL included: a key is printed by the CLI and kept in one journal line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a memory key: a non-empty string of at most {@link MAX_MEMORY_KEY_LENGTH} characters
 * without control characters. Keys never name files, so `/`, `:` and `..` are fine.
 *
 * @throws PermanentError `INVALID_KEY` naming the key and the rule it breaks.
 */
export function assertValidMemoryKey(key: string): void {
  const fail = (why: string): never => {
    const shown = typeof key === 'string' ? JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key) : String(key);
    throw new PermanentError('INVALID_KEY', `Invalid memory key ${shown}: ${why}`, { details: { key } });
  };
  if (typeof key !== 'string' || key.length === 0) fail('it is empty');
  if (key.length > MAX_MEMORY_KEY_LENGTH) fail(`it is longer than ${MAX_MEMORY_KEY_LENGTH} characters`);
  if (CONTROL.test(key)) fail('it contains a control character');
}

/**
 * The JSON text of a value to store, checked to be JSON that reads back as the same value:
 * no `undefined`, functions, symbols, bigints, non-finite numbers, class instances or cycles.
 *
 * @throws ValidationError naming where in the value the problem is.
 */
export function jsonTextOf(key: string, value: unknown): string {
  const problem = nonJson(value, '', new Set());
  if (problem) {
    throw new ValidationError(`The value of memory key ${JSON.stringify(key)} is not JSON`, [{ path: problem.path || '(value)', message: problem.message }], {
      details: { key },
    });
  }
  return JSON.stringify(value);
}

function nonJson(value: unknown, path: string, seen: Set<object>): { path: string; message: string } | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : { path, message: `${value} is not a JSON number` };
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return { path, message: 'it refers to itself (a cycle)' };
      const proto = Object.getPrototypeOf(value) as unknown;
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
        return { path, message: `a ${value.constructor?.name ?? 'class instance'} is not plain JSON (convert it first)` };
      }
      seen.add(value);
      const children = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [`.${k}`, v] as const);
      for (const [step, child] of children) {
        const found = nonJson(child, `${path}${step}`, seen);
        if (found) return found;
      }
      seen.delete(value);
      return null;
    }
    default:
      return { path, message: `${typeof value} is not JSON` };
  }
}

/**
 * The expiry (epoch ms) of an entry stored at `now` with these options, or `null`.
 *
 * @throws ValidationError when `ttl` is not a positive finite number of seconds.
 */
export function expiryOf(options: StoreOptions | undefined, now: number): number | null {
  const ttl = options?.ttl;
  if (ttl === undefined) return null;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new ValidationError(`ttl must be a positive number of seconds, got ${JSON.stringify(ttl) ?? String(ttl)}`);
  }
  return now + Math.round(ttl * 1000);
}

/**
 * Checks a search query (not empty or blank).
 *
 * @throws ValidationError for an empty query.
 */
export function assertValidQuery(query: string): void {
  if (typeof query !== 'string' || query.trim() === '') {
    throw new ValidationError('A memory search needs a query: it is empty');
  }
}

/**
 * Checks a `limit` option (a positive integer) and returns it, or `fallback` when not given.
 *
 * @throws ValidationError naming the option.
 */
export function limitOf(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`limit must be an integer >= 1, got ${String(limit)}`);
  return limit;
}

/** Whether an entry has expired at `now` (an entry expires at its `expiresAt`, inclusive). */
export function isExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt <= now;
}

/** A JSON value as the text search indexes: strings as they are, anything else as its JSON (punctuation is not a word). */
export function searchTextOf(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
