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
export type { ExecutionResult, OutputCut } from './execution-result.js';
export { describeOutputCut } from './execution-result.js';
export {
  parseStreamLine,
  emptyTokens,
  addTokens,
  totalTokens,
  type TokenUsage,
  type ClaudeProgressEvent,
  type StreamLine,
  type ResultLine,
} from './claude/stream-json.js';
export { findClaudeBinary, CLAUDE_CODE_PATH_ENV } from './claude/find-claude-binary.js';
export {
  runClaudeCode,
  rawOutputDir,
  rawOutputFile,
  rawOutputFileName,
  DEFAULT_MODEL,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_STATE_DIR,
  type ClaudeRunRequest,
  type RunHooks,
} from './actors/claude-code-runner.js';
export { runCommand, type CommandRunRequest } from './actors/command-runner.js';
/**
 * A command's stdout past `maxOutputChars` (default {@link DEFAULT_MAX_OUTPUT_CHARS}, 10 MiB):
 * the whole of it in `<stateDir>/<runId>/<taskId>/raw_stdout[.attempt-<n>].txt`, the result's
 * `output` the tail, marked `truncated`, with `outputFile` and `outputBytes`.
 */
export { DEFAULT_MAX_OUTPUT_CHARS, commandOutputFileName } from './actors/command-output.js';
export { promptFileName, promptFileBeside, recordPrompts } from './actors/prompt-file.js';
export { readLiveAttempt, type LiveAttempt } from './claude/live-attempt.js';
export {
  defaultExecutor,
  createExecutorActor,
  type Executor,
  type ExecutionRequest,
  type ExecutionHooks,
  type ExecutorEvent,
} from './actors/executor.js';
export type { ReapedProcess } from './actors/process-registry.js';
export { DEFAULT_RETRY_POLICY, retryPolicy, backoffDelay, type RetryPolicy } from './retry-policy.js';
export {
  createEventBus,
  type Events,
  type EventBus,
  type SessionEvent,
  type SessionEventBase,
  type TaskEvent,
  type TaskEventBase,
  type WorkflowEvent,
} from './events.js';
/**
 * A typed publish/subscribe bus between agents and tasks (issue 11): envelopes with `source`,
 * `timestamp` and `priority`, queued events delivered highest priority first, a throwing
 * handler reported as `bus.handler_error`, and a bounded history. Exported as
 * `PriorityEventBus` / `createPriorityEventBus` because `EventBus` / `createEventBus` already
 * name the mitt lifecycle emitter above. It is the primary path of every lifecycle event:
 * `orchestrator.bus` and `session.bus` are {@link LifecycleBus}es (priorities: see
 * {@link lifecyclePriority}); `bridgeLifecycleEvents` (deprecated) republishes a mitt emitter's
 * events on one.
 */
export {
  EventBus as PriorityEventBus,
  createEventBus as createPriorityEventBus,
  createLifecycleBus,
  lifecyclePriority,
  lifecycleSource,
  bridgeLifecycleEvents,
  type LifecycleBus,
  type LifecycleEvents,
  type LifecycleEvent,
  BUS_PRIORITIES,
  DEFAULT_HISTORY_LIMIT,
  type BusEvent,
  type BusPriority,
  type BusHandler,
  type BusEventMap,
  type BuiltInBusEvents,
  type BusHandlerErrorPayload,
  type AllBusEvents,
  type AnyBusEvent,
  type PublishedEvent,
  type EventBusOptions,
} from './event-bus.js';

/**
 * Signals: events sent to a run (`orchestrator.signal()`, `agents-sdk signal`) or published by
 * its tasks (`publish:`), which `wait_for` tasks wait for; kept in the state backend's inboxes.
 */
