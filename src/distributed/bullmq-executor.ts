/**
 * Remote execution through BullMQ on Redis: {@link createBullmqExecutor} turns each attempt
 * into one job (id `<runId>:<taskId>:<attempt>`), which a worker (`agents-sdk worker`, see
 * ./worker.ts) runs with the default executor, streaming progress back through
 * `job.updateProgress` and returning the result or the serialized typed error.
 *
 * @module
 */
import { Queue, QueueEvents, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { ClaudeProgressEvent } from '../claude/stream-json.js';
import type { ExecutionRequest, Executor } from '../actors/executor.js';
import { AgentsSdkError, CancelledError, PermanentError, deserializeError, type SerializedError } from '../errors.js';
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

/** What a worker returns: never a thrown error, so that the code and `transient` flag survive. */
export type JobOutcome = { ok: true; result: ExecutionResult } | { ok: false; error: SerializedError };

/** One progress update: `seq` orders them. */
export interface JobProgress {
  seq: number;
  event: ClaudeProgressEvent;
}

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
}

/** An executor that runs attempts on workers; `close()` ends its Redis connections. */
export type BullmqExecutor = Executor & {
  /** Checks Redis (PING) and opens the queue; called by the first execution otherwise. */
  ready(): Promise<void>;
  close(): Promise<void>;
};

/**
 * The remote executor: one job per attempt; adding a job whose id exists returns the
 * existing job, which is how a resumed run re-attaches to it.
 */
export function createBullmqExecutor(options: BullmqExecutorOptions): BullmqExecutor {
  const base = typeof options.connection === 'string' ? redisOptionsFromUrl(options.connection) : options.connection;
  const name = options.queue ?? DEFAULT_QUEUE;
  const connection: ConnectionOptions = { ...base, maxRetriesPerRequest: null };
  let opened: Promise<{ queue: Queue; events: QueueEvents; publisher: Redis }> | undefined;
  const listeners = new Map<string, { progress(p: JobProgress): void }>();

  const open = () =>
    (opened ??= (async () => {
      await checkRedis(base);
      const queue = new Queue(name, { connection });
      const events = new QueueEvents(name, { connection });
      const publisher = new Redis({ ...base, maxRetriesPerRequest: 1 });
      queue.on('error', () => {});
      events.on('error', () => {});
      publisher.on('error', () => {});
      events.on('progress', ({ jobId, data }) => listeners.get(jobId)?.progress(data as unknown as JobProgress));
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      return { queue, events, publisher };
    })());

  const execute = async (request: ExecutionRequest, hooks: Parameters<Executor>[1]): Promise<ExecutionResult> => {
    const { queue, events, publisher } = await open();
    const jobId = jobIdOf(request);
    let nextSeq = 0;
    const pending = new Map<number, ClaudeProgressEvent>();
    // Events come in order from the stream; `seq` guards against a replayed or reordered one.
    listeners.set(jobId, {
      progress: (p) => {
        if (typeof p !== 'object' || p === null || typeof p.seq !== 'number' || p.seq < nextSeq) return;
        pending.set(p.seq, p.event);
        while (pending.has(nextSeq)) {
          const event = pending.get(nextSeq)!;
          pending.delete(nextSeq++);
          hooks.onEvent(event);
        }
      },
    });
    const { memory: _memory, ...plain } = request;
    const payload: JobPayload = { version: JOB_PAYLOAD_VERSION, request: plain };
    let job: Job | undefined;
    const onAbort = (): void => {
      void (async () => {
        // A job no worker has taken yet is removed; one that runs is cancelled by its worker.
        await publisher.publish(cancelChannel(name), jobId).catch(() => {});
        await job?.remove().catch(() => {});
      })();
    };
    try {
      job = await queue.add('attempt', payload, { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } });
      if (hooks.signal.aborted) onAbort();
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      const finished = job.waitUntilFinished(events) as Promise<JobOutcome>;
      const cancelled = new Promise<never>((_, reject) => {
        const fail = () => reject(new CancelledError(`Attempt ${jobId} was cancelled`));
        if (hooks.signal.aborted) fail();
        else hooks.signal.addEventListener('abort', fail, { once: true });
      });
      let outcome: JobOutcome;
      try {
        outcome = await Promise.race([finished, cancelled]);
      } catch (error) {
        if (error instanceof AgentsSdkError) throw error;
        // The worker threw (it should not): a plain failure reason.
        throw new PermanentError('CRASHED', `Attempt ${jobId} failed on its worker: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (outcome.ok) return outcome.result;
      throw deserializeError(outcome.error);
    } finally {
      hooks.signal.removeEventListener('abort', onAbort);
      listeners.delete(jobId);
    }
  };

  const executor = execute as BullmqExecutor;
  executor.ready = async () => {
    await open();
  };
  executor.close = async () => {
    if (!opened) return;
    const o = await opened.catch(() => undefined);
    opened = undefined;
    if (!o) return;
    await Promise.allSettled([o.events.close(), o.queue.close(), o.publisher.quit()]);
  };
  return executor;
}
