/**
 * Distributed tests: a redis-server of their own and `agents-sdk worker` processes.
 * A missing redis-server fails the tests that use it; they never skip.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { checkRedis } from '../../src/distributed/bullmq-executor.js';
import { CLI_BIN } from './cli.js';
import { fakeWorld, type FakeWorld } from './fake-claude.js';
import { diesWithSuite } from './suite-processes.js';

/** A TCP port nothing listens on (at the time of asking). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A running redis-server. */
export interface TestRedis {
  url: string;
  /** The redis-server's pid. */
  pid: number;
  stop(): Promise<void>;
}

/** Debian's redis-server on a free port with a temporary directory, no persistence. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-redis-'));
  const child = diesWithSuite(
    execa('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
      reject: false,
      stdio: 'ignore',
      detached: true,
    }),
  );
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${String(child.exitCode)}): is it installed?`);
    try {
      await checkRedis({ host: '127.0.0.1', port }, 500);
      break;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An `agents-sdk worker` process. */
export interface WorkerProcess {
  child: ResultPromise;
  marker: string;
  /** What it has written to stderr so far. */
  output(): string;
  /** Waits (up to `timeoutMs`) until its stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the built CLI's `worker` (its fake `claude` calls carry `FAKE_MARKER=<marker>`);
 * resolves once it takes jobs.
 */
export async function startWorkerProcess(
  url: string,
  queue: string,
  world: FakeWorld,
  marker: string,
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  const child = diesWithSuite(
    execa(process.execPath, [CLI_BIN, 'worker', '--redis', url, '--queue', queue, '--cwd', world.root, ...(options.args ?? ['--concurrency', '1'])], {
      reject: false,
      env: { ...world.env, ...options.env, FAKE_MARKER: marker },
      stdin: 'ignore',
      detached: true,
    }),
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`worker ${marker} exited (${String(child.exitCode)}) before ${String(pattern)}: ${output}`);
      if (Date.now() > until) throw new Error(`worker ${marker}: no ${String(pattern)} within ${timeoutMs} ms: ${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await waitFor(/taking attempts/);
  return {
    child,
    marker,
    output: () => output,
    waitFor,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

/** Waits (polling every 25 ms) until `check` holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pids of the processes whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The agent calls of a fake world (its log's invocation lines), with the worker each ran on. */
export function agentCalls(world: FakeWorld): Array<{ pid: number; prompt: string; marker: string | undefined; time: number }> {
  return world
    .invocations()
    .filter((c) => typeof c.prompt === 'string')
    .map((c) => ({ pid: c.pid as number, prompt: c.prompt as string, marker: (c.env as { FAKE_MARKER?: string } | undefined)?.FAKE_MARKER, time: c.time as number }));
}

/** What {@link useRedisWorkers} sets up: filled in before the file's first test. */
export interface RedisWorkers {
  redis: TestRedis;
  world: FakeWorld;
  queue: string;
  /** The live workers (a test that kills one takes it out). */
  workers: WorkerProcess[];
  /** Starts one more worker on the queue (stopped after the file's tests). */
  addWorker(marker: string, options?: { args?: string[]; env?: Record<string, string> }): Promise<WorkerProcess>;
}

/**
 * A file's distributed set-up: a redis-server, a fake world and these worker processes (started
 * at once), all stopped after the file's tests.
 */
export function useRedisWorkers(queue: string, specs: Array<{ marker: string; args?: string[]; env?: Record<string, string> }>): RedisWorkers {
  const setup = { queue, workers: [] as WorkerProcess[] } as unknown as RedisWorkers;
  setup.addWorker = async (marker, options = {}) => {
    const worker = await startWorkerProcess(setup.redis.url, queue, setup.world, marker, options);
    setup.workers.push(worker);
    return worker;
  };
  beforeAll(async () => {
    setup.redis = await startRedis();
    setup.world = fakeWorld();
    await Promise.all(specs.map(({ marker, ...options }) => setup.addWorker(marker, options)));
    // In the order given, whichever started first.
    setup.workers.sort((a, b) => specs.findIndex((s) => s.marker === a.marker) - specs.findIndex((s) => s.marker === b.marker));
  }, 40_000);
  afterAll(async () => {
    await Promise.all(setup.workers.map((w) => w.stop()));
    await setup.redis?.stop();
    setup.world?.cleanup();
  }, 30_000);
  return setup;
}
