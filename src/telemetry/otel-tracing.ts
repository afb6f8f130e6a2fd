/**
 * OpenTelemetry tracing of runs, built on the orchestrator's event bus: one span per run, one
 * per task (child of the run's) and one per attempt (child of the task's), with the GenAI
 * semantic-convention attributes on agent attempts.
 *
 * Only `@opentelemetry/api` is used: without a registered SDK (or a `tracer` given), every
 * span is a no-op.
 *
 * @module
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { TokenUsage } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { Events, TaskEventBase } from '../events.js';
import { onLifecycleEvent, type EventBus } from '../event-bus.js';
import type { TaskRecord } from '../workflow/workflow-result.js';

/** Options of {@link traceWorkflows}. */
export interface TraceWorkflowsOptions {
  /** The tracer spans are made with; default `trace.getTracer('agents-sdk')` (the global provider). */
  tracer?: Tracer;
  /**
   * The model a task was asked for, when the caller knows it (e.g. from the workflow spec):
   * `gen_ai.request.model`. Default: the model Claude Code reports in its stream's init line.
   */
  modelOf?: (taskId: string, workflowId: string) => string | undefined;
}

/** Anything with an event bus: a `WorkflowOrchestrator`, or the bus itself. */
export type Traceable = { bus: EventBus<Events> } | EventBus<Events>;

/** Name of the tracer used when none is given. */
export const TRACER_NAME = 'agents-sdk';

interface AttemptState {
  span: Span;
  attempt: number;
}

interface TaskState {
  span: Span;
  workflowId: string;
  attempt: AttemptState | null;
  /** The model reported by the init line (or `modelOf`): set once the task is known to be an agent task. */
  model: string | null;
  agent: boolean;
  /** Spend of this task's earlier attempts seen here (to tell the last attempt's own). */
  earlierTokens: TokenUsage;
  earlierCostUsd: number;
}

interface RunState {
  span: Span;
  workflowId: string;
  resumed: boolean;
  tasks: Map<string, TaskState>;
}

const zeroTokens = (): TokenUsage => ({ input: 0, output: 0, cacheRead: 0, cacheCreation: 0 });

/**
 * Traces every run of `orchestrator` with OpenTelemetry, from its events.
 *
 * - a span per run, `workflow <workflowId>` (run id, workflow id, status, cost, tokens);
 * - a span per task, `task <taskId>`, child of the run's span (status, attempts, cost, tokens);
 * - a span per attempt, `task <taskId> attempt <n>`, child of the task's span; an attempt that
 *   is retried, fails or is cancelled ends with error status, the error's code and message.
 *
 * Agent attempts carry `gen_ai.system` = `anthropic`, `gen_ai.request.model`,
 * `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, and every span
 * `agents_sdk.cost_usd`. Spans start and end at the events' `at` times.
 *
 * Subscribe before starting runs. Returns a function that stops tracing.
 *
 * @example
 * ```ts
 * const orchestrator = new WorkflowOrchestrator();
 * const stop = traceWorkflows(orchestrator); // uses the globally registered tracer provider
 * await orchestrator.runWorkflow(workflow);
 * stop();
 * ```
 */
