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
import { commandOutputFile } from '../actors/command-output.js';
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

/**
 * An agent attempt's raw stream (`raw_output[.attempt-<n>].jsonl`) and its result file (`.json`),
 * or a command's whole stdout (`raw_stdout[.attempt-<n>].txt`) in `stream`, as text.
 */
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
export type JobProgress = ({ seq: number; event: ClaudeProgressEvent } | { rawSeq: number; raw: string }) & {
  /** Which pickup of the job sent it (a job handed back to the queue starts again at 0 on its next worker). */
  epoch?: string;
};

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

/** Set when a run cancels a job: a worker that takes it at that moment sees it before it starts. */
export function cancelledKey(queue: string, jobId: string): string {
  return `agents-sdk:${queue}:cancelled:${jobId}`;
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
  /**
   * How often a job that has not finished is looked at (default 10 s): a completion event that
   * was missed, a job whose worker died with no other worker of its queue to notice (its lock
   * expired: `WORKER_LOST`), a job handed back to the queue.
   */
  pollMs?: number;
}

/** An executor that runs attempts on workers; `close()` ends its Redis connections. */
export type BullmqExecutor = Executor & {
  /** Worktree tasks with a `remote` go to the workers as they are: each worker makes their worktrees in its own clone. */
  readonly remoteWorktrees: true;
  /** Checks Redis (PING) and opens the queue; called by the first execution otherwise. */
  ready(): Promise<void>;
  /** Closes its queues and its Redis connections. */
  close(): Promise<void>;
};

/**
 * The remote executor: one job per attempt; adding a job whose id exists returns the
 * existing job, which is how a resumed run re-attaches to it. An attempt cut short by the
 * orchestrator's death (`ExecutionRequest.interruptedAttempts`) is re-attached to as well:
 * its job's result is taken, or waited for, instead of running the attempt again.
 */
