/**
 * The JSON backend's run lock under contention from real processes: at no moment do two
 * processes hold it, whether it is released or left behind by a (simulated) dead holder.
 * The contenders load the built library (dist/, built by `npm test`'s pretest).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { checkpoint } from './helpers/records.js';

const CONTENDER = fileURLToPath(new URL('./fixtures/lock-contender/contend.mjs', import.meta.url));
const DIST_BACKEND = fileURLToPath(new URL('../dist/persistence/json-state-backend.js', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-lock-race-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Contender {
  ready: Promise<void>;
  go(): void;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function contender(stateDir: string, rounds: number, log: string): Contender {
  const child = spawn(process.execPath, [CONTENDER, DIST_BACKEND, stateDir, 'r', String(rounds), log], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { ready, go: () => child.stdin.end('go\n'), done };
}

/** The rounds in which more than one process held the lock at once, from the contenders' log. */
function overlaps(log: string): string[] {
  const holders = new Set<string>();
  const found: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [sign, round, pid] = line.split(' ');
    if (sign === '+') {
      holders.add(pid!);
      if (holders.size > 1) found.push(`round ${round}: ${[...holders].join(', ')}`);
    } else holders.delete(pid!);
  }
  return found;
}

describe('JsonStateBackend run lock, contended by real processes', () => {
  it('is never held by two processes at once: 8 processes, released and abandoned locks', async () => {
    expect(existsSync(DIST_BACKEND), 'run `npm run build` first: the contenders load dist/').toBe(true);
    const stateDir = join(dir, 'state');
    const log = join(dir, 'holders.log');
    // A saved run, as `resume` finds it.
    await new JsonStateBackend(stateDir).saveCheckpoint('r', checkpoint('r', ['a']));
    // 60 rounds each: the lock is taken about 120 times in all (about 2 per round, measured also on
    // busy cores), so the check below has ample margin; more rounds mostly cost CPU time.
    const contenders = Array.from({ length: 8 }, () => contender(stateDir, 60, log));
    await Promise.all(contenders.map((c) => c.ready));
    for (const c of contenders) c.go();
    const results = await Promise.all(contenders.map((c) => c.done));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const held = results.map((r) => (JSON.parse(r.stdout.split('\n')[1]!) as { held: number }).held);
    // Not vacuous: the lock changed hands many times, also by taking over abandoned ones.
    expect(held.reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
    expect(overlaps(log)).toEqual([]);
  }, 60_000);
});
