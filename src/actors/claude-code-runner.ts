/**
 * Runs one prompt through the Claude Code CLI (`claude -p ... --output-format stream-json
 * --verbose`), emitting typed progress events as lines arrive, recording the raw stream,
 * and returning an {@link ExecutionResult} or throwing a typed error.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertValidRunId } from '../persistence/state-keys.js';
import { findClaudeBinary } from '../claude/find-claude-binary.js';
import { ClaudeStreamCollector } from '../claude/stream-collector.js';
import type { ClaudeProgressEvent } from '../claude/stream-json.js';
import { PermanentError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import { processRegistryDir } from './process-registry.js';
import { DEFAULT_KILL_GRACE_MS, runSupervisedProcess } from './supervised-process.js';

/** Default model alias passed to `--model`. */
export const DEFAULT_MODEL = 'sonnet';
/** Default limit of one execution: 30 minutes. */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/**
 * Default stall limit (no stdout line): 11 minutes. The stream is silent while a tool runs,
 * and Claude Code's Bash tool may run a command for up to 10 minutes (a test suite, a build).
 */
export const DEFAULT_STALL_TIMEOUT_MS = 11 * 60_000;
/**
 * Claude Code's own retries of a failed API request (`CLAUDE_CODE_MAX_RETRIES`), unless the
 * request or the environment says otherwise. Claude Code's default, 10, with its backoff makes
 * a persistent 529 take about 3 minutes per attempt, silent to our retries and live view.
 */
export const DEFAULT_API_RETRIES = 2;
/** The variable Claude Code reads its API retry count from. */
export const API_RETRIES_ENV = 'CLAUDE_CODE_MAX_RETRIES';

/**
 * The agent's environment over `process.env`: the request's `env`, and
 * `CLAUDE_CODE_MAX_RETRIES` from `apiRetries`, else from `env` or the process's environment
 * (a user's explicit setting wins over the default), else `DEFAULT_API_RETRIES`.
 */
export function agentEnv(request: Pick<ClaudeRunRequest, 'env' | 'apiRetries'>, processEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const explicit = request.env?.[API_RETRIES_ENV] ?? processEnv[API_RETRIES_ENV];
  const retries = request.apiRetries !== undefined ? String(request.apiRetries) : explicit !== undefined && explicit !== '' ? explicit : String(DEFAULT_API_RETRIES);
  return { ...request.env, [API_RETRIES_ENV]: retries };
}

/** Default directory raw outputs are recorded under. */
export const DEFAULT_STATE_DIR = 'agents';

/** Prompts longer than this go through stdin: one argv string is capped at 128 KiB on Linux. */
const MAX_PROMPT_ARG_BYTES = 100_000;

