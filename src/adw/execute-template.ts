/**
 * `executeTemplate`: the drop-in for ADW's `execute_template`.
 *
 * @module
 */
import { join } from 'node:path';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { SLASH_COMMAND_MODEL_MAP, type AdwModel, type AdwPromptOptions, type AgentPromptRequest, type AgentPromptResponse, type AgentTemplateRequest } from './adw-types.js';
import { promptClaudeCode } from './prompt-claude-code.js';

/** The model ADW runs a slash command on (see {@link SLASH_COMMAND_MODEL_MAP}; `sonnet` for the rest). */
export function modelForSlashCommand(slashCommand: string): AdwModel {
  return Object.hasOwn(SLASH_COMMAND_MODEL_MAP, slashCommand) ? SLASH_COMMAND_MODEL_MAP[slashCommand]! : 'sonnet';
}

/** The prompt request `execute_template` builds: `<slash_command> <args…>`, raw output under the agent's directory, permissions skipped. */
export function templatePromptRequest(request: AgentTemplateRequest, stateDir: string = DEFAULT_STATE_DIR): AgentPromptRequest {
  return {
    prompt: `${request.slash_command} ${request.args.join(' ')}`,
    adw_id: request.adw_id,
    agent_name: request.agent_name,
    model: modelForSlashCommand(request.slash_command),
    dangerously_skip_permissions: true,
    output_file: join(stateDir, request.adw_id, request.agent_name, 'raw_output.jsonl'),
  };
}

/** Runs a slash command as ADW's `execute_template` does, through {@link promptClaudeCode}. */
export function executeTemplate(request: AgentTemplateRequest, options: AdwPromptOptions = {}): Promise<AgentPromptResponse> {
  return promptClaudeCode(templatePromptRequest(request, options.stateDir), options);
}
