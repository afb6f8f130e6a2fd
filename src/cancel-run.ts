/**
 * Cancelling a stored run from anywhere (`agents-sdk cancel`, {@link cancelRun}): a run driven
 * by a live process gets a cancel request in its inbox and that process cancels it (as Ctrl-C
 * does: running agents stopped, the run ends `cancelled`, resumable); a run that nothing drives
 * is marked `cancelled` in its state; with `force`, a driver that does not answer is killed.
 *
 * @module
 */
import { hostname } from 'node:os';
import { processRegistryDir, reapProcesses } from './actors/process-registry.js';
import { AgentsSdkError, PermanentError } from './errors.js';
import { isOwnerAlive, type LockOwner } from './persistence/process-lock.js';
import { compactCheckpoint, type RunStatus, type StateBackend } from './persistence/state-backend.js';
import { assertValidRunId } from './persistence/state-keys.js';
import { closeAttempt } from './workflow/attempt-log.js';
import { cancelRequestMessage, createCancelRequest } from './signals/cancel-request.js';
import { isSignalStore, type SignalStore } from './signals/signal.js';
import type { SerializedError } from './errors.js';

/** Options of {@link cancelRun}. */
export interface CancelRunOptions {
  /** Why, kept with the request and in the cancelled tasks' error message. */
  reason?: string;
  /** Who asks, for the record (default `api@<host>:<pid>`; the CLI says `cli@<host>:<pid>`). */
  source?: string;
  /**
   * How long to wait for the driving process to end the run (ms, default 10,000); 0: store the
   * request and return at once (outcome `requested`).
   */
  waitMs?: number;
  /**
   * Kill the driving process (SIGKILL, by the pid in the run's lock) when it has not ended the
   * run within `waitMs`, then mark the run cancelled and end the agents it left. Refused for a
   * driver on another host (it cannot be reached from here).
   */
  force?: boolean;
  /** The state directory, where the run's process registry is: agents left by a dead driver are ended. Default: none ended. */
  stateDir?: string;
  /** How often the lock is looked at while waiting (ms, default 100). */
  pollMs?: number;
}

