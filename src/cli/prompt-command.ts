/**
 * `agents-sdk prompt --json`: one ADW `AgentPromptRequest` on stdin, its `AgentPromptResponse` on stdout.
 *
 * @module
 */
import { resolve } from 'node:path';
import { promptClaudeCode, promptClaudeCodeWithRetry } from '../adw/prompt-claude-code.js';
import { ADW_VERSIONS, type AdwPromptOptions, type AdwRetryOptions, type AdwVersion, type AgentPromptRequest } from '../adw/adw-types.js';
import { ValidationError } from '../errors.js';
import { EXIT, reportError, type CliIO } from './cli-support.js';

/** Options of `agents-sdk prompt`. */
export interface PromptOptions {
  json?: boolean;
  /** agents-sdk's own files for these prompts (default `<adw-root>/.agents-sdk`); not the CLI's state directory: never read from `AGENTS_SDK_STATE_DIR` or a config file. */
  sdkDir?: string;
  /** `tac-5`, `tac-6` or `tac-7` (default). */
  adwVersion?: string;
  /** The ADW project root (default: the current directory). */
  adwRoot?: string;
  /** `tac-7`'s `prompt_claude_code_with_retry`. */
  withRetry?: boolean;
  /** With `withRetry`: retries after the first attempt (default 3). */
  maxRetries?: string;
  /** With `withRetry`: seconds before each retry, comma-separated (default 1,3,5). */
  retryDelays?: string;
}

/**
 * Reads the request, runs it (`USE_AGENTS_SDK` picks the path), prints what the original prints
 * (its stdout lines, then the response as the last line; its stderr lines on stderr); exit 0
 * when it succeeded, else 1 (2: a bad request).
 */
export async function promptCommand(options: PromptOptions, io: CliIO): Promise<number> {
  try {
    if (!options.json) throw new ValidationError('prompt: only --json is supported: an AgentPromptRequest on stdin, the AgentPromptResponse on stdout');
    const version = parseVersion(options.adwVersion);
    const retry = parseRetry(options);
    const adwAgents = resolve(options.adwRoot ?? '.', 'agents');
    if (options.sdkDir !== undefined && resolve(options.sdkDir) === adwAgents) {
      throw new ValidationError(`prompt: --sdk-dir ${adwAgents} is ADW's own agents directory: agents-sdk's files would mix with ADW's; use another (default: <adw-root>/.agents-sdk)`);
    }
    const request = parseRequest(io.readStdin ? await io.readStdin() : await readAll(process.stdin));
    const adw: AdwPromptOptions = {
      adwVersion: version,
      stdout: (line) => io.stdout(line),
      stderr: (line) => io.stderr(line),
      ...(options.sdkDir !== undefined && { stateDir: options.sdkDir }),
      ...(options.adwRoot !== undefined && { adwRoot: options.adwRoot }),
    };
    const response = retry === null ? await promptClaudeCode(request, adw) : await promptClaudeCodeWithRetry(request, retry, adw);
    io.stdout(`${JSON.stringify(response)}\n`);
    return response.success ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stdout(`${JSON.stringify({ output: `Error: ${message}`, success: false, session_id: null, retry_code: 'execution_error', error: { code: (error as { code?: string }).code ?? 'CRASHED', message } })}\n`);
    return reportError(error, io);
  }
}

function parseVersion(value: string | undefined): AdwVersion {
  if (value === undefined) return 'tac-7';
  if (!(ADW_VERSIONS as readonly string[]).includes(value)) throw new ValidationError(`prompt: --adw-version must be one of ${ADW_VERSIONS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as AdwVersion;
}

function parseRetry(options: PromptOptions): AdwRetryOptions | null {
  if (!options.withRetry) {
    if (options.maxRetries !== undefined || options.retryDelays !== undefined) throw new ValidationError('prompt: --max-retries and --retry-delays need --with-retry');
    return null;
  }
  const retry: AdwRetryOptions = {};
  if (options.maxRetries !== undefined) {
    if (!/^\d+$/.test(options.maxRetries)) throw new ValidationError(`prompt: --max-retries must be a whole number, got ${JSON.stringify(options.maxRetries)}`);
    retry.max_retries = Number(options.maxRetries);
  }
  if (options.retryDelays !== undefined) {
    const delays = options.retryDelays.split(',').map((d) => Number(d.trim()));
    if (delays.some((d) => !Number.isFinite(d) || d < 0)) throw new ValidationError(`prompt: --retry-delays must be seconds separated by commas, got ${JSON.stringify(options.retryDelays)}`);
    retry.retry_delays = delays;
  }
  return retry;
}

/** Checks the request's fields (ADW's names, types and defaults: `model` `sonnet`, `agent_name` `ops`). */
export function parseRequest(text: string): AgentPromptRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`prompt: stdin is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('prompt: stdin must be one AgentPromptRequest object');
  const r = { ...(value as Record<string, unknown>) };
  for (const field of ['prompt', 'adw_id', 'output_file'] as const) {
    if (typeof r[field] !== 'string' || r[field] === '') throw new ValidationError(`prompt: ${field} must be a non-empty string`);
  }
  r.model ??= 'sonnet';
  if (r.model !== 'sonnet' && r.model !== 'opus') throw new ValidationError(`prompt: model must be "sonnet" or "opus", got ${JSON.stringify(r.model)}`);
  if (r.agent_name !== undefined && typeof r.agent_name !== 'string') throw new ValidationError('prompt: agent_name must be a string');
  if (r.dangerously_skip_permissions !== undefined && typeof r.dangerously_skip_permissions !== 'boolean') {
    throw new ValidationError('prompt: dangerously_skip_permissions must be a boolean');
  }
  if (r.working_dir !== undefined && r.working_dir !== null && typeof r.working_dir !== 'string') throw new ValidationError('prompt: working_dir must be a string or null');
  return r as unknown as AgentPromptRequest;
}

/* c8 ignore next 5 -- the process's own stdin: tests pass io.readStdin or spawn the CLI */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
