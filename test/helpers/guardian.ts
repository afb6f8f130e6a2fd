/**
 * Finding the guardian a driver (a CLI run, a worker) started (`src/actors/process-guardian.ts`).
 */
import { readFileSync } from 'node:fs';
import { childrenOf } from './redis.js';

/** The pid of the guardian that `pid` started, or `null` (none yet). */
export function guardianOf(pid: number): number | null {
  for (const child of childrenOf(pid)) {
    try {
      // Its title once it runs; its program (which sets that title) while it starts.
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('agents-sdk-guardian')) return child;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * SIGKILLs the guardian of `pid` (which must have one), as when the driver and its guardian die
 * together: what the driver started is left running, for the tests of what cleans up after that.
 */
export function killGuardianOf(pid: number): void {
  const guardian = guardianOf(pid);
  if (guardian === null) throw new Error(`process ${pid} has no guardian`);
  process.kill(guardian, 'SIGKILL');
}
