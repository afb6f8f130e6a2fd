/**
 * The workflow orchestrator: a parent machine that spawns one `agentSession` child per task
 * the moment its last dependency completes, never more than `max_parallel` at once. There is
 * no batch barrier: whenever a child ends, the next ready task (longest remaining critical
 * path first, weighted by expected durations when known, then declaration order) starts in
 * the same step.
 *
 * Children are registered by name and spawned with the task id as actor id, so the snapshot
 * stays persistable; each child is stopped (`stopChild`) as soon as its result is recorded,
 * which keeps `children` small (a finished child left there makes every later spawn copy it:
 * quadratic). Context is plain arrays and objects, updated in place by the assign actions so
 * that a task's state change costs O(1), not a copy of the whole run.
 *
 * @module
 */
import { assign, enqueueActions, not, setup } from 'xstate';
import { DEFAULT_STATE_DIR, rawOutputPath } from '../actors/claude-code-runner.js';
import type { ExecutionRequest } from '../actors/executor.js';
import { addTokens, emptyTokens, type TokenUsage } from '../claude/stream-json.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import type { SerializedError } from '../errors.js';
import type { RetryPolicy } from '../retry-policy.js';
import { closeAttempt, openAttempt, resumedAttemptLog } from '../workflow/attempt-log.js';
import { before, buildTaskGraph, popReady, pushReady, type TaskGraph } from '../workflow/ready-queue.js';
import type { Workflow } from '../workflow/spec.js';
import { renderTemplate, type TemplateValues } from '../workflow/template.js';
import type { Signal } from '../signals/signal.js';
import { toTaskResult, type TaskRecord, type WorkflowResult, type WorkflowStatus } from '../workflow/workflow-result.js';
import { agentSessionMachine, type AgentSessionInput, type SessionParentEvent } from './agent-session.machine.js';

/** Version of the persisted orchestrator context. */
export const ORCHESTRATOR_SCHEMA_VERSION = 1;

/** Prompt sent when an interrupted agent task continues its Claude session on resume. */
export const CONTINUE_PROMPT =
  'You were interrupted before you finished. Continue the task from where you stopped; do not redo finished work.';

/** What a run is started (or resumed) with. */
export interface OrchestratorInput {
  workflow: Workflow;
  runId: string;
  stateDir?: string;
  /** Backoff of every task's retries (attempts come from each task's `retry_count`). */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  /** Records of an earlier process (resume): finished tasks are kept, others run again. */
  records?: TaskRecord[];
  /**
   * Resume: the failed tasks of `records` run again with fresh attempts (their full
   * `retry_count`), and so do the tasks skipped because of them; completed tasks are kept.
   */
  retryFailed?: boolean;
  /**
   * Expected duration of each task (ms, by index; see task-durations.ts): weights the critical
   * path the ready queue orders by. Default: the path is counted in tasks.
   */
  expectedMs?: number[];
  /** Original start time of a resumed run (epoch ms). */
  startedAt?: number;
  /** Agents and commands list themselves in the run's process registry (when the run is checkpointed). */
  processRegistry?: boolean;
  /**
   * A completed task's dependants start only once its record is durable (the
   * `RECORDS.DURABLE` event says so): set when the run is checkpointed, so that a crash never
   * leaves a dependant that used an output whose task would run again on resume.
   */
  awaitDurable?: boolean;
  /** Signals the run has received (stored in its inbox, by an earlier process or while it was down). */
  signals?: Signal[];
}

/** What a run is, fixed for its life. */
export interface RunInfo {
  schemaVersion: number;
  workflowId: string;
  runId: string;
  stateDir: string;
  /** Epoch ms (of the first process, for a resumed run). */
  startedAt: number;
  resumed: boolean;
  retry: Partial<RetryPolicy>;
  /** See {@link OrchestratorInput.processRegistry}. */
  processRegistry: boolean;
  /** See {@link OrchestratorInput.awaitDurable}. */
  awaitDurable: boolean;
}

/** Per-step scratch of the actions, always empty between events. */
export interface StepScratch {
  toStart: number[];
  toStop: string[];
  outbox: Array<TaskEvent | WorkflowEvent>;
  /** `wait_for` timeouts to schedule: task id and delay (ms). */
  toTime: Array<[string, number]>;
  /** `wait_for` timeouts to cancel (task ids). */
  toUntime: string[];
}