export { BROADCAST_SCOPE, createSignal, isSignalStore, type Signal, type SignalStore } from './signals/signal.js';
export { sendSignal, type SendSignalOptions } from './signals/send-signal.js';
/** Cancelling a stored run from any process: `cancelRun()` (`agents-sdk cancel`, `orchestrator.cancel(runId)`). */
export { cancelRun, type CancelRunOptions, type CancelRunResult } from './cancel-run.js';
export { CANCEL_REQUEST_TYPE } from './signals/cancel-request.js';
/** Deleting old runs whole, never a live one (`agents-sdk prune`). */
export { pruneRuns, type PruneRunsOptions, type PruneRunsResult, type PrunedRun } from './persistence/prune-runs.js';
export {
  agentSessionMachine,
  SESSION_SCHEMA_VERSION,
  type AgentSessionContext,
  type SessionSettings,
  type AgentSessionInput,
  type AgentSessionEvent,
  type AgentSessionState,
  type ExecutePayload,
  type SessionParentEvent,
} from './machines/agent-session.machine.js';
export {
  AgentSession,
  DEFAULT_MAX_HISTORY_CHARS,
  type AgentSessionOptions,
  type AgentSessionSettings,
  type ConversationContextMode,
  type ExecuteOptions,
  type ExecuteWithRetryOptions,
} from './agent-session.js';
/**
 * Conversation memory (issue 13): `AgentMemory` keeps an agent's short-term values and its
 * conversation history in an `@xstate/store` (subscribable, plain JSON, part of the session's
 * persisted snapshot) over an optional `MemoryBackend` for values that outlive the process.
 * An `AgentSession` given `memory` records every exchange and runs prompts in `resume` or
 * `transcript` mode; a transcript past its limit has its oldest turns summarized.
 */
