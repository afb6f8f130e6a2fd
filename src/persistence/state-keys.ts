/**
 * Validation of user-chosen keys and run ids: hostile input that must never reach outside
 * the state directory.
 *
 * @module
 */
import { PermanentError } from '../errors.js';

/**
 * A segment, or the id of a fan-out instance (`impl[3]`: a task id, then its index in brackets;
 * a group's, `impl[3].code`) or of a loop iteration (`fix#2`, `fix_tests#2.test`).
 */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:(?:\[\d+\]|#\d+)(?:\.[A-Za-z0-9_][A-Za-z0-9_.-]*)?)?$/;
/** Longest key accepted (file systems cap a name at 255 bytes; `.json` and temp suffixes need room). */
export const MAX_KEY_LENGTH = 200;

/**
 * Checks a key: `/`-separated segments of letters, digits, `_`, `.` and `-`, none empty,
 * none `.` or `..`, no leading `/`, no NUL, at most {@link MAX_KEY_LENGTH} characters.
 *
 * @throws PermanentError `INVALID_KEY` naming the key and the rule it breaks.
 */
export function assertValidKey(key: string, what = 'key'): void {
  const fail = (why: string): never => {
    throw new PermanentError('INVALID_KEY', `Invalid ${what} ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}: ${why}`, {
      details: { key },
    });
  };
  if (typeof key !== 'string' || key.length === 0) fail('it is empty');
  if (key.length > MAX_KEY_LENGTH) fail(`it is longer than ${MAX_KEY_LENGTH} characters`);
  if (key.includes('\0')) fail('it contains a NUL character');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) fail('it is an absolute path');
  for (const segment of key.split('/')) {
    if (segment === '') fail('it has an empty segment');
    if (segment === '.' || segment === '..') fail('it reaches outside the state directory');
    if (!SEGMENT.test(segment)) fail(`segment "${segment}" may use only letters, digits, _ . - (and not start with . or -; a fan-out instance id may end in [<index>], a loop iteration's in #<k>, each followed by .<task> in a group)`);
  }
}

/** Checks a run id: one key segment, not ending in `.json` (that is the file of a value key). */
export function assertValidRunId(runId: string): void {
  assertValidKey(runId, 'run id');
  if (runId.includes('/')) {
    throw new PermanentError('INVALID_KEY', `Invalid run id "${runId}": it may not contain "/"`, { details: { key: runId } });
  }
  if (runId.endsWith('.json')) {
    throw new PermanentError('INVALID_KEY', `Invalid run id "${runId}": it may not end in ".json" (value keys are stored as <key>.json beside the runs)`, {
      details: { key: runId },
    });
  }
}

/**
 * Checks a value key (`save`/`load`): a key, and not `<runId>/checkpoint`, which is where a
 * run's checkpoint lives in the JSON backend.
 */
export function assertValidValueKey(key: string): void {
  assertValidKey(key);
  if (/\/checkpoint$/.test(key)) {
    throw new PermanentError('INVALID_KEY', `Invalid key "${key}": <run id>/checkpoint is where a run's checkpoint is kept; choose another name`, {
      details: { key },
    });
  }
}

/**
 * Whether `name` is one of the files the JSON backend keeps in a run's directory
 * (`checkpoint.json`, `run.lock` and its stale copies, `journal-<n>.jsonl`), where agent
 * directories (`<runId>/<agentName>/`) also live.
 */
export function isReservedRunEntry(name: string): boolean {
  return /^(checkpoint\.json|run\.lock(\..*)?|journal-\d+\.(jsonl|extent)|events\.jsonl|signals\.jsonl)$/.test(name);
}