/** One prompt to run through Claude Code. Plain JSON. */
export interface ClaudeRunRequest {
  prompt: string;
  /** `--model`; default `sonnet`. */
  model?: string;
  /** Working directory of the agent; default the current directory. */
  cwd?: string;
  /** Variables set over `process.env`. */
  env?: Record<string, string>;
  /**
   * `false`: the agent gets `env` (and `CLAUDE_CODE_MAX_RETRIES`) only, not `process.env` under
   * it, as ADW's filtered environment does. Default true.
   */
  inheritEnv?: boolean;
  /** `--mcp-config <file>`: MCP servers for the agent (ADW's `<working_dir>/.mcp.json`). */
  mcpConfig?: string;
  /** `--resume <id>`: continue an earlier Claude session. */
  resumeSessionId?: string;
  /** `--max-turns`. */
  maxTurns?: number;
  /** `--append-system-prompt`. */
  appendSystemPrompt?: string;
  /** `--allowedTools`, joined with commas. */
  allowedTools?: string[];
  /** Adds `--dangerously-skip-permissions`. Default false. */
  dangerouslySkipPermissions?: boolean;
  /**
   * `--json-schema`: the agent must answer through its StructuredOutput tool with an object
   * matching this JSON Schema; the result's `json` is that object. A run that ends without it
   * fails with `OUTPUT_SCHEMA` (transient).
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * `CLAUDE_CODE_MAX_RETRIES`: how many times Claude Code retries a failed API request itself
   * before the attempt fails. Without it: the variable as `env` or the process's environment
   * sets it, else `DEFAULT_API_RETRIES`.
   */
  apiRetries?: number;
  /** Kill after this many ms in all (default 30 min; 0 = none). Reported as `TIMEOUT`, transient. */
  timeoutMs?: number;
  /** Kill when stdout is silent this long (default 5 min; 0 = none). Reported as `STALLED`, transient. */
  stallTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
  /** How long descendants may hold stdout open after the process exited before it is cut (default 1 s; see `OutputCut`). */
  streamGraceMs?: number;
  /** How long the CLI may take to exit after its result line before it is killed (the result stands); default 10 s. */
  lingerMs?: number;
  /** Where raw output is recorded; default `agents`. */
  stateDir?: string;
  /** The run (or session) directory under `stateDir`. Without it nothing is recorded. */
  runId?: string;
  /** The agent directory under the run; default `agent`. */
  agentName?: string;
  /**
   * Which attempt of its task (or prompt) this run is, from 1 (default 1): names its raw files,
   * so that a retry never overwrites the stream of the attempt before it (see `rawOutputFileName`).
   */
  attempt?: number;
  /**
   * Also write the final result line to `raw_output[.attempt-<n>].json` beside the stream, as
   * ADW's layout has it (`promptClaudeCode` sets it). Default false: the stream file holds that
   * line already, and a big result would be stored twice.
   */
  resultFile?: boolean;
  /** Explicit binary path; default `CLAUDE_CODE_PATH`, else `claude` on PATH. */
  claudePath?: string;
  /**
   * List the process in the run's registry while it runs (`<stateDir>/<runId>/.processes/`),
   * so that a resume can end it if this process dies. Set by the orchestrator when it checkpoints.
   */
  processRegistry?: boolean;
  /** Who the registry lists the process under (`ProcessEntry.owner`): an `AgentSession` gives its session id. */
  processOwner?: string;
}

/** Non-serializable companions of a request. */
export interface RunHooks {
  /** Cancels the run: the process tree is killed and the run rejects with `CANCELLED`. */
  signal?: AbortSignal;
  /** Called for every progress event, as it arrives. */
  onEvent?: (event: ClaudeProgressEvent) => void;
}

/** Builds the CLI arguments of a request (exported for tests and for dry runs). */
export function buildClaudeArgs(request: ClaudeRunRequest, promptViaStdin = false): string[] {
  const args = promptViaStdin ? ['-p'] : ['-p', request.prompt];
  // ADW's order: the prompt, `--model`, the output format, then the rest.
  args.push('--model', request.model ?? DEFAULT_MODEL, '--output-format', 'stream-json', '--verbose');
  if (request.mcpConfig) args.push('--mcp-config', request.mcpConfig);
  if (request.dangerouslySkipPermissions) args.push('--dangerously-skip-permissions');
  if (request.resumeSessionId) args.push('--resume', request.resumeSessionId);
  if (request.maxTurns !== undefined) args.push('--max-turns', String(request.maxTurns));
  if (request.appendSystemPrompt) args.push('--append-system-prompt', request.appendSystemPrompt);
  if (request.allowedTools && request.allowedTools.length > 0) args.push('--allowedTools', request.allowedTools.join(','));
  if (request.jsonSchema !== undefined) args.push('--json-schema', JSON.stringify(request.jsonSchema));
  return args;
}

/** The task named in an `OUTPUT_SCHEMA` error when a request asks for structured output (its agent directory's name). */
export function structuredFor(request: Pick<ClaudeRunRequest, 'jsonSchema' | 'agentName'>): string | undefined {
  return request.jsonSchema === undefined ? undefined : (request.agentName ?? 'agent');
}

/** Where a request's raw stream is recorded, or `null` when it has no run id. */
export function rawOutputDir(request: Pick<ClaudeRunRequest, 'stateDir' | 'runId' | 'agentName' | 'cwd'>): string | null {
  if (!request.runId) return null;
  // Both are path segments under the state directory: hostile values must not escape it.
  assertValidRunId(request.runId);
  assertValidRunId(request.agentName ?? 'agent');
  return resolve(request.stateDir ?? DEFAULT_STATE_DIR, request.runId, request.agentName ?? 'agent');
}

/**
 * The name of an attempt's raw stream file: `raw_output.jsonl` for the first attempt,
 * `raw_output.attempt-<n>.jsonl` for a later one. The result line is kept beside it under the
 * same name ending in `.json`.
 */
