/**
 * Scaling out through BullMQ on Redis (issue 15). A private redis-server (free port, temp dir,
 * no persistence) is started for the bench; workers run in separate node processes
 * (bench/distributed-worker.mjs, which calls `startWorker` with a bench executor).
 *
 *  a. Overhead per task: 1,000 independent instant tasks, max_parallel 64, through the local
 *     executor and through `createBullmqExecutor` (2 worker processes × concurrency 32).
 *     Reported: ms per task local and remote, the overhead per task (remote − local), the ratio;
 *     and the round trip of one task (a 20-task chain, max_parallel 1), which bounds (b).
 *  b. Makespan: 64 tasks × 200 ms (the worker's executor sleeps), max_parallel 8, on two worker
 *     processes of concurrency 4 and on one of concurrency 8; efficiency = ideal (64 × 200 / 8 =
 *     1,600 ms) / actual. Target ≥ 0.95 on two workers. The same run in-process is a reference.
 *
 * Each case has its own queue (`bench-<pid>-<case>`), and every timed run is preceded by an
 * untimed warm-up on the same workers (JIT, Redis connections); the local 1,000-task run, much
 * cheaper and noisier, is timed 5 times. The executor's connections are
 * opened (`ready()`) before the timing. A report: always exits 0.
 * Runnable alone: `npm run build && node bench/distributed.mjs`.
 * Environment: BENCH_DIST_RUNS (timed runs per remote case, median; default 2), REDIS_SERVER (the
 * redis-server binary; default `redis-server` on the PATH), BENCH_DIST_RUN_TIMEOUT_S (a run still
 * going after this is cancelled and reported with where its jobs are; default 30).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { WorkflowOrchestrator } from '../dist/index.js';
import { checkRedis, jobIdOf } from '../dist/distributed/bullmq-executor.js';
import { createBullmqExecutor } from '../dist/bullmq.js';
import { instantExecutor, sleepExecutor } from './executors.mjs';
import { chain, independent, toSpec } from './graphs.mjs';

const WORKER = fileURLToPath(new URL('./distributed-worker.mjs', import.meta.url));
const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const RUNS = Math.max(1, Number(process.env.BENCH_DIST_RUNS ?? 2));
/** A run that takes longer has lost a job: it is cancelled and reported, the bench goes on. */
const RUN_TIMEOUT_MS = Number(process.env.BENCH_DIST_RUN_TIMEOUT_S ?? 30) * 1000;

export const DISTRIBUTED = {
  overhead: { tasks: 1000, maxParallel: 64, workers: 2, concurrency: 32, warmup: 1000, chainTasks: 20 },
  makespan: { tasks: 64, sleepMs: 200, maxParallel: 8, warmup: 16 },
};
export const DISTRIBUTED_TARGET = { efficiency: 0.95 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits for a child's exit, SIGKILL after `graceMs`. */
function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Children still alive when the process exits (an error path) are killed with it. */
const children = new Set();
/** Temp dirs not removed yet, removed on exit too. */
const tempDirs = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

async function startRedis() {
  const dir = tempDir('agents-sdk-redis-bench-');
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let spawnError;
  child.on('error', (e) => (spawnError = e));
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start: ${spawnError?.message ?? `exit ${child.exitCode}`} ${stderr.trim()}`);
    }
    try {
      await checkRedis({ host: '127.0.0.1', port }, 500);
      break;
    } catch (error) {
      if (performance.now() > deadline) {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`redis-server on port ${port} did not answer within 10 s: ${error.message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await stopChild(child);
      children.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts one worker process; resolves once it printed its ready line. */
function startWorkerProcess(url, queue, concurrency, mode) {
  const child = spawn(process.execPath, [WORKER, url, queue, String(concurrency), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`worker did not get ready within 15 s: ${stderr.trim()}`)), 15_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      children.delete(child);
      reject(error);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`worker exited (${code}) before it was ready: ${stderr.trim()}`)));
    child.stdout.on('data', (d) => {
      out += d;
      if (/^ready \d+/m.test(out)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout.resume();
        resolve({
          child,
          stop: async () => {
            await stopChild(child);
            children.delete(child);
          },
        });
      }
    });
  });
}

async function startWorkers(url, queue, processes, concurrency, mode) {
  const started = await Promise.allSettled(Array.from({ length: processes }, () => startWorkerProcess(url, queue, concurrency, mode)));
  const ok = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((w) => w.stop()));
    throw failed.reason;
  }
  return { stop: () => Promise.all(ok.map((w) => w.stop())) };
}

/** The run id of the last run `timedRun` completed. */
let lastRunId;

/**
 * One timed `runWorkflow`; throws unless every task completed. With `diagnose` (remote runs),
 * a watchdog cancels the run after `RUN_TIMEOUT_MS` and throws with where its jobs were.
 */