/**
 * Context of the orchestrator: plain JSON. (Kept to 16 top-level keys or fewer: XState
 * copies the context on every `assign`, and V8 turns a larger copy into a slow dictionary object.)
 */
export interface OrchestratorContext {
  run: RunInfo;
  workflow: Workflow;
  graph: TaskGraph;
  records: TaskRecord[];
  /** Unfinished dependencies per task. */
  remaining: number[];
  /** Heap of ready task indices. */
  ready: number[];
  running: number;
  settled: number;
  /** Task indices in completion order. */
  finishedOrder: number[];
  /**
   * Completed tasks whose records are not durable yet (task index → 1): their dependants
   * wait (see {@link OrchestratorInput.awaitDurable}).
   */
  undurable: Record<number, 1>;
  /** Why no new task may start, once that is so. `state_write_failed`: the run's state could not be saved. */
  halt: null | 'failed' | 'budget_exceeded' | 'cancelled' | 'state_write_failed';
  anyFailed: boolean;
  tokens: TokenUsage;
  costUsd: number;
  /** Every signal the run has received or published, in arrival order (each id once). */
  signals: Signal[];
  step: StepScratch;
}

/** Events the orchestrator accepts. */
export type OrchestratorEvent =
  | SessionParentEvent
  | { type: 'CANCEL' }
  /** These tasks' records are durable: a completed one's dependants may start. */
  | { type: 'RECORDS.DURABLE'; taskIds: string[] }
  /** Saving the run's state failed: nothing new starts, running tasks are cancelled. */
  | { type: 'STATE.WRITE_FAILED'; error: SerializedError }
  /** A signal for the run: the tasks waiting for its type start (a signal already applied is ignored). */
  | { type: 'SIGNAL'; signal: Signal }
  /** A `wait_for` task's timeout (raised by the machine itself, delayed). */
  | { type: 'WAIT.TIMEOUT'; taskId: string };

type Ctx = OrchestratorContext;

function emptyRecord(taskId: string): TaskRecord {
  return {
    taskId,
    status: 'pending',
    attempts: 0,
    output: null,
    sessionId: null,
    tokens: emptyTokens(),
    costUsd: 0,
    startedAt: null,
    endedAt: null,
    durationMs: null,
    error: null,
    attemptLog: [],
  };
}

/** Opens the attempt log entry of an attempt of task `i` starting now (its raw stream file: agent tasks only). */
function startAttempt(ctx: Ctx, i: number): void {
  const task = ctx.workflow.tasks[i]!;
  const { stateDir, runId } = ctx.run;
  openAttempt(ctx.records[i]!, Date.now(), (n) => (task.kind === 'agent' ? rawOutputPath(stateDir, runId, task.id, n) : null));
}

type TaskEventFields<T extends TaskEvent['type']> = Omit<Extract<TaskEvent, { type: T }>, 'type' | 'workflowId' | 'runId' | 'taskId' | 'at'>;

function taskEvent<T extends TaskEvent['type']>(ctx: Ctx, type: T, taskId: string, rest: TaskEventFields<T>): TaskEvent {
  return { type, workflowId: ctx.run.workflowId, runId: ctx.run.runId, taskId, at: Date.now(), ...rest } as unknown as TaskEvent;
}

function isFinished(status: TaskRecord['status']): boolean {
  return status === 'completed' || status === 'failed' || status === 'skipped' || status === 'cancelled';
}

/**
 * Marks a task finished and, once it is completed (and its record durable, when the run
 * waits for that), releases its dependants.
 */
function settle(ctx: Ctx, i: number, durable = true): void {
  ctx.settled += 1;
  ctx.finishedOrder.push(i);
  const record = ctx.records[i]!;
  if (record.status !== 'completed') return;
  if (durable) release(ctx, i);
  else ctx.undurable[i] = 1;
}

/**
 * Whether completing task `i` makes ready a dependant that would start before everything
 * ready now: then the freed slot waits for that dependant (until the record is durable)
 * instead of going to a task of a shorter path.
 */
function releasesFirst(ctx: Ctx, i: number): boolean {
  const top = ctx.ready[0];
  for (const d of ctx.graph.dependants[i]!) {
    if (ctx.remaining[d] !== 1 || ctx.records[d]!.status !== 'pending') continue;
    if (top === undefined || before(d, top, ctx.graph.priority)) return true;
  }
  return false;
}

