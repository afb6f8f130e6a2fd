/**
 * Typed errors. Every error the runtime raises is an {@link AgentsSdkError} with a stable
 * `code`; callers branch on `code` and `transient`, never on message text.
 *
 * @module
 */

import type { ExecutionResult } from './execution-result.js';

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type ErrorCode =
  // transient: worth retrying
  | 'API_OVERLOADED'
  | 'RATE_LIMITED'
  | 'API_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'STALLED'
  /** The worker running a remote attempt stopped answering (killed, or its machine lost): BullMQ's stalled-job check failed the job. */
  | 'WORKER_LOST'
  /**
   * A task with `output_schema` (or `output: json`) gave no conforming JSON: the agent never
   * called its StructuredOutput tool, or a command's stdout is not JSON or does not match.
   * Transient: retried under `retry_count` (the model may comply the next time).
   */
  | 'OUTPUT_SCHEMA'
  // permanent: retrying cannot help
  | 'AUTH_FAILED'
  | 'BINARY_NOT_FOUND'
  | 'INVALID_ARGUMENTS'
  | 'AGENT_ERROR'
  | 'MAX_TURNS'
  | 'CRASHED'
  | 'COMMAND_FAILED'
  | 'CANCELLED'
  | 'TOKEN_BUDGET_EXCEEDED'
  | 'SESSION_BUSY'
  | 'VALIDATION_ERROR'
  | 'INVALID_KEY'
  | 'NOT_FOUND'
  | 'CORRUPT_STATE'
  | 'LOCKED'
  /** A run with this id is already stored: a new run needs another id (or resume that one, if it has not finished). */
  | 'RUN_EXISTS'
  | 'UNSUPPORTED_SCHEMA'
  | 'REPLAY_MISSING'
  | 'BACKEND_UNAVAILABLE'
  /** The run's state could not be saved (disk full, I/O error): the run stopped; resume once fixed. */
  | 'STATE_WRITE_FAILED'
  /** A `wait_for` task's event did not come within its timeout. */
  | 'WAIT_TIMEOUT'
  /** The run has finished (completed): a signal to it can change nothing. */
  | 'RUN_FINISHED'
  /** A signal whose type no task of the run waits for (`wait_for`): refused unless forced. */
  | 'UNKNOWN_EVENT'
  /** `{{memory.<key>}}` names a key the memory store does not have (and the template gives no default). */
  | 'MEMORY_KEY_MISSING'
  /** `{{hash "<path>"}}` names a file (or directory) that does not exist. */
  | 'HASH_NO_MATCH'
  /** A task's output could not be stored in memory (`cache:`, `remember:`). */
  | 'MEMORY_WRITE_FAILED'
  /** No worker took a remote attempt within the task's timeout (none serves its queue, or its `runs_on` tags). */
  | 'NO_WORKER'
  /** A task's expression (`when:`) could not be evaluated (a missing field, a value of the wrong type): it names the expression and the values it saw. */
  | 'EXPRESSION_ERROR'
  /** A fan-out's list (`for_each`) has more items than its `max_items`: nothing started. */
  | 'TOO_MANY_ITEMS'
  /** A loop (`repeat`) ran its `max` iterations without its `until` holding: it names the expression and the last values it saw. */
  | 'LOOP_EXHAUSTED'
  /**
   * A run whose workflow was built in TypeScript with functions (a `when` or `until` function)
   * was resumed (or rerun) without that code: its checkpoint holds no function. Resume it from
   * the code that started it (`resume(runId, { workflow })`).
   */
  | 'CODE_REQUIRED'
  /**
   * A task with `workspace: worktree` cannot have one: no `git`, its `cwd` is not in a git
   * repository (or is in a submodule), the repository has no commit, the state directory is not
   * writable. Found before anything runs; `details.reason` says which.
   */
  | 'WORKSPACE_UNAVAILABLE'
  /** The commits a worktree task starts from (its dependencies') do not merge: `details.tasks` and `details.files` name them. Not retried. */
  | 'MERGE_CONFLICT'
  /** A git command of a worktree (add, commit, remove) failed; its stderr is in the message. */
  | 'GIT_FAILED';

/** Facts about a failed process run that an error may carry. */
export interface ProcessFacts {
  /** Exit code of the process, `null` if it was killed by a signal or never started. */
  exitCode?: number | null;
  /** Signal that ended the process, if any. */
  signal?: string | null;
  /** The last lines of the process's stderr. */
  stderrTail?: string;
  /** The HTTP status the Claude API answered, from the result line's `api_error_status`. */
  apiErrorStatus?: number | null;
}

/** Options accepted by every {@link AgentsSdkError} constructor. */
export interface AgentsSdkErrorOptions extends ProcessFacts {
  cause?: unknown;
  /** Free-form structured details (task id, file, field ...). */
  details?: Record<string, unknown>;
  /** What the failed execution did produce (tokens and cost are spent even when it fails). */
  result?: ExecutionResult;
}

