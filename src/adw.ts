/**
 * `agents-sdk/adw`: ADW compatibility. Drop-ins for the Python ADW system's
 * `prompt_claude_code` and `execute_template`, with its field names; `USE_AGENTS_SDK` picks the
 * original one-shot call (default) or the SDK path (sessions cached per `agent_name:adw_id`,
 * retries). ADW's `adw_state.json` is read and updated in place.
 *
 * @packageDocumentation
 */
export { ADW_RETRYABLE, promptClaudeCode, promptClaudeCodeWithRetry } from './adw/prompt-claude-code.js';
export { executeTemplate, modelForSlashCommand, templatePromptRequest, type ModelChoice } from './adw/execute-template.js';
export { adwClaudeEnv } from './adw/claude-env.js';
export { dumpPythonJson, parsePythonJson, pythonFloat, type PyJson } from './adw/python-json.js';
export {
  ADW_VERSIONS,
  SLASH_COMMAND_MODEL_MAP,
  SLASH_COMMAND_MODEL_SETS,
  useAgentsSdkFrom,
  type AdwRetryOptions,
  type AdwVersion,
  type AdwModel,
  type AdwPromptOptions,
  type AdwRetryCode,
  type AgentPromptRequest,
  type AgentPromptResponse,
  type AgentTemplateRequest,
} from './adw/adw-types.js';
export { adwStatePath, readAdwState, updateAdwState, type AdwState } from './adw/adw-state.js';
