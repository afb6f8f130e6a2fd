/**
 * `agents-sdk worker --redis URL`: runs task attempts taken from a BullMQ queue.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { startWorker } from '../distributed/worker.js';
import { EXIT, intOption, isDirectory, type CliIO } from './cli-support.js';
import { count } from '../wording.js';

/** How long Redis has to answer a PING when the worker is told to stop. */
const REACHABLE_MS = 1_000;

/** Options of `agents-sdk worker`, as parsed. */
export interface WorkerCommandOptions {
  redis?: string;
  queue?: string;
  concurrency?: string;
  cwd?: string;
  tag?: string[];
  lockDuration?: string;
}

/**
 * Runs until SIGTERM or SIGINT, then stops taking jobs and lets the running ones finish; a
 * second signal hands them back to the queue. When Redis cannot be reached at either signal it
 * stops at once (exit 1), ending its running attempts without handing them back, and says so.
 */
export async function workerCommand(options: WorkerCommandOptions, io: CliIO): Promise<number> {
  if (options.redis === undefined) throw new ValidationError('worker needs --redis redis://host:port');
  const concurrency = intOption('concurrency', options.concurrency) ?? 1;
  const lockDurationMs = intOption('lock-duration', options.lockDuration);
  if (options.cwd !== undefined && !isDirectory(options.cwd)) throw new ValidationError(`--cwd: ${options.cwd} is not a directory`);
  const worker = await startWorker({
    connection: options.redis,
    ...(options.queue !== undefined && { queue: options.queue }),
    concurrency,
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.tag !== undefined && { tags: options.tag }),
    ...(lockDurationMs !== undefined && { lockDurationMs }),
    onJob: (e) => io.stderr(`worker ${process.pid}: ${e.type} ${e.jobId}${e.ok === undefined ? '' : e.ok ? ' ok' : ' failed'}\n`),
  });
  const queues = worker.queues.map((q) => `"${q}"`).join(', ');
  io.stderr(`worker ${process.pid}: taking attempts from queue${worker.queues.length > 1 ? 's' : ''} ${queues} (concurrency ${concurrency})\n`);
  // Without Redis nothing can be finished, handed back or even closed politely: stop at once.
  let abandoned: (code: number) => void = () => {};
  const abandoning = new Promise<number>((resolve) => (abandoned = resolve));
  const stopIfRedisIsGone = async (): Promise<boolean> => {
    if (await worker.reachable(REACHABLE_MS)) return false;
    const n = worker.running();
    const fate = n === 0 ? '' : ` (${n === 1 ? 'its job fails' : 'their jobs fail'} as WORKER_LOST once ${n === 1 ? 'its lock expires' : 'their locks expire'} on a Redis that is back, and the task's retry policy decides)`;
    io.stderr(`worker ${process.pid}: Redis at ${worker.redis} cannot be reached: stopping now, without handing back ${n} running attempt${n === 1 ? '' : 's'}${fate}\n`);
    await worker.abandon();
    io.exitWhenDone?.();
    abandoned(EXIT.failed);
    return true;
  };
  // The first SIGTERM (or Ctrl-C) lets the running attempts finish; a second hands them back.
  io.onSecondInterrupt?.(() => {
    void stopIfRedisIsGone().then((gone) => {
      if (gone) return;
      io.stderr(`worker ${process.pid}: handing ${count(worker.running(), 'running attempt')} back to the queue\n`);
      worker.handBack();
    });
  });
  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    } else {
      // Run without the entry point (embedded): the process's own signals.
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    }
  });
  if (await stopIfRedisIsGone()) return EXIT.failed;
  io.stderr(`worker ${process.pid}: stopping, finishing running attempts (${worker.running()}); signal again to hand them back to the queue\n`);
  return Promise.race([worker.close().then(() => EXIT.ok), abandoning]);
}
