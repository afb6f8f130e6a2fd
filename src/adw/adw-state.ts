/**
 * ADW's own state file, `<state dir>/<adw_id>/adw_state.json`, read and written in place so that
 * ADW and agents-sdk can share one state directory during a migration: an update re-reads the
 * file right before writing it and changes only the fields it is given, so a field written by
 * one system (one agents-sdk does not know) is never dropped by the other. The write is atomic
 * (a temp file renamed over it): ADW never reads half a file.
 *
 * @module
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PermanentError } from '../errors.js';
import { writeJsonFileSync } from '../persistence/atomic-json-file.js';
import { stateWriteFailed } from '../persistence/state-backend.js';
import { assertValidRunId } from '../persistence/state-keys.js';

/** An ADW state: `adw_id`, `issue_number` (a string), `branch_name`, `plan_file`, `issue_class`, and any other field, kept verbatim. */
export type AdwState = Record<string, unknown> & { adw_id?: string };

/** Where ADW keeps the state of `adwId`. */
export function adwStatePath(stateDir: string, adwId: string): string {
  assertValidRunId(adwId);
  return join(stateDir, adwId, 'adw_state.json');
}

/**
 * The state ADW (or agents-sdk) saved for `adwId`, or `undefined` when there is none.
 *
 * @throws PermanentError `CORRUPT_STATE` naming the file when it is not a JSON object.
 */
export function readAdwState(stateDir: string, adwId: string): AdwState | undefined {
  const file = adwStatePath(stateDir, adwId);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new PermanentError('CORRUPT_STATE', `${file} is not valid JSON (${(error as Error).message}); nothing was changed`, { details: { file } });
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new PermanentError('CORRUPT_STATE', `${file} is not a JSON object; nothing was changed`, { details: { file } });
  }
  return state as AdwState;
}

/**
 * Sets fields of the state of `adwId` in place (creating the file, with `adw_id`, if there is
 * none): the file is read again just before the write and every other field is kept as it is.
 * A field set to `undefined` is removed.
 *
 * @returns the state as written.
 * @throws PermanentError `CORRUPT_STATE` (the file is not a JSON object: left untouched),
 *   `STATE_WRITE_FAILED` (the write failed, naming the file).
 */
export function updateAdwState(stateDir: string, adwId: string, fields: Record<string, unknown>): AdwState {
  const file = adwStatePath(stateDir, adwId);
  const state: AdwState = { adw_id: adwId, ...readAdwState(stateDir, adwId) };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete state[key];
    else state[key] = value;
  }
  try {
    mkdirSync(join(stateDir, adwId), { recursive: true });
    writeJsonFileSync(file, state);
  } catch (error) {
    throw stateWriteFailed(file, error);
  }
  return state;
}
