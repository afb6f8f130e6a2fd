/**
 * A cancel request: what `agents-sdk cancel` (or `cancelRun()`) leaves in a run's inbox for
 * the process driving the run, which polls its inbox and cancels the run as Ctrl-C does.
 *
 * It travels in the signal inbox (durable, both backends, read from a cursor), under a type
 * that no event type can spell (a `/`), so that no `signal` or `publish:` can forge it and
 * no `wait_for` ever sees it.
 *
 * @module
 */
import { nanoid } from 'nanoid';
import type { Signal } from './signal.js';

/** The inbox entry type of a cancel request (not an event type: it holds a `/`). */
export const CANCEL_REQUEST_TYPE = 'agents-sdk/cancel';

/** The payload of a cancel request. */
export interface CancelRequestPayload {
  /** Why, as the operator said it (`--reason`); `null` when not said. */
  reason: string | null;
}

/** A new cancel request from `source` (e.g. `cli@host:pid`). */
export function createCancelRequest(reason: string | undefined, source: string, at = Date.now()): Signal {
  const payload: CancelRequestPayload = { reason: reason ?? null };
  return { id: nanoid(), type: CANCEL_REQUEST_TYPE, payload, source, at };
}

/** Whether an inbox entry is a cancel request. */
export function isCancelRequest(signal: Signal): boolean {
  return signal.type === CANCEL_REQUEST_TYPE;
}

/** The message a cancel request leaves on the tasks it stops. */
export function cancelRequestMessage(request: Signal): string {
  const reason = (request.payload as Partial<CancelRequestPayload> | null)?.reason;
  return `The run was cancelled by ${request.source}${typeof reason === 'string' && reason !== '' ? `: ${reason}` : ''}`;
}