/** Queues the dependants of a completed task whose other dependencies are done. */
function release(ctx: Ctx, i: number): void {
  for (const d of ctx.graph.dependants[i]!) {
    ctx.remaining[d]! -= 1;
    if (ctx.remaining[d] === 0 && ctx.records[d]!.status === 'pending') makeReady(ctx, d);
  }
}

/**
 * A task whose dependencies are done: queued, or, when it has `wait_for` and its event has not
 * reached the run, `waiting` for it (taking no slot; its timeout starts now, or kept from an
 * earlier process).
 */
function makeReady(ctx: Ctx, i: number): void {
  const wait = ctx.workflow.tasks[i]!.wait_for;
  const record = ctx.records[i]!;
  if (wait) {
    const signal = latestSignal(ctx, wait.event);
    if (signal) record.signal = signal;
    else {
      record.status = 'waiting';
      record.waitingSince ??= Date.now();
      const deadline = wait.timeout === undefined ? null : record.waitingSince + Math.round(wait.timeout * 1000);
      if (deadline !== null) ctx.step.toTime.push([record.taskId, Math.max(0, deadline - Date.now())]);
      ctx.step.outbox.push(taskEvent(ctx, 'task.waiting', record.taskId, { event: wait.event, deadline }));
      return;
    }
  }
  pushReady(ctx.ready, i, ctx.graph.priority);
}

function latestSignal(ctx: Ctx, type: string): Signal | undefined {
  for (let k = ctx.signals.length - 1; k >= 0; k--) if (ctx.signals[k]!.type === type) return ctx.signals[k];
  return undefined;
}

/**
 * Takes a signal in (once per id) and queues the tasks waiting for its type. `origin` says
 * whether it came from outside or from a task of this run (`publish:`).
 */
function applySignal(ctx: Ctx, signal: Signal, origin: 'received' | 'published', announce = true): void {
  if (ctx.signals.some((s) => s.id === signal.id)) return;
  ctx.signals.push(signal);
  if (announce) ctx.step.outbox.push({ type: 'workflow.signal', workflowId: ctx.run.workflowId, runId: ctx.run.runId, at: Date.now(), origin, signal });
  if (ctx.halt !== null) return;
  ctx.workflow.tasks.forEach((task, i) => {
    const record = ctx.records[i]!;
    if (record.status !== 'waiting' || task.wait_for?.event !== signal.type) return;
    record.status = 'pending';
    record.signal = signal;
    ctx.step.toUntime.push(record.taskId);
    pushReady(ctx.ready, i, ctx.graph.priority);
  });
}

/** The signal a completed task with `publish:` sends: its output, under an id that is the same in every process. */
function publishedSignal(ctx: Ctx, i: number): Signal | undefined {
  const type = ctx.workflow.tasks[i]!.publish;
  const record = ctx.records[i]!;
  if (type === undefined || record.status !== 'completed') return undefined;
  return { id: `${ctx.run.runId}/${record.taskId}`, type, payload: record.output, source: `${ctx.run.runId}/${record.taskId}`, at: record.endedAt ?? Date.now() };
}

/** A `wait_for` task whose event did not come in time fails (its failure policy applies). */
function timeOut(ctx: Ctx, i: number): void {
  const record = ctx.records[i]!;
  const wait = ctx.workflow.tasks[i]!.wait_for;
  if (record.status !== 'waiting' || !wait) return;
  record.status = 'failed';
  record.endedAt = Date.now();
  record.error = {
    name: 'WaitTimeoutError',
    code: 'WAIT_TIMEOUT',
    message:
      `Task "${record.taskId}" waited ${wait.timeout ?? 0} s for event "${wait.event}", which did not come ` +
      `(send it with: agents-sdk signal ${ctx.run.runId} ${wait.event}; then agents-sdk resume ${ctx.run.runId} --retry-failed)`,
    transient: false,
  };
  settle(ctx, i);
  ctx.anyFailed = true;
  ctx.step.outbox.push(taskEvent(ctx, 'task.failed', record.taskId, { record: { ...record } }));
  applyFailurePolicy(ctx, i);
  startReadyTasks(ctx);
}

