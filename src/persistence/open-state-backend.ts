/**
 * Opens the backend the CLI's `--backend json|sqlite` and `--state-dir` name.
 *
 * @module
 */
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { JsonStateBackend } from './json-state-backend.js';
import type { StateBackend } from './state-backend.js';

/** The backends the CLI knows. */
export type BackendKind = 'json' | 'sqlite';

/** File name of the SQLite database inside the state directory. */
export const SQLITE_FILE = 'agents.sqlite';

/** Options of {@link openStateBackend}. */
export interface OpenStateBackendOptions {
  /**
   * For commands that only read (`list`, `status`): nothing may be created or changed. SQLite
   * opens its file read-only (a missing file has no runs and is not created); the JSON backend
   * only writes when asked to.
   */
  readonly?: boolean;
}

/**
 * Opens a backend over a state directory. SQLite is loaded only when asked for, so the
 * package works where better-sqlite3 is not built. Its database is checked against the runs'
 * directories in the state directory: an empty database beside them is damage, not "no runs".
 */
export async function openStateBackend(kind: string, stateDir: string, options: OpenStateBackendOptions = {}): Promise<StateBackend> {
  if (kind === 'json') return new JsonStateBackend(stateDir);
  if (kind === 'sqlite') {
    const { SqliteStateBackend } = await import('./sqlite-state-backend.js');
    return SqliteStateBackend.open(join(stateDir, SQLITE_FILE), { readonly: options.readonly === true, runsDir: stateDir });
  }
  throw new ValidationError(`--backend must be json or sqlite, got "${kind}"`);
}
