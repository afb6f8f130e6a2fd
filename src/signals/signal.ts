/**
 * Signals: events sent to a run from outside it (a person's `agents-sdk signal`, an app's
 * `orchestrator.signal()`) or published by a task (`publish:`), which tasks with `wait_for`
 * wait for.
 *
 * @module
 */
import { nanoid } from 'nanoid';
import { ValidationError } from '../errors.js';
import { EVENT_TYPE } from '../workflow/spec.js';

/** One signal, as stored in a run's inbox and in its checkpoint. Plain JSON. */
export interface Signal {
  /** Unique: a signal delivered twice (inbox and direct) is applied once. */
  id: string;
  /** The event type, e.g. `approval.granted`. */
  type: string;
  /** Any JSON value; `{{events.<type>.payload}}` renders it. */
  payload: unknown;
  /** Who sent it: `cli`, `api`, or `<runId>/<taskId>` for a task's `publish:`. */
  source: string;
  /** Epoch ms. */
  at: number;
}

/** The inbox scope every run of a state dir reads: signals published for any run (`publish:`). */
export const BROADCAST_SCOPE = '*';

/**
 * Where a backend keeps signals: one inbox per run, plus the `BROADCAST_SCOPE` one.
 * A running process reads its inboxes from a cursor, so another process (the CLI) can send to it.
 */
export interface SignalStore {
  /** Appends a signal to a run's inbox (or the broadcast one), durably. */
  appendSignal(scope: string, signal: Signal): Promise<void>;
  /**
   * The signals appended after `cursor` (0: from the start), in order, and the cursor to read
   * on from. A half-written last entry is left for the next read.
   */
  readSignals(scope: string, cursor?: number): Promise<{ signals: Signal[]; cursor: number }>;
}

/** Whether a state backend keeps signals. */
export function isSignalStore(value: unknown): value is SignalStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SignalStore).appendSignal === 'function' &&
    typeof (value as SignalStore).readSignals === 'function'
  );
}

/**
 * A new signal.
 *
 * @throws ValidationError when the type is not an event type or the payload is not JSON.
 */
export function createSignal(type: string, payload: unknown = null, source = 'api', at = Date.now()): Signal {
  assertEventType(type);
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new ValidationError(`The payload of signal "${type}" is not JSON: ${(error as Error).message}`, [{ path: 'payload', message: 'must be JSON' }]);
  }
  return { id: nanoid(), type, payload: text === undefined ? null : (JSON.parse(text) as unknown), source, at };
}

/** @throws ValidationError naming the type when it is not a valid event type. */
export function assertEventType(type: string): void {
  if (typeof type !== 'string' || type.length === 0 || type.length > 128 || !EVENT_TYPE.test(type) || type.split('.').includes('payload')) {
    throw new ValidationError(
      `"${String(type)}" is not an event type: use dot-separated words of letters, digits, _ : - (e.g. approval.granted), without a "payload" word`,
      [{ path: 'type', message: 'must be an event type such as approval.granted' }],
    );
  }
}

/** Parses inbox lines (JSON, one signal each); a line that is not a signal is left out. */
export function parseSignalLines(text: string): Signal[] {
  const out: Signal[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as Signal;
      if (typeof value?.id === 'string' && typeof value.type === 'string') out.push(value);
    } catch {
      // not a signal: an inbox is appended whole lines at a time, so this is not ours
    }
  }
  return out;
}