function skip(ctx: Ctx, i: number, reason: string): void {
  const record = ctx.records[i]!;
  if (record.status === 'waiting') ctx.step.toUntime.push(record.taskId);
  else if (record.status !== 'pending') return;
  record.status = 'skipped';
  record.reason = reason;
  record.endedAt = Date.now();
  settle(ctx, i);
  ctx.step.outbox.push(taskEvent(ctx, 'task.skipped', record.taskId, { record: { ...record } }));
}

/** Skips every task that has not started (used when the run halts). */
function skipAllPending(ctx: Ctx, reason: string): void {
  ctx.ready.length = 0;
  for (let i = 0; i < ctx.records.length; i++) skip(ctx, i, reason);
}

/** `on_failure: stop` halts the run; `continue` skips only the failed task's dependants. */
function applyFailurePolicy(ctx: Ctx, failed: number): void {
  if (ctx.workflow.on_failure === 'stop') {
    if (ctx.halt === null) ctx.halt = 'failed';
    skipAllPending(ctx, `task "${ctx.records[failed]!.taskId}" failed and on_failure is stop`);
  } else skipDependants(ctx, failed);
}

/** Skips the transitive dependants of a failed task (`on_failure: continue`). */
function skipDependants(ctx: Ctx, failed: number): void {
  const stack = [...ctx.graph.dependants[failed]!];
  const why = `dependency "${ctx.records[failed]!.taskId}" failed`;
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (ctx.records[i]!.status !== 'pending') continue;
    skip(ctx, i, why);
    stack.push(...ctx.graph.dependants[i]!);
  }
}

function templateValues(ctx: Ctx): TemplateValues {
  return {
    input: (name) => ctx.workflow.inputs[name],
    task: (taskId, field) => {
      const record = ctx.records[indexOfTask(ctx, taskId)];
      return (field === 'output' ? record?.output : record?.sessionId) ?? undefined;
    },
    event: (type) => latestSignal(ctx, type)?.payload,
  };
}

