/**
 * `agents-sdk worker --redis URL`: runs task attempts taken from a BullMQ queue.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { startWorker } from '../distributed/worker.js';
import { EXIT, intOption, isDirectory, type CliIO } from './cli-support.js';

/** Options of `agents-sdk worker`, as parsed. */
export interface WorkerCommandOptions {
  redis?: string;
  queue?: string;
  concurrency?: string;
  cwd?: string;
  tag?: string[];
  lockDuration?: string;
}

/** Runs until SIGTERM or SIGINT, then stops taking jobs and lets the running ones finish. */
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
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    io.signal?.addEventListener('abort', stop, { once: true });
  });
  io.stderr(`worker ${process.pid}: stopping, finishing running attempts\n`);
  await worker.close();
  return EXIT.ok;
}
