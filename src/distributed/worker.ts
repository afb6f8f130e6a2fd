/**
 * The worker side of remote execution: takes attempts from a BullMQ queue and runs them
 * with an executor (default: {@link defaultExecutor}), publishing progress and returning a
 * {@link JobOutcome}.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DelayedError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { rawOutputFile } from '../actors/claude-code-runner.js';
import { defaultExecutor, type ExecutionRequest, type Executor } from '../actors/executor.js';
import { PermanentError, ValidationError, serializeError } from '../errors.js';
import { MAX_RUNS_ON_TAGS, WORKER_TAG } from '../workflow/spec.js';
import { createWorkspaceExecutor } from '../workspace/workspace-executor.js';
import {
  ATTEMPT_FILES_TTL_S,
  DEFAULT_QUEUE,
  JOB_PAYLOAD_VERSION,
  attemptFilesKey,
  cancelChannel,
  cancelledKey,
  checkRedis,
  queueNameFor,
  redisOptionsFromUrl,
  type AttemptFiles,
  type JobOutcome,
  type JobPayload,
  type JobProgress,
} from './bullmq-executor.js';

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  connection: string | RedisOptions;
  queue?: string;
  /** Attempts run at once; default 1. */
  concurrency?: number;
  /** Working directory of attempts that name none, and base of relative ones (default: the process's). */
  cwd?: string;
  /**
   * This worker's tags: besides untagged attempts it takes those of tasks whose `runs_on` names
   * only tags it has (at most 4 tags).
   */
  tags?: string[];
  /**
   * How long a job stays locked without the worker renewing it (default 30 s). A worker killed
   * mid-attempt is noticed by the others within about twice this: the attempt fails with
   * `WORKER_LOST` and the task's retry policy decides.
   */
  lockDurationMs?: number;
  executor?: Executor;
  /** Called when an attempt starts and ends (for the CLI's log lines). */
  onJob?: (event: { type: 'started' | 'finished' | 'handed-back'; jobId: string; ok?: boolean }) => void;
}

/** A running worker. */
export interface RunningWorker {
  /** The queues it takes attempts from. */
  queues: string[];
  /** Attempts running now. */
  running(): number;
  /**
   * Hands the running attempts back: their process trees are killed and their jobs go back to
   * the queue, for another worker (the same attempt, from its start). Then `close()` ends at once.
   */
  handBack(): void;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
  /** Its Redis, `host:port`, for messages. */
  redis: string;
  /** Whether its Redis answers (a PING) within `timeoutMs` (default 1000 ms). */
  reachable(timeoutMs?: number): Promise<boolean>;
  /**
   * Stops at once, for when Redis cannot be reached: the running attempts are ended (their
   * process trees killed) and nothing is handed back (nothing could reach the queue: their jobs
   * fail as `WORKER_LOST` once their locks expire); the connections are dropped, not closed.
   * Resolves within about 2 s, with how many attempts were running.
   */
  abandon(): Promise<number>;
}

