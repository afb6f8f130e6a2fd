/**
 * `agents-sdk prune --older-than 30d [--status completed] [--dry-run]`: deletes whole runs that
 * ended long ago, never a live one, and says which.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import { pruneRuns, type PrunedRun } from '../persistence/prune-runs.js';
import { EXIT, type CliIO } from './cli-support.js';
import { parseOlderThan, parseStatuses } from './run-filters.js';
import { withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk prune`. */
export interface PruneOptions extends StateOptions {
  olderThan?: string;
  status?: string[];
  dryRun?: boolean;
  json?: boolean;
}

const PRUNABLE = ['completed', 'failed', 'cancelled', 'budget_exceeded', 'interrupted', 'unreadable'];

/** `agents-sdk prune`. */
export async function pruneCommand(options: PruneOptions, io: CliIO): Promise<number> {
  if (options.status?.some((s) => s.split(',').some((v) => v.trim() === 'running'))) {
    throw new ValidationError('--status running: a run that a live process drives is never pruned (cancel it first: agents-sdk cancel <run>)');
  }
  const olderThanMs = parseOlderThan(options.olderThan);
  const statuses = parseStatuses(options.status, PRUNABLE);
  const dryRun = options.dryRun === true;
  return withBackend(options, dryRun ? 'read' : 'write', async (backend, stateDir) => {
    const result = await pruneRuns(backend, {
      olderThanMs,
      ...(statuses.size > 0 && { statuses }),
      dryRun,
      stateDir: resolve(stateDir),
    });
    if (options.json) {
      io.stdout(`${JSON.stringify({ dryRun, ...result }, null, 2)}\n`);
      return EXIT.ok;
    }
    const verb = dryRun ? 'would delete' : 'deleted';
    for (const run of result.deleted) io.stdout(`${verb} run ${describe(run)}\n`);
    for (const run of result.live) io.stdout(`kept run ${run.runId} (workflow ${run.workflowId}): a live process drives it\n`);
    const n = result.deleted.length;
    io.stdout(`${dryRun ? 'dry run: ' : ''}${n} run${n === 1 ? '' : 's'} ${verb} (older than ${options.olderThan})${result.live.length > 0 ? `, ${result.live.length} live kept` : ''}\n`);
    return EXIT.ok;
  });
}

function describe(run: PrunedRun): string {
  if (run.status === 'unreadable') return `${run.runId} (unreadable)`;
  return `${run.runId} (workflow ${run.workflowId}, ${run.status}, last written ${new Date(run.updatedAt).toISOString().replace(/\.\d+Z$/, 'Z')})`;
}
