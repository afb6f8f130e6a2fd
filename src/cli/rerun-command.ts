/**
 * `agents-sdk rerun <run> --from <task> [--only]`: a new run made from a stored one, keeping
 * the tasks not downstream of `<task>` and running it (and its dependants) again.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import type { CliIO } from './cli-support.js';
import { driveOrchestrated, replayExecutor, replayExecutorOf, runLogSettings, type LogOptions } from './run-command.js';
import { inheritedNote, replaySpeedOption, resumeLaunch } from './run-launch.js';
import { createRunLogger } from '../logging/run-logger.js';
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
  /** `--live`: a run replayed from recordings is rerun with the real agent. */
  live?: boolean;
  /** `--local`: a run whose attempts ran on workers is rerun here. */
  local?: boolean;
}

/** `agents-sdk rerun <runId> --from <task> [--only]`. */
export async function rerunCommand(runId: string, options: RerunCommandOptions, io: CliIO): Promise<number> {
  if (options.from === undefined) throw new ValidationError('rerun: --from <task> is required (the task to run again, with its dependants)');
  const from = options.from;
  // The flags alone are checked before anything is opened.
  resumeLaunch(undefined, { ...options, replaySpeed: undefined }, { stateDir: '.', backend: undefined });
  if (options.replay !== undefined) replayExecutor(options.replay, options.replaySpeed);
  else replaySpeedOption(options.replaySpeed);
  const logs = runLogSettings(options);
  parseInspectTarget(options.inspect);
  return withBackend(options, 'write', async (backend, stateDir) => {
    // Driven as the old run was (replayed, on workers...) unless a flag says otherwise: a rerun
    // of a replayed run never starts the real, paid agent by surprise.
    const stored = await backend.loadRun(runId);
    const { launch, inherited } = resumeLaunch(stored?.launch, options, { stateDir, backend: options.backend });
    if (inherited.length > 0) {
      const note = inheritedNote(runId, inherited, launch).replace(/^resuming run/, 'rerunning run');
      if (logs) createRunLogger({ ...logs, write: io.stderr }).logger.info({ type: 'cli.rerun_launch', runId, launch }, note.trimEnd());
      else io.stderr(note);
    }
    const replay = launch.replay ? replayExecutorOf(launch.replay, options.replay === undefined ? runId : undefined) : undefined;
    const remote = { ...(launch.redis !== undefined && { redis: launch.redis }), ...(launch.queue !== undefined && { queue: launch.queue }) };
    const { redis: _redis, queue: _queue, ...rest } = options;
    return driveOrchestrated(backend, stateDir, { ...rest, ...remote }, io, replay, logs, (o) =>
      o.rerun(runId, {
        from,
        launch,
        ...(options.only === true && { only: true }),
        ...(options.runId !== undefined && { runId: options.runId }),
        ...(options.cache === false && { cache: false }),
      }),
    );
  });
}