/** What {@link cancelRun} did. */
export interface CancelRunResult {
  runId: string;
  /**
   * - `cancelled`: the driving process cancelled the run;
   * - `marked`: nothing drove the run: it is marked cancelled in its state;
   * - `killed`: the driver did not answer and was killed (`force`), the run marked cancelled;
   * - `already_cancelled`: it was cancelled before, and nothing drives it;
   * - `finished`: its driver finished it (completed, failed...) before the request applied;
   * - `requested`: the request is stored, the driver has not ended the run yet (within `waitMs`).
   */
  outcome: 'cancelled' | 'marked' | 'killed' | 'already_cancelled' | 'finished' | 'requested';
  /** The run's stored status now. */
  status: RunStatus;
  /** The process that was driving the run, if one was. */
  driver: LockOwner | null;
  /** Agent processes a dead driver had left, ended now. */
  reaped: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Cancels a stored run, whichever process (or machine) drives it.
 *
 * @throws PermanentError `NOT_FOUND` (unknown run), `RUN_FINISHED` (it completed, failed or
 *   went over budget: nothing to cancel), `LOCKED` (`force` for a driver on another host, or
 *   this very process), `BACKEND_UNAVAILABLE` (a backend that keeps no inbox).
 */
export async function cancelRun(backend: StateBackend, runId: string, options: CancelRunOptions = {}): Promise<CancelRunResult> {
  assertValidRunId(runId);
  if (!isSignalStore(backend)) {
    throw new PermanentError('BACKEND_UNAVAILABLE', 'This state backend keeps no inbox (it has no appendSignal/readSignals): a run in it cannot be cancelled from outside');
  }
  const run = await backend.loadRun(runId);
  if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in this state backend)`, { details: { runId } });
  const driver = await backend.lockHolder(runId);
  if (!driver) {
    const marked = await markStopped(backend, runId, options, 'marked', null);
    if (marked) return marked;
  }
  return cancelLive(backend, runId, options, driver ?? (await backend.lockHolder(runId)));
}

/** The run has a driver (or got one while we looked): ask it, wait, and with `force` kill it. */
async function cancelLive(backend: StateBackend & SignalStore, runId: string, options: CancelRunOptions, driver: LockOwner | null): Promise<CancelRunResult> {
  const source = options.source ?? `api@${hostname()}:${process.pid}`;
  await backend.appendSignal(runId, createCancelRequest(options.reason, source));
  const waitMs = options.waitMs ?? 10_000;
  const pollMs = options.pollMs ?? 100;
  const same = (h: LockOwner | null) => h !== null && driver !== null && h.pid === driver.pid && h.host === driver.host && h.acquiredAt === driver.acquiredAt;
  const deadline = Date.now() + waitMs;
  let holder = await backend.lockHolder(runId);
  while (same(holder) && Date.now() < deadline) {
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    holder = await backend.lockHolder(runId);
  }
  if (!same(holder)) {
    // The driver let go: it cancelled the run, finished it first, or died.
    const run = await backend.loadRun(runId);
    const status = run?.status ?? 'cancelled';
    if (status === 'cancelled') return { runId, outcome: 'cancelled', status, driver, reaped: 0 };
    if (status !== 'running') return { runId, outcome: 'finished', status, driver, reaped: 0 };
    const marked = await markStopped(backend, runId, options, 'marked', driver);
    if (marked) return marked;
    // Another process took the run over meanwhile: it gets the request too (it is in the inbox).
    return { runId, outcome: 'requested', status, driver: await backend.lockHolder(runId), reaped: 0 };
  }
  if (!options.force || !driver) return { runId, outcome: 'requested', status: 'running', driver, reaped: 0 };
  if (driver.host !== hostname()) {
    throw new PermanentError(
      'LOCKED',
      `Run ${runId} is driven by pid ${driver.pid} on host ${driver.host}, not this host (${hostname()}): --force cannot kill it from here; run the cancel on ${driver.host}, or stop that process there`,
      { details: { runId, pid: driver.pid, host: driver.host } },
    );
  }
  if (driver.pid === process.pid) {
    throw new PermanentError('LOCKED', `Run ${runId} is driven by this very process (pid ${driver.pid}): it is not killed; cancel it through its orchestrator`, {
      details: { runId },
    });
  }
  await killDriver(driver);
  const marked = await markStopped(backend, runId, options, 'killed', driver);
  if (marked) return marked;
  return { runId, outcome: 'requested', status: 'running', driver: await backend.lockHolder(runId), reaped: 0 };
}

/** SIGKILL (works on a stopped process too), then waits until it is gone. */
async function killDriver(driver: LockOwner): Promise<void> {
  // Checked just before: the pid must still be the driver's (its start time is compared).
  if (!isOwnerAlive(driver)) return;
  try {
    process.kill(driver.pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw new PermanentError('LOCKED', `Cannot kill pid ${driver.pid}, the driver of the run: ${(error as Error).message}`, { cause: error });
    }
  }
  for (let waited = 0; waited < 5_000 && isOwnerAlive(driver); waited += 20) await sleep(20);
}

/**
 * A run that no process drives: under its lock, its running tasks are marked cancelled (their
 * attempts interrupted), their agents ended, the run `cancelled`. `null` when another process
 * took the lock first (the run is live again).
 */
async function markStopped(
  backend: StateBackend,
  runId: string,
  options: CancelRunOptions,
  outcome: 'marked' | 'killed',
  driver: LockOwner | null,
): Promise<CancelRunResult | null> {
  let release: () => Promise<void>;
  try {
    release = await backend.lockRun(runId);
  } catch (error) {
    if (error instanceof AgentsSdkError && error.code === 'LOCKED') return null;
    throw error;
  }
  try {
    const run = await backend.loadRun(runId);
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in this state backend)`, { details: { runId } });
    if (run.status === 'cancelled') return { runId, outcome: outcome === 'killed' ? 'killed' : 'already_cancelled', status: 'cancelled', driver, reaped: 0 };
    if (run.status !== 'running') {
      throw new PermanentError('RUN_FINISHED', `Run ${runId} has finished (${run.status}): there is nothing to cancel`, { details: { runId, status: run.status } });
    }
    const reaped = options.stateDir === undefined ? [] : await reapProcesses(processRegistryDir(options.stateDir, runId));
    const now = Date.now();
    const source = options.source ?? `api@${hostname()}:${process.pid}`;
    const message = cancelRequestMessage(createCancelRequest(options.reason, source, now));
    const error: SerializedError = { name: 'CancelledError', code: 'CANCELLED', message: `${message} (its process was gone)`, transient: false };
    const records = run.records.map((r) => {
      if (r.status !== 'running' && r.status !== 'retrying') return r;
      const record = {
        ...r,
        status: 'cancelled' as const,
        error,
        endedAt: now,
        durationMs: r.startedAt === null ? null : now - r.startedAt,
        ...(r.attemptLog && { attemptLog: r.attemptLog.map((a) => ({ ...a })) }),
      };
      // Cut short by the driver's death, not by this cancel: the attempt counts (as after a crash).
      closeAttempt(record, 'interrupted', now, error);
      return record;
    });
    await backend.saveCheckpoint(runId, compactCheckpoint({ ...run, status: 'cancelled', updatedAt: now, records }));
    return { runId, outcome, status: 'cancelled', driver, reaped: reaped.filter((p) => p.outcome === 'killed').length };
  } finally {
    await release();
  }
}
