/**
 * Runs a command task (`command: ["npm", "test"]`) with execa, never through a shell.
 * Success is exit code 0; the output is stdout.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { CancelledError, PermanentError, TransientError } from '../errors.js';
import { emptyTokens } from '../claude/stream-json.js';
import type { ExecutionResult } from '../execution-result.js';
import { DEFAULT_STATE_DIR } from './claude-code-runner.js';
import { CommandOutputCollector, DEFAULT_MAX_OUTPUT_CHARS, commandOutputFile } from './command-output.js';
import { parseJsonOutput } from './json-output.js';
import { processRegistryDir } from './process-registry.js';
import { DEFAULT_KILL_GRACE_MS, runSupervisedProcess } from './supervised-process.js';

/** A command to run. Plain JSON. */
export interface CommandRunRequest {
  /** The program and its arguments; no shell is involved, so no quoting or globbing. */
  command: string[];
  cwd?: string;
  /** Variables set over `process.env`. */
  env?: Record<string, string>;
  /** Kill after this many ms (0 or undefined: no limit). Reported as `TIMEOUT`, transient. */
  timeoutMs?: number;
  killGraceMs?: number;
  /** How long descendants may hold stdout open after the process exited before it is cut (default 1 s; see `OutputCut`). */
  streamGraceMs?: number;
  /** With `runId`: the state directory whose run lists this command in its process registry while it runs. */
  stateDir?: string;
  /** The run the command belongs to (see `stateDir`). */
  runId?: string;
  /** List the process in the run's registry while it runs (see `ClaudeRunRequest.processRegistry`). */
  processRegistry?: boolean;
  /** Who the registry lists the process under (see `ClaudeRunRequest.processOwner`). */
  processOwner?: string;
  /** The task the command runs for (names a remote attempt's job; the runner ignores it). */
  taskId?: string;
  /**
   * Which attempt of its task this run is, from 1: names the attempt's whole-stdout file
   * (`raw_stdout.attempt-<n>.txt`) and a remote attempt's job.
   */
  attempt?: number;
  /**
   * Characters of stdout the result keeps (default 10 MiB). Past it the result's `output` is
   * the tail, marked `truncated`, and with a `runId` the whole stdout is written to
   * `<stateDir>/<runId>/<taskId>/raw_stdout[.attempt-<n>].txt` (`outputFile`).
   */
  maxOutputChars?: number;
  /**
   * Parse stdout as JSON (a task's `output: json`): the result's `json`. Stdout that is not
   * JSON fails the attempt with `OUTPUT_SCHEMA` (transient), naming the parse error.
   */
  outputJson?: boolean;
  /** Check the parsed stdout against this JSON Schema (a task's `output_schema`; implies `outputJson`). */
  outputSchema?: Record<string, unknown>;
}

/** Runs the command to its end; resolves on exit 0, otherwise throws a typed error carrying the result. */
export async function runCommand(request: CommandRunRequest, hooks: { signal?: AbortSignal } = {}): Promise<ExecutionResult> {
  const [file, ...args] = request.command;
  if (!file) throw new PermanentError('INVALID_ARGUMENTS', 'Command task has an empty command');
  // Spawning in a missing directory fails with ENOENT, which reads as a missing program.
  if (request.cwd !== undefined && !isDirectory(request.cwd)) throw missingCwd(request.cwd);
  const out = new CommandOutputCollector(request.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS, commandOutputFile(request, DEFAULT_STATE_DIR));
  const outcome = await runSupervisedProcess({
    file,
    args,
    ...(request.cwd !== undefined && { cwd: request.cwd }),
    ...(request.env !== undefined && { env: request.env }),
    ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
    killGraceMs: request.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    ...(request.streamGraceMs !== undefined && { streamGraceMs: request.streamGraceMs }),
    ...(hooks.signal !== undefined && { signal: hooks.signal }),
    ...(request.processRegistry && request.runId && { registryDir: processRegistryDir(request.stateDir ?? DEFAULT_STATE_DIR, request.runId), registryOwner: request.processOwner }),
    onLine: (line) => out.push(line),
  });
  const stdout = out.finish();
  const result: ExecutionResult = {
    success: false,
    output: stdout.text,
    sessionId: null,
    tokens: emptyTokens(),
    costUsd: 0,
    durationMs: outcome.durationMs,
    cliDurationMs: null,
    numTurns: 0,
    exitCode: outcome.exitCode,
    stderrTail: outcome.stderrTail,
  };
  if (stdout.truncated) {
    result.truncated = true;
    if (stdout.file !== null) result.outputFile = stdout.file;
    if (stdout.bytes !== null) result.outputBytes = stdout.bytes;
  }
  if (outcome.outputCut) result.outputCut = outcome.outputCut;
  const facts = { exitCode: outcome.exitCode, signal: outcome.signal, stderrTail: outcome.stderrTail, result };
  const shown = clip(request.command.join(' '));
  if (outcome.spawnError) {
    // The directory may have gone between the check and the spawn.
    if (request.cwd !== undefined && !isDirectory(request.cwd)) throw missingCwd(request.cwd, facts);
    // execa's message repeats the whole command line: keep its first line, clipped.
    const why = clip(outcome.spawnError.message.split('\n')[0] ?? '');
    throw new PermanentError('COMMAND_FAILED', `Could not start command \`${shown}\`: ${why}`, facts);
  }
  if (outcome.killedBy === 'abort') throw new CancelledError(`Command \`${shown}\` was cancelled`, facts);
  if (outcome.killedBy === 'timeout') {
    throw new TransientError('TIMEOUT', `Command \`${shown}\` timed out after ${outcome.limitMs} ms and was killed`, facts);
  }
  if (outcome.exitCode !== 0) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    throw new PermanentError('COMMAND_FAILED', `Command \`${shown}\` ${how}`, facts);
  }
  if (request.outputJson || request.outputSchema !== undefined) result.json = parseJsonOutput(request, result);
  result.success = true;
  return result;
}

/** The same error an agent task gets for a missing working directory. */
function missingCwd(cwd: string, facts: ConstructorParameters<typeof PermanentError>[2] = {}): PermanentError {
  return new PermanentError('INVALID_ARGUMENTS', `Working directory ${cwd} does not exist (or is not a directory)`, { ...facts, details: { cwd } });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Commands in messages are cut to a readable length (an argument may be megabytes). */
function clip(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
