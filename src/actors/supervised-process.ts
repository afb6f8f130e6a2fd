/**
 * Runs one subprocess with execa (never through a shell), streams its stdout line by line,
 * and enforces an overall timeout, a stall timeout and an AbortSignal by killing the whole
 * process tree.
 *
 * Why not execa's own `timeout`/`cancelSignal`: they signal only the direct child. Coding
 * agents start shells, test runners and servers of their own, so the child runs in its own
 * process group (`detached`) and we signal the group: SIGTERM, then SIGKILL after a grace period.
 * The group is also given to this process's guardian (`process-guardian.ts`), which ends it if
 * this process dies first.
 *
 * @module
 */
import { execa } from 'execa';
import type { KillReason } from '../claude/classify-failure.js';
import type { OutputCut } from '../execution-result.js';
import { LineSplitter } from './line-splitter.js';
import { pipeHolders, pipeIdOf } from './pipe-holders.js';
import { guardProcessGroup, releaseProcessGroup } from './process-guardian.js';
import { groupMembers, registerProcess, unregisterProcess } from './process-registry.js';

/** What to run and how to supervise it. */
export interface SupervisedProcessOptions {
  file: string;
  args: string[];
  cwd?: string;
  /** Variables set over `process.env`. */
  env?: Record<string, string>;
  /** `false`: `env` only, without `process.env` under it. Default true. */
  extendEnv?: boolean;
  /** Written to stdin, then stdin is closed. Default: no stdin. */
  stdin?: string;
  /** Kill the run after this many ms in all. `0` or undefined: no limit. */
  timeoutMs?: number;
  /** Kill the run when stdout has been silent this many ms. `0` or undefined: no limit. */
  stallTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL. Default 5000 ms. */
  killGraceMs?: number;
  signal?: AbortSignal;
  /**
   * Called for every stdout line as it arrives; return a reason to kill the run at once, or
   * `linger` when the output is complete: the process is then killed if it has not exited
   * within `lingerMs`.
   */
  onLine?: (line: string) => KillReason | void;
  /** How long a process may take to exit once `onLine` said its output is complete. Default 10 s. */
  lingerMs?: number;
  /** How many characters of stderr to keep (the tail). Default 8192. */
  stderrTailChars?: number;
  /** A run's process registry (see `process-registry.ts`): the group is listed there while it runs. */
  registryDir?: string;
  /** Who the registry lists the group under (`ProcessEntry.owner`). */
  registryOwner?: string;
  /**
   * How long after the process exited its output may still be held open by descendants it left
   * behind before the streams are cut (what was read is kept, {@link SupervisedOutcome.outputCut}
   * says so). Output that merely waits in the pipe is always read to its end. Default 1000 ms.
   */
  streamGraceMs?: number;
}

/** How a supervised process ended. */
export interface SupervisedOutcome {
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
  killedBy: KillReason | null;
  /** The limit that fired, in ms, when `killedBy` is `timeout` or `stall`. */
  limitMs?: number;
  /** Set when the process could not be started at all (e.g. ENOENT, EACCES). */
  spawnError?: { code: string; message: string };
  /** Wall-clock duration measured by us. */
  durationMs: number;
  /**
   * Set when stdout was cut before its end: the process had exited, but a descendant it left
   * behind still held stdout open `streamGraceMs` later. What was written until then is kept.
   */
  outputCut?: OutputCut;
}

/** setTimeout fires at once for anything longer (~24.8 days): longer limits are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long output may still arrive after the process exited (from descendants it left behind). */
export const DEFAULT_STREAM_GRACE_MS = 1_000;

/**
 * Where the holders of a pipe cannot be found (no `/proc`) or are out of sight (another
 * user's): how long after the exit the streams are waited for at most.
 */
const STREAM_MAX_WAIT_MS = 60_000;

/** How long a process may take to exit once its output is complete. */
export const DEFAULT_LINGER_MS = 10_000;

