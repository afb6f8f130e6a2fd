/**
 * The request and response shapes of the Python ADW system's `prompt_claude_code` and
 * `execute_template`, field for field (snake_case), so that its callers need no change.
 *
 * @module
 */

/** A model alias ADW uses. */
export type AdwModel = 'sonnet' | 'opus';

/** ADW's `AgentPromptRequest`: one prompt of one agent of one ADW run. */
export interface AgentPromptRequest {
  prompt: string;
  adw_id: string;
  /** Default `ops`, as in ADW. */
  agent_name?: string;
  model: AdwModel;
  dangerously_skip_permissions?: boolean;
  /** Where the raw stream-json is written (`….jsonl`); the parsed array goes beside it as `….json`. */
  output_file: string;
}

/** Why a prompt failed, as later ADW versions report it (`RetryCode`). */
export type AdwRetryCode = 'claude_code_error' | 'timeout_error' | 'execution_error' | 'error_during_execution' | 'none';

/** ADW's `AgentPromptResponse`. */
export interface AgentPromptResponse {
  /** The result text, or a message saying what went wrong. */
  output: string;
  success: boolean;
  session_id: string | null;
  /** Later ADW versions' `retry_code`; always set here. */
  retry_code?: AdwRetryCode;
}

/** ADW's `AgentTemplateRequest`: a slash command with its arguments. */
export interface AgentTemplateRequest {
  agent_name: string;
  /** e.g. `/feature`. */
  slash_command: string;
  args: string[];
  adw_id: string;
  /** Ignored, as in ADW: the model comes from the slash command (see {@link SLASH_COMMAND_MODEL_MAP}). */
  model?: AdwModel;
}

/** Options of `promptClaudeCode` and `executeTemplate` beyond ADW's request. */
export interface AdwPromptOptions {
  /** ADW's `agents` directory: prompts, `executeTemplate`'s outputs and the session cache live under it (default `agents`). */
  stateDir?: string;
  /** `true`: the SDK path (session reuse, retries, typed errors); default: the `USE_AGENTS_SDK` variable, else `false`. */
  useAgentsSdk?: boolean;
  /** Where `USE_AGENTS_SDK` and `CLAUDE_CODE_PATH` are read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** SDK path: attempts in all, transient failures retried with backoff (default 3). */
  maxRetries?: number;
  /** SDK path: first backoff in ms (default 2000). */
  baseDelayMs?: number;
}

/** ADW's model per slash command; commands not listed run on `sonnet`. */
export const SLASH_COMMAND_MODEL_MAP: Readonly<Record<string, AdwModel>> = {
  '/implement': 'opus',
  '/bug': 'opus',
  '/feature': 'opus',
  '/validate': 'sonnet',
  '/commit': 'sonnet',
  '/pull_request': 'sonnet',
};

/** Whether `USE_AGENTS_SDK` turns the SDK path on (`true`, `1`, `yes`, any case). */
export function useAgentsSdkFrom(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1|yes)$/i.test((env.USE_AGENTS_SDK ?? '').trim());
}
