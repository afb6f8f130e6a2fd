/**
 * How `run` was driven (`--replay`, `--redis`, ...), stored with the run, and how `resume`
 * drives it: as stored, unless a flag given to `resume` says otherwise.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import type { RunLaunch } from '../persistence/state-backend.js';
import { shellQuote } from './run-summary.js';

/** The flags of `run` that the launch is made of, as parsed. */
export interface RunLaunchFlags {
  replay?: string | undefined;
  replaySpeed?: string | undefined;
  redis?: string | undefined;
  queue?: string | undefined;
}

/** Checks `--replay-speed`: a number >= 0. */
export function replaySpeedOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const speed = Number(text);
  if (!(speed >= 0)) throw new ValidationError(`--replay-speed must be a number >= 0, got "${text}"`);
  return speed;
}

/** What `run` stores: its flags, with the replay directory and state dir made absolute. */
export function runLaunch(
  flags: RunLaunchFlags,
  settings: { maxParallel?: number | undefined; inputs: Record<string, string>; stateDir: string; backend: string | undefined },
): RunLaunch {
  const speed = replaySpeedOption(flags.replaySpeed);
  return {
    ...(flags.replay !== undefined && { replay: { dir: resolve(flags.replay), ...(speed !== undefined && { speed }) } }),
    ...(flags.redis !== undefined && { redis: flags.redis }),
    ...(flags.queue !== undefined && { queue: flags.queue }),
    ...(settings.maxParallel !== undefined && { maxParallel: settings.maxParallel }),
    ...(Object.keys(settings.inputs).length > 0 && { inputs: settings.inputs }),
    stateDir: resolve(settings.stateDir),
    backend: settings.backend === 'sqlite' ? 'sqlite' : 'json',
  };
}

/** The flags of `resume` that change how a run is driven. */
export interface ResumeLaunchFlags extends RunLaunchFlags {
  /** `--live`: the real agent, not the recordings the run was replayed from. */
  live?: boolean | undefined;
  /** `--local`: attempts run here, not on the workers the run used. */
  local?: boolean | undefined;
}

/** How `resume` drives a run, and what it took from the stored launch (to say so). */
export interface ResumeLaunch {
  launch: RunLaunch;
  /** The stored settings used without a flag, as flags (`--replay DIR --replay-speed 0`); empty when none. */
  inherited: string[];
}

/**
 * How `resume` drives a run: the stored launch (`stored`, absent for runs from before it was
 * kept), each part replaced by the flags given. `--replay` replaces the stored replay and
 * Redis; `--replay-speed` alone changes the stored replay's speed; `--live` drops the replay
 * (the real agent); `--redis` replaces both, `--queue` the stored queue; `--local` drops Redis.
 */
export function resumeLaunch(stored: RunLaunch | undefined, flags: ResumeLaunchFlags, settings: { stateDir: string; backend: string | undefined }): ResumeLaunch {
  if (flags.live === true && flags.replay !== undefined) throw new ValidationError('--live and --replay cannot be used together: --live resumes with the real agent');
  if (flags.live === true && flags.replaySpeed !== undefined) throw new ValidationError('--live and --replay-speed cannot be used together: --live resumes with the real agent');
  const speed = replaySpeedOption(flags.replaySpeed);
  const inherited: string[] = [];
  let replay: RunLaunch['replay'];
  if (flags.replay !== undefined) replay = { dir: resolve(flags.replay), ...(speed !== undefined && { speed }) };
  else if (flags.live !== true && flags.redis === undefined && stored?.replay) {
    replay = { dir: stored.replay.dir, ...((speed ?? stored.replay.speed) !== undefined && { speed: speed ?? stored.replay.speed! }) };
    inherited.push('--replay', stored.replay.dir);
    if (speed === undefined && stored.replay.speed !== undefined) inherited.push('--replay-speed', String(stored.replay.speed));
  } else if (speed !== undefined) {
    throw new ValidationError('--replay-speed needs --replay <dir> (this run was not replayed)');
  }
  let redis: string | undefined;
  let queue: string | undefined;
  if (flags.redis !== undefined) {
    redis = flags.redis;
    queue = flags.queue;
  } else if (flags.local !== true && flags.replay === undefined && stored?.redis !== undefined) {
    redis = stored.redis;
    queue = flags.queue ?? stored.queue;
    inherited.push('--redis', stored.redis);
    if (flags.queue === undefined && stored.queue !== undefined) inherited.push('--queue', stored.queue);
  } else if (flags.queue !== undefined) {
    queue = flags.queue;
  }
  const launch: RunLaunch = {
    ...(replay && { replay }),
    ...(redis !== undefined && { redis }),
    ...(queue !== undefined && { queue }),
    ...(stored?.maxParallel !== undefined && { maxParallel: stored.maxParallel }),
    ...(stored?.inputs !== undefined && { inputs: stored.inputs }),
    stateDir: resolve(settings.stateDir),
    backend: settings.backend === 'sqlite' ? 'sqlite' : 'json',
  };
  return { launch, inherited };
}

/** The note `resume` prints when it drives a run with stored settings. */
export function inheritedNote(runId: string, inherited: string[], launch: RunLaunch): string {
  const alternatives = [launch.replay && '--live runs the real agent instead', launch.redis !== undefined && '--local runs the attempts here instead'].filter(Boolean);
  return `resuming run ${runId} as it was started: ${inherited.map(shellQuote).join(' ')}${alternatives.length > 0 ? ` (${alternatives.join('; ')})` : ''}\n`;
}
