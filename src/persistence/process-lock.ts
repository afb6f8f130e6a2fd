/**
 * Whether the process holding a lock is still alive, so that a lock left by a killed process
 * can be taken over instead of blocking the run forever.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isZombie, processStartTicks } from '../actors/process-registry.js';

/** Tells this process's locks from a dead predecessor's that had the same pid (containers restart as pid 1). */
const PROCESS_TOKEN = randomUUID();

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  acquiredAt: number;
  /** Random per process; absent in locks written by older versions. */
  token?: string;
  /** Linux: the holder's start time (clock ticks since boot), to tell it from a process that reused its pid. */
  startTicks?: number | null;
  /**
   * Unique per lock taken (a random UUID): a release removes only the lock it took, never a
   * later one of the same process, even one taken in the same millisecond. Absent in locks
   * written by older versions.
   */
  lockId?: string;
}

/** Options of `StateBackend.lockRun`. */
export interface LockOptions {
  /**
   * Take over a lock written on another host (another machine, or a container since
   * replaced), whose process cannot be checked from here: only when you know it is gone. A
   * live holder on this host is never overridden.
   */
  force?: boolean;
}

/** Whether a holder blocks taking the lock: alive, and not an unverifiable one that `force` overrides. */
export function holderBlocks(holder: LockOwner, options: LockOptions = {}): boolean {
  if (options.force && holder.host !== hostname()) return false;
  return isOwnerAlive(holder);
}

const OWN_START_TICKS = processStartTicks(process.pid);

/** The current process as the owner of a new lock (with a lock id of its own). */
export function currentOwner(): LockOwner {
  return { pid: process.pid, host: hostname(), acquiredAt: Date.now(), token: PROCESS_TOKEN, startTicks: OWN_START_TICKS, lockId: randomUUID() };
}

/** True when the owner is a live process on this host (another host's lock is assumed live). */
export function isOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return owner.token === undefined || owner.token === PROCESS_TOKEN;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Exited, but not reaped yet by its parent (or by a pid 1 that reaps late): dead all the same.
  if (isZombie(owner.pid)) return false;
  // Alive, but maybe another process that got the same pid since.
  if (typeof owner.startTicks === 'number') {
    const ticks = processStartTicks(owner.pid);
    if (ticks !== null && ticks !== owner.startTicks) return false;
  }
  return true;
}

/** The message of a `LOCKED` error for a live (or uncheckable) holder. */
export function lockedMessage(runId: string, holder: LockOwner, where: string): string {
  const since = new Date(holder.acquiredAt).toISOString();
  const base = `Run ${runId} is being driven by another process (pid ${holder.pid} on ${holder.host} since ${since})`;
  if (holder.host !== hostname()) {
    return (
      `${base}. That host is not this one (${hostname()}), so whether the process still runs cannot be checked from here; ` +
      `if it is gone (a crashed machine, a replaced container), take the run over with \`agents-sdk resume ${runId} --force\`. ${where}`
    );
  }
  return `${base}; wait for it to finish or stop it. ${where}`;
}
