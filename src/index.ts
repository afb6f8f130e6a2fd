/**
 * agents-sdk: an XState v5 actor runtime that turns headless Claude Code calls into
 * orchestrated, checkpointed, observable multi-agent workflows.
 *
 * The root export holds what an application embeds: sessions, the orchestrator, workflow
 * loading, validation and planning, state and memory backends, executors, the event bus,
 * signals, metrics, the inspector and the run report, and the errors. Specialised parts live
 * on subpaths: `agents-sdk/bullmq` (distributed execution over BullMQ and Redis),
 * `agents-sdk/memory` (the whole of agent memory), `agents-sdk/sqlite` (the SQLite backends),
 * `agents-sdk/inspector` (inspector, report and diagram details), `agents-sdk/adw` (the ADW
 * drop-ins).
 *
 * @packageDocumentation
 */

// Errors: classes with a stable `code` (see README "Errors").
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

// One agent call: the Claude Code process, a command, and what they return.
export type { ExecutionResult, OutputCut } from './execution-result.js';
export type { TokenUsage, ClaudeProgressEvent, StreamLine, ResultLine } from './claude/stream-json.js';
export { findClaudeBinary } from './claude/find-claude-binary.js';
export { runClaudeCode, type ClaudeRunRequest, type RunHooks } from './actors/claude-code-runner.js';
export { runCommand, type CommandRunRequest } from './actors/command-runner.js';
export {
  defaultExecutor,
  createExecutorActor,
  type Executor,
  type ExecutionRequest,
  type ExecutionHooks,
  type ExecutorEvent,
} from './actors/executor.js';
export { createReplayExecutor, type ReplayOptions } from './actors/replay-executor.js';
export type { ReapedProcess } from './actors/process-registry.js';
export { DEFAULT_RETRY_POLICY, retryPolicy, type RetryPolicy } from './retry-policy.js';

/**
 * The event bus: mitt underneath, with envelopes (`source`, `timestamp`, `priority`), queued
 * events delivered highest priority first, a throwing handler reported as `bus.handler_error`,
 * and a bounded history. `orchestrator.bus` and `session.bus` carry every lifecycle event
 * ({@link Events}); your own events go on a bus of your own map.
 */
export {
  EventBus,
  createEventBus,
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
  type LifecycleEvent,
} from './event-bus.js';
export type {
  Events,
  SessionEvent,
  SessionEventBase,
  TaskEvent,
  TaskEventBase,
  WorkflowEvent,
} from './events.js';

/**
 * Signals: events sent to a run (`orchestrator.signal()`, `agents-sdk signal`) or published by
 * its tasks (`publish:`), which `wait_for` tasks wait for; kept in the state backend's inboxes.
 * `cancelRun` cancels a stored run from any process; `pruneRuns` deletes old runs whole.
 */
export { createSignal, type Signal, type SignalStore } from './signals/signal.js';
export { sendSignal, type SendSignalOptions } from './signals/send-signal.js';
export { cancelRun, type CancelRunOptions, type CancelRunResult } from './cancel-run.js';
export { pruneRuns, type PruneRunsOptions, type PruneRunsResult, type PrunedRun } from './persistence/prune-runs.js';

// Sessions: one agent, its retries and its conversation.
export {
  agentSessionMachine,
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
  type AgentSessionOptions,
  type AgentSessionSettings,
  type ConversationContextMode,
  type ExecuteOptions,
  type ExecuteWithRetryOptions,
} from './agent-session.js';

/**
 * Memory: `AgentMemory` (an agent's short-term values and conversation) over a
 * {@link MemoryBackend}: `InMemoryBackend`, `JsonMemoryBackend`, or one opened by name with
 * `openMemoryBackend`. The rest (patterns, summaries, vector rank): `agents-sdk/memory`.
 */
export {
  AgentMemory,
  type AgentMemoryOptions,
  type AgentMemoryState,
  type AgentMemoryStore,
  type ConversationContextOptions,
  type MemoryStoreOptions,
  type ShortTermEntry,
} from './memory/agent-memory.js';
export type { ConversationMessage, MessageRole } from './memory/conversation.js';
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
export { JsonMemoryBackend, type JsonMemoryBackendOptions } from './memory/json-memory-backend.js';
export { openMemoryBackend, type MemoryBackendKind, type OpenMemoryBackendOptions } from './memory/open-memory-backend.js';
export type { EmbedFunction, VectorSearchOptions } from './memory/vector-rank.js';

