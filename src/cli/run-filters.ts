/**
 * Choosing stored runs by status, workflow and age: `list --status --workflow --since --limit`
 * and `prune --older-than --status`.
 *
 * @module
 */
import { ValidationError } from '../errors.js';

/** The statuses `list` shows (`interrupted`: running, but no live process drives it). */
export const LISTED_STATUSES = ['running', 'interrupted', 'completed', 'failed', 'cancelled', 'budget_exceeded', 'unreadable'] as const;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a duration such as `90s`, `30m`, `2h`, `7d`, `2w` (or `1d12h`) into ms; `undefined` when it is not one. */
export function parseDuration(text: string): number | undefined {
  const parts = /^(?:\d+(?:\.\d+)?[smhdw])+$/.test(text) ? text.match(/\d+(?:\.\d+)?[smhdw]/g) : null;
  if (!parts) return undefined;
  return parts.reduce((sum, part) => sum + Number(part.slice(0, -1)) * UNITS[part.slice(-1)]!, 0);
}

/**
 * A point in time from `--since`: a duration back from `now` (`2h`, `7d`) or an ISO date or
 * date-time (`2026-12-01`, `2026-12-01T08:00:00Z`).
 */
export function parseSince(option: string, text: string, now = Date.now()): number {
  const duration = parseDuration(text);
  if (duration !== undefined) return now - duration;
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = Date.parse(text);
    if (Number.isFinite(at)) return at;
  }
  throw new ValidationError(`--${option} must be a duration such as 2h, 7d or 30m, or an ISO date such as 2026-12-01 or 2026-12-01T08:00:00Z, got "${text}"`);
}

/** Parses `--older-than`: a duration (ms). */
export function parseOlderThan(text: string | undefined): number {
  if (text === undefined) throw new ValidationError('prune: --older-than <duration> is required (e.g. --older-than 30d)');
  const ms = parseDuration(text);
  if (ms === undefined) throw new ValidationError(`--older-than must be a duration such as 30d, 12h or 2w, got "${text}"`);
  return ms;
}

/** The statuses of repeated or comma-separated `--status` options, checked; empty: any. */
export function parseStatuses(values: string[] | undefined, allowed: readonly string[] = LISTED_STATUSES): Set<string> {
  const statuses = new Set<string>();
  for (const value of (values ?? []).flatMap((v) => v.split(','))) {
    const status = value.trim();
    if (!allowed.includes(status)) throw new ValidationError(`--status must be one of ${allowed.join(', ')}, got "${status}"`);
    statuses.add(status);
  }
  return statuses;
}