/** The JSON shape of an error, as stored in machine context, checkpoints and results. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  transient: boolean;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
  apiErrorStatus?: number | null;
  details?: Record<string, unknown>;
  result?: ExecutionResult;
}

/** Base class of every error raised by agents-sdk. */
export class AgentsSdkError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Whether retrying the same work may succeed. */
  readonly transient: boolean;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly stderrTail?: string;
  readonly apiErrorStatus?: number | null;
  readonly details?: Record<string, unknown>;
  /** What the failed execution did produce, when it ran at all. */
  readonly result?: ExecutionResult;

  constructor(code: ErrorCode, message: string, transient: boolean, options: AgentsSdkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.transient = transient;
    if (options.exitCode !== undefined) this.exitCode = options.exitCode;
    if (options.signal !== undefined) this.signal = options.signal;
    if (options.stderrTail !== undefined) this.stderrTail = options.stderrTail;
    if (options.apiErrorStatus !== undefined) this.apiErrorStatus = options.apiErrorStatus;
    if (options.details !== undefined) this.details = options.details;
    if (options.result !== undefined) this.result = options.result;
  }

  /** Plain-JSON form, safe to put in machine context or a checkpoint. */
  toJSON(): SerializedError {
    const out: SerializedError = {
      name: this.name,
      code: this.code,
      message: this.message,
      transient: this.transient,
    };
    if (this.exitCode !== undefined) out.exitCode = this.exitCode;
    if (this.signal !== undefined) out.signal = this.signal;
    if (this.stderrTail !== undefined) out.stderrTail = this.stderrTail;
    if (this.apiErrorStatus !== undefined) out.apiErrorStatus = this.apiErrorStatus;
    if (this.details !== undefined) out.details = this.details;
    if (this.result !== undefined) out.result = this.result;
    return out;
  }
}

/** A failure that may go away on its own: API overload (529), rate limit (429), 5xx, network, our timeouts. */
export class TransientError extends AgentsSdkError {
  constructor(code: ErrorCode, message: string, options: AgentsSdkErrorOptions = {}) {
    super(code, message, true, options);
  }
}

/** A failure that retrying cannot fix: auth, bad arguments, missing binary, an agent error, a crash. */
export class PermanentError extends AgentsSdkError {
  constructor(code: ErrorCode, message: string, options: AgentsSdkErrorOptions = {}) {
    super(code, message, false, options);
  }
}

/** The work was cancelled by the caller (AbortSignal, `cancel()`, SIGINT). Never retried. */
export class CancelledError extends PermanentError {
  constructor(message = 'Cancelled', options: AgentsSdkErrorOptions = {}) {
    super('CANCELLED', message, options);
  }
}

/** One problem found while validating input (a workflow spec, a key, a CLI argument). */
export interface ValidationIssue {
  /** Where: a file, a task id, a field path. */
  path: string;
  message: string;
}

/** How many issues a {@link ValidationError}'s message names; `issues` holds them all. */
const ISSUES_IN_MESSAGE = 3;

/**
 * Input was rejected before anything ran; `issues` lists every problem found. The message is
 * the summary followed by the first few issues (`...: 4 problems: tasks.a.depends_on: unknown
 * task "b"; ...; and 1 more`), so that a log line or a `catch` that prints `message` says what
 * is wrong.
 */
export class ValidationError extends PermanentError {
  readonly issues: ValidationIssue[];
  /** The message without the issues, e.g. `Invalid workflow in w.yaml: 4 problems`. */
  readonly summary: string;
  constructor(summary: string, issues: ValidationIssue[] = [], options: AgentsSdkErrorOptions = {}) {
    super('VALIDATION_ERROR', withIssues(summary, issues), { ...options, details: { ...options.details, issues } });
    this.issues = issues;
    this.summary = summary;
  }

  /** The issues the summary does not already say (a parse error's summary quotes its one issue). */
  get unsaidIssues(): ValidationIssue[] {
    return unsaidIssues(this.summary, this.issues);
  }
}

function unsaidIssues(summary: string, issues: ValidationIssue[]): ValidationIssue[] {
  return issues.filter((issue) => !summary.includes(issue.message));
}

function withIssues(summary: string, issues: ValidationIssue[]): string {
  const unsaid = unsaidIssues(summary, issues);
  if (unsaid.length === 0) return summary;
  const named = unsaid.slice(0, ISSUES_IN_MESSAGE).map((issue) => `${issue.path}: ${issue.message}`);
  const more = unsaid.length - named.length;
  return `${summary}: ${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

/** Turns anything thrown into the plain JSON form used in context and results. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof AgentsSdkError) return error.toJSON();
  if (isSerializedError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'Error', code: 'CRASHED', message, transient: false };
}

/** Rebuilds a typed error from its JSON form (the reverse of {@link serializeError}). */
export function deserializeError(error: SerializedError): AgentsSdkError {
  const { name: _name, code, message, transient, ...facts } = error;
  const options: AgentsSdkErrorOptions = { ...facts };
  if (code === 'CANCELLED') return new CancelledError(message, options);
  return transient ? new TransientError(code, message, options) : new PermanentError(code, message, options);
}

function isSerializedError(value: unknown): value is SerializedError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SerializedError).code === 'string' &&
    typeof (value as SerializedError).message === 'string' &&
    typeof (value as SerializedError).transient === 'boolean'
  );
}
