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
import { closestName } from '../workflow/closest-name.js';
import type { Workflow } from '../workflow/spec.js';

/** Who sends a signal, for the record. */
export interface SendSignalOptions {
  /** Default `api`; the CLI says `cli`. */
  source?: string;
  /**
   * Store the signal even when no task of the run waits for its type (a workflow changed
   * since, a type another tool reads from the inbox). Default false: such a signal, most
   * likely a typo, is refused with `UNKNOWN_EVENT`.
   */
  force?: boolean;
}

/** The event types the tasks of `workflow` wait for (`wait_for`), in task order, once each. */
export function awaitedEventTypes(workflow: Pick<Workflow, 'tasks'>): string[] {
  const types = new Set<string>();
  for (const task of workflow.tasks) if (task.wait_for) types.add(task.wait_for.event);
  return [...types];
}

/**
 * @throws PermanentError `UNKNOWN_EVENT` when no task of the run waits for `type`, naming the
 *   types its tasks do wait for and the closest one (`approval.grant`: did you mean
 *   `approval.granted`?). Nothing is stored.
 */
export function assertAwaitedEvent(runId: string, workflow: Pick<Workflow, 'tasks'>, type: string): void {
  const awaited = awaitedEventTypes(workflow);
  if (awaited.includes(type)) return;
  const near = closestName(type, awaited);
  const known =
    awaited.length === 0
      ? 'no task of it waits for an event (wait_for)'
      : `its tasks wait for ${awaited.map((t) => `"${t}"`).join(', ')}${near !== undefined ? `: did you mean "${near}"?` : ''}`;
  throw new PermanentError(
    'UNKNOWN_EVENT',
    `No task of run ${runId} waits for "${type}": ${known}${known.endsWith('?') ? '' : '.'} Nothing was stored (--force, or force: true, stores it anyway)`,
    { details: { runId, type, awaited, ...(near !== undefined && { suggestion: near }) } },
  );
}

/**
 * Stores a signal for a run. A run that is running (in any process) gets it within a fraction of a
 * second; one that is not (interrupted, cancelled, failed) gets it when it is resumed.
 *
 * @throws PermanentError `NOT_FOUND` (no such run), `RUN_FINISHED` (it completed: nothing waits
 *   any more), `UNKNOWN_EVENT` (no task of it waits for `type`, unless `force`), `BACKEND_UNAVAILABLE` (a backend that keeps no signals); ValidationError for a bad
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
  if (options.force !== true) assertAwaitedEvent(runId, run.workflow, type);
  await backend.appendSignal(runId, signal);
  return signal;
}