export {
  AgentMemory,
  AGENT_MEMORY_SCHEMA_VERSION,
  DEFAULT_MAX_HISTORY_TURNS,
  type AgentMemoryOptions,
  type AgentMemoryState,
  type AgentMemoryStore,
  type ConversationContextOptions,
  type MemoryStoreOptions,
  type ShortTermEntry,
} from './memory/agent-memory.js';
export {
  formatConversation,
  formatMessage,
  transcriptPrompt,
  type ConversationMessage,
  type MessageRole,
} from './memory/conversation.js';
export { summarizeHistory, summarizationPrompt, SUMMARY_CACHE_PREFIX, type HistorySummary, type SummarizeHistoryOptions } from './memory/summarize-history.js';
export {
  agentTaskSchema,
  commandTaskSchema,
  taskDefaultsSchema,
  workflowSpecSchema,
  workflowInputsSchema,
  MAX_TIMEOUT_S,
  DEFAULT_MAX_ITEMS,
  MAX_ITERATIONS,
  repeatSchema,
  type AgentTask,
  type FanoutInstance,
  type GroupTask,
  type LeafTask,
  type LoopIteration,
  type RepeatSpec,
  type CommandTask,
  type MemoryEntrySpec,
  type OutputSchema,
  type Task,
  type TaskDefaults,
  type Workflow,
  type WorkflowSpecInput,
} from './workflow/spec.js';
export { validateWorkflow, type ValidateOptions } from './workflow/validate-workflow.js';
export { loadWorkflowFile, parseWorkflowText, type LoadWorkflowOptions } from './workflow/load-workflow.js';
export { renderTemplate, type DeferredRef, type DeferredText, type TemplateValues } from './workflow/template.js';
// Control flow: CEL expressions of `when:` (see README "Control flow").
export {
  EXPRESSION_VARIABLES,
  TASK_VARIABLE_FIELDS,
  checkExpression,
  evaluateCondition,
  evaluateExpression,
  evaluateList,
  taskVariables,
  type ExpressionCheck,
  type ExpressionOptions,
  type ExpressionOutcome,
  type ExpressionProblem,
  type ExpressionRef,
  type ExpressionValues,
  type TaskVariableField,
} from './workflow/expression.js';
// Workflows in TypeScript: a typed spec, conditions as functions (see README "Workflows in TypeScript").
export { type ConditionOptions, type ConditionOutcome } from './workflow/expression.js';
export {
  conditionText,
  functionLabel,
  functionMarkers,
  isFunctionMarker,
  type Condition,
  type ConditionFn,
  type ConditionValues,
  type TaskValues,
  type TaskValuesMap,
} from './workflow/condition-function.js';
export {
  defineWorkflow,
  type AgentTaskDefinition,
  type CommandTaskDefinition,
  type GroupDefinition,
  type RepeatDefinition,
  type TaskDefaultsDefinition,
  type TaskDefinition,
  type WorkflowDefinition,
} from './workflow/workflow-definition.js';
// Fan-out (`for_each`): instance ids `<task>[<index>]` (see README "Fan-out").
export { declaredTaskOf, instanceId, iterationId, parseInstanceId, parseUnitId, withInstancesUnderTheirTask, type UnitId } from './workflow/fan-out.js';
// Workflows using memory: `{{memory.<key>}}`, `{{hash "<glob>"}}`, `cache:`, `remember:`.
export { hashFiles } from './memory/file-hash.js';
export type { DeferredMemoryEntry, TaskMemoryRequest } from './memory/memory-executor.js';
export { planWorkflow, type PlanOptions, type PlannedTask, type PlannedWave, type WorkflowPlan } from './workflow/plan-workflow.js';
export {
  type AttemptRecord,
  type AttemptStatus,
  type TaskRecord,
  type TaskResult,
  type TaskStatus,
  type WorkflowResult,
  type WorkflowStatus,
} from './workflow/workflow-result.js';
export {
  orchestratorMachine,
  CONTINUE_PROMPT,
  ORCHESTRATOR_SCHEMA_VERSION,
  RECORD_CHUNK,
  recordsOf,
  type OrchestratorContext,
  type RunInfo,
  type OrchestratorEvent,
  type OrchestratorInput,
} from './machines/orchestrator.machine.js';
export {
  WorkflowOrchestrator,
  createOrchestratorMachine,
  type WorkflowOrchestratorOptions,
  type RunWorkflowOptions,
  type ResumeOptions,
  type RerunOptions,
} from './workflow-orchestrator.js';
export { planRerun, downstreamOf, type RerunOrigin, type RerunPlan } from './workflow/rerun-plan.js';
export { createReplayExecutor, recordingPath, type ReplayOptions } from './actors/replay-executor.js';
export {
  STATE_SCHEMA_VERSION,
  type StateBackend,
  type RunCheckpoint,
  type RunLaunch,
  type RunSummary,
  type RunStatus,
  type ReleaseLock,
} from './persistence/state-backend.js';
export type { LockOptions, LockOwner } from './persistence/process-lock.js';
export { JsonStateBackend, type JsonStateBackendOptions } from './persistence/json-state-backend.js';
export { type CommitStats } from './persistence/run-checkpointer.js';
export { SqliteStateBackend, type SqliteStateBackendOptions } from './persistence/sqlite-state-backend.js';
/**
 * Agent memory: what agents keep between runs (skills, cached analyses, remembered outputs), as
 * JSON values under string keys, with TTLs (seconds; an expired entry is never returned) and
 * ranked full-text search over keys and values (best first, with a score). Three stores
 * implement {@link MemoryBackend}: `InMemoryBackend` (this process; optional `maxEntries` with
 * least-recently-used eviction), `JsonMemoryBackend` (`<stateDir>/memory/`: a snapshot plus an
 * append-only journal, shared safely by processes) and `SqliteMemoryBackend` (FTS5, `bm25()`).
 * `openMemoryBackend(kind, stateDir)` opens one by name. An optional `embed` hook adds vector
 * similarity to the text rank.
 */
