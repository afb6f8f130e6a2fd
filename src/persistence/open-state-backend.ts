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

/**
 * Opens a backend over a state directory. SQLite is loaded only when asked for, so the
 * package works where better-sqlite3 is not built.
 */
export async function openStateBackend(kind: string, stateDir: string): Promise<StateBackend> {
  if (kind === 'json') return new JsonStateBackend(stateDir);
  if (kind === 'sqlite') {
    const { SqliteStateBackend } = await import('./sqlite-state-backend.js');
    return SqliteStateBackend.open(join(stateDir, SQLITE_FILE));
  }
  throw new ValidationError(`--backend must be json or sqlite, got "${kind}"`);
}