async function timedRun(stateDir, executor, graph, maxParallel, id, diagnose) {
  const orchestrator = new WorkflowOrchestrator({ stateDir, executor, stateBackend: null });
  const started = performance.now();
  let timer;
  let run;
  let expired;
  const timeout = new Promise((resolve) => {
    if (!diagnose) return;
    timer = setTimeout(async () => {
      // Where the jobs are first (cancelling removes them), then cancel, and let the cancelled
      // attempts end before the caller closes the executor.
      const why = await Promise.resolve(diagnose()).catch((e) => `(no diagnosis: ${e?.message ?? e})`);
      expired = new Error(`${id}: not finished after ${RUN_TIMEOUT_MS / 1000} s: ${why}`);
      await orchestrator.cancel().catch(() => {});
      await Promise.race([run.catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      resolve();
    }, RUN_TIMEOUT_MS);
  });
  try {
    run = orchestrator.runWorkflow(toSpec(graph, maxParallel, id));
    run.catch(() => {}); // once timed out, its end (cancelled) is of no interest
    const result = await Promise.race([run, timeout.then(() => undefined)]);
    if (expired) throw expired;
    const ms = performance.now() - started;
    if (result.status !== 'completed') throw new Error(`${id} ended ${result.status}`);
    lastRunId = result.runId;
    return ms;
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps a remote executor to know which attempts wait; `diagnose()` says where their jobs are. */
function tracked(executor, url, queueName) {
  const waiting = new Map();
  const wrapped = async (request, hooks) => {
    const jobId = jobIdOf(request);
    waiting.set(jobId, performance.now());
    try {
      return await executor(request, hooks);
    } finally {
      waiting.delete(jobId);
    }
  };
  const diagnose = async () => {
    const queue = new Queue(queueName, { connection: { ...redisOptions(url), maxRetriesPerRequest: null } });
    queue.on('error', () => {});
    try {
      const counts = await queue.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed', 'prioritized');
      const sample = [...waiting.keys()].slice(0, 5);
      const states = await Promise.all(sample.map(async (j) => `${j}=${await queue.getJobState(j)}`));
      return `${waiting.size} attempts waiting (${states.join(', ')}); queue ${JSON.stringify(counts)}`;
    } finally {
      await queue.close().catch(() => {});
    }
  };
  return { executor: wrapped, diagnose };
}

const redisOptions = (url) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/**
 * A remote case: workers (separate processes) on a fresh queue, an executor, one warm-up run,
 * then `RUNS` timed runs; the median wall time.
 */
async function remoteCase({ url, stateDir, queue, processes, concurrency, mode, graph, warmupGraph, maxParallel, also }) {
  const workers = await startWorkers(url, queue, processes, concurrency, mode);
  const remote = createBullmqExecutor({ connection: url, queue });
  const { executor, diagnose } = tracked(remote, url, queue);
  try {
    await remote.ready();
    await timedRun(stateDir, executor, warmupGraph, maxParallel, `${queue}-warmup`, diagnose);
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(await timedRun(stateDir, executor, graph, maxParallel, `${queue}-${i}`, diagnose));
    const timeline = await jobTimeline(url, queue, lastRunId, maxParallel).catch(() => undefined);
    return { ms: median(times), times, timeline, also: also ? await also(executor, diagnose) : undefined };
  } finally {
    await remote.close();
    await workers.stop();
  }
}

async function localCase({ stateDir, executor, graph, warmupGraph, maxParallel, id, runs = RUNS }) {
  await timedRun(stateDir, executor, warmupGraph, maxParallel, `${id}-warmup`);
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await timedRun(stateDir, executor, graph, maxParallel, `${id}-${i}`));
  return { ms: median(times), times };
}

/** Round trip of one task: a chain (max_parallel 1) of instant tasks, median ms per task. */
async function chainLatency(stateDir, executor, id, diagnose) {
  const { chainTasks } = DISTRIBUTED.overhead;
  const times = [];
  for (let i = 0; i < Math.max(3, RUNS); i++) times.push((await timedRun(stateDir, executor, chain(chainTasks), 1, `${id}-chain-${i}`, diagnose)) / chainTasks);
  return median(times);
}

/**
 * Where a remote run's time went, from BullMQ's own job timestamps (ms, one clock: all processes
 * on this machine): `pickup` = started − added (queue to worker), `run` = finished − started
 * (the executor, timer lateness included), `turnaround` = the (k + slots)-th add − the k-th
 * finish (the completion event reaching the orchestrator, its bookkeeping, the next add).
 */
async function jobTimeline(url, queueName, runId, slots) {
  const queue = new Queue(queueName, { connection: { ...redisOptions(url), maxRetriesPerRequest: null } });
  queue.on('error', () => {});
  try {
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.id?.startsWith(`${runId}:`));
    if (jobs.length <= slots) return undefined;
    const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const added = jobs.map((j) => j.timestamp).sort((a, b) => a - b);
    const finished = jobs.map((j) => j.finishedOn).sort((a, b) => a - b);
    return {
      pickup: avg(jobs.map((j) => j.processedOn - j.timestamp)),
      run: avg(jobs.map((j) => j.finishedOn - j.processedOn)),
      turnaround: avg(added.slice(slots).map((a, i) => a - finished[i])),
    };
  } finally {
    await queue.close().catch(() => {});
  }
}

/** A remote case's figures, or `{ error }` (its message): one lost job does not end the bench. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (error) {
    return { ms: NaN, times: [], also: NaN, error: error?.message ?? String(error) };
  }
}

/** Runs both measurements; `{ skipped }` when redis-server is not installed. */
export async function distributedBench() {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { skipped: `${REDIS_SERVER} not found (install redis-server or set REDIS_SERVER)` };
  const redisVersion = /v=(\S+)/.exec(probe.stdout)?.[1] ?? '?';
  const stateDir = tempDir('agents-sdk-distributed-bench-');
  // An unhandled rejection (BullMQ's Job.waitUntilFinished used to leave one when the executor
  // closed during its check; the executor no longer uses it) would end the process: counted and
  // reported instead, so a regression shows in the table.
  const stray = [];
  const onUnhandled = (error) => {
    stray.push(error?.message ?? String(error));
  };
  process.on('unhandledRejection', onUnhandled);
  let redis;
  try {
    redis = await startRedis();
  } catch (error) {
    process.off('unhandledRejection', onUnhandled);
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const q = (name) => `bench-${process.pid}-${name}`;
  try {
    const o = DISTRIBUTED.overhead;
    const graph = independent(o.tasks);
    const warmupGraph = independent(o.warmup);
    const local = await localCase({ stateDir, executor: instantExecutor, graph, warmupGraph, maxParallel: o.maxParallel, id: 'local-overhead', runs: Math.max(5, RUNS) });
    const localLatency = await chainLatency(stateDir, instantExecutor, 'local');
    const remote = await attempt(() => remoteCase({
      url: redis.url,
      stateDir,
      queue: q('overhead'),
      processes: o.workers,
      concurrency: o.concurrency,
      mode: 'instant',
      graph,
      warmupGraph,
      maxParallel: o.maxParallel,
      also: (executor, diagnose) => chainLatency(stateDir, executor, q('overhead'), diagnose),
    }));
    const overhead = { ...o, localMs: local.ms, remoteMs: remote.ms, localTimes: local.times, remoteTimes: remote.times, localLatency, remoteLatency: remote.also, error: remote.error };

    const m = DISTRIBUTED.makespan;
    const idealMs = (m.tasks * m.sleepMs) / m.maxParallel;
    const mGraph = independent(m.tasks);
    const mWarmup = independent(m.warmup);
    const rows = [];
    const layouts = [
      { name: 'two workers × concurrency 4', processes: 2, concurrency: 4, judged: true },
      { name: 'one worker × concurrency 8', processes: 1, concurrency: 8, judged: false },
    ];
    for (const [i, l] of layouts.entries()) {
      const r = await attempt(() => remoteCase({
        url: redis.url,
        stateDir,
        queue: q(`makespan-${i}`),
        processes: l.processes,
        concurrency: l.concurrency,
        mode: `sleep:${m.sleepMs}`,
        graph: mGraph,
        warmupGraph: mWarmup,
        maxParallel: m.maxParallel,
      }));
      rows.push({ ...l, ms: r.ms, times: r.times, timeline: r.timeline, efficiency: idealMs / r.ms, error: r.error });
    }
    const inProcess = await localCase({ stateDir, executor: sleepExecutor(m.sleepMs), graph: mGraph, warmupGraph: mWarmup, maxParallel: m.maxParallel, id: 'local-makespan' });
    rows.push({ name: 'in-process (local executor, reference)', processes: 0, concurrency: m.maxParallel, judged: false, ms: inProcess.ms, times: inProcess.times, efficiency: idealMs / inProcess.ms });
    return { redisVersion, runs: RUNS, overhead, makespan: { ...m, idealMs, rows }, stray };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await redis.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Prints both tables; returns the verdicts (efficiency of two workers ≥ 0.95). */
export function printDistributedTable(result) {
  console.log('\n## Scaling out through BullMQ on Redis (bench/distributed.mjs)\n');
  if (result.skipped) {
    console.log(`Skipped: ${result.skipped}.`);
    return [];
  }
  const { overhead: o, makespan: m } = result;
  const perTask = (ms) => ms / o.tasks;
  const local = perTask(o.localMs);
  const remote = perTask(o.remoteMs);
  const times = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  console.log(
    `redis-server ${result.redisVersion} on 127.0.0.1 (no persistence), workers in separate node processes (bench/distributed-worker.mjs), ` +
      `median of ${result.runs} timed runs after a warm-up; \`stateBackend: null\`.\n`,
  );
  console.log(`### Overhead per task (${o.tasks.toLocaleString('en-US')} independent instant tasks, max_parallel ${o.maxParallel}; remote: ${o.workers} workers × concurrency ${o.concurrency})\n`);
  console.log(
    table(
      ['executor', 'run ms (runs)', 'ms/task', 'overhead ms/task (remote − local)', 'remote / local'],
      [
        ['local (in-process)', `${o.localMs.toFixed(0)} (${times(o.localTimes)})`, local.toFixed(3), '–', '1.0×'],
        ['BullMQ (createBullmqExecutor)', o.error ? 'ERROR' : `${o.remoteMs.toFixed(0)} (${times(o.remoteTimes)})`, f(remote, 3), f(remote - local, 3), o.error ? 'n/a' : `${f(remote / local, 1)}×`],
      ],
    ),
  );
  if (o.error) console.log(`\nBullMQ case: ERROR ${o.error}`);
  else console.log(
    `\nRound trip of one task (a ${o.chainTasks}-task chain of instant tasks, max_parallel 1): local ${o.localLatency.toFixed(2)} ms, BullMQ ${o.remoteLatency.toFixed(2)} ms ` +
      `(${(o.remoteLatency - o.localLatency).toFixed(2)} ms more). A slot of the makespan case below pays it once per task: ` +
      `efficiency ≤ ${m.sleepMs} / (${m.sleepMs} + round trip) ≈ ${(m.sleepMs / (m.sleepMs + o.remoteLatency)).toFixed(3)} at this round trip ` +
      `(with ${m.maxParallel} tasks in flight, the hops between orchestrator, Redis and workers also wait for each other and for the CPUs).`,
  );
  console.log(`\n### Makespan (${m.tasks} tasks × ${m.sleepMs} ms, max_parallel ${m.maxParallel}; ideal ${m.tasks} × ${m.sleepMs} / ${m.maxParallel} = ${m.idealMs.toFixed(0)} ms)\n`);
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  console.log(
    table(
      ['layout', 'makespan ms (runs)', 'delay per task ms', 'efficiency (ideal / actual)', `target ≥ ${DISTRIBUTED_TARGET.efficiency}`],
      m.rows.map((r) => [
        r.name,
        r.error ? 'ERROR' : `${r.ms.toFixed(0)} (${times(r.times)})`,
        f((r.ms - m.idealMs) / (m.tasks / m.maxParallel), 1),
        f(r.efficiency, 3),
        r.error ? 'ERROR' : r.judged ? verdict(r.efficiency >= DISTRIBUTED_TARGET.efficiency) : '–',
      ]),
    ),
  );
  console.log(`\n"delay per task": (makespan − ideal) / ${m.tasks / m.maxParallel} (the tasks one slot runs), what each task costs beyond its ${m.sleepMs} ms.`);
  for (const r of m.rows.filter((x) => x.timeline)) {
    const t = r.timeline;
    console.log(
      `\n${r.name}, from BullMQ's job timestamps (last run, mean per task): queue → worker ${t.pickup.toFixed(1)} ms, ` +
        `executor ${t.run.toFixed(1)} ms (${(t.run - m.sleepMs).toFixed(1)} ms of timer lateness), finish → next add ${t.turnaround.toFixed(1)} ms ` +
        `(completion event to the orchestrator, its bookkeeping, queue.add).`,
    );
  }
  for (const r of m.rows.filter((x) => x.error)) console.log(`\n${r.name}: ERROR ${r.error}`);
  if (result.stray?.length) {
    const kinds = [...new Set(result.stray)].map((k) => `"${k}" × ${result.stray.filter((x) => x === k).length}`);
    console.log(`\nUnhandled rejections during the bench (caught by it): ${kinds.join(', ')}.`);
  }
  const verdicts = [];
  for (const r of m.rows.filter((x) => x.judged)) {
    const ok = r.efficiency >= DISTRIBUTED_TARGET.efficiency;
    if (r.error) {
      verdicts.push(false);
      continue;
    }
    console.log(`\n${r.name}: efficiency ${r.efficiency.toFixed(3)} (target ≥ ${DISTRIBUTED_TARGET.efficiency}): ${verdict(ok)}.`);
    verdicts.push(ok);
  }
  return verdicts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Interrupted: exit through 'exit', which kills redis-server and the workers.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  try {
    printDistributedTable(await distributedBench());
  } catch (error) {
    console.log(`distributed bench failed: ${error?.stack ?? error}`);
  }
  process.exit(0);
}