export function rawOutputFileName(attempt = 1): string {
  return attempt > 1 ? `raw_output.attempt-${attempt}.jsonl` : 'raw_output.jsonl';
}

/** The file a request's raw stream is recorded in (see `rawOutputFileName`), or `null` when it has no run id. */
export function rawOutputFile(request: Pick<ClaudeRunRequest, 'stateDir' | 'runId' | 'agentName' | 'attempt'>): string | null {
  const dir = rawOutputDir(request);
  return dir === null ? null : join(dir, rawOutputFileName(request.attempt));
}

/**
 * {@link rawOutputFile} from its parts, without validating them (for ids validated already):
 * `<stateDir>/<runId>/<agentName>/raw_output[.attempt-<n>].jsonl`, absolute.
 */
export function rawOutputPath(stateDir: string, runId: string, agentName: string, attempt: number): string {
  return resolve(stateDir, runId, agentName, rawOutputFileName(attempt));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Runs one prompt to its end.
 *
 * @returns the result of a successful run.
 * @throws TransientError (API overload/rate limit/5xx, network, `TIMEOUT`, `STALLED`) or
 *   PermanentError (`AUTH_FAILED`, `INVALID_ARGUMENTS`, `BINARY_NOT_FOUND`, `AGENT_ERROR`,
 *   `MAX_TURNS`, `CRASHED`) or CancelledError; each carries the partial `result`.
 */
export async function runClaudeCode(request: ClaudeRunRequest, hooks: RunHooks = {}): Promise<ExecutionResult> {
  if (typeof request.prompt !== 'string' || request.prompt.trim() === '') {
    throw new PermanentError('INVALID_ARGUMENTS', 'Claude Code request has an empty prompt');
  }
  if (request.cwd !== undefined && !isDirectory(request.cwd)) {
    throw new PermanentError('INVALID_ARGUMENTS', `Working directory ${request.cwd} does not exist (or is not a directory)`, {
      details: { cwd: request.cwd },
    });
  }
  const agentVariables = agentEnv(request);
  const env = { ...process.env, ...agentVariables };
  // A relative CLAUDE_CODE_PATH means relative to where the user is, not to each agent's cwd.
  const binary = request.claudePath ?? findClaudeBinary(env);
  // stdin also carries prompts that start with "-": after -p the CLI would read them as a flag.
  const viaStdin = request.prompt.startsWith('-') || Buffer.byteLength(request.prompt) > MAX_PROMPT_ARG_BYTES;

  const collector = new ClaudeStreamCollector(rawOutputFile(request), request.resumeSessionId ?? null, hooks.onEvent, request.resultFile === true, structuredFor(request));
  const outcome = await runSupervisedProcess({
    file: binary,
    args: buildClaudeArgs(request, viaStdin),
    ...(request.cwd !== undefined && { cwd: request.cwd }),
    env: agentVariables,
    ...(request.inheritEnv === false && { extendEnv: false }),
    ...(viaStdin && { stdin: request.prompt }),
    timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    stallTimeoutMs: request.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    killGraceMs: request.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    ...(request.streamGraceMs !== undefined && { streamGraceMs: request.streamGraceMs }),
    ...(request.lingerMs !== undefined && { lingerMs: request.lingerMs }),
    ...(hooks.signal !== undefined && { signal: hooks.signal }),
    onLine: (text) => collector.handleLine(text),
    ...(request.processRegistry && request.runId && { registryDir: processRegistryDir(request.stateDir ?? DEFAULT_STATE_DIR, request.runId), registryOwner: request.processOwner }),
  });
  if (outcome.spawnError) {
    await collector.finish(outcome).catch(() => undefined);
    const code = outcome.spawnError.code;
    if (code === 'EINVALIDARGS') {
      throw new PermanentError('INVALID_ARGUMENTS', `Claude Code could not be started with this request: ${outcome.spawnError.message}`);
    }
    throw new PermanentError(
      code === 'ENOENT' ? 'BINARY_NOT_FOUND' : 'CRASHED',
      `Could not start Claude Code at ${binary}: ${outcome.spawnError.message}`,
      { details: { binary, spawnError: code } },
    );
  }
  return collector.finish(outcome);
}
