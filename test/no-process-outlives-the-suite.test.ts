/**
 * Issue 20, defect 1: a test suite killed mid-run leaves no process behind. A real vitest runs a
 * file that starts a redis-server and an `agents-sdk worker` through the test helpers
 * (test/fixtures/killed-suite); it is killed with -9, and both must be gone within 2 s.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from './helpers/fake-claude.js';
import { waitUntil } from './helpers/redis.js';
import { diesWithSuite } from './helpers/suite-processes.js';

const VITEST = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const CONFIG = fileURLToPath(new URL('./fixtures/killed-suite/vitest.config.ts', import.meta.url));
const DEADLINE_MS = 2_000;

interface SuitePids {
  fork: number;
  vitest: number;
  redis: number;
  worker: number;
  root: string;
}

let dir: string | undefined;
let pids: SuitePids | undefined;
afterEach(() => {
  for (const pid of pids ? [pids.redis, pids.worker, pids.fork, pids.vitest] : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  if (pids) rmSync(pids.root, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
  pids = undefined;
  dir = undefined;
});

/** Starts the fixture suite; resolves once its file has started its redis-server and worker. */
async function startSuite() {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-killed-suite-'));
  const out = join(dir, 'pids.json');
  // Vitest's own variables are this run's, not the fixture suite's.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'NODE_OPTIONS'));
  const suite = diesWithSuite(
    execa(process.execPath, [VITEST, 'run', '--config', CONFIG], { env: { ...env, SUITE_PIDS: out }, extendEnv: false, reject: false, stdin: 'ignore', detached: true }),
  );
  await waitUntil('the fixture suite to start its redis-server and worker', () => existsSync(out) || suite.exitCode !== null, 90_000);
  if (!existsSync(out)) throw new Error(`the fixture suite ended early: ${String((await suite).stderr)}`);
  pids = JSON.parse(readFileSync(out, 'utf8')) as SuitePids;
  expect([pids.redis, pids.worker].every(isAlive)).toBe(true);
  return { suite, pids };
}

async function goneWithin(list: number[], since: number, deadlineMs = DEADLINE_MS): Promise<void> {
  await waitUntil(`${list.join(', ')} to end`, () => !list.some(isAlive), deadlineMs - (Date.now() - since));
}

/**
 * When vitest itself dies, its worker must first notice (its IPC channel closes: a Node event
 * loop turn, late on a loaded machine) before the guardian sees the worker go: nothing is left
 * behind, but not on the agents' 2 s clock.
 */
const VITEST_KILLED_DEADLINE_MS = 15_000;

describe('no process outlives the test suite', () => {
  it('kill -9 of the process running a test file: the redis-server and the worker it started end within 2 s', async () => {
    const { suite, pids } = await startSuite();
    process.kill(pids.fork, 'SIGKILL');
    const killedAt = Date.now();
    await goneWithin([pids.redis, pids.worker], killedAt);
    suite.kill('SIGKILL');
    await suite;
  }, 120_000);

  it('kill -9 of vitest itself: its worker process ends what it started, and exits', async () => {
    const { suite, pids } = await startSuite();
    // The process that started the fork (vitest's launcher may stand between the suite and it).
    process.kill(pids.vitest, 'SIGKILL');
    const killedAt = Date.now();
    await goneWithin([pids.redis, pids.worker, pids.fork], killedAt, VITEST_KILLED_DEADLINE_MS);
    suite.kill('SIGKILL');
    await suite;
  }, 120_000);
});
