/**
 * Every process a test starts dies with the suite, however the suite ends.
 *
 * Long-lived processes (redis-server, `agents-sdk worker`, CLI runs, inspector servers) are
 * started in process groups of their own and handed to this test process's guardian (the one
 * the library gives every driver, `src/actors/process-guardian.ts`): if this process dies,
 * even by SIGKILL, the guardian ends their groups. Vitest runs test files in forked processes;
 * if vitest itself is killed, a fork is left running: it notices (its IPC channel to vitest
 * closes), ends the groups it started and exits.
 */
import type { ChildProcess } from 'node:child_process';
import { guardProcessGroup, releaseProcessGroup } from '../../src/actors/process-guardian.js';

/** Groups started by this process's tests, still running. */
const running = new Set<number>();
let watching = false;

function endAll(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  running.clear();
}

/**
 * Ties a child started with `detached: true` to the suite: its group is killed if the suite
 * dies first. Returns the child.
 */
export function diesWithSuite<T extends Pick<ChildProcess, 'pid' | 'once'>>(child: T): T {
  const pgid = child.pid;
  if (pgid === undefined) return child;
  running.add(pgid);
  guardProcessGroup(pgid);
  child.once('exit', () => {
    running.delete(pgid);
    releaseProcessGroup(pgid);
  });
  if (!watching && process.connected) {
    watching = true;
    // The IPC channel to vitest closed: vitest ended (after the files' teardown) or died.
    const parent = process.ppid;
    process.once('disconnect', () => {
      endAll();
      // Vitest died (this process was handed to another parent): nothing waits for the test.
      if (process.ppid !== parent) process.exit(1);
    });
    // And should the channel's close go unseen (it did, now and then, under a loaded full run),
    // a new parent says the same: vitest is gone.
    setInterval(() => {
      if (process.ppid === parent) return;
      endAll();
      process.exit(1);
    }, 250).unref();
  }
  return child;
}