export function createBullmqExecutor(options: BullmqExecutorOptions): BullmqExecutor {
  const base = typeof options.connection === 'string' ? redisOptionsFromUrl(options.connection) : options.connection;
  const name = options.queue ?? DEFAULT_QUEUE;
  const noticeMs = Math.max(10, options.queuedNoticeMs ?? 5000);
  const pollMs = Math.max(10, options.pollMs ?? 10_000);
  const connection: ConnectionOptions = { ...base, maxRetriesPerRequest: null };
  let opened: Promise<{ publisher: Redis }> | undefined;
  const queues = new Map<string, Promise<{ queue: Queue; events: QueueEvents }>>();
  const listeners = new Map<
    string,
    { progress(p: JobProgress): void; completed(outcome: JobOutcome): void; failed(reason: string): void; duplicated(): void }
  >();

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
        // `add` of an id that exists (a resume after a crash before the attempt's start was saved).
        events.on('duplicated', ({ jobId }) => listeners.get(jobId)?.duplicated());
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
    // The attempts cut short right before this one, newest first: the one that added a job is re-attached to
    // (an attempt that itself re-attached, then was cut short again, has no job of its own).
    const interrupted = request.interruptedAttempts ?? [];
    if (interrupted[0] === attempt - 1) {
      for (const n of interrupted) if ((job = await reattachable(queue, jobIdOf({ ...request, attempt: n })))) break;
    }
    const reattached = job !== undefined;
    const jobId = job?.id ?? jobIdOf(request);
    // A job already running (re-attached to) is past its first events: the first one seen sets the count.
    let nextSeq: number | undefined;
    let epoch: string | undefined;
    const pending = new Map<number, ClaudeProgressEvent>();
    let liveRaw = liveRawCopy(request);
    let settle!: { resolve(outcome: JobOutcome): void; reject(error: Error): void };
    const finished = new Promise<JobOutcome>((resolve, reject) => (settle = { resolve, reject }));
    finished.catch(() => {});
    // Events come in order from the stream; `seq` guards against a replayed or reordered one.
    let duplicated = false;
    listeners.set(jobId, {
      duplicated: () => {
        duplicated = true;
        watch?.checkNow();
      },
      completed: (outcome) => settle.resolve(outcome),
      failed: (reason) => settle.reject(new Error(reason)),
      progress: (p) => {
        if (typeof p !== 'object' || p === null) return;
        if (p.epoch !== epoch) {
          // Another worker took the job (handed back): its stream starts again.
          if (epoch !== undefined) nextSeq = 0;
          epoch = p.epoch;
          pending.clear();
          liveRaw = liveRawCopy(request);
        }
        if ('raw' in p) return liveRaw?.(p);
        if (typeof p.seq !== 'number') return;
        nextSeq ??= p.seq;
        if (p.seq < nextSeq) return;
        pending.set(p.seq, p.event);
        while (pending.has(nextSeq)) {
          const event = pending.get(nextSeq)!;
          pending.delete(nextSeq++);
          hooks.onEvent(event);
        }
      },
    });
    const { memory: _memory, interruptedAttempts: _interrupted, ...plain } = request;
    const payload: JobPayload = { version: JOB_PAYLOAD_VERSION, request: plain };
    const onAbort = (): void => {
      void (async () => {
        // A job no worker has taken yet is removed; one that runs is cancelled by its worker. The
        // key catches a worker taking it right now, before it listens for this job's cancel.
        await publisher.set(cancelledKey(name, jobId), '1', 'EX', ATTEMPT_FILES_TTL_S).catch(() => {});
        await publisher.publish(cancelChannel(name), jobId).catch(() => {});
        await job?.remove().catch(() => {});
      })();
    };
    let watch: JobWatch | undefined;
    try {
      job ??= await queue.add('attempt', payload, { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } });
      if (hooks.signal.aborted) onAbort();
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      const cancelled = new Promise<never>((_, reject) => {
        const fail = () => reject(new CancelledError(`Attempt ${jobId} was cancelled`));
        if (hooks.signal.aborted) fail();
        else hooks.signal.addEventListener('abort', fail, { once: true });
      });
      const timeoutMs = request.timeoutMs === 0 ? Infinity : (request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      // Finished already (a re-attached job, an existing id), untaken, lost: looked at now and then.
      // A job made by this add needs no look now; one that existed (re-attached, duplicated) does.
      const existing = reattached || duplicated;
      watch = watchJob(job, queue, { queueName, tags, noticeMs, pollMs, timeoutMs, onEvent: hooks.onEvent, settle, checkNow: existing });
      let outcome: JobOutcome;
      try {
        outcome = await Promise.race([finished, cancelled, watch.failed]);
      } catch (error) {
        if (error instanceof AgentsSdkError) throw error;
        throw failedJobError(jobId, error);
      }
      // No live line may land after the whole file.
      listeners.delete(jobId);
      if (outcome.files !== undefined) await takeFiles(publisher, outcome.files, request, outcome);
      if (outcome.ok) return outcome.result;
      throw deserializeError(outcome.error);
    } finally {
      watch?.stop();
      hooks.signal.removeEventListener('abort', onAbort);
      listeners.delete(jobId);
    }
  };

  const executor = Object.assign(execute, { remoteWorktrees: true as const }) as BullmqExecutor;
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

/**
 * Writes an attempt's files where a local run would have; a command's whole stdout goes to its
 * `raw_stdout[.attempt-<n>].txt`, and the result names that file instead of the worker's.
 */
async function takeFiles(redis: Redis, key: string, request: ExecutionRequest, outcome: JobOutcome): Promise<void> {
  const text = await redis.get(key).catch(() => null);
  if (text === null) return;
  if (request.kind === 'command') {
    const result = outcome.ok ? outcome.result : outcome.error.result;
    const file = commandOutputFile(request, DEFAULT_STATE_DIR);
    if (result?.outputFile === undefined || file === null) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, (JSON.parse(text) as AttemptFiles).stream);
    result.outputFile = file;
    return;
  }
  const file = rawOutputFile(request);
  if (file === null) return;
  const files = JSON.parse(text) as AttemptFiles;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, files.stream);
  if (files.result !== undefined) writeFileSync(file.replace(/\.jsonl$/, '') + '.json', files.result);
  // The key is left to its TTL: a resume after a crash before the next checkpoint takes it again.
}

interface JobWatch {
  /** Rejects with `NO_WORKER` (untaken for its timeout) or `WORKER_LOST` (its worker gone, unnoticed). */
  failed: Promise<never>;
  /** Looks at the job now (it existed before this attempt added it). */
  checkNow(): void;
  stop(): void;
}

/** States of a job no worker holds. */
const UNTAKEN = ['waiting', 'delayed', 'prioritized', 'waiting-children'];