/** Default grace period between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 5_000;

/** Runs the process to its end; never rejects (failures are described by the outcome). */
export async function runSupervisedProcess(options: SupervisedProcessOptions): Promise<SupervisedOutcome> {
  const started = performance.now();
  const grace = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const tailChars = options.stderrTailChars ?? 8192;
  let stderrTail = '';
  let killedBy: KillReason | null = null;
  let limitMs: number | undefined;
  const timers: NodeJS.Timeout[] = [];

  if (options.signal?.aborted) {
    return { exitCode: null, signal: null, stderrTail: '', killedBy: 'abort', durationMs: 0 };
  }

  let subprocess;
  try {
    subprocess = execa(options.file, options.args, {
      cwd: options.cwd,
      // No variables of its own (and the parent's environment inherited): process.env as it is,
      // which spares execa a copy of it per spawn (`extendEnv` spreads process.env into a new
      // object, Node then reads that one again).
      ...(options.env === undefined && options.extendEnv !== false
        ? { env: process.env, extendEnv: false }
        : { env: options.env, extendEnv: options.extendEnv ?? true }),
      detached: true,
      buffer: false,
      reject: false,
      stdin: options.stdin === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    });
  } catch (error) {
    // Arguments execa refuses before spawning (a NUL byte from a templated output, say).
    const message = (error as Error).message;
    return { exitCode: null, signal: null, stderrTail: '', killedBy: null, spawnError: { code: 'EINVALIDARGS', message }, durationMs: 0 };
  }
  const pid = subprocess.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    guardProcessGroup(pid);
  }
  const registered = pid !== undefined && options.registryDir !== undefined ? registerProcess(options.registryDir, pid, options.file, { owner: options.registryOwner }) : null;

  const killTree = (reason: KillReason, ms?: number): void => {
    if (killedBy !== null) return;
    killedBy = reason;
    limitMs = ms;
    signalGroup(pid, 'SIGTERM');
    const force = setTimeout(() => signalGroup(pid, 'SIGKILL'), grace);
    force.unref();
    timers.push(force);
  };

  if (options.stdin !== undefined && subprocess.stdin) {
    subprocess.stdin.on('error', () => {
      // the process may exit before reading its stdin; its exit code tells the story
    });
    subprocess.stdin.end(options.stdin);
  }

  let stallTimer: NodeJS.Timeout | undefined;
  const stallMs = Math.min(options.stallTimeoutMs ?? 0, MAX_TIMER_MS);
  const armStall = (): void => {
    if (stallMs <= 0) return;
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = setTimeout(() => killTree('stall', stallMs), stallMs);
  };
  armStall();
  if (options.timeoutMs && options.timeoutMs > 0) {
    const ms = Math.min(options.timeoutMs, MAX_TIMER_MS);
    timers.push(setTimeout(() => killTree('timeout', ms), ms));
  }
  const onAbort = (): void => killTree('abort');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-tailChars);
  });

  // Lines are split here rather than by readline, so that a last line without a newline is
  // kept even when the stream has to be cut (see below).
  let lingering = false;
  const onLine = (line: string): void => {
    armStall();
    const verdict = options.onLine?.(line);
    if (verdict === 'linger') {
      if (lingering) return;
      lingering = true;
      const ms = options.lingerMs ?? DEFAULT_LINGER_MS;
      timers.push(setTimeout(() => killTree('linger', ms), ms));
    } else if (verdict) killTree(verdict);
  };
  const lines = new LineSplitter(onLine);
  const stdout = subprocess.stdout;
  stdout?.setEncoding('utf8');
  stdout?.on('data', (chunk: string) => lines.push(chunk));
  const linesClosed = stdout ? new Promise<void>((done) => stdout.once('close', () => done())) : Promise.resolve();

  // The pipes end (EOF) once every process holding them closed them: after the exit, whatever
  // is still in them is read to its end. Only a descendant the process left behind (in its
  // group, or one that left it with setsid) can hold them open longer: after the grace, if one
  // does, the streams are cut and the outcome says so.
  let stdoutEnded = stdout === null || stdout === undefined;
  stdout?.once('end', () => (stdoutEnded = true));
  // The program's ends of its stdout and stderr, while it is sure to hold them: right after the spawn.
  const pipeIds = pid === undefined ? [] : [pipeIdOf(pid, 1), pipeIdOf(pid, 2)];
  const holders = async (): Promise<number[] | null> => {
    if (pipeIds.every((id) => id !== null)) return pipeHolders(pipeIds as string[]);
    // Gone before its pipes could be seen (or no /proc): the members of its group stand for the holders.
    return pid === undefined ? null : groupMembers(pid);
  };
  const graceMs = options.streamGraceMs ?? DEFAULT_STREAM_GRACE_MS;
  let streamCut: NodeJS.Timeout | undefined;
  let streamsClosed = false;
  let outputCut: SupervisedOutcome['outputCut'];
  let exitedAt = 0;
  const cutStreams = (heldBy: number[]): void => {
    if (streamsClosed) return;
    if (!stdoutEnded) outputCut = { afterExitMs: Math.round(performance.now() - exitedAt), heldBy };
    subprocess.stdout?.destroy();
    subprocess.stderr?.destroy();
  };
  const checkStreams = async (): Promise<void> => {
    if (streamsClosed) return;
    const heldBy = await holders();
    if (streamsClosed) return;
    if (heldBy === null || heldBy.length > 0 || performance.now() - exitedAt >= STREAM_MAX_WAIT_MS) {
      // One more turn of the event loop reads what already waits in the pipes.
      setImmediate(() => cutStreams(heldBy ?? []));
    } else streamCut = setTimeout(() => void checkStreams(), graceMs);
  };
  subprocess.once('exit', () => {
    exitedAt = performance.now();
    streamCut = setTimeout(() => void checkStreams(), graceMs);
  });
  const result = await subprocess;
  await linesClosed;
  streamsClosed = true;
  lines.end();
  if (streamCut) clearTimeout(streamCut);
  if (pid !== undefined) {
    liveGroups.delete(pid);
    releaseProcessGroup(pid);
  }
  if (stallTimer) clearTimeout(stallTimer);
  for (const t of timers) clearTimeout(t);
  options.signal?.removeEventListener('abort', onAbort);
  if (killedBy !== null) {
    // The leader is gone; make sure nothing it started outlives it.
    signalGroup(pid, 'SIGKILL');
  }
  unregisterProcess(registered);

  const outcome: SupervisedOutcome = {
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : null,
    signal: result.signal ?? null,
    stderrTail,
    killedBy,
    durationMs: Math.round(performance.now() - started),
  };
  if (limitMs !== undefined) outcome.limitMs = limitMs;
  if (outputCut !== undefined) outcome.outputCut = outputCut;
  const code = (result as { code?: string }).code;
  if (pid === undefined || (result.failed && code && /^E[A-Z]+$/.test(code) && outcome.exitCode === null && !killedBy)) {
    outcome.spawnError = { code: code ?? 'ESPAWN', message: result.message ?? 'spawn failed' };
  }
  return outcome;
}

/** Process groups of the subprocesses still running (they are detached: nothing else ends them). */
const liveGroups = new Set<number>();

/**
 * SIGKILLs every process group this process started that is still running: for a forced
 * exit, which must not leave agents behind.
 */
export function killAllProcessGroups(): number {
  for (const pid of liveGroups) {
    signalGroup(pid, 'SIGKILL');
    releaseProcessGroup(pid);
  }
  const n = liveGroups.size;
  liveGroups.clear();
  return n;
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already exited
  }
}
