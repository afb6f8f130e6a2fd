/**
 * `executeTemplate`: the drop-in for ADW's `execute_template`.
 *
 * @module
 */
import { join, resolve } from 'node:path';
import { readAdwState } from './adw-state.js';
import {
  SLASH_COMMAND_MODEL_MAP,
  SLASH_COMMAND_MODEL_SETS,
  type AdwModel,
  type AdwPromptOptions,
  type AdwVersion,
  type AgentPromptRequest,
  type AgentPromptResponse,
  type AgentTemplateRequest,
} from './adw-types.js';
import { promptClaudeCode, promptClaudeCodeWithRetry } from './prompt-claude-code.js';

/** What decides `execute_template`'s model besides the slash command. */
export interface ModelChoice {
  /** Default `tac-7`. */
  version?: AdwVersion;
  /** The request's model: `tac-5` runs on it (default `sonnet`). */
  model?: AdwModel;
  /** `tac-7`: the run's `model_set` (`heavy`, else `base`). */
  modelSet?: string | null;
}

/**
 * The model ADW's `execute_template` runs a slash command on: `tac-5` the requested one,
 * `tac-6` {@link SLASH_COMMAND_MODEL_MAP}, `tac-7` {@link SLASH_COMMAND_MODEL_SETS} for the
 * run's `model_set`; `sonnet` for a command a map does not list.
 */
export function modelForSlashCommand(slashCommand: string, choice: ModelChoice = {}): AdwModel {
  const version = choice.version ?? 'tac-7';
  if (version === 'tac-5') return choice.model ?? 'sonnet';
  if (version === 'tac-6') return Object.hasOwn(SLASH_COMMAND_MODEL_MAP, slashCommand) ? SLASH_COMMAND_MODEL_MAP[slashCommand]! : 'sonnet';
  if (!Object.hasOwn(SLASH_COMMAND_MODEL_SETS, slashCommand)) return 'sonnet';
  return SLASH_COMMAND_MODEL_SETS[slashCommand]![choice.modelSet === 'heavy' ? 'heavy' : 'base'];
}

/**
 * The prompt request `execute_template` builds: `<slash_command> <args…>`, the version's model,
 * raw output at `<adwRoot>/agents/<adw_id>/<agent_name>/raw_output.jsonl`, permissions skipped
 * (`tac-7`: `working_dir` passed on).
 */
export function templatePromptRequest(request: AgentTemplateRequest, options: Pick<AdwPromptOptions, 'adwRoot' | 'adwVersion'> = {}): AgentPromptRequest {
  const version = options.adwVersion ?? 'tac-7';
  const agentsDir = join(resolve(options.adwRoot ?? '.'), 'agents');
  const modelSet = version === 'tac-7' ? readAdwState(agentsDir, request.adw_id)?.model_set : undefined;
  const out: AgentPromptRequest = {
    prompt: `${request.slash_command} ${request.args.join(' ')}`,
    adw_id: request.adw_id,
    agent_name: request.agent_name,
    model: modelForSlashCommand(request.slash_command, { version, ...(request.model !== undefined && { model: request.model }), modelSet: typeof modelSet === 'string' ? modelSet : null }),
    dangerously_skip_permissions: true,
    output_file: join(agentsDir, request.adw_id, request.agent_name, 'raw_output.jsonl'),
  };
  if (version === 'tac-7') out.working_dir = request.working_dir ?? null;
  return out;
}

/** Runs a slash command as ADW's `execute_template` does: through {@link promptClaudeCode} (`tac-7`: with its retries). */
export function executeTemplate(request: AgentTemplateRequest, options: AdwPromptOptions = {}): Promise<AgentPromptResponse> {
  const prompt = templatePromptRequest(request, options);
  return (options.adwVersion ?? 'tac-7') === 'tac-7' ? promptClaudeCodeWithRetry(prompt, {}, options) : promptClaudeCode(prompt, options);
}