function sessionInput(ctx: Ctx, i: number): AgentSessionInput {
  const task = ctx.workflow.tasks[i]!;
  const record = ctx.records[i]!;
  // Attempts made before this spawn (by an earlier process, on resume): startReadyTasks counted this one.
  const attemptsBefore = record.attempts - 1;
  // Every attempt in the log before this spawn's (cancelled ones too): the number its files start after.
  const loggedBefore = (record.attemptLog?.length ?? 1) - 1;
  const values = templateValues(ctx);
  const timeoutMs = task.timeout !== undefined ? Math.round(task.timeout * 1000) : undefined;
  let request: ExecutionRequest;
  let claudeSessionId: string | null = null;
  if (task.kind === 'command') {
    request = {
      kind: 'command',
      command: task.command.map((a) => renderTemplate(a, values)),
      ...(task.cwd !== undefined && { cwd: task.cwd }),
      ...(task.env !== undefined && { env: task.env }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(ctx.run.processRegistry && { processRegistry: true }),
    };
  } else {
    // A session id known at spawn time comes from an earlier process (interrupted or cancelled
    // there; a retried failed task starts afresh without one): within a process, retries
    // happen inside the session actor.
    const continueInterrupted = record.sessionId !== null && (task.resume_interrupted ?? ctx.workflow.resume_interrupted) === 'continue';
    if (continueInterrupted) claudeSessionId = record.sessionId;
    request = {
      kind: 'claude',
      prompt: continueInterrupted ? CONTINUE_PROMPT : renderTemplate(task.prompt, values),
      model: task.model,
      agentName: task.id,
      ...(task.cwd !== undefined && { cwd: task.cwd }),
      ...(task.env !== undefined && { env: task.env }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(task.max_turns !== undefined && { maxTurns: task.max_turns }),
      ...(task.allowed_tools !== undefined && { allowedTools: task.allowed_tools }),
      ...(task.append_system_prompt !== undefined && { appendSystemPrompt: task.append_system_prompt }),
      ...(task.dangerously_skip_permissions !== undefined && { dangerouslySkipPermissions: task.dangerously_skip_permissions }),
      ...(ctx.run.processRegistry && { processRegistry: true }),
    };
  }
  const input: AgentSessionInput = {
    sessionId: task.id,
    agentName: task.kind === 'agent' ? task.agent ?? task.id : task.id,
    runId: ctx.run.runId,
    stateDir: ctx.run.stateDir,
    notifyParent: true,
    continueSession: claudeSessionId !== null,
    claudeSessionId,
    // Attempts already made by an earlier process count against retry_count.
    retry: { ...ctx.run.retry, maxAttempts: Math.max(1, task.retry_count - attemptsBefore) },
    execute: { request },
    attemptsBefore: loggedBefore,
  };
  if (task.kind === 'agent') input.model = task.model;
  return input;
}

/** The result of a finished (or halted) run. */
export function workflowResultOf(ctx: Ctx, endedAt = Date.now()): WorkflowResult {
  let status: WorkflowStatus = 'completed';
  if (ctx.halt === 'cancelled' || ctx.halt === 'state_write_failed') status = 'cancelled';
  else if (ctx.halt === 'budget_exceeded') status = 'budget_exceeded';
  else if (ctx.anyFailed) status = 'failed';
  return {
    workflowId: ctx.run.workflowId,
    runId: ctx.run.runId,
    status,
    success: status === 'completed',
    taskResults: ctx.finishedOrder.map((i) => toTaskResult(ctx.records[i]!)),
    totalTimeMs: endedAt - ctx.run.startedAt,
    tokens: ctx.tokens,
    costUsd: ctx.costUsd,
  };
}

function addSpend(ctx: Ctx, record: TaskRecord, tokens: TokenUsage, costUsd: number): void {
  record.tokens = addTokens(record.tokens, tokens);
  record.costUsd += costUsd;
  ctx.tokens = addTokens(ctx.tokens, tokens);
  ctx.costUsd += costUsd;
}

function finishTask(ctx: Ctx, i: number): void {
  const record = ctx.records[i]!;
  record.endedAt = Date.now();
  record.durationMs = record.startedAt === null ? null : record.endedAt - record.startedAt;
  ctx.running -= 1;
  ctx.step.toStop.push(record.taskId);
  settle(ctx, i, !ctx.run.awaitDurable);
}

/**
 * Cancels the running tasks and skips the pending ones: the run halts for `why`.
 *
 * The attempt a task was in the middle of does not count against its `retry_count`: it was
 * stopped, it did not fail (a task waiting to retry keeps its count: its attempts did run and
 * fail). An attempt cut short by a crash counts, since nothing recorded that it was stopped.
 */
function haltRun(ctx: Ctx, why: NonNullable<Ctx['halt']>, error: SerializedError, skipReason: string): void {
  if (ctx.halt === null || ctx.halt === 'failed' || ctx.halt === 'budget_exceeded') ctx.halt = why;
  for (let i = 0; i < ctx.records.length; i++) {
    const record = ctx.records[i]!;
    if (record.status === 'running' || record.status === 'retrying') {
      if (record.status === 'running') record.attempts -= 1;
      record.status = 'cancelled';
      record.error = error;
      closeAttempt(record, 'cancelled', Date.now(), error);
      finishTask(ctx, i);
      ctx.step.outbox.push(taskEvent(ctx, 'task.cancelled', record.taskId, { record: { ...record } }));
    }
  }
  skipAllPending(ctx, skipReason);
}

/** The orchestrator machine. Provide another `agentSession` (or its `executor`) through `machine.provide`. */
export const orchestratorMachine = setup({
  types: {
    context: {} as OrchestratorContext,
    input: {} as OrchestratorInput,
    events: {} as OrchestratorEvent,
    emitted: {} as TaskEvent | WorkflowEvent,
    output: {} as WorkflowResult,
  },
  actors: {
    agentSession: agentSessionMachine,
  },
  guards: {
    settled: ({ context }) => context.settled >= context.records.length && context.running === 0,
    // Nothing runs or can start, yet tasks are left: they (or what depends on them) wait for events.
    onlyWaiting: ({ context: ctx }) =>
      ctx.running === 0 && ctx.ready.length === 0 && ctx.halt === null && ctx.settled < ctx.records.length && isEmpty(ctx.undurable),
  },
  actions: {
    applySessionEvent: assign(({ context: ctx, event }) => {
      if (event.type !== 'SESSION.EVENT') return {};
      const i = indexOfTask(ctx, event.childId);
      if (i < 0) return {};
      const record = ctx.records[i]!;
      if (isFinished(record.status)) return {};
      const e = event.event;
      switch (e.type) {
        case 'session.started':
          // Only retries: the first attempt was counted when the task was spawned.
          record.status = 'running';
          record.attempts += 1;
          startAttempt(ctx, i);
          ctx.step.outbox.push(taskEvent(ctx, 'task.started', record.taskId, { attempt: record.attempts, maxAttempts: ctx.workflow.tasks[i]!.retry_count }));
          break;
        case 'session.progress':
          if ((e.progress.type === 'init' || e.progress.type === 'result') && e.progress.sessionId) record.sessionId = e.progress.sessionId;
          ctx.step.outbox.push(taskEvent(ctx, 'task.progress', record.taskId, { attempt: record.attempts, progress: e.progress }));
          break;
        case 'session.retrying': {
          record.status = 'retrying';
          record.error = e.error;
          closeAttempt(record, 'failed', e.at, e.error);
          const spent = e.error.result;
          if (spent) addSpend(ctx, record, spent.tokens, spent.costUsd);
          ctx.step.outbox.push(taskEvent(ctx, 'task.retrying', record.taskId, { attempt: record.attempts, error: e.error, delayMs: e.delayMs }));
          break;
        }
        case 'session.completed': {
          record.status = 'completed';
          record.output = e.result.output;
          record.sessionId = e.result.sessionId ?? record.sessionId;
          record.error = null;
          closeAttempt(record, 'succeeded', e.at, null, e.result);
          addSpend(ctx, record, e.result.tokens, e.result.costUsd);
          finishTask(ctx, i);
          ctx.step.outbox.push(taskEvent(ctx, 'task.completed', record.taskId, { record: { ...record } }));
          const published = publishedSignal(ctx, i);
          if (published) applySignal(ctx, published, 'published');
          checkBudget(ctx);
          // A dependant this completion releases (once durable) may come first: keep the slot for it.
          if (!ctx.run.awaitDurable || !releasesFirst(ctx, i)) startReadyTasks(ctx);
          break;
        }
        case 'session.failed': {
          record.status = 'failed';
          record.error = e.error;
          closeAttempt(record, 'failed', e.at, e.error);
          const spent = e.error.result;
          if (spent) addSpend(ctx, record, spent.tokens, spent.costUsd);
          finishTask(ctx, i);
          ctx.anyFailed = true;
          ctx.step.outbox.push(taskEvent(ctx, 'task.failed', record.taskId, { record: { ...record } }));
          applyFailurePolicy(ctx, i);
          checkBudget(ctx);
          startReadyTasks(ctx);
          break;
        }
      }
      return { running: ctx.running, settled: ctx.settled, halt: ctx.halt, anyFailed: ctx.anyFailed, tokens: ctx.tokens, costUsd: ctx.costUsd };
    }),
    applySignal: assign(({ context: ctx, event }) => {
      if (event.type !== 'SIGNAL') return {};
      applySignal(ctx, event.signal, 'received');
      startReadyTasks(ctx);
      return { running: ctx.running };
    }),
    applyWaitTimeout: assign(({ context: ctx, event }) => {
      if (event.type !== 'WAIT.TIMEOUT') return {};
      const i = indexOfTask(ctx, event.taskId);
      if (i >= 0) timeOut(ctx, i);
      return { running: ctx.running, settled: ctx.settled, halt: ctx.halt, anyFailed: ctx.anyFailed };
    }),
    startReady: assign(({ context: ctx }) => {
      startReadyTasks(ctx);
      return { running: ctx.running };
    }),
    applyCancel: assign(({ context: ctx }) => {
      const error: SerializedError = { name: 'CancelledError', code: 'CANCELLED', message: 'The run was cancelled', transient: false };
      haltRun(ctx, 'cancelled', error, 'the run was cancelled');
      return { running: ctx.running, settled: ctx.settled, halt: ctx.halt };
    }),
    applyWriteFailure: assign(({ context: ctx, event }) => {
      if (event.type !== 'STATE.WRITE_FAILED') return {};
      const error: SerializedError = {
        name: 'CancelledError',
        code: 'CANCELLED',
        message: `Cancelled: the run's state could not be saved (${event.error.message})`,
        transient: false,
      };
      haltRun(ctx, 'state_write_failed', error, "the run's state could not be saved");
      return { running: ctx.running, settled: ctx.settled, halt: ctx.halt };
    }),
    releaseDurable: assign(({ context: ctx, event }) => {
      if (event.type !== 'RECORDS.DURABLE') return {};
      for (const taskId of event.taskIds) {
        const i = indexOfTask(ctx, taskId);
        if (ctx.undurable[i] !== 1) continue;
        delete ctx.undurable[i];
        if (ctx.halt === null) release(ctx, i);
      }
      startReadyTasks(ctx);
      return { running: ctx.running };
    }),
    flush: enqueueActions(({ context: ctx, enqueue }) => {
      for (const id of ctx.step.toStop) enqueue.stopChild(id);
      for (const i of ctx.step.toStart) {
        enqueue.spawnChild('agentSession', { id: ctx.records[i]!.taskId, input: sessionInput(ctx, i) });
      }
      for (const e of ctx.step.outbox) enqueue.emit(e);
      for (const id of ctx.step.toUntime) enqueue.cancel(waitTimerId(id));
      for (const [id, delay] of ctx.step.toTime) enqueue.raise({ type: 'WAIT.TIMEOUT', taskId: id }, { id: waitTimerId(id), delay });
      ctx.step.toStop.length = 0;
      ctx.step.toStart.length = 0;
      ctx.step.outbox.length = 0;
      ctx.step.toTime.length = 0;
      ctx.step.toUntime.length = 0;
    }),
    announceStart: enqueueActions(({ context: ctx, enqueue }) => {
      enqueue.emit({
        type: 'workflow.started',
        workflowId: ctx.run.workflowId,
        runId: ctx.run.runId,
        at: Date.now(),
        taskIds: ctx.records.map((r) => r.taskId),
        resumed: ctx.run.resumed,
      });
    }),
    announceFinish: enqueueActions(({ context: ctx, enqueue }) => {
      enqueue.emit({ type: 'workflow.finished', workflowId: ctx.run.workflowId, runId: ctx.run.runId, at: Date.now(), result: workflowResultOf(ctx) });
    }),
  },
}).createMachine({
  id: 'orchestrator',
  context: ({ input }) => initialContext(input),
  initial: 'running',
  entry: ['announceStart', 'startReady', 'flush'],
  on: {
    // One assign per event (XState copies the context on each): a finished task starts the next ones inside it.
    'SESSION.EVENT': { actions: ['applySessionEvent', 'flush'] },
    'RECORDS.DURABLE': { actions: ['releaseDurable', 'flush'] },
    SIGNAL: { actions: ['applySignal', 'flush'] },
    'WAIT.TIMEOUT': { actions: ['applyWaitTimeout', 'flush'] },
    CANCEL: { target: '.finished', actions: ['applyCancel', 'flush'] },
    'STATE.WRITE_FAILED': { target: '.finished', actions: ['applyWriteFailure', 'flush'] },
  },
  states: {
    running: {
      always: [
        { guard: 'settled', target: 'finished' },
        { guard: 'onlyWaiting', target: 'waiting' },
      ],
    },
    /** Every task left waits for an event (`wait_for`), directly or through its dependencies. */
    waiting: {
      always: [
        { guard: 'settled', target: 'finished' },
        { guard: not('onlyWaiting'), target: 'running' },
      ],
    },
    finished: {
      type: 'final',
      entry: 'announceFinish',
    },
  },
  output: ({ context }) => workflowResultOf(context),
});

/** Takes ready tasks off the queue while slots are free and the run is not halted. */
function startReadyTasks(ctx: Ctx): void {
  while (ctx.halt === null && ctx.running < ctx.workflow.max_parallel) {
    const i = popReady(ctx.ready, ctx.graph.priority);
    if (i === undefined) break;
    const record = ctx.records[i]!;
    record.status = 'running';
    record.startedAt ??= Date.now();
    record.attempts += 1;
    startAttempt(ctx, i);
    ctx.running += 1;
    ctx.step.toStart.push(i);
    ctx.step.outbox.push(taskEvent(ctx, 'task.started', record.taskId, { attempt: record.attempts, maxAttempts: ctx.workflow.tasks[i]!.retry_count }));
  }
}

function waitTimerId(taskId: string): string {
  return `wait:${taskId}`;
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

function checkBudget(ctx: Ctx): void {
  const budget = ctx.workflow.budget_usd;
  if (budget === undefined || ctx.halt !== null || ctx.costUsd < budget) return;
  // Nothing left to start: the run finishes as it is, not over budget.
  if (ctx.settled + ctx.running >= ctx.records.length) return;
  ctx.halt = 'budget_exceeded';
  skipAllPending(ctx, `budget of $${budget} reached ($${ctx.costUsd.toFixed(4)} spent)`);
}

// Task ids are looked up on every child event: keep a plain id → index object per workflow.
const indexCache = new WeakMap<Workflow, Record<string, number>>();
function indexOfTask(ctx: Ctx, taskId: string): number {
  let index = indexCache.get(ctx.workflow);
  if (!index) {
    index = Object.create(null) as Record<string, number>;
    ctx.workflow.tasks.forEach((t, i) => (index![t.id] = i));
    indexCache.set(ctx.workflow, index);
  }
  return index[taskId] ?? -1;
}

function initialContext(input: OrchestratorInput): OrchestratorContext {
  const { workflow } = input;
  const graph = buildTaskGraph(workflow.tasks, input.expectedMs);
  const previous = new Map((input.records ?? []).map((r) => [r.taskId, r]));
  const ctx: OrchestratorContext = {
    run: {
      schemaVersion: ORCHESTRATOR_SCHEMA_VERSION,
      workflowId: workflow.id,
      runId: input.runId,
      stateDir: input.stateDir ?? DEFAULT_STATE_DIR,
      startedAt: input.startedAt ?? Date.now(),
      resumed: input.records !== undefined,
      retry: input.retry ?? {},
      processRegistry: input.processRegistry ?? false,
      awaitDurable: input.awaitDurable ?? false,
    },
    workflow,
    graph,
    records: [],
    remaining: [...graph.dependencyCount],
    ready: [],
    running: 0,
    settled: 0,
    finishedOrder: [],
    undurable: {},
    halt: null,
    anyFailed: false,
    tokens: emptyTokens(),
    costUsd: 0,
    signals: [],
    step: { toStart: [], toStop: [], outbox: [], toTime: [], toUntime: [] },
  };

  ctx.records = workflow.tasks.map((task) => {
    const before = previous.get(task.id);
    if (!before) return emptyRecord(task.id);
    // Finished tasks are kept as they were; interrupted, cancelled and skipped ones run (or are decided) again.
    if (before.status === 'completed' || (before.status === 'failed' && !input.retryFailed)) return { ...before };
    // A retried failed task starts afresh (no attempts, no Claude session to continue); what it
    // spent stays in the run's total, which a budget is measured against.
    if (before.status === 'failed') return { ...emptyRecord(task.id), tokens: before.tokens, costUsd: before.costUsd, attemptLog: resumedAttemptLog(before) };
    // startedAt is left to the run that now produces the result: its duration must not count
    // the time the run was down.
    return {
      ...emptyRecord(task.id),
      attempts: before.attempts,
      sessionId: before.sessionId,
      tokens: before.tokens,
      costUsd: before.costUsd,
      // A task that was waiting keeps its deadline.
      ...(before.waitingSince !== undefined && { waitingSince: before.waitingSince }),
      attemptLog: resumedAttemptLog(before),
    };
  });
  for (const record of ctx.records) {
    ctx.tokens = addTokens(ctx.tokens, record.tokens);
    ctx.costUsd += record.costUsd;
  }
  // Signals that came before this process (its inbox), announced once the run starts; no task
  // is waiting yet: the queue is built below, with them in.
  for (const signal of input.signals ?? []) applySignal(ctx, signal, 'received');
  // Replay what an earlier process finished, in the order it finished, so that dependants
  // see it and the failure policy applies again.
  const finished = ctx.records
    .map((record, i) => ({ record, i }))
    .filter(({ record }) => record.status === 'completed' || record.status === 'failed')
    .sort((a, b) => (a.record.endedAt ?? 0) - (b.record.endedAt ?? 0));
  for (const { record, i } of finished) {
    const published = publishedSignal(ctx, i);
    if (published) applySignal(ctx, published, 'published', false);
    settle(ctx, i);
    if (record.status === 'failed') {
      ctx.anyFailed = true;
      applyFailurePolicy(ctx, i);
    }
  }
  // settle() queued some dependants already; rebuild the queue once so none is queued twice.
  ctx.ready.length = 0;
  ctx.records.forEach((record, i) => {
    if (record.status === 'pending' && ctx.remaining[i] === 0) makeReady(ctx, i);
  });
  checkBudget(ctx);
  return ctx;
}
