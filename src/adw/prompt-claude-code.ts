/**
 * `promptClaudeCode` and `promptClaudeCodeWithRetry`: the drop-ins for ADW's
 * `prompt_claude_code` and `tac-7`'s `prompt_claude_code_with_retry`, behind `USE_AGENTS_SDK`.
 *
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { rawOutputPath, runClaudeCode } from '../actors/claude-code-runner.js';
import { AgentsSdkError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import { assertValidRunId } from '../persistence/state-keys.js';
import { pythonOsError, responseOfRun, savePrompt, SILENT, type AdwPrinter, type FinishedRun } from './adw-stream.js';
import {
  useAgentsSdkFrom,
  type AdwPromptOptions,
  type AdwRetryCode,
  type AdwRetryOptions,
  type AdwVersion,
  type AgentPromptRequest,
  type AgentPromptResponse,
} from './adw-types.js';
import { adwClaudeEnv } from './claude-env.js';
import { loadSessionId, saveSessionId } from './session-cache.js';

/** The retry codes `prompt_claude_code_with_retry` retries. */
export const ADW_RETRYABLE: readonly AdwRetryCode[] = ['claude_code_error', 'timeout_error', 'execution_error', 'error_during_execution'];

/** Options resolved once per call. */
interface Settings {
  version: AdwVersion;
  adwRoot: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  useSdk: boolean;
  print: AdwPrinter;
  sleep: (ms: number) => Promise<void>;
  maxRetries: number;
  baseDelayMs: number;
}

function settingsOf(options: AdwPromptOptions): Settings {
  const env = options.env ?? process.env;
  const adwRoot = resolve(options.adwRoot ?? '.');
  return {
    version: options.adwVersion ?? 'tac-7',
    adwRoot,
    stateDir: options.stateDir ?? join(adwRoot, '.agents-sdk'),
    env,
    cwd: options.cwd ?? process.cwd(),
    useSdk: options.useAgentsSdk ?? useAgentsSdkFrom(env),
    print: { stdout: options.stdout ?? SILENT.stdout, stderr: options.stderr ?? SILENT.stderr },
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    maxRetries: options.maxRetries ?? 3,
    baseDelayMs: options.baseDelayMs ?? 2000,
  };
}

/** The response as `version` shapes it: `retry_code` only in `tac-7`. */
function shaped(response: AgentPromptResponse, version: AdwVersion): AgentPromptResponse {
  if (version === 'tac-7') return response;
  const { retry_code: _dropped, ...rest } = response;
  return rest;
}

/**
 * Runs one ADW prompt and answers as ADW's `prompt_claude_code` of `options.adwVersion` does
 * (default `tac-7`): the same response, files (`output_file`, its `.json`, the prompt under
 * `<adwRoot>/agents/<adw_id>/<agent_name>/prompts/`), `claude` arguments and environment, and
 * printed lines (through `options.stdout` / `options.stderr`).
 *
 * `USE_AGENTS_SDK` off (the default): the original's one-shot call. On: the same for the same
 * stream, through agents-sdk's Claude Code runner: transient failures retried with backoff,
 * every attempt's stream kept under `<stateDir>/<adw_id>/<agent_name>/`, and the agent's
 * Claude session continued from one successful prompt to the next (cached per `agent_name:adw_id`).
 * It never throws: every failure is a response with `success: false`.
 */
export async function promptClaudeCode(request: AgentPromptRequest, options: AdwPromptOptions = {}): Promise<AgentPromptResponse> {
  const s = settingsOf(options);
  return shaped(await promptOnce(request, s, s.maxRetries), s.version);
}

/**
 * `tac-7`'s `prompt_claude_code_with_retry`: {@link promptClaudeCode} again while the response
 * fails with a retryable `retry_code` (`claude_code_error`, `timeout_error`,
 * `execution_error`, `error_during_execution`), `max_retries` times (default 3), waiting
 * `retry_delays` seconds before each (default 1, 3, 5). With the flag on each try is one
 * attempt of the SDK path, its stream kept beside the others.
 */
