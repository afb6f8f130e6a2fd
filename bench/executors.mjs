/**
 * Executors for the benchmark: they never call Claude and write nothing to the state dir.
 */
import v8 from 'node:v8';

/** A successful, empty ExecutionResult (shared: neither scheduler mutates it). */
export const OK = Object.freeze({
  success: true,
  output: '',
  sessionId: null,
  tokens: Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }),
  costUsd: 0,
  durationMs: 0,
  cliDurationMs: null,
  numTurns: 0,
  exitCode: 0,
  stderrTail: '',
});

/** Resolves at once: every microsecond of a run is scheduling overhead. */
export const instantExecutor = async () => OK;

/** Resolves after `ms` milliseconds (a setTimeout). */
export function sleepExecutor(ms) {
  return () => new Promise((resolve) => setTimeout(resolve, ms, OK));
}

/**
 * Wraps an executor so that every `every`-th call samples V8's used heap; `peak()` is the
 * highest sample. (An instant-executor run may never yield to the event loop, so a timer
 * could not sample it.)
 */
export function heapSampling(executor, every = 10) {
  let calls = 0;
  let peak = 0;
  const sample = () => {
    const used = v8.getHeapStatistics().used_heap_size;
    if (used > peak) peak = used;
  };
  const wrapped = (request, hooks) => {
    if (++calls % every === 0) sample();
    return executor(request, hooks);
  };
  return { executor: wrapped, peak: () => (sample(), peak) };
}