/** Runs one job's payload; never throws. */
export async function runJobPayload(
  payload: unknown,
  executor: Executor,
  cwd: string,
  signal: AbortSignal,
  progress: (p: JobProgress) => Promise<void>,
  keepFiles?: (files: AttemptFiles) => Promise<string>,
): Promise<JobOutcome> {
  const version = (payload as Partial<JobPayload> | null)?.version;
  if (version !== JOB_PAYLOAD_VERSION) {
    const error = new PermanentError(
      'UNSUPPORTED_SCHEMA',
      `job payload version ${String(version)} is not supported by this worker (it runs version ${JOB_PAYLOAD_VERSION}): run workers and orchestrator from the same agents-sdk release`,
    );
    return { ok: false, error: error.toJSON() };
  }
  const request = { ...(payload as JobPayload).request } as ExecutionRequest;
  request.cwd = request.cwd === undefined ? cwd : isAbsolute(request.cwd) ? request.cwd : resolve(cwd, request.cwd);
  if (request.stateDir !== undefined && !isAbsolute(request.stateDir)) request.stateDir = resolve(cwd, request.stateDir);
  // The orchestrator's process registry lists pids of its own machine: not ours.
  delete request.processRegistry;
  // An agent's raw stream (a command's whole stdout, when it outgrew the result) is written
  // here, then handed to the orchestrator, whose state dir it belongs in.
  const scratch = keepFiles && request.runId ? mkdtempSync(join(tmpdir(), 'agents-sdk-attempt-')) : undefined;
  if (scratch !== undefined) request.stateDir = scratch;
  let seq = 0;
  let chain = Promise.resolve();
  let outcome: JobOutcome;
  const tail = scratch === undefined ? undefined : tailRawStream(request, (p) => (chain = chain.then(() => progress(p)).catch(() => {})));
  try {
    const result = await executor(request, {
      signal,
      onEvent: (event) => {
        const p = { seq: seq++, event };
        chain = chain.then(() => progress(p)).catch(() => {});
      },
    });
    outcome = { ok: true, result };
  } catch (error) {
    outcome = { ok: false, error: serializeError(error) };
  }
  tail?.stop();
  await chain;
  if (scratch !== undefined) {
    try {
      const files = attemptFilesOf(request, outcome);
      if (files) outcome.files = await keepFiles!(files);
    } catch {
      // The result matters more than its transcript: it goes back without it.
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return outcome;
}

/** How often a running attempt's new raw lines are sent to the orchestrator. */
const RAW_TAIL_MS = 250;

/**
 * Sends the complete lines added to a running attempt's raw stream every {@link RAW_TAIL_MS}
 * (a line split by a read waits for the next one, so no character is cut).
 */
function tailRawStream(request: ExecutionRequest, send: (p: JobProgress) => void): { stop(): void } {
  const file = request.kind === 'claude' ? rawOutputFile(request) : null;
  let offset = 0;
  let rawSeq = 0;
  const read = (): void => {
    if (file === null) return;
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const size = fstatSync(fd).size;
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      const end = buffer.lastIndexOf(0x0a, n - 1) + 1;
      if (end === 0) return;
      offset += end;
      send({ rawSeq: rawSeq++, raw: buffer.toString('utf8', 0, end) });
    } catch {
      // Not created yet.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
  const timer = setInterval(read, RAW_TAIL_MS);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}

/** The raw stream (and result file) an agent attempt left under its state dir, or the whole stdout of a command that outgrew its result, if any. */
function attemptFilesOf(request: ExecutionRequest, outcome: JobOutcome): AttemptFiles | undefined {
  if (request.kind === 'command') {
    const file = (outcome.ok ? outcome.result : outcome.error.result)?.outputFile;
    return file !== undefined && existsSync(file) ? { stream: readFileSync(file, 'utf8') } : undefined;
  }
  const file = rawOutputFile(request);
  if (file === null || !existsSync(file)) return undefined;
  const files: AttemptFiles = { stream: readFileSync(file, 'utf8') };
  const resultFile = file.replace(/\.jsonl$/, '') + '.json';
  if (existsSync(resultFile)) files.result = readFileSync(resultFile, 'utf8');
  return files;
}

/** How long {@link RunningWorker.abandon} gives BullMQ to close without Redis. */
const ABANDON_CLOSE_MS = 1_500;

/** How long a job a tagged worker fetched past its bound waits for a slot before it goes back. */
const HOLD_MS = 500;

/** Every queue a worker with these tags serves: the base queue and one per non-empty set of its tags. */
export function queuesServed(queue: string, tags: readonly string[]): string[] {
  const unique = [...new Set(tags)].sort();
  const names = [queue];
  for (let mask = 1; mask < 1 << unique.length; mask++) {
    names.push(queueNameFor(queue, unique.filter((_, i) => mask & (1 << i))));
  }
  return names;
}

/** Starts a worker; rejects with `BACKEND_UNAVAILABLE` when Redis does not answer. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const tags = options.tags ?? [];
  for (const tag of tags) if (!WORKER_TAG.test(tag)) throw new ValidationError(`--tag "${tag}": must be letters, digits, _ . - (e.g. gpu)`);
  if (new Set(tags).size > MAX_RUNS_ON_TAGS) throw new ValidationError(`a worker takes at most ${MAX_RUNS_ON_TAGS} tags, got ${tags.length}`);
  const base = typeof options.connection === 'string' ? redisOptionsFromUrl(options.connection) : options.connection;
  await checkRedis(base);
  const name = options.queue ?? DEFAULT_QUEUE;
  const cwd = resolve(options.cwd ?? process.cwd());
  // Worktree tasks with a `remote`: made in this worker's clone (its cwd), under the system's temp dir.
  const worktreesDir = join(tmpdir(), 'agents-sdk-worktrees', createHash('sha256').update(cwd).digest('hex').slice(0, 12));
  const executor = createWorkspaceExecutor(options.executor ?? defaultExecutor, { clone: { root: cwd, worktreesDir } });
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const lockDuration = Math.max(500, options.lockDurationMs ?? 30_000);
  const running = new Map<string, AbortController>();
  // The attempts running, against `concurrency`: a freed slot goes to the job waiting longest.
  let busy = 0;
  const waiters: Array<(got: boolean) => void> = [];
  const slots = {
    /** Takes a slot if one frees within `ms`. */
    wait: (ms: number): Promise<boolean> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(take), 1);
          resolve(false);
        }, ms);
        const take = (got: boolean): void => {
          clearTimeout(timer);
          resolve(got);
        };
        waiters.push(take);
      }),
    release: (): void => {
      // Handed over: busy stays the same.
      const next = waiters.shift();
      if (next) next(true);
      else busy--;
    },
  };

  const subscriber = new Redis({ ...base, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  await subscriber.subscribe(cancelChannel(name));
  // A run's cancel (its job is then finished as cancelled), not a hand-back.
  const cancelled = new Set<string>();
  let handingBack = false;
  subscriber.on('message', (_channel: string, jobId: string) => {
    const controller = running.get(jobId);
    if (!controller) return;
    cancelled.add(jobId);
    controller.abort();
  });
  const commands = new Redis({ ...base, maxRetriesPerRequest: 3 });
  commands.on('error', () => {});

  const queues = queuesServed(name, tags);
  const processJob = async (job: Job, token?: string): Promise<JobOutcome> => {
    // Several queues (a tagged worker) share one bound. Past it, a job waits here a moment for a
    // slot (the next one that frees is its), then goes back for another worker: put back at once,
    // BullMQ would fetch the next one straight away and cycle through the whole backlog.
    if (busy < concurrency) busy++;
    else if (!(await slots.wait(HOLD_MS))) {
      await job.moveToDelayed(Date.now() + 200, token);
      throw new DelayedError();
    }
    const jobId = job.id ?? '';
    const controller = new AbortController();
    running.set(jobId, controller);
    try {
      // Cancelled as this worker took it (before it listened for the cancel of this job): looked
      // up beside the start, not before it (a round trip less per attempt), and ended at once.
      void commands.exists(cancelledKey(name, jobId)).then(
        (n) => {
          if (n && running.get(jobId) === controller) {
            cancelled.add(jobId);
            controller.abort();
          }
        },
        () => {},
      );
      options.onJob?.({ type: 'started', jobId });
      const outcome = await runJobPayload(
        job.data,
        executor,
        cwd,
        controller.signal,
        // The token tells this pickup's events from another's (a handed-back job's next worker starts at 0).
        (p) => job.updateProgress({ ...p, epoch: token } as unknown as object),
        async (files) => {
          const key = attemptFilesKey(name, jobId);
          await commands.set(key, JSON.stringify(files), 'EX', ATTEMPT_FILES_TTL_S);
          return key;
        },
      );
      if (handingBack && controller.signal.aborted && !cancelled.has(jobId)) {
        await job.moveToWait(token);
        options.onJob?.({ type: 'handed-back', jobId });
        throw new WaitingError();
      }
      options.onJob?.({ type: 'finished', jobId, ok: outcome.ok });
      return outcome;
    } finally {
      slots.release();
      running.delete(jobId);
      cancelled.delete(jobId);
    }
  };
  const workers = queues.map(
    (queueName) =>
      new Worker(queueName, processJob, {
        connection: { ...base, maxRetriesPerRequest: null },
        concurrency,
        lockDuration,
        stalledInterval: lockDuration,
        // A stalled attempt (its worker died) is a failed attempt: the task's retry policy decides, not BullMQ.
        maxStalledCount: 0,
      }),
  );
  for (const worker of workers) worker.on('error', () => {});
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    queues,
    running: () => running.size,
    handBack: () => {
      handingBack = true;
      for (const controller of running.values()) controller.abort();
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.allSettled([subscriber.quit(), commands.quit()]);
    },
    redis: `${base.host ?? '127.0.0.1'}:${base.port ?? 6379}`,
    reachable: (timeoutMs = 1_000) => checkRedis(base, timeoutMs).then(
      () => true,
      () => false,
    ),
    abandon: async () => {
      const ended = running.size;
      for (const controller of running.values()) controller.abort();
      // Commands waiting for Redis fail now instead of waiting for it forever.
      subscriber.disconnect();
      commands.disconnect();
      for (const worker of workers) {
        const connections = worker as unknown as { connection?: { disconnect(wait?: boolean): Promise<void> }; blockingConnection?: { disconnect(wait?: boolean): Promise<void> } };
        void connections.connection?.disconnect(false).catch(() => {});
        void connections.blockingConnection?.disconnect(false).catch(() => {});
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(workers.map((w) => w.close(true))),
        new Promise((resolve) => {
          timer = setTimeout(resolve, ABANDON_CLOSE_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      return ended;
    },
  };
}
