/**
 * What every CLI command shares: where it writes, exit codes, option checks, error reporting.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { AgentsSdkError, ValidationError } from '../errors.js';

/** Where the CLI writes (and reads stdin from), so that tests can run it in-process. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** The terminal's width, read at every redraw (a getter follows resizes); unknown: lines are not cut. */
  columns?: number;
  /** Aborted on SIGINT by the entry point. */
  signal?: AbortSignal;
  /**
   * Set by a command that handles a second SIGINT/SIGTERM itself (`worker` hands its attempts
   * back); without it the entry point kills the agents' process groups and exits 130. A third
   * signal always exits.
   */
  onSecondInterrupt?: (handler: () => void) => void;
  /** All of stdin, for `exec -`; default: reads `process.stdin`. */
  readStdin?: () => Promise<string>;
  /**
   * Called by a command that leaves behind work it cannot end politely (a `worker` whose Redis
   * is gone: its client library retries for seconds): the entry point then exits as soon as the
   * command returns, instead of waiting for the event loop to drain.
   */
  exitWhenDone?: () => void;
}

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, invalidInput: 2, stateWriteFailed: 3 } as const;

/** Error codes that mean the input (a file, an id, a key) is at fault: exit code 2. */
const INPUT_ERRORS = new Set(['NOT_FOUND', 'INVALID_KEY', 'CORRUPT_STATE', 'UNSUPPORTED_SCHEMA', 'BACKEND_UNAVAILABLE', 'RUN_EXISTS', 'RUN_FINISHED', 'UNKNOWN_EVENT', 'CODE_REQUIRED', 'WORKSPACE_UNAVAILABLE']);

/** Prints an error on stderr, once, and returns its exit code: 2 for invalid input, else 1. */
export function reportError(error: unknown, io: CliIO): number {
  if (error instanceof ValidationError) {
    // The summary, then every issue it does not already say (the message names only the first few).
    io.stderr(`agents-sdk: ${error.summary}\n`);
    for (const issue of error.unsaidIssues) io.stderr(`  - ${issue.path}: ${issue.message}\n`);
    return EXIT.invalidInput;
  }
  if (error instanceof AgentsSdkError) {
    io.stderr(`agents-sdk: ${error.code}: ${error.message}\n`);
    if (error.code === 'STATE_WRITE_FAILED') return EXIT.stateWriteFailed;
    return INPUT_ERRORS.has(error.code) ? EXIT.invalidInput : EXIT.failed;
  }
  io.stderr(`agents-sdk: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failed;
}

/** Parses an integer option of at least `min`, naming the option when it is not one. */
export function intOption(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new ValidationError(`--${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

/** Whether `path` is an existing directory (for options that name one). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
