/**
 * agents-sdk: an XState v5 actor runtime that turns headless Claude Code calls into
 * orchestrated, checkpointed, observable multi-agent workflows.
 *
 * @packageDocumentation
 */
export {
  AgentsSdkError,
  TransientError,
  PermanentError,
  CancelledError,
  ValidationError,
  serializeError,
  deserializeError,
  type ErrorCode,
  type SerializedError,
  type ValidationIssue,
  type ProcessFacts,
  type AgentsSdkErrorOptions,
} from './errors.js';
export type { ExecutionResult } from './execution-result.js';
export {
  parseStreamLine,
  progressEventsOf,
  tokensFromUsage,
  emptyTokens,
  addTokens,
  totalTokens,
  type TokenUsage,
  type ClaudeProgressEvent,
  type StreamLine,
  type ResultLine,
} from './claude/stream-json.js';
export { classifyFailure, type FinishedProcess, type KillReason } from './claude/classify-failure.js';
export { findClaudeBinary, CLAUDE_CODE_PATH_ENV } from './claude/find-claude-binary.js';
export {
  runClaudeCode,
  buildClaudeArgs,
  rawOutputDir,
  DEFAULT_MODEL,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_STATE_DIR,
  type ClaudeRunRequest,
  type RunHooks,
} from './actors/claude-code-runner.js';
export { runCommand, type CommandRunRequest } from './actors/command-runner.js';
export {
  defaultExecutor,
  createExecutorActor,
  type Executor,
  type ExecutionRequest,
  type ExecutionHooks,
  type ExecutorEvent,
} from './actors/executor.js';
export { runSupervisedProcess, type SupervisedProcessOptions, type SupervisedOutcome } from './actors/supervised-process.js';
export { DEFAULT_RETRY_POLICY, retryPolicy, backoffDelay, type RetryPolicy } from './retry-policy.js';
export { createEventBus, type Events, type EventBus, type SessionEvent, type WorkflowEvent } from './events.js';
export {
  agentSessionMachine,
  SESSION_SCHEMA_VERSION,
  type AgentSessionContext,
  type AgentSessionInput,
  type AgentSessionEvent,
  type AgentSessionState,
  type ExecutePayload,
  type SessionParentEvent,
} from './machines/agent-session.machine.js';
export {
  AgentSession,
  type AgentSessionOptions,
  type AgentSessionSettings,
  type ExecuteOptions,
  type ExecuteWithRetryOptions,
} from './agent-session.js';
