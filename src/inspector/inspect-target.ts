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
  if (isInspectTarget(value)) return value as InspectTarget;
  throw new ValidationError(
    `--inspect takes local, sky or ws://host:port, got "${value}" (the flag alone means local; put it after the other arguments, or write --inspect=local)`,
  );
}

/** Commands that take `--inspect [target]`. */
const INSPECTING_COMMANDS = new Set(['run', 'resume', 'exec']);

/**
 * `run --inspect wf.yaml`: `--inspect` takes an optional value, so the word after it is read
 * as the target and the command then misses its file (or prompt, or run id). Found before
 * the arguments are parsed, so that the message says what happened instead of "missing
 * required argument".
 *
 * @throws ValidationError naming the word taken and how to write it.
 */
export function checkInspectFlagPlacement(argv: readonly string[]): void {
  if (!INSPECTING_COMMANDS.has(argv[0] ?? '')) return;
  for (let i = 1; i < argv.length - 1; i++) {
    if (argv[i] === '--') return;
    if (argv[i] !== '--inspect') continue;
    const next = argv[i + 1]!;
    if (next.startsWith('-') || isInspectTarget(next)) continue;
    throw new ValidationError(
      `--inspect took "${next}" as its target (local, sky or ws://host:port), not as the ${argv[0] === 'resume' ? 'run id' : argv[0] === 'exec' ? 'prompt' : 'workflow file'}: ` +
        `write --inspect=local, or put --inspect after "${next}" (e.g. agents-sdk ${argv[0]} ${next} --inspect)`,
    );
  }
}

function isInspectTarget(value: string): boolean {
  return value === 'local' || value === 'sky' || /^wss?:\/\/[^\s/]+/.test(value);
}

/** The URL a target connects to. */
export function inspectTargetUrl(target: InspectTarget): string {
  if (target === 'local') return `ws://127.0.0.1:${DEFAULT_INSPECTOR_PORT}`;
  return target;
}
