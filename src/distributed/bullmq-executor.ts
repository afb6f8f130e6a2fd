/**
 * Remote execution through BullMQ on Redis: {@link createBullmqExecutor} turns each attempt
 * into one job (id `<runId>:<taskId>:<attempt>`), which a worker (`agents-sdk worker`, see
 * ./worker.ts) runs with the default executor, streaming progress back through
 * `job.updateProgress` and returning the result or the serialized typed error.
 *
 * @module
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Queue, QueueEvents, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { ClaudeProgressEvent } from '../claude/stream-json.js';
import type { ExecutionRequest, Executor } from '../actors/executor.js';
import { DEFAULT_STATE_DIR, DEFAULT_TIMEOUT_MS, rawOutputFile } from '../actors/claude-code-runner.js';
import { AgentsSdkError, CancelledError, PermanentError, TransientError, deserializeError, type SerializedError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';

/** Version of the job payload; a worker refuses another one. */
export const JOB_PAYLOAD_VERSION = 1;
/** The queue name when none is given. */
export const DEFAULT_QUEUE = 'agents-sdk';

/** What a job carries. */
export interface JobPayload {
  version: number;
  request: ExecutionRequest;
}

/**
 * What a worker returns: never a thrown error, so that the code and `transient` flag survive.
 * `files`: the Redis key under which the worker left the attempt's raw stream (see {@link AttemptFiles}).
 */
export type JobOutcome = ({ ok: true; result: ExecutionResult } | { ok: false; error: SerializedError }) & { files?: string };

/** An agent attempt's raw stream (`raw_output[.attempt-<n>].jsonl`) and its result file (`.json`), as text. */
export interface AttemptFiles {
  stream: string;
  result?: string;
}

/** Where a worker leaves an attempt's files for the orchestrator (a day at most). */
export function attemptFilesKey(queue: string, jobId: string): string {
  return `agents-sdk:${queue}:files:${jobId}`;
}

/** How long an attempt's files wait in Redis for the orchestrator to take them: a day. */
export const ATTEMPT_FILES_TTL_S = 24 * 3600;

/**
 * The queue an attempt goes to: `<queue>` for a task without `runs_on`, `<queue>@<tags>` (sorted,
 * joined with `+`) otherwise. A worker serves its base queue and one per non-empty set of its tags.
 */
export function queueNameFor(queue: string, tags?: readonly string[]): string {
  if (tags === undefined || tags.length === 0) return queue;
  return `${queue}@${[...new Set(tags)].sort().join('+')}`;
}

/**
 * One progress update: a typed event (`seq` orders them), or new complete lines of the
 * attempt's raw stream (`rawSeq` orders them), which the orchestrator appends to its copy so
 * that `logs --follow` shows a remote attempt as it runs.
 */
export type JobProgress = { seq: number; event: ClaudeProgressEvent } | { rawSeq: number; raw: string };

/** Connection options from `redis://[user:password@]host:port[/db]`. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PermanentError('INVALID_ARGUMENTS', `--redis must be a URL like redis://host:6379, got "${url}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new PermanentError('INVALID_ARGUMENTS', `--redis must be a redis:// URL, got "${url}"`);
  }
  const options: RedisOptions = { host: parsed.hostname || '127.0.0.1', port: parsed.port ? Number(parsed.port) : 6379 };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db) options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}

/**
 * Checks that Redis answers PING within `timeoutMs`; throws `BACKEND_UNAVAILABLE` (exit 2
 * in the CLI) otherwise, instead of letting BullMQ retry forever.
 */