export function traceWorkflows(orchestrator: Traceable, options: TraceWorkflowsOptions = {}): () => void {
  const bus: EventBus<Events> = 'bus' in orchestrator ? orchestrator.bus : orchestrator;
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  const runs = new Map<string, RunState>();

  const startRun = (workflowId: string, runId: string, at: number, resumed: boolean): RunState => {
    const span = tracer.startSpan(
      `workflow ${workflowId}`,
      { kind: SpanKind.INTERNAL, startTime: at, attributes: { 'agents_sdk.run.id': runId, 'agents_sdk.workflow.id': workflowId, 'agents_sdk.run.resumed': resumed } },
      context.active(),
    );
    const run: RunState = { span, workflowId, resumed, tasks: new Map() };
    runs.set(runId, run);
    return run;
  };
  // A run that started before tracing did gets its span at its first event seen.
  const runOf = (e: { workflowId: string; runId: string; at: number }): RunState => runs.get(e.runId) ?? startRun(e.workflowId, e.runId, e.at, false);

  const taskOf = (e: TaskEventBase): TaskState => {
    const run = runOf(e);
    let task = run.tasks.get(e.taskId);
    if (!task) {
      const span = tracer.startSpan(
        `task ${e.taskId}`,
        { kind: SpanKind.INTERNAL, startTime: e.at, attributes: { 'agents_sdk.run.id': e.runId, 'agents_sdk.workflow.id': e.workflowId, 'agents_sdk.task.id': e.taskId } },
        trace.setSpan(context.active(), run.span),
      );
      const model = options.modelOf?.(e.taskId, e.workflowId) ?? null;
      task = { span, workflowId: e.workflowId, attempt: null, model, agent: model !== null, earlierTokens: zeroTokens(), earlierCostUsd: 0 };
      run.tasks.set(e.taskId, task);
    }
    return task;
  };

  const endAttempt = (task: TaskState, at: number, error: SerializedError | null, spent: { tokens: TokenUsage; costUsd: number } | null): void => {
    const attempt = task.attempt;
    if (!attempt) return;
    task.attempt = null;
    const { span } = attempt;
    if (task.agent) span.setAttributes(genAiAttributes(task.model));
    if (spent) {
      span.setAttributes(usageAttributes(spent.tokens, spent.costUsd, task.agent));
      task.earlierTokens = addUsage(task.earlierTokens, spent.tokens);
      task.earlierCostUsd += spent.costUsd;
    }
    if (error) markError(span, error);
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end(at);
  };

  const endTask = (e: Events['task.completed' | 'task.failed' | 'task.cancelled' | 'task.skipped']): void => {
    const run = runOf(e);
    const record = e.record;
    const task = taskOf(e);
    if (task.attempt) {
      // The last attempt's own spend: the failure's result when there is one, else the record's
      // total less the earlier attempts' (not told for a resumed run: its record holds the spend
      // of attempts made before the resume).
      const own = record.error?.result
        ? { tokens: record.error.result.tokens, costUsd: record.error.result.costUsd }
        : run.resumed
          ? null
          : { tokens: subtractUsage(record.tokens, task.earlierTokens), costUsd: Math.max(0, record.costUsd - task.earlierCostUsd) };
      endAttempt(task, e.at, e.type === 'task.completed' ? null : (record.error ?? { name: 'Error', code: 'CANCELLED', message: 'Cancelled', transient: false }), own);
    }
    const { span } = task;
    span.setAttributes({ ...recordAttributes(record), ...usageAttributes(record.tokens, record.costUsd, task.agent) });
    if (task.agent) span.setAttributes(genAiAttributes(task.model));
    if (e.type === 'task.completed') span.setStatus({ code: SpanStatusCode.OK });
    else if (e.type === 'task.skipped') {
      if (record.reason !== undefined) span.setAttribute('agents_sdk.task.skip_reason', record.reason);
    } else markError(span, record.error ?? { name: 'Error', code: 'CANCELLED', message: 'Cancelled', transient: false });
    span.end(e.at);
    run.tasks.delete(e.taskId);
  };

  const handlers: { [K in keyof Events]?: (e: Events[K]) => void } = {
    'workflow.started': (e) => {
      runs.get(e.runId)?.span.end(e.at);
      startRun(e.workflowId, e.runId, e.at, e.resumed);
    },
    'task.started': (e) => {
      const task = taskOf(e);
      // A new attempt while one is open: the previous one ended without a retry event.
      if (task.attempt) endAttempt(task, e.at, null, null);
      const span = tracer.startSpan(
        `task ${e.taskId} attempt ${e.attempt}`,
        {
          kind: SpanKind.INTERNAL,
          startTime: e.at,
          attributes: { 'agents_sdk.run.id': e.runId, 'agents_sdk.task.id': e.taskId, 'agents_sdk.attempt': e.attempt, 'agents_sdk.max_attempts': e.maxAttempts },
        },
        trace.setSpan(context.active(), task.span),
      );
      task.attempt = { span, attempt: e.attempt };
    },
    'task.progress': (e) => {
      const task = runs.get(e.runId)?.tasks.get(e.taskId);
      if (!task || e.progress.type !== 'init') return;
      task.agent = true;
      if (e.progress.model) task.model ??= e.progress.model;
      task.attempt?.span.setAttribute('gen_ai.response.model', e.progress.model ?? '');
    },
    'task.retrying': (e) => {
      const task = runs.get(e.runId)?.tasks.get(e.taskId);
      if (!task) return;
      const spent = e.error.result ? { tokens: e.error.result.tokens, costUsd: e.error.result.costUsd } : null;
      task.attempt?.span.setAttribute('agents_sdk.retry_delay_ms', e.delayMs);
      endAttempt(task, e.at, e.error, spent);
    },
    'task.completed': endTask,
    'task.failed': endTask,
    'task.skipped': endTask,
    'task.cancelled': endTask,
    'workflow.finished': (e) => {
      const run = runOf(e);
      // Tasks still open (a cancelled run's, say) end with the run.
      for (const task of run.tasks.values()) {
        if (task.attempt) endAttempt(task, e.at, null, null);
        task.span.end(e.at);
      }
      const r = e.result;
      run.span.setAttributes({
        'agents_sdk.run.status': r.status,
        'agents_sdk.run.success': r.success,
        'agents_sdk.run.total_time_ms': r.totalTimeMs,
        'agents_sdk.cost_usd': r.costUsd,
        ...tokenAttributes(r.tokens),
      });
      if (r.success) run.span.setStatus({ code: SpanStatusCode.OK });
      else run.span.setStatus({ code: SpanStatusCode.ERROR, message: `workflow ${r.status}` });
      run.span.end(e.at);
      runs.delete(e.runId);
    },
  };

  // A tracing bug must never break the run (nor be reported as a bus handler's error).
  const stop = onLifecycleEvent(bus, (e) => {
    try {
      (handlers[e.type] as ((event: unknown) => void) | undefined)?.(e);
    } catch {
      // ignored
    }
  });
  return () => {
    stop();
    runs.clear();
  };
}

