/**
 * One BullMQ worker process for bench/distributed.mjs:
 * `node bench/distributed-worker.mjs <redis-url> <queue> <concurrency> <instant | sleep:<ms>>`.
 * Prints `ready <pid>` on stdout once the worker listens; stops (worker.close(), which waits for
 * the running jobs) on SIGTERM or SIGINT, then exits 0.
 */
import { startWorker } from '../dist/bullmq.js';
import { instantExecutor, sleepExecutor } from './executors.mjs';

const [url, queue, concurrencyArg, mode = 'instant'] = process.argv.slice(2);
if (!url || !queue || !concurrencyArg) {
  console.error('usage: node bench/distributed-worker.mjs <redis-url> <queue> <concurrency> <instant | sleep:<ms>>');
  process.exit(2);
}
const concurrency = Number(concurrencyArg);
let executor;
if (mode === 'instant') executor = instantExecutor;
else if (/^sleep:\d+$/.test(mode)) executor = sleepExecutor(Number(mode.slice('sleep:'.length)));
else {
  console.error(`unknown mode "${mode}" (instant | sleep:<ms>)`);
  process.exit(2);
}

const worker = await startWorker({ connection: url, queue, concurrency, executor });
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await worker.close();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`ready ${process.pid}\n`);
