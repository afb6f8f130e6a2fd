/**
 * `agents-sdk clean <run-id> [--branches]`: removes the git worktrees a run left (a failed
 * run's, an interrupted one's) and, with `--branches`, its branches (`agents-sdk/<run>`,
 * `agents-sdk-task/<run>/*`). Refuses while a process drives the run (it takes the run's lock).
 *
 * @module
 */
import { resolve } from 'node:path';
import { PermanentError } from '../errors.js';
import { cleanRunWorkspace } from '../workspace/run-workspace.js';
import { EXIT, type CliIO } from './cli-support.js';
import { withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk clean`. */
export interface CleanOptions extends StateOptions {
  branches?: boolean;
  json?: boolean;
}

/** `agents-sdk clean`. */
export async function cleanCommand(runId: string, options: CleanOptions, io: CliIO): Promise<number> {
  return withBackend(options, 'write', async (backend, stateDir) => {
    const run = await backend.loadRun(runId);
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in ${stateDir})`, { details: { runId } });
    // Held while cleaning: a live run (or a resume starting now) is refused with LOCKED.
    const release = await backend.lockRun(runId);
    try {
      const cleaned = await cleanRunWorkspace(run.workflow, resolve(stateDir), runId, { branches: options.branches === true });
      if (options.json) {
        io.stdout(`${JSON.stringify({ runId, ...cleaned }, null, 2)}\n`);
        return EXIT.ok;
      }
      if (cleaned.repositories.length === 0) io.stdout(`run ${runId} has no worktree tasks: nothing to clean\n`);
      for (const root of cleaned.repositories) io.stdout(`removed the worktrees of run ${runId} in ${root}\n`);
      for (const branch of cleaned.branches) io.stdout(`deleted branch ${branch}\n`);
      return EXIT.ok;
    } finally {
      await release();
    }
  });
}
