/**
 * No agent outlives the process that started it.
 *
 * Agents and commands run in process groups of their own (so that their whole tree can be
 * killed), which also means nothing ends them when the process that started them (an
 * orchestrator, an `agents-sdk worker`) dies by SIGKILL or the OOM killer: a worker's agent
 * would finish its task a second time, beside the retry another worker started.
 *
 * So each such process starts one small guardian beside it (on its first process group, not one
 * per agent): a Node process in a group and session of its own, which reads the ids of the groups
 * to watch (`+<pgid>` when a group starts, `-<pgid>` when it has ended) from a pipe whose other
 * end only its parent holds. When that pipe closes (its parent is gone, however it died) the
 * guardian sends SIGTERM to every group still listed, SIGKILL after a grace (default 1 s), and
 * exits. Its parent exiting normally with nothing listed costs nothing more than that exit.
 *
 * Cost: one process per driver (~70 ms of CPU over a life of 1,000 groups, 44 MB), one line
 * written per group start and end. Not on Windows (no process groups there).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Between SIGTERM and SIGKILL once the parent is gone. */
export const GUARDIAN_GRACE_MS = 1_000;

/**
 * The guardian's program (run with `node -e`, so that it needs no file of its own): it watches
 * the groups named on stdin, and ends them when stdin closes. `argv[1]` is its grace in ms.
 */
const GUARDIAN_SOURCE = `
process.title = 'agents-sdk-guardian';
const grace = Number(process.argv[1]) || 1000;
const groups = new Set();
let pending = '';
// Its group and session are its own: a terminal's signals do not reach it; only the pipe ends it.
for (const name of ['SIGINT', 'SIGHUP', 'SIGPIPE']) process.on(name, () => {});
const signal = (pgid, name) => { try { process.kill(-pgid, name); return true; } catch { return false; } };
let ending = false;
const end = () => {
  if (ending) return;
  ending = true;
  const live = [...groups].filter((pgid) => signal(pgid, 'SIGTERM'));
  if (live.length === 0) process.exit(0);
  const started = Date.now();
  const poll = setInterval(() => {
    const left = live.filter((pgid) => signal(pgid, 0));
    if (left.length > 0 && Date.now() - started < grace) return;
    for (const pgid of left) signal(pgid, 'SIGKILL');
    clearInterval(poll);
    process.exit(0);
  }, 25);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let at;
  while ((at = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, at);
    pending = pending.slice(at + 1);
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') groups.add(pgid);
    else if (line[0] === '-') groups.delete(pgid);
  }
});
process.stdin.on('end', end);
process.stdin.on('error', end);
process.stdin.resume();
`;

/** The guardian of this process, started on the first group it is given. */
let guardian: ChildProcess | null = null;
/** The groups it watches, to hand to a new guardian if the last one died. */
const guarded = new Set<number>();

/** The parent's environment without what is meant for the parent alone (a loader, --inspect, coverage). */
function guardianEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  return env;
}

function startGuardian(): ChildProcess | null {
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['-e', GUARDIAN_SOURCE, String(GUARDIAN_GRACE_MS)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      // Options such as --inspect or a loader meant for the parent are not the guardian's.
      env: guardianEnv(),
    });
  } catch {
    return null;
  }
  const stdin = child.stdin!;
  const gone = (): void => {
    if (guardian === child) guardian = null;
  };
  child.once('error', gone);
  child.once('exit', gone);
  stdin.on('error', gone);
  // Neither the guardian nor its pipe keeps this process alive.
  child.unref();
  (stdin as unknown as { unref?: () => void }).unref?.();
  for (const pgid of guarded) stdin.write(`+${pgid}\n`);
  return child;
}

function tell(line: string): void {
  if (process.platform === 'win32') return;
  guardian ??= startGuardian();
  if (guardian?.stdin?.writable) guardian.stdin.write(line);
}

/**
 * Has this process's guardian end the process group `pgid` (SIGTERM, then SIGKILL) if this
 * process dies before {@link releaseProcessGroup} is called for it. The guardian is started on
 * the first call.
 */
export function guardProcessGroup(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) return;
  guarded.add(pgid);
  tell(`+${pgid}\n`);
}

/** The group `pgid` has ended (or is ended otherwise): the guardian forgets it. */
export function releaseProcessGroup(pgid: number): void {
  if (!guarded.delete(pgid)) return;
  if (guardian?.stdin?.writable) guardian.stdin.write(`-${pgid}\n`);
}

/** The guardian's pid, once it runs (for tests and diagnostics). */
export function processGuardianPid(): number | null {
  return guardian?.pid ?? null;
}
