/**
 * Sending a signal to a stored run: checked, then appended to the run's inbox in the state
 * backend, where the process driving the run (if any) picks it up, and `resume` finds it.
 *
 * @module
 */
import { PermanentError } from '../errors.js';
import type { StateBackend } from '../persistence/state-backend.js';
import { assertValidRunId } from '../persistence/state-keys.js';
import { createSignal, isSignalStore, type Signal } from './signal.js';

/** Who sends a signal, for the record. */
export interface SendSignalOptions {
  /** Default `api`; the CLI says `cli`. */
  source?: string;
}

/**
 * Stores a signal for a run. A run that is running (in any process) gets it within a fraction of a
 * second; one that is not (interrupted, cancelled, failed) gets it when it is resumed.
 *
 * @throws PermanentError `NOT_FOUND` (no such run), `RUN_FINISHED` (it completed: nothing waits
 *   any more), `BACKEND_UNAVAILABLE` (a backend that keeps no signals); ValidationError for a bad
 *   type or a payload that is not JSON.
 */
export async function sendSignal(backend: StateBackend, runId: string, type: string, payload?: unknown, options: SendSignalOptions = {}): Promise<Signal> {
  assertValidRunId(runId);
  const signal = createSignal(type, payload, options.source ?? 'api');
  if (!isSignalStore(backend)) {
    throw new PermanentError('BACKEND_UNAVAILABLE', 'This state backend keeps no signals (it has no appendSignal/readSignals)');
  }
  const run = await backend.loadRun(runId);
  if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in this state backend)`, { details: { runId } });
  if (run.status === 'completed') {
    throw new PermanentError('RUN_FINISHED', `Run ${runId} has completed: no task of it waits for "${type}" any more; nothing was stored`, {
      details: { runId, type },
    });
  }
  await backend.appendSignal(runId, signal);
  return signal;
}
