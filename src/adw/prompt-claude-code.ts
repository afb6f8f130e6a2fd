/**
 * `promptClaudeCode`: the drop-in for ADW's `prompt_claude_code`, behind `USE_AGENTS_SDK`.
 *
 * @module
 */
import { copyFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { AgentSession } from '../agent-session.js';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { AgentsSdkError } from '../errors.js';
import { assertValidRunId } from '../persistence/state-keys.js';
import { ensureDirOf, responseOfRun, savePrompt } from './adw-stream.js';
import { useAgentsSdkFrom, type AdwPromptOptions, type AgentPromptRequest, type AgentPromptResponse } from './adw-types.js';
import { loadSessionId, saveSessionId } from './session-cache.js';

/**
 * Runs one ADW prompt and answers as ADW's `prompt_claude_code` does.
 *
 * `USE_AGENTS_SDK` off (the default): exactly the original's one-shot call. On: the same
 * files and response for the same stream, through an {@link AgentSession} that retries
 * transient failures with backoff and continues the agent's Claude session (cached per
 * `agent_name:adw_id` in the state dir). It never throws: every failure is a response with
 * `success: false`.
 */
export async function promptClaudeCode(request: AgentPromptRequest, options: AdwPromptOptions = {}): Promise<AgentPromptResponse> {
  const env = options.env ?? process.env;
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const agentName = request.agent_name ?? 'ops';
  const claudePath = env.CLAUDE_CODE_PATH || 'claude';
  try {
    assertValidRunId(request.adw_id);
    assertValidRunId(agentName);
  } catch (error) {
    return { output: `Error executing Claude Code: ${(error as Error).message}`, success: false, session_id: null, retry_code: 'execution_error' };
  }
  if (!(await isInstalled(claudePath, env))) {
    return { output: `Error: Claude Code CLI is not installed. Expected at: ${claudePath}`, success: false, session_id: null, retry_code: 'none' };
  }
  try {
    savePrompt(request.prompt, stateDir, request.adw_id, agentName);
    ensureDirOf(request.output_file);
    const useSdk = options.useAgentsSdk ?? useAgentsSdkFrom(env);
    return useSdk ? await viaAgentSession(request, agentName, stateDir, env, options) : await oneShot(request, claudePath, env);
  } catch (error) {
    return { output: `Error executing Claude Code: ${(error as Error).message}`, success: false, session_id: null, retry_code: 'execution_error' };
  }
}

/** `claude --version` runs and exits 0. */
async function isInstalled(claudePath: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const run = await execa(claudePath, ['--version'], { reject: false, env, extendEnv: false, stdin: 'ignore' });
  return run.exitCode === 0 && !run.failed;
}

/** The original: one `claude -p` call, its stdout written into `output_file` as it comes. */
async function oneShot(request: AgentPromptRequest, claudePath: string, env: NodeJS.ProcessEnv): Promise<AgentPromptResponse> {
  const args = ['-p', request.prompt, '--model', request.model, '--output-format', 'stream-json', '--verbose'];
  if (request.dangerously_skip_permissions) args.push('--dangerously-skip-permissions');
  const run = await execa(claudePath, args, { reject: false, env, extendEnv: false, stdin: 'ignore', stdout: { file: request.output_file }, stripFinalNewline: false });
  // Not started at all (ENOENT after --version passed, say): the original's generic failure.
  if (run.exitCode === undefined) throw new Error(run.shortMessage);
  return responseOfRun(request.output_file, run.exitCode, run.stderr);
}

/** The SDK path: an agent session that continues the agent's cached Claude session. */
async function viaAgentSession(
  request: AgentPromptRequest,
  agentName: string,
  stateDir: string,
  env: NodeJS.ProcessEnv,
  options: AdwPromptOptions,
): Promise<AgentPromptResponse> {
  const cached = loadSessionId(stateDir, request.adw_id, agentName);
  const session = new AgentSession({
    agentName,
    // Raw streams under <stateDir>/<adw_id>/<agent_name>/, where ADW keeps its own.
    context: { stateDir, runId: request.adw_id, ...(cached !== null && { claudeSessionId: cached }) },
  });
  let exitCode: number | null | undefined;
  let stderr = '';
  let timedOut = false;
  try {
    const result = await session.executeWithRetry(request.prompt, {
      model: request.model,
      // ADW's layout: the result line in raw_output.json beside the stream.
      resultFile: true,
      env: definedEnv(env),
      ...(request.dangerously_skip_permissions && { dangerouslySkipPermissions: true }),
      ...(options.maxRetries !== undefined && { maxRetries: options.maxRetries }),
      ...(options.baseDelayMs !== undefined && { baseDelayMs: options.baseDelayMs }),
    });
    exitCode = result.exitCode;
    stderr = result.stderrTail;
  } catch (error) {
    if (!(error instanceof AgentsSdkError)) throw error;
    exitCode = error.exitCode ?? error.result?.exitCode;
    stderr = error.stderrTail ?? error.result?.stderrTail ?? error.message;
    timedOut = error.code === 'TIMEOUT' || error.code === 'STALLED';
    if (exitCode === undefined || exitCode === null) {
      return { output: `Claude Code error: ${stderr || error.message}`, success: false, session_id: null, retry_code: timedOut ? 'timeout_error' : 'claude_code_error' };
    }
  } finally {
    session.stop();
  }
  const raw = session.attemptLog.at(-1)?.rawFile;
  if (raw && existsSync(raw) && resolve(raw) !== resolve(request.output_file)) copyFileSync(raw, request.output_file);
  const response = responseOfRun(request.output_file, exitCode ?? 0, stderr);
  const claudeSessionId = response.session_id ?? session.claudeSessionId;
  if (claudeSessionId) saveSessionId(stateDir, request.adw_id, agentName, claudeSessionId);
  return response;
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