export async function promptClaudeCodeWithRetry(
  request: AgentPromptRequest,
  retry: AdwRetryOptions = {},
  options: AdwPromptOptions = {},
): Promise<AgentPromptResponse> {
  const s = settingsOf(options);
  const maxRetries = retry.max_retries ?? 3;
  const delays = [...(retry.retry_delays ?? [1, 3, 5])];
  while (delays.length < maxRetries) delays.push((delays.at(-1) ?? -1) + 2);
  let response!: AgentPromptResponse;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) await s.sleep(delays[attempt - 1]! * 1000);
    response = await promptOnce(request, s, 1);
    if (response.success || response.retry_code === 'none' || !ADW_RETRYABLE.includes(response.retry_code!)) break;
  }
  return shaped(response, s.version);
}

/** One prompt (with `attempts` tries of the SDK path for transient failures); the response with `retry_code`. */
async function promptOnce(request: AgentPromptRequest, s: Settings, attempts: number): Promise<AgentPromptResponse> {
  const agentName = request.agent_name ?? 'ops';
  const claudePath = s.env.CLAUDE_CODE_PATH ?? 'claude';
  const failed = (message: string, code: AdwRetryCode): AgentPromptResponse => {
    if (s.version !== 'tac-7') s.print.stderr(`${message}\n`);
    return { output: message, success: false, session_id: null, retry_code: code };
  };
  try {
    // Kept difference: both name directories under agents/, which `..` or `/` would leave.
    assertValidRunId(request.adw_id);
    assertValidRunId(agentName);
  } catch (error) {
    return failed(`Error executing Claude Code: ${(error as Error).message}`, 'execution_error');
  }
  if (!(await isInstalled(claudePath, s.env))) {
    return { output: `Error: Claude Code CLI is not installed. Expected at: ${claudePath}`, success: false, session_id: null, retry_code: 'none' };
  }
  try {
    savePrompt(request.prompt, s.adwRoot, request.adw_id, agentName, s.version, s.print);
    const outputDir = dirname(request.output_file);
    if (outputDir && outputDir !== '.') mkdirSync(outputDir, { recursive: true });
    const run = s.useSdk ? await viaRunner(request, agentName, claudePath, s, attempts) : await oneShot(request, claudePath, s);
    return responseOfRun(run, s.version, s.print);
  } catch (error) {
    return failed(`Error executing Claude Code: ${(error as Error).message}`, 'execution_error');
  }
}

/** `claude --version` runs and exits 0 (with the caller's whole environment, as the original's check). */
async function isInstalled(claudePath: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const run = await execa(claudePath, ['--version'], { reject: false, env, extendEnv: false, stdin: 'ignore' });
  return run.exitCode === 0 && !run.failed;
}

/** The `claude` arguments after `--model`'s: `--mcp-config` for a working directory that has `.mcp.json` (`tac-7`). */
function mcpConfigOf(request: AgentPromptRequest, version: AdwVersion): string | undefined {
  if (version !== 'tac-7' || !request.working_dir) return undefined;
  const file = join(request.working_dir, '.mcp.json');
  return existsSync(file) ? file : undefined;
}

/** `tac-7` runs `claude` in `working_dir`. */
function cwdOf(request: AgentPromptRequest, version: AdwVersion): string | undefined {
  return version === 'tac-7' && request.working_dir ? request.working_dir : undefined;
}

/** Opens `output_file` for writing as the original does before it starts `claude` (its errors worded as Python's). */
function openOutput(file: string): void {
  try {
    writeFileSync(file, '');
  } catch (error) {
    throw new Error(pythonOsError(error as NodeJS.ErrnoException, file));
  }
}