function genAiAttributes(model: string | null): Attributes {
  const out: Attributes = { 'gen_ai.system': 'anthropic', 'gen_ai.provider.name': 'anthropic', 'gen_ai.operation.name': 'invoke_agent' };
  if (model !== null) out['gen_ai.request.model'] = model;
  return out;
}

function tokenAttributes(tokens: TokenUsage): Attributes {
  return {
    'agents_sdk.tokens.input': tokens.input,
    'agents_sdk.tokens.output': tokens.output,
    'agents_sdk.tokens.cache_read': tokens.cacheRead,
    'agents_sdk.tokens.cache_creation': tokens.cacheCreation,
  };
}

function usageAttributes(tokens: TokenUsage, costUsd: number, agent: boolean): Attributes {
  const out: Attributes = { 'agents_sdk.cost_usd': costUsd, ...tokenAttributes(tokens) };
  if (agent) {
    out['gen_ai.usage.input_tokens'] = tokens.input;
    out['gen_ai.usage.output_tokens'] = tokens.output;
  }
  return out;
}

function recordAttributes(record: TaskRecord): Attributes {
  return { 'agents_sdk.task.status': record.status, 'agents_sdk.attempts': record.attempts };
}

function markError(span: Span, error: SerializedError): void {
  span.setAttributes({ 'error.type': error.code, 'agents_sdk.error.code': error.code, 'agents_sdk.error.message': error.message, 'agents_sdk.error.transient': error.transient });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
}

function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { input: a.input + b.input, output: a.output + b.output, cacheRead: a.cacheRead + b.cacheRead, cacheCreation: a.cacheCreation + b.cacheCreation };
}

function subtractUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const d = (x: number, y: number) => Math.max(0, x - y);
  return { input: d(a.input, b.input), output: d(a.output, b.output), cacheRead: d(a.cacheRead, b.cacheRead), cacheCreation: d(a.cacheCreation, b.cacheCreation) };
}
