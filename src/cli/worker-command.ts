/**
 * `agents-sdk worker --redis URL`: runs task attempts taken from a BullMQ queue.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { startWorker } from '../distributed/worker.js';
import { EXIT, intOption, isDirectory, type CliIO } from './cli-support.js';
import { count } from '../wording.js';

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
 * second signal hands them back to the queue.
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
  // The first SIGTERM (or Ctrl-C) lets the running attempts finish; a second hands them back.
  io.onSecondInterrupt?.(() => {
    io.stderr(`worker ${process.pid}: handing ${count(worker.running(), 'running attempt')} back to the queue\n`);
    worker.handBack();
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
  io.stderr(`worker ${process.pid}: stopping, finishing running attempts (${worker.running()}); signal again to hand them back to the queue\n`);
  await worker.close();
  return EXIT.ok;
}