export type {
  MemoryBackend,
  JsonValue,
  StoreOptions,
  MemoryEntry,
  ListOptions,
  SearchOptions,
  SearchResult,
} from './memory/memory-backend.js';
export { InMemoryBackend, type InMemoryBackendOptions } from './memory/in-memory-backend.js';
export { JsonMemoryBackend, MEMORY_SCHEMA_VERSION, type JsonMemoryBackendOptions } from './memory/json-memory-backend.js';
export { SqliteMemoryBackend, type SqliteMemoryBackendOptions } from './memory/sqlite-memory-backend.js';
export {
  openMemoryBackend,
  MEMORY_SQLITE_FILE,
  type MemoryBackendKind,
  type OpenMemoryBackendOptions,
} from './memory/open-memory-backend.js';
export { MAX_MEMORY_KEY_LENGTH } from './memory/memory-input.js';
export { MemoryPatterns, SKILL_PREFIX, ANALYSIS_CACHE_PREFIX, DEFAULT_ANALYSIS_TTL_SECONDS } from './memory/memory-patterns.js';
export { cosineSimilarity, type EmbedFunction, type VectorSearchOptions } from './memory/vector-rank.js';
/**
 * The run's event log: `<stateDir>/<runId>/events.jsonl`, every bus event of a run as one JSON
 * line (with runId, taskId, sessionId, attempt, at), outputs over 64 KB referenced as
 * `{ $ref: 'records', taskId, bytes }`; past 64 KB per attempt, progress texts, tool inputs and
 * tool results are a preview and a `<field>Ref` (`{ $ref: 'raw_output', taskId, attempt, bytes }`,
 * the attempt's raw stream). Written by the orchestrator (option `eventLog`);
 * `readRunEventLog(file)` reads it back, tolerating a torn last line. With the SQLite backend
 * the same entries go to its `events` table instead; `readRunEvents(runId, { backend, stateDir })`
 * reads a run's events from wherever they are.
 */
export {
  readRunEvents,
  type RunEventSink,
  type RunEventStore,
  type RunEventsLocation,
} from './persistence/run-event-sink.js';
export {
  RunEventLog,
  readRunEventLog,
  runEventLogPath,
  EVENT_LOG_FILE,
  EVENT_LOG_INLINE_LIMIT,
  type RecordRef,
  type RunEventLogEntry,
  type RunEventLogContents,
  EVENT_LOG_PREVIEW_CHARS,
  type RawOutputRef,
} from './persistence/run-event-log.js';
/**
 * Structured logs of runs through pino (issue 11): `createRunLogger({ format, level, write })`
 * logs lifecycle events as JSON lines or readable lines, `attach(orchestrator.bus)` follows a
 * run. What `agents-sdk run|resume --log-format json|pretty` writes to stderr.
 */
export {
  createRunLogger,
  lifecycleLogLevel,
  describeEvent,
  LOG_FORMATS,
  LOG_LEVELS,
  type RunLogger,
  type RunLoggerOptions,
  type LogFormat,
  type LogLevel,
} from './logging/run-logger.js';
/**
 * OpenTelemetry tracing of runs: `traceWorkflows(orchestrator, { tracer })` makes a span per
 * run, per task and per attempt (GenAI semantic-convention attributes on agent attempts) from
 * the orchestrator's events. Through `@opentelemetry/api` only: a no-op until an SDK is
 * registered or a tracer is given.
 */
export { traceWorkflows, TRACER_NAME, type TraceWorkflowsOptions, type Traceable } from './telemetry/otel-tracing.js';

/**
 * Metrics over stored runs (issue 11): {@link MetricsCollector} groups task records by agent,
 * model, task, workflow or session, with executions, success rate, retries, tokens, cost
 * (estimated from a per-model {@link PriceTable} where a record has tokens but no cost) and
 * latency percentiles (nearest rank). The CLI's `agents-sdk stats` prints them.
 */
export {
  MetricsCollector,
  nearestRank,
  type MetricsCollectorOptions,
  type MetricsGroup,
  type MetricsGroupBy,
  type MetricsRecord,
  type MetricsSummary,
  type LatencyStats,
} from './metrics/metrics-collector.js';
export { DEFAULT_PRICES, priceOf, costOf, type ModelPrice, type PriceTable } from './metrics/price-table.js';

/**
 * The run report (`agents-sdk report`): {@link loadRunReport} (or {@link buildRunReport} from a
 * checkpoint and its event log's entries) folds a stored run into plain data: each task with its
 * attempts (start, end, outcome, error; retries marked), the critical path by actual duration,
 * tokens and cost by task, agent and model, failures. {@link renderRunReportHtml} draws it as
 * one self-contained HTML page (inline CSS and SVG, no network).
 */
