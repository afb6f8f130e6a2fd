/**
 * Whether the process holding a lock is still alive, so that a lock left by a killed process
 * can be taken over instead of blocking the run forever.
 *
 * @module
 */
import { hostname } from 'node:os';

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  acquiredAt: number;
}

/** The current process as a lock owner. */
export function currentOwner(): LockOwner {
  return { pid: process.pid, host: hostname(), acquiredAt: Date.now() };
}

/** True when the owner is a live process on this host (another host's lock is assumed live). */
export function isOwnerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