// Workflows: the spec, loading, validation, planning, and workflows written in TypeScript.
export {
  workflowSpecSchema,
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
export type {
  ConditionOptions,
  ConditionOutcome,
  ExpressionCheck,
  ExpressionOptions,
  ExpressionOutcome,
  ExpressionProblem,
  ExpressionRef,
  ExpressionValues,
  TaskVariableField,
} from './workflow/expression.js';
export type { Condition, ConditionFn, ConditionValues, TaskValues, TaskValuesMap } from './workflow/condition-function.js';
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
export type { UnitId } from './workflow/fan-out.js';
export type { DeferredMemoryEntry, TaskMemoryRequest } from './memory/memory-executor.js';
export { planWorkflow, type PlanOptions, type PlannedTask, type PlannedWave, type WorkflowPlan } from './workflow/plan-workflow.js';
export { planRerun, type RerunOrigin, type RerunPlan } from './workflow/rerun-plan.js';
export type {
  AttemptRecord,
  AttemptStatus,
  TaskRecord,
  TaskResult,
  TaskStatus,
  WorkflowResult,
  WorkflowStatus,
} from './workflow/workflow-result.js';

// The orchestrator: runs, resumes and reruns a workflow.
export {
  orchestratorMachine,
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

// State backends: where runs are checkpointed (SQLite: `agents-sdk/sqlite`).
export type {
  StateBackend,
  RunCheckpoint,
  RunLaunch,
  RunSummary,
  RunStatus,
  ReleaseLock,
} from './persistence/state-backend.js';
export type { LockOptions, LockOwner } from './persistence/process-lock.js';
export { JsonStateBackend, type JsonStateBackendOptions } from './persistence/json-state-backend.js';
export type { CommitStats } from './persistence/run-checkpointer.js';

/**
 * A run's events, read back from its event log (`<stateDir>/<runId>/events.jsonl`) or the
 * SQLite backend's `events` table, wherever they are.
 */
export { readRunEvents, type RunEventSink, type RunEventStore, type RunEventsLocation } from './persistence/run-event-sink.js';
export type { RecordRef, RunEventLogEntry, RunEventLogContents, RawOutputRef } from './persistence/run-event-log.js';

// Observing runs: logs, traces, callbacks, metrics.
export { createRunLogger, type RunLogger, type RunLoggerOptions, type LogFormat, type LogLevel } from './logging/run-logger.js';
export { traceWorkflows, type TraceWorkflowsOptions, type Traceable } from './telemetry/otel-tracing.js';
export {
  CallbackManager,
  attachCallbacks,
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
export {
  MetricsCollector,
  type MetricsCollectorOptions,
  type MetricsGroup,
  type MetricsGroupBy,
  type MetricsRecord,
  type MetricsSummary,
  type LatencyStats,
} from './metrics/metrics-collector.js';
export { DEFAULT_PRICES, type ModelPrice, type PriceTable } from './metrics/price-table.js';

// Watching and reporting: the inspector, the run report, diagrams (details: `agents-sdk/inspector`).
export { createInspector, type Inspector, type InspectorOptions, type InspectorStats, type InspectTarget } from './inspector/inspection-client.js';
export { startInspectorServer, type InspectorServer, type InspectorServerOptions } from './inspector/inspector-server.js';
export {
  loadRunReport,
  type AttemptOutcome,
  type LoadRunReportOptions,
  type ReportAttempt,
  type ReportError,
  type ReportFailure,
  type ReportTask,
  type RunReport,
} from './report/run-report.js';
export { renderRunReportHtml } from './report/report-html.js';
export { workflowDiagram, type DiagramFormat, type DiagramOptions, type DiagramWorkflow } from './visual/diagram.js';

/**
 * Workspaces (`workspace: worktree`): each task attempt in its own git worktree, on its own
 * branch, starting from its dependencies' commits (docs/workspaces.md). `cleanRunWorkspace`
 * removes what a run left (`agents-sdk clean`); `runBranch` and `taskBranch` name the branches a
 * run makes; `createWorkspaceExecutor` is the layer `WorkflowOrchestrator` wraps its executor in
 * (for an executor of your own).
 */
export { cleanRunWorkspace, type CleanedWorkspace } from './workspace/run-workspace.js';
export { runBranch, taskBranch, type StartingCommit } from './workspace/git-worktree.js';
export { createWorkspaceExecutor, type WorkspaceExecutorOptions } from './workspace/workspace-executor.js';
export type { WorkspaceProblem } from './workspace/workspace-preflight.js';
export type { WorkspaceRequest, WorkspaceResult } from './workspace/workspace-request.js';
export type { WorkspaceSpec, WorktreeBase } from './workflow/spec.js';