/** The original: one `claude -p` call, its stdout written into `output_file` as it comes. */
async function oneShot(request: AgentPromptRequest, claudePath: string, s: Settings): Promise<FinishedRun> {
  openOutput(request.output_file);
  const args = ['-p', request.prompt, '--model', request.model];
  args.push('--output-format', 'stream-json', '--verbose');
  const mcpConfig = mcpConfigOf(request, s.version);
  if (mcpConfig) args.push('--mcp-config', mcpConfig);
  if (request.dangerously_skip_permissions) args.push('--dangerously-skip-permissions');
  const cwd = cwdOf(request, s.version);
  const run = await execa(claudePath, args, {
    reject: false,
    env: adwClaudeEnv(s.version, s.env, s.cwd),
    extendEnv: false,
    ...(cwd !== undefined && { cwd }),
    stdin: 'ignore',
    stdout: { file: request.output_file },
    stripFinalNewline: false,
  });
  // Not started at all (a working directory that is gone, say): Python's FileNotFoundError.
  if (run.exitCode === undefined) throw new Error(pythonOsError({ code: 'ENOENT' } as NodeJS.ErrnoException, cwd ?? claudePath));
  return { outputFile: request.output_file, exitCode: run.exitCode, stderr: run.stderr };
}

/** The first attempt number not recorded yet under the agent's directory (every attempt of every prompt keeps its stream). */
function nextAttempt(dir: string): number {
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return 1;
  }
  return 1 + files.filter((f) => /^raw_output(\.attempt-\d+)?\.jsonl$/.test(f)).length;
}

/**
 * The SDK path: the runner with ADW's arguments and environment, continuing the agent's cached
 * Claude session; transient failures retried (up to `attempts` in all), each attempt's stream
 * recorded under `<stateDir>/<adw_id>/<agent_name>/`, the last one copied to `output_file`.
 */
async function viaRunner(request: AgentPromptRequest, agentName: string, claudePath: string, s: Settings, attempts: number): Promise<FinishedRun> {
  openOutput(request.output_file);
  const first = nextAttempt(join(s.stateDir, request.adw_id, agentName));
  const mcpConfig = mcpConfigOf(request, s.version);
  const cwd = cwdOf(request, s.version);
  for (let attempt = first; ; attempt++) {
    const cached = loadSessionId(s.stateDir, request.adw_id, agentName);
    let result: ExecutionResult | undefined;
    let exitCode: number | null | undefined;
    let stderr = '';
    let succeeded = false;
    try {
      result = await runClaudeCode({
        prompt: request.prompt,
        model: request.model,
        env: adwClaudeEnv(s.version, s.env, s.cwd),
        inheritEnv: false,
        claudePath,
        ...(cwd !== undefined && { cwd }),
        ...(mcpConfig !== undefined && { mcpConfig }),
        ...(request.dangerously_skip_permissions && { dangerouslySkipPermissions: true }),
        ...(cached !== null && { resumeSessionId: cached }),
        stateDir: s.stateDir,
        runId: request.adw_id,
        agentName,
        attempt,
        // The original waits for claude as long as it takes.
        timeoutMs: 0,
        stallTimeoutMs: 0,
      });
      exitCode = result.exitCode;
      stderr = result.stderrTail;
      succeeded = true;
    } catch (error) {
      if (!(error instanceof AgentsSdkError)) throw error;
      if (error.transient && attempt - first + 1 < attempts) {
        await s.sleep(s.baseDelayMs * 2 ** (attempt - first));
        continue;
      }
      result = error.result;
      exitCode = error.exitCode ?? result?.exitCode;
      stderr = error.stderrTail ?? result?.stderrTail ?? '';
      if (exitCode === undefined || exitCode === null) throw new Error(error.message);
    }
    const raw = rawOutputPath(s.stateDir, request.adw_id, agentName, attempt);
    if (existsSync(raw) && resolve(raw) !== resolve(request.output_file)) copyFileSync(raw, request.output_file);
    // Only a run that succeeded is continued: a retry of a failed one starts where the one before it left off.
    if (succeeded && result?.sessionId) saveSessionId(s.stateDir, request.adw_id, agentName, result.sessionId);
    return { outputFile: request.output_file, exitCode: exitCode ?? 0, stderr };
  }
}
