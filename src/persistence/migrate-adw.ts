/**
 * Imports the per-run state files of the Python ADW system this replaces
 * (`<dir>/<adw id>/adw_state.json`) into a state backend, as `adw/<adw id>` values.
 *
 * @module
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PermanentError, ValidationError } from '../errors.js';
import { STATE_SCHEMA_VERSION, type StateBackend } from './state-backend.js';
import { assertValidRunId } from './state-keys.js';

/** One state file found. */
export interface MigrationItem {
  /** The ADW id (the directory name). */
  id: string;
  /** Where it is (or would be) stored. */
  key: string;
  file: string;
}

/** What a migration did (or, dry, would do). */
export interface MigrationReport {
  dryRun: boolean;
  imported: MigrationItem[];
  skipped: Array<{ file: string; reason: string }>;
}

/** The stored form of an imported ADW state. */
export interface ImportedAdwState {
  schema_version: number;
  source: string;
  imported_at: string;
  state: Record<string, unknown>;
}

/**
 * Imports every `<fromDir>/<id>/adw_state.json`. With `dryRun` nothing is written.
 * A file that cannot be read or parsed is skipped with its reason; the others still import.
 *
 * @throws ValidationError when `fromDir` is not a readable directory.
 */
export async function migrateAdwState(fromDir: string, backend: StateBackend | null, options: { dryRun?: boolean } = {}): Promise<MigrationReport> {
  // A dry run reads the ADW directory only: it needs no backend (and opening one may create files).
  if (backend === null && options.dryRun !== true) throw new PermanentError('BACKEND_UNAVAILABLE', 'migrateAdwState needs a state backend unless dryRun is set');
  const root = resolve(fromDir);
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    // Said once: the summary quotes its one issue (the CLI prints what it does not say).
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (error as Error).message;
    throw new ValidationError(`Cannot read --from directory ${root}: ${why}`, [{ path: root, message: why }]);
  }
  const report: MigrationReport = { dryRun: options.dryRun === true, imported: [], skipped: [] };
  for (const id of entries) {
    const file = join(root, id, 'adw_state.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue; // not an ADW run directory
    }
    try {
      assertValidRunId(id);
    } catch (error) {
      report.skipped.push({ file, reason: (error as Error).message });
      continue;
    }
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch (error) {
      report.skipped.push({ file, reason: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      report.skipped.push({ file, reason: 'not a JSON object' });
      continue;
    }
    const item: MigrationItem = { id, key: `adw/${id}`, file };
    if (!report.dryRun) {
      const value: ImportedAdwState = {
        schema_version: STATE_SCHEMA_VERSION,
        source: file,
        imported_at: new Date().toISOString(),
        state: state as Record<string, unknown>,
      };
      await backend!.save(item.key, value);
    }
    report.imported.push(item);
  }
  return report;
}
