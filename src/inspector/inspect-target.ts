/**
 * Where a run's inspection goes (`--inspect [target]`): a module of its own, so that reading
 * the option does not load the WebSocket client.
 *
 * @module
 */
import { ValidationError } from '../errors.js';

/** The local inspector's default port (`agents-sdk inspect`). */
export const DEFAULT_INSPECTOR_PORT = 4747;

/** Where inspection goes: `local` (the local inspector on its default port), `sky`, or a `ws://` / `wss://` URL. */
export type InspectTarget = 'local' | 'sky' | `ws://${string}` | `wss://${string}`;

/**
 * Reads the `--inspect [target]` option: `true` (the flag alone) or `local` is the local
 * inspector, `sky` is Stately Sky, `ws://` / `wss://` URLs as given.
 *
 * @throws ValidationError for anything else.
 */
export function parseInspectTarget(value: string | boolean | undefined): InspectTarget | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true || value === 'local') return 'local';
  if (value === 'sky') return 'sky';
  if (/^wss?:\/\/[^\s/]+/.test(value)) return value as InspectTarget;
  throw new ValidationError(
    `--inspect takes local, sky or ws://host:port, got "${value}" (the flag alone means local; put it after the other arguments, or write --inspect=local)`,
  );
}

/** The URL a target connects to. */
export function inspectTargetUrl(target: InspectTarget): string {
  if (target === 'local') return `ws://127.0.0.1:${DEFAULT_INSPECTOR_PORT}`;
  return target;
}
