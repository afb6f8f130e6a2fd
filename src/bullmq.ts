/**
 * `agents-sdk/bullmq`: distributed execution. {@link createBullmqExecutor} sends each task to a
 * BullMQ queue in Redis; {@link startWorker} runs them in other processes (`agents-sdk worker`).
 * A subpath of its own because it pulls in `bullmq` and `ioredis`.
 *
 * @packageDocumentation
 */
export {
  createBullmqExecutor,
  queueNameFor,
  JOB_PAYLOAD_VERSION,
  type AttemptFiles,
  type BullmqExecutor,
  type BullmqExecutorOptions,
  type JobOutcome,
  type JobPayload,
  type JobProgress,
} from './distributed/bullmq-executor.js';
export { queuesServed, runJobPayload, startWorker, type RunningWorker, type WorkerOptions } from './distributed/worker.js';
