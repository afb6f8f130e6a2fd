/**
 * A driver's guardian (src/actors/process-guardian.ts) forgets a process group once the driver
 * says it has ended, whether that news goes out alone (at the end of the event loop's turn) or
 * with the next group's start (a task ending and the next one starting wake the guardian once).
 * Real processes and a real kill -9 of the driver.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from './helpers/fake-claude.js';
import { waitUntil } from './helpers/redis.js';

const GUARDIAN = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'actors', 'process-guardian.js')).href;

/** Starts four idle groups, guards them, tells the guardian two ended (one alone, one with a start), prints the pids. */
const DRIVER = `
import { spawn } from 'node:child_process';
import { guardProcessGroup, releaseProcessGroup } from ${JSON.stringify(GUARDIAN)};
const idle = () => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' }).pid;
const turn = () => new Promise((r) => setImmediate(r));
const [alone, withStart, kept] = [idle(), idle(), idle()];
for (const pgid of [alone, withStart, kept]) guardProcessGroup(pgid);
releaseProcessGroup(alone);
await turn();
releaseProcessGroup(withStart);
const started = idle();
guardProcessGroup(started);
await turn();
await turn();
console.log(JSON.stringify({ alone, withStart, kept, started }));
setInterval(() => {}, 1000);
`;

let dir: string | undefined;
const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("a driver's guardian", () => {
  it('forgets the groups the driver said had ended, and ends the others when the driver dies', async () => {
    dir = mkdtempSync(join(tmpdir(), 'agents-sdk-guardian-'));
    const script = join(dir, 'driver.mjs');
    writeFileSync(script, DRIVER);
    const driver = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    driver.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitUntil('the driver to start its groups', () => out.includes('\n'));
    const pids = JSON.parse(out) as Record<'alone' | 'withStart' | 'kept' | 'started', number>;
    groups.push(...Object.values(pids));

    driver.kill('SIGKILL');
    await waitUntil('the guarded groups to end', () => !isAlive(pids.kept) && !isAlive(pids.started));
    expect(isAlive(pids.alone)).toBe(true);
    expect(isAlive(pids.withStart)).toBe(true);
  });
});
