/**
 * The worker side of remote execution: takes attempts from a BullMQ queue and runs them
 * with an executor (default: {@link defaultExecutor}), publishing progress and returning a
 * {@link JobOutcome}.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { defaultExecutor, type ExecutionRequest, type Executor } from '../actors/executor.js';
import { PermanentError, serializeError } from '../errors.js';
import {
  DEFAULT_QUEUE,
  JOB_PAYLOAD_VERSION,
  cancelChannel,
  checkRedis,
  redisOptionsFromUrl,
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
  /** This worker's tags (routing by tag is not done yet: recorded only). */
  tags?: string[];
  executor?: Executor;
  /** Called when an attempt starts and ends (for the CLI's log lines). */
  onJob?: (event: { type: 'started' | 'finished'; jobId: string; ok?: boolean }) => void;
}

/** A running worker. */
export interface RunningWorker {
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

/** Runs one job's payload; never throws. */
export async function runJobPayload(
  payload: unknown,
  executor: Executor,
  cwd: string,
  signal: AbortSignal,
  progress: (p: JobProgress) => Promise<void>,
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
  let seq = 0;
  let chain = Promise.resolve();
  try {
    const result = await executor(request, {
      signal,
      onEvent: (event) => {
        const p = { seq: seq++, event };
        chain = chain.then(() => progress(p)).catch(() => {});
      },
    });
    await chain;
    return { ok: true, result };
  } catch (error) {
    await chain;
    return { ok: false, error: serializeError(error) };
  }
}

/** Starts a worker; rejects with `BACKEND_UNAVAILABLE` when Redis does not answer. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const base = typeof options.connection === 'string' ? redisOptionsFromUrl(options.connection) : options.connection;
  await checkRedis(base);
  const name = options.queue ?? DEFAULT_QUEUE;
  const executor = options.executor ?? defaultExecutor;
  const cwd = resolve(options.cwd ?? process.cwd());
  const running = new Map<string, AbortController>();

  const subscriber = new Redis({ ...base, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  await subscriber.subscribe(cancelChannel(name));
  subscriber.on('message', (_channel: string, jobId: string) => running.get(jobId)?.abort());

  const worker = new Worker(
    name,
    async (job: Job) => {
      const jobId = job.id ?? '';
      const controller = new AbortController();
      running.set(jobId, controller);
      options.onJob?.({ type: 'started', jobId });
      try {
        const outcome = await runJobPayload(job.data, executor, cwd, controller.signal, (p) =>
          job.updateProgress(p as unknown as object),
        );
        options.onJob?.({ type: 'finished', jobId, ok: outcome.ok });
        return outcome;
      } finally {
        running.delete(jobId);
      }
    },
    { connection: { ...base, maxRetriesPerRequest: null }, concurrency: options.concurrency ?? 1 },
  );
  worker.on('error', () => {});
  await worker.waitUntilReady();

  return {
    close: async () => {
      await worker.close();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
