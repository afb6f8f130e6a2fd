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
}
