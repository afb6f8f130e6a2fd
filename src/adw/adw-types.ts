/**
 * The request and response shapes of the Python ADW system's `prompt_claude_code` and
 * `execute_template`, field for field (snake_case), so that its callers need no change.
 *
 * @module
 */

/** A model alias ADW uses. */
export type AdwModel = 'sonnet' | 'opus';

/**
 * Which course version of ADW's `adws/adw_modules/agent.py` to answer as. They differ in what
 * they print (`tac-5`/`tac-6` print the files they write), in `retry_code` (`tac-7` only), in a
 * failed run's message, in the environment `claude` gets and in `execute_template`'s model.
 */
export type AdwVersion = 'tac-5' | 'tac-6' | 'tac-7';

/** The versions {@link AdwVersion} names; the last one is the default. */
export const ADW_VERSIONS: readonly AdwVersion[] = ['tac-5', 'tac-6', 'tac-7'];

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
  /** `tac-7`: `claude` runs there, with `--mcp-config <working_dir>/.mcp.json` when that file exists. */
  working_dir?: string | null;
}

/** Why a prompt failed, as later ADW versions report it (`RetryCode`). */
export type AdwRetryCode = 'claude_code_error' | 'timeout_error' | 'execution_error' | 'error_during_execution' | 'none';

/** ADW's `AgentPromptResponse`. */
export interface AgentPromptResponse {
  /** The result text, or a message saying what went wrong. */
  output: string;
  success: boolean;
  session_id: string | null;
  /** `tac-7`'s `retry_code` (absent for `tac-5`/`tac-6`, whose response has no such field). */
  retry_code?: AdwRetryCode;
}

/** ADW's `AgentTemplateRequest`: a slash command with its arguments. */
export interface AgentTemplateRequest {
  agent_name: string;
  /** e.g. `/feature`. */
  slash_command: string;
  args: string[];
  adw_id: string;
  /** `tac-5` runs on it (default `sonnet`); `tac-6` and `tac-7` pick the model from the slash command (see {@link modelForSlashCommand}). */
  model?: AdwModel;
  /** `tac-7`: passed on to the prompt request. */
  working_dir?: string | null;
}

/** Options of `promptClaudeCode` and `executeTemplate` beyond ADW's request. */
export interface AdwPromptOptions {
  /** The ADW version to answer as (default `tac-7`). */
  adwVersion?: AdwVersion;
  /**
   * The ADW project root (the directory holding `adws/` and `agents/`; default the current
   * directory): prompts are saved under its `agents/<adw_id>/<agent_name>/prompts/`,
   * `executeTemplate` writes under its `agents/`, and `tac-7` reads `model_set` from its
   * `agents/<adw_id>/adw_state.json`.
   */
  adwRoot?: string;
  /**
   * agents-sdk's own directory for the SDK path (flag on): every attempt's raw stream and the
   * session cache, under `<stateDir>/<adw_id>/<agent_name>/`. Default `<adwRoot>/.agents-sdk`:
   * never ADW's `agents/`, where only `output_file` (and its `.json`) is written.
   */
  stateDir?: string;
  /** `true`: the SDK path (session reuse, retries, typed errors); default: the `USE_AGENTS_SDK` variable, else `false`. */
  useAgentsSdk?: boolean;
  /** Where `USE_AGENTS_SDK`, `CLAUDE_CODE_PATH` and the variables `claude` gets are read from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** The current directory of the original Python process (its `PWD` for `claude` in `tac-6`/`tac-7`); default `process.cwd()`. */
  cwd?: string;
  /**
   * SDK path: attempts in all of `promptClaudeCode` (default 3), transient failures (an API
   * overload, a rate limit) retried with backoff. `promptClaudeCodeWithRetry` retries ADW's way instead.
   */
  maxRetries?: number;
  /** SDK path: first backoff in ms of `promptClaudeCode`'s retries (default 2000, doubling). */
  baseDelayMs?: number;
  /** What the original prints on stdout (`tac-5`/`tac-6`: `Saved prompt to: …` and the like), one line per call, newline included. Default: nothing printed. */
  stdout?: (line: string) => void;
  /** What the original prints on stderr (`Claude Code error: …`, `Error parsing JSONL file: …`), one line per call. Default: nothing printed. */
  stderr?: (line: string) => void;
  /** Waits between retries (default a timer): tests pass one that records the delays. */
  sleep?: (ms: number) => Promise<void>;
}

/** Options of `promptClaudeCodeWithRetry`, as `tac-7`'s `prompt_claude_code_with_retry` takes them. */
export interface AdwRetryOptions {
  /** Retries after the first attempt (default 3). */
  max_retries?: number;
  /** Seconds to wait before each retry (default `[1, 3, 5]`, extended by +2 s each when shorter than `max_retries`). */
  retry_delays?: number[];
}

/** `tac-6`'s model per slash command (`execute_template` overrides the requested model; unlisted commands run on `sonnet`). */
export const SLASH_COMMAND_MODEL_MAP: Readonly<Record<string, AdwModel>> = {
  '/classify_issue': 'sonnet',
  '/classify_adw': 'sonnet',
  '/generate_branch_name': 'sonnet',
  '/implement': 'opus',
  '/test': 'sonnet',
  '/resolve_failed_test': 'sonnet',
  '/test_e2e': 'sonnet',
  '/resolve_failed_e2e_test': 'sonnet',
  '/review': 'opus',
  '/document': 'sonnet',
  '/commit': 'sonnet',
  '/pull_request': 'sonnet',
  '/chore': 'sonnet',
  '/bug': 'opus',
  '/feature': 'opus',
  '/patch': 'opus',
};

/** `tac-7`'s model per slash command and `model_set` (`base` or `heavy`, from the run's `adw_state.json`); unlisted commands run on `sonnet`. */
export const SLASH_COMMAND_MODEL_SETS: Readonly<Record<string, { base: AdwModel; heavy: AdwModel }>> = {
  '/classify_issue': { base: 'sonnet', heavy: 'sonnet' },
  '/classify_adw': { base: 'sonnet', heavy: 'sonnet' },
  '/generate_branch_name': { base: 'sonnet', heavy: 'sonnet' },
  '/implement': { base: 'sonnet', heavy: 'opus' },
  '/test': { base: 'sonnet', heavy: 'sonnet' },
  '/resolve_failed_test': { base: 'sonnet', heavy: 'opus' },
  '/test_e2e': { base: 'sonnet', heavy: 'sonnet' },
  '/resolve_failed_e2e_test': { base: 'sonnet', heavy: 'opus' },
  '/review': { base: 'sonnet', heavy: 'sonnet' },
  '/document': { base: 'sonnet', heavy: 'opus' },
  '/commit': { base: 'sonnet', heavy: 'sonnet' },
  '/pull_request': { base: 'sonnet', heavy: 'sonnet' },
  '/chore': { base: 'sonnet', heavy: 'opus' },
  '/bug': { base: 'sonnet', heavy: 'opus' },
  '/feature': { base: 'sonnet', heavy: 'opus' },
  '/patch': { base: 'sonnet', heavy: 'opus' },
  '/install_worktree': { base: 'sonnet', heavy: 'sonnet' },
  '/track_agentic_kpis': { base: 'sonnet', heavy: 'sonnet' },
};

/** Whether `USE_AGENTS_SDK` turns the SDK path on (`1`, `true`, `yes`, `on`, any case: the Python shim's set). */
export function useAgentsSdkFrom(env: Record<string, string | undefined> = process.env): boolean {
  return /^(1|true|yes|on)$/i.test((env.USE_AGENTS_SDK ?? '').trim());
}
