/**
 * The result of one execution (one Claude Code prompt or one command), the same shape for
 * every kind of task so that sessions, the orchestrator and checkpoints treat them alike.
 *
 * @module
 */
import type { TokenUsage } from './claude/stream-json.js';

/** Result of one execution. Plain JSON. */
export interface ExecutionResult {
  /** True when the execution succeeded. */
  success: boolean;
  /** The final text (`result` of the stream) or a command's stdout. */
  output: string;
  /**
   * Structured output: the object an agent gave for its `output_schema` (the result line's
   * `structured_output`), or a command's stdout parsed as JSON (`output: json`). Absent otherwise.
   */
  json?: unknown;
  /** Claude session id (the latest one seen); `null` for commands. */
  sessionId: string | null;
  tokens: TokenUsage;
  /** `total_cost_usd` of the result line. */
  costUsd: number;
  /** Wall-clock duration measured by us. */
  durationMs: number;
  /** `duration_ms` reported by the CLI, when it reported one. */
  cliDurationMs: number | null;
  numTurns: number;
  exitCode: number | null;
  /** The last few KiB of stderr. */
  stderrTail: string;
  /**
   * A command printed more than its output keeps (10 MiB by default): `output` is the tail of
   * its stdout, and `outputFile` (when the run has a state directory) the whole of it.
   */
  truncated?: boolean;
  /** The file holding a `truncated` command's whole stdout (`<stateDir>/<runId>/<taskId>/raw_stdout[.attempt-<n>].txt`). */
  outputFile?: string;
  /** Bytes of the whole stdout in `outputFile`. */
  outputBytes?: number;
  /** Completed from a memory entry (a task's `cache:`): nothing ran, nothing was spent. */
  cached?: boolean;
  /** Set when stdout was cut before its end (see {@link OutputCut}): `output` holds what was read until then. */
  outputCut?: OutputCut;
  /** A `workspace: worktree` attempt: the commit of what it changed, on its branch (see `TaskRecord.commit`). */
  workspace?: { commit: string; branch: string };
}

/**
 * Why a process's stdout was cut before its end: the process had exited, but descendants it
 * left behind (`heldBy`, their pids, when they could be seen) still held stdout open
 * `afterExitMs` later. Output still waiting in the pipe is never cut: it is read to its end.
 */
export interface OutputCut {
  afterExitMs: number;
  heldBy: number[];
}

/** One line saying what {@link OutputCut} means, for `status`, `logs` and the report. */
export function describeOutputCut(cut: OutputCut): string {
  const who = cut.heldBy.length === 0 ? 'a process it left behind' : `process${cut.heldBy.length === 1 ? '' : 'es'} ${cut.heldBy.join(', ')} it left behind`;
  return `output cut: ${who} still held stdout open ${(cut.afterExitMs / 1000).toFixed(1)} s after it exited; what it wrote until then is kept`;
}
