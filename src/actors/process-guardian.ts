/**
 * No agent outlives the process that started it.
 *
 * Agents and commands run in process groups of their own (so that their whole tree can be
 * killed), which also means nothing ends them when the process that started them (an
 * orchestrator, an `agents-sdk worker`) dies by SIGKILL or the OOM killer: a worker's agent
 * would finish its task a second time, beside the retry another worker started.
 *
 * So each such process starts one small guardian beside it (on its first process group, not one
 * per agent): a shell in a group and session of its own, which reads the ids of the groups
 * to watch (`+<pgid>` when a group starts, `-<pgid>` when it has ended) from a pipe whose other
 * end only its parent holds. When that pipe closes (its parent is gone, however it died) the
 * guardian sends SIGTERM to every group still listed, SIGKILL after a grace (default 1 s), and
 * exits. Its parent exiting normally with nothing listed costs nothing more than that exit.
 *
 * Cost: one `sh` per driver (~2 MB; it starts in about a millisecond), one line written per
 * group start and end. Not on Windows (no process groups there).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Between SIGTERM and SIGKILL once the parent is gone. */
export const GUARDIAN_GRACE_MS = 1_000;

/**
 * The guardian's program, a POSIX shell script (`sh -c`: it starts in a millisecond and holds
 * about 2 MB, where a Node process takes ~100 ms and 40 MB; only builtins, and `sleep` while it
 * ends groups). It watches the groups named on stdin (`+<pgid>`, `-<pgid>`), and when stdin
 * closes sends SIGTERM to those left, then SIGKILL to any still running after `$1` ms. Its
 * terminal's signals are ignored: only the pipe ends it.
 */
const GUARDIAN_SCRIPT = `trap '' INT HUP PIPE
groups=''
while IFS= read -r line; do
  case $line in
    +*) groups="$groups \${line#+}" ;;
    -*) kept=''; for g in $groups; do [ "$g" = "\${line#-}" ] || kept="$kept $g"; done; groups=$kept ;;
  esac
done
live=''
for g in $groups; do kill -TERM "-$g" 2>/dev/null && live="$live $g"; done
waited=0
while [ -n "$live" ] && [ "$waited" -lt "$1" ]; do
  sleep 0.05; waited=$((waited + 50))
  left=''; for g in $live; do kill -0 "-$g" 2>/dev/null && left="$left $g"; done; live=$left
done
for g in $live; do kill -KILL "-$g" 2>/dev/null; done
exit 0
`;

/** The guardian of this process, started on the first group it is given. */
let guardian: ChildProcess | null = null;
/** The groups it watches, to hand to a new guardian if the last one died. */
const guarded = new Set<number>();
/**
 * `-<pgid>` lines not written yet: they go with the next `+<pgid>` line, or at the end of this
 * turn of the event loop, so that a task ending and the next one starting wake the guardian
 * once, not twice. (Until then the guardian still lists a group that has ended: were this
 * process to die meanwhile, it would signal a group that is gone, which does nothing.)
 */
let releases = '';
let releaseFlush: NodeJS.Immediate | null = null;

function startGuardian(): ChildProcess | null {
  let child: ChildProcess;
  try {
    // `$0` names it in `ps`: agents-sdk-guardian.
    child = spawn('/bin/sh', ['-c', GUARDIAN_SCRIPT, 'agents-sdk-guardian', String(GUARDIAN_GRACE_MS)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
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
  // What the last guardian was to forget, this one never heard of.
  releases = '';
  for (const pgid of guarded) stdin.write(`+${pgid}\n`);
  return child;
}

function tell(line: string): void {
  if (process.platform === 'win32') return;
  guardian ??= startGuardian();
  if (guardian?.stdin?.writable) guardian.stdin.write(releases + line);
  releases = '';
}

function flushReleases(): void {
  releaseFlush = null;
  if (releases !== '' && guardian?.stdin?.writable) guardian.stdin.write(releases);
  releases = '';
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
  if (!guarded.delete(pgid) || !guardian?.stdin?.writable) return;
  releases += `-${pgid}\n`;
  releaseFlush ??= setImmediate(flushReleases);
}

/** The guardian's pid, once it runs (for tests and diagnostics). */
export function processGuardianPid(): number | null {
  return guardian?.pid ?? null;
}
