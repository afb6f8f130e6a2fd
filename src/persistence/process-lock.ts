/**
 * Whether the process holding a lock is still alive, so that a lock left by a killed process
 * can be taken over instead of blocking the run forever.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Tells this process's locks from a dead predecessor's that had the same pid (containers restart as pid 1). */
const PROCESS_TOKEN = randomUUID();

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  acquiredAt: number;
  /** Random per process; absent in locks written by older versions. */
  token?: string;
}

/** The current process as a lock owner. */
export function currentOwner(): LockOwner {
  return { pid: process.pid, host: hostname(), acquiredAt: Date.now(), token: PROCESS_TOKEN };
}

/** True when the owner is a live process on this host (another host's lock is assumed live). */
export function isOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return owner.token === undefined || owner.token === PROCESS_TOKEN;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