export async function checkRedis(options: RedisOptions, timeoutMs = 3000): Promise<void> {
  const where = `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
  const client = new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw new PermanentError('BACKEND_UNAVAILABLE', `Redis at ${where} is unreachable: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** The channel on which cancels of a queue's jobs are published (the job id is the message). */
export function cancelChannel(queue: string): string {
  return `agents-sdk:${queue}:cancel`;
}

/** `:` separates the id's three parts (BullMQ allows exactly three): escaped within a part. */
function idPart(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The deterministic job id of an attempt: `<runId>:<taskId>:<attempt>`. */
export function jobIdOf(request: ExecutionRequest): string {
  const taskId = request.kind === 'claude' ? request.agentName : request.taskId;
  return `${idPart(request.runId ?? 'run')}:${idPart(taskId ?? 'task')}:${request.attempt ?? 1}`;
}

/** Options of {@link createBullmqExecutor}. */
export interface BullmqExecutorOptions {
  /** `redis://host:port` or ioredis options. */
  connection: string | RedisOptions;
  /** The queue name; default `agents-sdk`. */
  queue?: string;
  /**
   * How long an attempt waits untaken before the run says so (a `queued` progress event, shown
   * in the live view), and how often it says it again later; default 5 s. Untaken for the task's
   * `timeout` (default 30 min), the attempt fails with `NO_WORKER`.
   */
  queuedNoticeMs?: number;
}

/** An executor that runs attempts on workers; `close()` ends its Redis connections. */
export type BullmqExecutor = Executor & {
  /** Checks Redis (PING) and opens the queue; called by the first execution otherwise. */
  ready(): Promise<void>;
  close(): Promise<void>;
};

/**
 * The remote executor: one job per attempt; adding a job whose id exists returns the
 * existing job, which is how a resumed run re-attaches to it. An attempt cut short by the
 * orchestrator's death ({@link ExecutionRequest.interruptedAttempt}) is re-attached to as well:
 * its job's result is taken, or waited for, instead of running the attempt again.
 */
export function createBullmqExecutor(options: BullmqExecutorOptions): BullmqExecutor {
  const base = typeof options.connection === 'string' ? redisOptionsFromUrl(options.connection) : options.connection;
  const name = options.queue ?? DEFAULT_QUEUE;
  const noticeMs = Math.max(10, options.queuedNoticeMs ?? 5000);
  const connection: ConnectionOptions = { ...base, maxRetriesPerRequest: null };
  let opened: Promise<{ publisher: Redis }> | undefined;
  const queues = new Map<string, Promise<{ queue: Queue; events: QueueEvents }>>();
  const listeners = new Map<string, { progress(p: JobProgress): void; completed(outcome: JobOutcome): void; failed(reason: string): void }>();

  const open = () =>
    (opened ??= (async () => {
      await checkRedis(base);
      const publisher = new Redis({ ...base, maxRetriesPerRequest: 1 });
      publisher.on('error', () => {});
      return { publisher };
    })());

  const queueOf = (queueName: string) => {
    let entry = queues.get(queueName);
    if (!entry) {
      entry = (async () => {
        const queue = new Queue(queueName, { connection });
        queue.on('error', () => {});
        await queue.waitUntilReady();
        // QueueEvents reads from `$` by default, and its first read goes out some time after it
        // is "ready": an event in between would be lost. Reading from the stream's last entry
        // as of now, nothing that follows our jobs' creation can be missed.
        const [last] = await ((await queue.client) as unknown as Redis).xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
        const events = new QueueEvents(queueName, { connection, lastEventId: last?.[0] ?? '0-0' });
        events.on('error', () => {});
        events.on('progress', ({ jobId, data }) => listeners.get(jobId)?.progress(data as unknown as JobProgress));
        events.on('completed', ({ jobId, returnvalue }) => listeners.get(jobId)?.completed(returnvalue as unknown as JobOutcome));
        events.on('failed', ({ jobId, failedReason }) => listeners.get(jobId)?.failed(failedReason));
        await events.waitUntilReady();
        return { queue, events };
      })();
      queues.set(queueName, entry);
    }
    return entry;
  };

  const marked = new Set<string>();
  const execute = async (request: ExecutionRequest, hooks: Parameters<Executor>[1]): Promise<ExecutionResult> => {
    const { publisher } = await open();
    markRemoteRun(request, marked, { queue: name, redis: `${base.host ?? '127.0.0.1'}:${base.port ?? 6379}${base.db ? `/${base.db}` : ''}` });
    const tags = request.runsOn ?? [];
    const queueName = queueNameFor(name, tags);
    const { queue } = await queueOf(queueName);
    let job: Job | undefined;
    const attempt = request.attempt ?? 1;
    if (request.interruptedAttempt !== undefined && request.interruptedAttempt === attempt - 1) {
      job = await reattachable(queue, jobIdOf({ ...request, attempt: request.interruptedAttempt }));
    }
    const jobId = job?.id ?? jobIdOf(request);
    let nextSeq = 0;
    const pending = new Map<number, ClaudeProgressEvent>();
    const liveRaw = liveRawCopy(request);
    let settle!: { resolve(outcome: JobOutcome): void; reject(error: Error): void };
    const finished = new Promise<JobOutcome>((resolve, reject) => (settle = { resolve, reject }));
    finished.catch(() => {});
    // Events come in order from the stream; `seq` guards against a replayed or reordered one.
    listeners.set(jobId, {
      completed: (outcome) => settle.resolve(outcome),
      failed: (reason) => settle.reject(new Error(reason)),
      progress: (p) => {
        if (typeof p !== 'object' || p === null) return;
        if ('raw' in p) return liveRaw?.(p);
        if (typeof p.seq !== 'number' || p.seq < nextSeq) return;
        pending.set(p.seq, p.event);
        while (pending.has(nextSeq)) {
          const event = pending.get(nextSeq)!;
          pending.delete(nextSeq++);
          hooks.onEvent(event);
        }
      },
    });
    const { memory: _memory, interruptedAttempt: _interrupted, ...plain } = request;
    const payload: JobPayload = { version: JOB_PAYLOAD_VERSION, request: plain };
    const onAbort = (): void => {
      void (async () => {
        // A job no worker has taken yet is removed; one that runs is cancelled by its worker.
        await publisher.publish(cancelChannel(name), jobId).catch(() => {});
        await job?.remove().catch(() => {});
      })();
    };
    let untaken: UntakenWatch | undefined;
    let finishedWatch: { stop(): void } | undefined;
    try {
      job ??= await queue.add('attempt', payload, { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } });
      if (hooks.signal.aborted) onAbort();
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      // Finished already (a re-attached job, or an existing id), or an event that never came: asked now and now and then.
      finishedWatch = watchFinished(queue, job, settle);
      const cancelled = new Promise<never>((_, reject) => {
        const fail = () => reject(new CancelledError(`Attempt ${jobId} was cancelled`));
        if (hooks.signal.aborted) fail();
        else hooks.signal.addEventListener('abort', fail, { once: true });
      });
      const timeoutMs = request.timeoutMs === 0 ? Infinity : (request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      untaken = watchUntaken(job, queue, { queueName, tags, noticeMs, timeoutMs, onEvent: hooks.onEvent });
      let outcome: JobOutcome;
      try {
        outcome = await Promise.race([finished, cancelled, untaken.failed]);
      } catch (error) {
        if (error instanceof AgentsSdkError) throw error;
        throw failedJobError(jobId, error);
      }
      if (outcome.files !== undefined) await takeFiles(publisher, outcome.files, request);
      if (outcome.ok) return outcome.result;
      throw deserializeError(outcome.error);
    } finally {
      untaken?.stop();
      finishedWatch?.stop();
      hooks.signal.removeEventListener('abort', onAbort);
      listeners.delete(jobId);
    }
  };

  const executor = execute as BullmqExecutor;
  executor.ready = async () => {
    await open();
  };
  executor.close = async () => {
    const all = [...queues.values()];
    queues.clear();
    const o = opened && (await opened.catch(() => undefined));
    opened = undefined;
    const closing: Array<Promise<unknown>> = [];
    for (const entry of all) {
      const q = await entry.catch(() => undefined);
      if (q) closing.push(q.events.close(), q.queue.close());
    }
    if (o) closing.push(o.publisher.quit());
    await Promise.allSettled(closing);
  };
  return executor;
}

/**
 * The job of an interrupted attempt, when it is worth re-attaching to: still waiting or
 * running, or finished with a result nobody took. A job its worker cancelled is not: the
 * attempt runs again.
 */
async function reattachable(queue: Queue, jobId: string): Promise<Job | undefined> {
  const job = await queue.getJob(jobId);
  if (!job) return undefined;
  const state = await job.getState();
  if (state === 'completed') {
    const outcome = job.returnvalue as JobOutcome | null;
    if (outcome && !outcome.ok && outcome.error.code === 'CANCELLED') return undefined;
  }
  return state === 'unknown' ? undefined : job;
}

/** The file that says a run's attempts ran on workers: `<stateDir>/<runId>/workers.json`. */
export const WORKERS_FILE = 'workers.json';

/** What {@link WORKERS_FILE} holds: where the attempts went (no password). */
export interface RemoteRunMarker {
  queue: string;
  /** `host:port[/db]`. */
  redis: string;
}

/** Notes once per run, in its directory, that its attempts run on workers (so that `resume` can ask for `--redis`). */
function markRemoteRun(request: ExecutionRequest, marked: Set<string>, marker: RemoteRunMarker): void {
  if (!request.runId || marked.has(request.runId)) return;
  marked.add(request.runId);
  try {
    const dir = resolve(request.stateDir ?? DEFAULT_STATE_DIR, request.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, WORKERS_FILE), `${JSON.stringify(marker)}\n`);
  } catch {
    // A note for resume only.
  }
}

/** How often a waited-for job's state is read, in case its completion event was missed. */
const FINISHED_POLL_MS = 10_000;

/** Reads the job's state now and every {@link FINISHED_POLL_MS}: settles once it has finished (or is gone). */
function watchFinished(queue: Queue, job: Job, settle: { resolve(outcome: JobOutcome): void; reject(error: Error): void }): { stop(): void } {
  let stopped = false;
  const check = async (): Promise<void> => {
    try {
      const state = await job.getState();
      if (stopped || (state !== 'completed' && state !== 'failed' && state !== 'unknown')) return;
      const stored = await queue.getJob(job.id!);
      if (stopped) return;
      if (!stored) settle.reject(new Error(`the job is gone from Redis (removed, or Redis lost its data)`));
      else if (state === 'completed') settle.resolve(stored.returnvalue as JobOutcome);
      else if (state === 'failed') settle.reject(new Error(stored.failedReason));
    } catch {
      // Redis hiccup: the event, or the next look, will tell.
    }
  };
  void check();
  const timer = setInterval(() => void check(), FINISHED_POLL_MS);
  timer.unref?.();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** A job that failed in BullMQ (not in our code: the worker returns failures as outcomes). */
function failedJobError(jobId: string, error: unknown): AgentsSdkError {
  const reason = error instanceof Error ? error.message : String(error);
  if (/gone from Redis/.test(reason)) {
    return new TransientError('WORKER_LOST', `Attempt ${jobId}: ${reason}; its result, if any, is lost`);
  }
  if (/stalled/i.test(reason)) {
    return new TransientError(
      'WORKER_LOST',
      `Attempt ${jobId}: the worker running it stopped answering (its lock expired: the worker was killed or its machine lost), so BullMQ failed the job (${reason})`,
    );
  }
  return new PermanentError('CRASHED', `Attempt ${jobId} failed on its worker: ${reason}`);
}

/**
 * Appends the raw lines of a running attempt to the file a local run would write (the file
 * is replaced by the whole stream when the attempt ends). A re-attached attempt's copy starts
 * where the orchestrator came in. `undefined` when the request records no stream.
 */
function liveRawCopy(request: ExecutionRequest): ((p: { rawSeq: number; raw: string }) => void) | undefined {
  const file = request.kind === 'claude' ? rawOutputFile(request) : null;
  if (file === null) return undefined;
  let last = -1;
  return (p) => {
    if (typeof p.rawSeq !== 'number' || p.rawSeq <= last || typeof p.raw !== 'string') return;
    try {
      if (last < 0) mkdirSync(dirname(file), { recursive: true });
      if (last < 0) writeFileSync(file, p.raw);
      else appendFileSync(file, p.raw);
      last = p.rawSeq;
    } catch {
      // A live copy only: the whole stream is written when the attempt ends.
    }
  };
}

/** Writes an attempt's files where a local run would have, then drops them from Redis. */
async function takeFiles(redis: Redis, key: string, request: ExecutionRequest): Promise<void> {
  const text = await redis.get(key).catch(() => null);
  if (text === null || request.kind !== 'claude') return;
  const file = rawOutputFile(request);
  if (file === null) return;
  const files = JSON.parse(text) as AttemptFiles;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, files.stream);
  if (files.result !== undefined) writeFileSync(file.replace(/\.jsonl$/, '') + '.json', files.result);
  await redis.del(key).catch(() => {});
}

interface UntakenWatch {
  /** Rejects with `NO_WORKER` once the attempt has waited untaken for its timeout. */
  failed: Promise<never>;
  stop(): void;
}

/**
 * Watches a job no worker has taken yet: past `noticeMs` (and again every `noticeMs`, at least
 * 30 s apart) it reports a `queued` event; past `timeoutMs` it removes the job and fails.
 */
function watchUntaken(
  job: Job,
  queue: Queue,
  o: { queueName: string; tags: string[]; noticeMs: number; timeoutMs: number; onEvent: (e: ClaudeProgressEvent) => void },
): UntakenWatch {
  const since = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastNotice = -Infinity;
  let reject!: (error: AgentsSdkError) => void;
  const failed = new Promise<never>((_, r) => (reject = r));
  failed.catch(() => {});
  const schedule = (): void => {
    if (stopped) return;
    const now = Date.now();
    const deadline = since + o.timeoutMs;
    // The first notice comes before the timeout, however short.
    const nextNotice = Math.max(since + Math.min(o.noticeMs, o.timeoutMs / 2), lastNotice + Math.max(o.noticeMs, 30_000));
    timer = setTimeout(check, Math.max(0, Math.min(deadline, nextNotice) - now));
    timer.unref?.();
  };
  const check = async (): Promise<void> => {
    try {
      const state = await job.getState();
      // Taken (or finished): a worker has it; nothing more to watch.
      if (!['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(state)) stopped = true;
      if (stopped) return;
      const waitedMs = Date.now() - since;
      if (waitedMs >= o.timeoutMs) {
        const removed = await job.remove().then(
          () => true,
          () => false,
        );
        // Not removed: a worker took it at this very moment; it runs.
        if (!removed) stopped = true;
        else if (!stopped) {
          const who = o.tags.length > 0 ? `no worker with tag${o.tags.length > 1 ? 's' : ''} ${o.tags.join(', ')} took it` : 'no worker took it';
          reject(
            new PermanentError(
              'NO_WORKER',
              `Attempt ${String(job.id)} waited ${Math.round(waitedMs / 1000)}s on queue ${o.queueName} and ${who} (the task's timeout): start one with agents-sdk worker --redis <url>${o.tags.map((t) => ` --tag ${t}`).join('')}`,
            ),
          );
          stopped = true;
        }
        return;
      }
      lastNotice = Date.now();
      const workers = await queue.getWorkersCount().catch(() => 0);
      if (!stopped) o.onEvent({ type: 'queued', sessionId: null, queue: o.queueName, tags: o.tags, workers, waitedMs });
    } catch {
      // Redis hiccup: look again at the next tick.
    } finally {
      schedule();
    }
  };
  schedule();
  return {
    failed,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
