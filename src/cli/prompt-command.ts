/**
 * `agents-sdk prompt --json`: one ADW `AgentPromptRequest` on stdin, its `AgentPromptResponse` on stdout.
 *
 * @module
 */
import { promptClaudeCode } from '../adw/prompt-claude-code.js';
import type { AgentPromptRequest } from '../adw/adw-types.js';
import { ValidationError } from '../errors.js';
import { EXIT, reportError, type CliIO } from './cli-support.js';

/** Options of `agents-sdk prompt`. */
export interface PromptOptions {
  json?: boolean;
  stateDir?: string;
}

/** Reads the request, runs it (`USE_AGENTS_SDK` picks the path), prints the response; exit 0 when it succeeded, else 1 (2: a bad request). */
export async function promptCommand(options: PromptOptions, io: CliIO): Promise<number> {
  try {
    if (!options.json) throw new ValidationError('prompt: only --json is supported: an AgentPromptRequest on stdin, the AgentPromptResponse on stdout');
    const request = parseRequest(io.readStdin ? await io.readStdin() : await readAll(process.stdin));
    const response = await promptClaudeCode(request, options.stateDir === undefined ? {} : { stateDir: options.stateDir });
    io.stdout(`${JSON.stringify(response)}\n`);
    if (!response.success) io.stderr(`agents-sdk: prompt failed: ${response.output.slice(0, 500)}\n`);
    return response.success ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stdout(`${JSON.stringify({ output: `Error: ${message}`, success: false, session_id: null, retry_code: 'execution_error', error: { code: (error as { code?: string }).code ?? 'CRASHED', message } })}\n`);
    return reportError(error, io);
  }
}

/** Checks the request's fields (ADW's names and types). */
export function parseRequest(text: string): AgentPromptRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`prompt: stdin is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('prompt: stdin must be one AgentPromptRequest object');
  const r = value as Record<string, unknown>;
  for (const field of ['prompt', 'adw_id', 'output_file'] as const) {
    if (typeof r[field] !== 'string' || r[field] === '') throw new ValidationError(`prompt: ${field} must be a non-empty string`);
  }
  if (r.model !== 'sonnet' && r.model !== 'opus') throw new ValidationError(`prompt: model must be "sonnet" or "opus", got ${JSON.stringify(r.model)}`);
  if (r.agent_name !== undefined && typeof r.agent_name !== 'string') throw new ValidationError('prompt: agent_name must be a string');
  if (r.dangerously_skip_permissions !== undefined && typeof r.dangerously_skip_permissions !== 'boolean') {
    throw new ValidationError('prompt: dangerously_skip_permissions must be a boolean');
  }
  return r as unknown as AgentPromptRequest;
}

/* c8 ignore next 5 -- the process's own stdin: tests pass io.readStdin or spawn the CLI */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
