/**
 * `agents-sdk rerun <run> --from <task> [--only]`: a new run made from a stored one, keeping
 * the tasks not downstream of `<task>` and running it (and its dependants) again.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { CliIO } from './cli-support.js';
import { driveOrchestrated, replayExecutor, runLogSettings, type LogOptions } from './run-command.js';
import { withBackend, type StateOptions } from './state-commands.js';
import { parseInspectTarget } from '../inspector/inspect-target.js';

/** Options of `agents-sdk rerun`. */
export interface RerunCommandOptions extends StateOptions, LogOptions {
  from?: string;
  only?: boolean;
  runId?: string;
  json?: boolean;
  replay?: string;
  replaySpeed?: string;
  inspect?: string | boolean;
  /** `false` with `--no-cache`. */
  cache?: boolean;
  redis?: string;
  queue?: string;
}

/** `agents-sdk rerun <runId> --from <task> [--only]`. */
export async function rerunCommand(runId: string, options: RerunCommandOptions, io: CliIO): Promise<number> {
  if (options.from === undefined) throw new ValidationError('rerun: --from <task> is required (the task to run again, with its dependants)');
  const from = options.from;
  const replay = replayExecutor(options.replay, options.replaySpeed);
  const logs = runLogSettings(options);
  parseInspectTarget(options.inspect);
  return withBackend(options, 'write', (backend, stateDir) =>
    driveOrchestrated(backend, stateDir, options, io, replay, logs, (o) =>
      o.rerun(runId, {
        from,
        ...(options.only === true && { only: true }),
        ...(options.runId !== undefined && { runId: options.runId }),
        ...(options.cache === false && { cache: false }),
      }),
    ),
  );
}