/**
 * Looks at a job now and then until it finishes:
 * - finished (a re-attached job, an existing id, a missed event): settles with its outcome;
 * - untaken past `noticeMs` (then every `noticeMs`, at least 30 s apart): a `queued` event;
 *   untaken for `timeoutMs` in a row: removed, `NO_WORKER`;
 * - active with no lock twice in a row (its worker died and no worker of its queue noticed):
 *   removed, `WORKER_LOST`.
 */
function watchJob(
  job: Job,
  queue: Queue,
  o: {
    queueName: string;
    tags: string[];
    noticeMs: number;
    pollMs: number;
    timeoutMs: number;
    onEvent: (e: ClaudeProgressEvent) => void;
    settle: { resolve(outcome: JobOutcome): void; reject(error: Error): void };
    /** Look at once (a job that existed); otherwise the first look is at the first notice or poll. */
    checkNow: boolean;
  },
): JobWatch {
  let waitingSince: number | undefined = Date.now();
  let lastNotice = -Infinity;
  let unlocked = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reject!: (error: AgentsSdkError) => void;
  const failed = new Promise<never>((_, r) => (reject = r));
  failed.catch(() => {});
  const fail = (error: AgentsSdkError): void => {
    stopped = true;
    reject(error);
  };
  const schedule = (): void => {
    if (stopped) return;
    let next = Date.now() + o.pollMs;
    if (waitingSince !== undefined) {
      // The first notice comes before the timeout, however short.
      const notice = Math.max(waitingSince + Math.min(o.noticeMs, o.timeoutMs / 2), lastNotice + Math.max(o.noticeMs, 30_000));
      next = Math.min(next, notice, waitingSince + o.timeoutMs);
    }
    clearTimeout(timer);
    timer = setTimeout(() => void check(), Math.max(0, next - Date.now()));
    timer.unref?.();
  };
  const check = async (): Promise<void> => {
    try {
      const state = await job.getState();
      if (stopped) return;
      if (state === 'completed' || state === 'failed' || state === 'unknown') {
        const stored = await queue.getJob(job.id!);
        if (stopped) return;
        stopped = true;
        if (!stored) o.settle.reject(new Error('the job is gone from Redis (removed, or Redis lost its data)'));
        else if (state === 'completed') o.settle.resolve(stored.returnvalue as JobOutcome);
        else o.settle.reject(new Error(stored.failedReason));
        return;
      }
      const now = Date.now();
      if (!UNTAKEN.includes(state)) {
        // Active: held by a worker, as long as its lock is renewed.
        waitingSince = undefined;
        const locked = await ((await queue.client) as unknown as Redis).exists(`${queue.toKey(job.id!)}:lock`);
        unlocked = locked ? 0 : unlocked + 1;
        if (unlocked >= 2 && (await job.remove().then(() => true, () => false))) {
          fail(new TransientError('WORKER_LOST', `Attempt ${String(job.id)}: its worker stopped renewing its lock (killed, or its machine lost) and no worker of queue ${o.queueName} is left to notice`));
        }
        return;
      }
      unlocked = 0;
      waitingSince ??= now;
      const waitedMs = now - waitingSince;
      if (waitedMs >= o.timeoutMs) {
        // Not removed: a worker took it at this very moment; it runs.
        if (await job.remove().then(() => true, () => false)) {
          const who = o.tags.length > 0 ? `no worker with tag${o.tags.length > 1 ? 's' : ''} ${o.tags.join(', ')} took it` : 'no worker took it';
          fail(
            new PermanentError(
              'NO_WORKER',
              `Attempt ${String(job.id)} waited ${Math.round(waitedMs / 1000)}s on queue ${o.queueName} and ${who} (the task's timeout): start one with agents-sdk worker --redis <url>${o.tags.map((t) => ` --tag ${t}`).join('')}`,
            ),
          );
        }
        return;
      }
      if (waitedMs >= Math.min(o.noticeMs, o.timeoutMs / 2) && now - lastNotice >= Math.max(o.noticeMs, 30_000)) {
        lastNotice = now;
        const workers = await queue.getWorkersCount().catch(() => 0);
        if (!stopped) o.onEvent({ type: 'queued', sessionId: null, queue: o.queueName, tags: o.tags, workers, waitedMs });
      }
    } catch {
      // Redis hiccup: look again at the next tick.
    } finally {
      schedule();
    }
  };
  if (o.checkNow) void check();
  else schedule();
  return {
    failed,
    checkNow: () => {
      clearTimeout(timer);
      void check();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