export {
  buildRunReport,
  loadRunReport,
  type AttemptOutcome,
  type BuildRunReportOptions,
  type LoadRunReportOptions,
  type ReportAttempt,
  type ReportError,
  type ReportFailure,
  type ReportTask,
  type RunReport,
} from './report/run-report.js';
export { renderRunReportHtml, escapeHtml } from './report/report-html.js';
/**
 * Diagrams (`agents-sdk diagram`): {@link workflowDiagram} writes a workflow's task graph as
 * Mermaid (`flowchart LR`) or Graphviz dot, each task coloured by its status when given a run's
 * {@link runStatuses}.
 */
export {
  workflowDiagram,
  runStatuses,
  DIAGRAM_FORMATS,
  type DiagramFormat,
  type DiagramOptions,
  type DiagramWorkflow,
} from './visual/diagram.js';

/**
 * Callbacks and progress: `session.callbacks` / `orchestrator.callbacks` (or a
 * `CallbackManager` fed through `attachCallbacks`) call `onStart`, `onProgress`, `onComplete`
 * and `onError` callbacks in order, awaiting async ones and isolating their errors, with a
 * `ProgressSnapshot` (turns, tool calls, tokens, latest text, elapsed time, API retries) built
 * from the real Claude Code stream.
 */
export {
  CallbackManager,
  attachCallbacks,
  summarizeToolInput,
  type Callback,
  type CallbackError,
  type CallbackSource,
  type CallbackTarget,
  type CompleteInfo,
  type ErrorInfo,
  type ProgressInfo,
  type ProgressSnapshot,
  type StartInfo,
  type ToolCallSummary,
} from './callbacks/callback-manager.js';

/**
 * Watching runs: `createInspector` is the compact, never-hanging forwarder of XState
 * inspection that `--inspect` attaches (to the local inspector, any receiver of the
 * `@statelyai/inspect` WebSocket protocol, or Stately Sky); `startInspectorServer` is the
 * local live inspector of `agents-sdk inspect`.
 */
export {
  createInspector,
  parseInspectTarget,
  DEFAULT_INSPECTOR_PORT,
  type Inspector,
  type InspectorOptions,
  type InspectorStats,
  type InspectTarget,
} from './inspector/inspection-client.js';
export { startInspectorServer, type InspectorServer, type InspectorServerOptions } from './inspector/inspector-server.js';
export type { RunSummary as InspectedRunSummary } from './inspector/run-view.js';
/**
 * ADW compatibility: drop-ins for the Python ADW system's `prompt_claude_code` and
 * `execute_template`, with its field names; `USE_AGENTS_SDK` picks the original one-shot call
 * (default) or the SDK path (sessions cached per `agent_name:adw_id`, retries).
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
/** ADW's `adw_state.json`, read and updated in place (both systems on one state directory). */
export { adwStatePath, readAdwState, updateAdwState, type AdwState } from './adw/adw-state.js';
export {
  createBullmqExecutor,
  checkRedis,
  jobIdOf,
  queueNameFor,
  JOB_PAYLOAD_VERSION,
  type AttemptFiles,
  type BullmqExecutor,
  type BullmqExecutorOptions,
  type JobOutcome,
  type JobPayload,
  type JobProgress,
} from './distributed/bullmq-executor.js';
export { queuesServed, runJobPayload, startWorker, type RunningWorker, type WorkerOptions } from './distributed/worker.js';
/**
 * Workspaces (`workspace: worktree`): each task attempt in its own git worktree, on its own
 * branch, starting from its dependencies' commits (README, Workspaces). `cleanRunWorkspace`
 * removes what a run left (`agents-sdk clean`); the names of branches and worktrees; the layer
 * `WorkflowOrchestrator` wraps its executor in (for an executor of your own).
 */
export { cleanRunWorkspace, finishRunWorkspace, type CleanedWorkspace } from './workspace/run-workspace.js';
export { attemptWorktreeDir, refSafeTaskId, runBranch, runWorktreesDir, taskBranch, type StartingCommit } from './workspace/git-worktree.js';
export { createWorkspaceExecutor, freePorts } from './workspace/workspace-executor.js';
export { findWorktreeBases, type WorkspaceProblem } from './workspace/workspace-preflight.js';
export type { WorkspaceRequest, WorkspaceResult } from './workspace/workspace-request.js';
export type { WorkspaceSpec, WorktreeBase } from './workflow/spec.js';
