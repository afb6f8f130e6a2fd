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
 * quadratic). Context is plain arrays and objects, never changed once a snapshot holds them:
 * each event's step starts from a shallow copy of the context ({@link beginStep}) and copies a
 * record, or an array, the first time it changes it ({@link own}, {@link ownRecord}); the rest is
 * shared. A snapshot taken (or serialized by an inspector a tick later) keeps showing the state
 * of its own event. The copies cost O(tasks) pointer moves per event (a few µs at 10,000 tasks).
 *
 * @module
 */
import { assign, enqueueActions, not, setup } from 'xstate';
import { DEFAULT_STATE_DIR, rawOutputPath } from '../actors/claude-code-runner.js';
import type { ExecutionRequest } from '../actors/executor.js';
import { addTokens, emptyTokens, type TokenUsage } from '../claude/stream-json.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import type { SerializedError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import type { RetryPolicy } from '../retry-policy.js';
import { closeAttempt, openAttempt, resumedAttemptLog } from '../workflow/attempt-log.js';
import { before, buildTaskGraph, popReady, pushReady, type TaskGraph } from '../workflow/ready-queue.js';
import type { LeafTask, Task, Workflow } from '../workflow/spec.js';
import type { RerunOrigin } from '../workflow/rerun-plan.js';
import { evaluateCondition, evaluateList, taskVariables, type ExpressionValues } from '../workflow/expression.js';
import { conditionText } from '../workflow/condition-function.js';
import { deferredSource, jsonText, memoryKeyValues, payloadText, renderDeferred, type DeferredText, type TemplateValues } from '../workflow/template.js';
import { instanceId, iterationId, unitTasks } from '../workflow/fan-out.js';
import { DEFAULT_MAX_ITEMS } from '../workflow/spec.js';
import type { TaskMemoryRequest } from '../memory/memory-executor.js';
import { applyWorkspaceFailure, applyWorkspaceResult, workspaceRequestOf, type WorkspaceLookup } from '../workspace/workspace-request.js';
import type { Signal } from '../signals/signal.js';
import type { RunLaunch } from '../persistence/state-backend.js';
import { emptyTaskRecord, toTaskResult, type TaskRecord, type WorkflowResult, type WorkflowStatus } from '../workflow/workflow-result.js';
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
  /** How the run is driven, stored in its checkpoints (not used by the machine): see {@link RunLaunch}. */
  launch?: RunLaunch;
  /**
   * A run made by `rerun --from`: the run it was made from. Its `records` are the kept ones
   * (the run is new, not resumed, unless resumed itself later).
   */
  rerunOf?: RerunOrigin;
  /** `records` are the records a rerun keeps of another run (its first start), not the run's own. */
  keptRecords?: boolean;
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
  /** See {@link OrchestratorInput.rerunOf}. */
  rerunOf?: RerunOrigin;
}

/**
 * The ready tasks, next first: `base` (the tasks ready when the run started, sorted, never
 * changed: `head` moves past those taken) and `heap` (the tasks released since, a heap). Taking a
 * task from a run of 10,000 ready ones copies three fields, not the 10,000 (snapshots share `base`).
 */
export interface ReadyQueue {
  base: number[];
  head: number;
  heap: number[];
  /**
   * The fan-outs under way, by declared task index: their instances are queued a few at a time
   * (never more than the task's `max_parallel`, or the run's), so the heap stays small.
   */
  gates: Record<number, FanoutGate>;
}

/**
 * A fan-out under way: instances offered to the queue so far (`next`, an offset in its list),
 * those of them queued or running (`open`), and those not finished (`left`).
 */
export interface FanoutGate {
  next: number;
  open: number;
  left: number;
  /** A group's fan-out (several tasks per instance): tasks settled so far, by instance index (instances under way only). */
  units?: Record<number, number>;
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
  /**
   * One record per task, in task order, in chunks of `RECORD_CHUNK`: a change copies its
   * chunk, not the whole list (see `recordsOf` for the flat list).
   */
  records: TaskRecord[][];
  /** Unfinished dependencies per task. */
  remaining: number[][];
  /** The tasks ready to start (see `ReadyQueue`). */
  ready: ReadyQueue;
  running: number;
  settled: number;
  /** Task indices in completion order. */
  finishedOrder: number[][];
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
  /** `reason`: the message the cancelled tasks keep (default "The run was cancelled"). */
  | { type: 'CANCEL'; reason?: string }
  /** These tasks' records are durable: a completed one's dependants may start. */
  | { type: 'RECORDS.DURABLE'; taskIds: string[] }
  /** Saving the run's state failed: nothing new starts, running tasks are cancelled. */
  | { type: 'STATE.WRITE_FAILED'; error: SerializedError }
  /** A signal for the run: the tasks waiting for its type start (a signal already applied is ignored). */
  | { type: 'SIGNAL'; signal: Signal }
  /** A `wait_for` task's timeout (raised by the machine itself, delayed). */
  | { type: 'WAIT.TIMEOUT'; taskId: string };

type Ctx = OrchestratorContext;

/** Context keys holding containers a step may change. */
type OwnedKey = 'records' | 'remaining' | 'ready' | 'finishedOrder' | 'undurable' | 'signals' | 'finishedTail' | 'readyHeap' | 'readyGates';

/** Tasks per chunk of `finishedOrder`: appending copies one chunk, not the whole run's order. */
const FINISHED_CHUNK = 256;

/**
 * What the current step has copied already: container keys and record indices. `null` while a
 * fresh context is being built (initialContext): everything there is owned.
 */
let owned: Set<OwnedKey | number> | null = null;

/**
 * Appends a task to the completion order, a list of chunks: the last chunk is copied once per
 * step (a new one started when full), the others are shared with earlier snapshots.
 */
function appendFinished(ctx: Ctx, i: number): void {
  const chunks = own(ctx, 'finishedOrder');
  const last = chunks.length - 1;
  if (last < 0 || chunks[last]!.length >= FINISHED_CHUNK) {
    chunks.push([i]);
    owned?.add('finishedTail');
  } else if (owned === null || owned.has('finishedTail')) chunks[last]!.push(i);
  else {
    chunks[last] = [...chunks[last]!, i];
    owned.add('finishedTail');
  }
}

/** A new context for one event's step: scalars are set on it; containers are copied when first changed. */
function beginStep(prev: Ctx): Ctx {
  owned = new Set();
  // The scratch is empty between events, except what building the context queued before the first step.
  const { toStart, toStop, outbox, toTime, toUntime } = prev.step;
  return { ...prev, step: { toStart: [...toStart], toStop: [...toStop], outbox: [...outbox], toTime: [...toTime], toUntime: [...toUntime] } };
}

/** The context's container `key`, copied the first time this step changes it. */
function own<K extends Exclude<OwnedKey, 'finishedTail' | 'readyHeap' | 'readyGates'>>(ctx: Ctx, key: K): Ctx[K] {
  if (owned !== null && !owned.has(key)) {
    owned.add(key);
    const value = ctx[key];
    ctx[key] = (Array.isArray(value) ? value.slice() : { ...value }) as Ctx[K];
  }
  return ctx[key];
}

/**
 * Task `i`'s record, to change: copied the first time this step changes it (its attempt log
 * too, with the last entry, the only one a change touches).
 */
function ownRecord(ctx: Ctx, i: number): TaskRecord {
  const chunks = own(ctx, 'records');
  const c = i >> RECORD_SHIFT;
  const k = i & (RECORD_CHUNK - 1);
  if (owned === null) return chunks[c]![k]!;
  // Chunks are marked by negative numbers, records by their index.
  if (!owned.has(-1 - c)) {
    owned.add(-1 - c);
    chunks[c] = chunks[c]!.slice();
  }
  const chunk = chunks[c]!;
  if (!owned.has(i)) {
    owned.add(i);
    const record = chunk[k]!;
    const log = record.attemptLog;
    const last = log?.at(-1);
    chunk[k] = { ...record, ...(log && { attemptLog: last ? [...log.slice(0, -1), { ...last }] : [] }) };
  }
  return chunk[k]!;
}

/** Tasks per chunk of `records` (a power of two). */
export const RECORD_CHUNK = 128;
const RECORD_SHIFT = Math.log2(RECORD_CHUNK);

/** How many tasks are ready. */
function readyCount(ctx: Ctx): number {
  return ctx.ready.base.length - ctx.ready.head + ctx.ready.heap.length;
}

/** The task that would start next, if any. */
function readyTop(ctx: Ctx): number | undefined {
  const { base, head, heap } = ctx.ready;
  const a = base[head];
  const b = heap[0];
  if (a === undefined || b === undefined) return a ?? b;
  return before(a, b, ctx.graph.priority) ? a : b;
}

/** Queues a ready task (into the heap, copied once per step). */
function enqueueReady(ctx: Ctx, i: number): void {
  const ready = own(ctx, 'ready');
  if (owned !== null && !owned.has('readyHeap')) {
    owned.add('readyHeap');
    ready.heap = ready.heap.slice();
  }
  pushReady(ready.heap, i, ctx.graph.priority);
}

/** Takes the task that starts next off the queue. */
function dequeueReady(ctx: Ctx): number | undefined {
  const top = readyTop(ctx);
  if (top === undefined) return undefined;
  const ready = own(ctx, 'ready');
  if (ready.base[ready.head] === top) ready.head += 1;
  else {
    if (owned !== null && !owned.has('readyHeap')) {
      owned.add('readyHeap');
      ready.heap = ready.heap.slice();
    }
    popReady(ready.heap, ctx.graph.priority);
  }
  return top;
}

/** Task `i`'s record (to read). */
function rec(ctx: Ctx, i: number): TaskRecord {
  return ctx.records[i >> RECORD_SHIFT]![i & (RECORD_CHUNK - 1)]!;
}

/** The records of an orchestrator context as one list, in task order. */
export function recordsOf(context: Pick<OrchestratorContext, 'records'>): TaskRecord[] {
  return context.records.flat();
}

/** A task's record by id, or `undefined`. */
export function recordOf(context: OrchestratorContext, taskId: string): TaskRecord | undefined {
  const i = indexOfTask(context, taskId);
  return i < 0 ? undefined : rec(context, i);
}

/** A per-task list in chunks of `RECORD_CHUNK`. */
function chunked<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += RECORD_CHUNK) chunks.push(items.slice(i, i + RECORD_CHUNK));
  return chunks;
}

/** Unfinished dependencies of task `i`. */
function remainingOf(ctx: Ctx, i: number): number {
  return ctx.remaining[i >> RECORD_SHIFT]![i & (RECORD_CHUNK - 1)]!;
}

/** One dependency of task `i` is done: returns how many are left (its chunk copied once per step). */
function decrementRemaining(ctx: Ctx, i: number): number {
  const chunks = own(ctx, 'remaining');
  const c = i >> RECORD_SHIFT;
  // Chunks of `remaining` are marked below those of `records` (see ownRecord).
  const mark = -1_000_000_000 - c;
  if (owned !== null && !owned.has(mark)) {
    owned.add(mark);
    chunks[c] = chunks[c]!.slice();
  }
  return (chunks[c]![i & (RECORD_CHUNK - 1)]! -= 1);
}

/** Opens the attempt log entry of an attempt of task `i` starting now (its raw stream file: agent tasks only). */
function startAttempt(ctx: Ctx, i: number): number {
  const task = ctx.workflow.tasks[i]!;
  const { stateDir, runId } = ctx.run;
  return openAttempt(ownRecord(ctx, i), Date.now(), (n) => (task.kind === 'agent' ? rawOutputPath(stateDir, runId, task.id, n) : null));
}

/**
 * The number of a task's current (or last) attempt: its place in the attempt log, as `status`
 * (`#2`), `logs --attempt 2` and its raw file (`raw_output.attempt-2.jsonl`) name it. It can be
 * above `record.attempts`, which counts only the attempts that count against `retry_count`.
 */
function attemptNumber(record: TaskRecord): number {
  return record.attemptLog?.length || record.attempts;
}

/** `task.started` of task `i`'s attempt number `attempt` (see {@link attemptNumber}). */
function startedEvent(ctx: Ctx, i: number, attempt: number): TaskEvent {
  const record = rec(ctx, i);
  return taskEvent(ctx, 'task.started', record.taskId, { attempt, counted: record.attempts, maxAttempts: ctx.workflow.tasks[i]!.retry_count });
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
  appendFinished(ctx, i);
  const task = ctx.workflow.tasks[i]!;
  // A task of an instance or an iteration has dependants in its unit only (none for a task's
  // fan-out); its fan-out or loop counts it, and goes on once the unit's last task has settled.
  const inUnit = task.instance !== undefined || task.iteration !== undefined;
  if ((!inUnit || ctx.graph.dependants[i]!.length > 0) && satisfiesDependants(ctx, i)) {
    if (durable) release(ctx, i);
    else own(ctx, 'undurable')[i] = 1;
  }
  if (task.instance) instanceSettled(ctx, i);
  else if (task.iteration) iterationSettled(ctx, i);
}

/**
 * Whether task `i`, finished, lets its dependants run: it completed, its `when` was false, or
 * it failed with `allow_failure` (a task skipped because a dependency failed does not).
 */
function satisfiesDependants(ctx: Ctx, i: number): boolean {
  const record = rec(ctx, i);
  if (record.status === 'completed') return true;
  if (record.status === 'skipped') return record.skippedBy === 'when';
  return record.status === 'failed' && ctx.workflow.tasks[i]!.allow_failure === true;
}

/**
 * A task has failed: unless it has `allow_failure`, the run will fail and the failure policy
 * applies (`on_failure`).
 */
function afterFailure(ctx: Ctx, i: number): void {
  if (ctx.workflow.tasks[i]!.allow_failure === true) return;
  ctx.anyFailed = true;
  applyFailurePolicy(ctx, i);
}

/**
 * Whether task `i`, its dependencies done, may run: true without `when:`. A false condition
 * skips it (the reason names the expression and the values it saw); an expression that cannot
 * be evaluated fails it with `EXPRESSION_ERROR`.
 */
function conditionHolds(ctx: Ctx, i: number): boolean {
  const task = ctx.workflow.tasks[i]!;
  if (task.when === undefined) return true;
  const scope = scopeOf(ctx, i);
  const outcome = evaluateCondition(task.when, expressionValues(ctx, scope), { extraVariables: scopeVariables(scope) });
  if ('run' in outcome && outcome.run) return true;
  if ('reason' in outcome) skip(ctx, i, outcome.reason, 'when');
  else if ('error' in outcome) {
    failUnstarted(ctx, i, {
      name: 'ExpressionError',
      code: 'EXPRESSION_ERROR',
      message: `Task "${task.id}": ${outcome.error}`,
      transient: false,
      details: { taskId: task.id, field: 'when', expression: conditionText(task.when) },
    });
  }
  return false;
}

/**
 * What an expression of the run reads: its inputs and the records of its tasks; in an instance
 * or an iteration (`scope`), its siblings by their local ids (with `previous` in a loop) and
 * `item`/`index` or `iteration`.
 */
function expressionValues(ctx: Ctx, scope?: ReadScope): ExpressionValues {
  return {
    inputs: ctx.workflow.inputs,
    task: (taskId) => {
      const read = readOf(ctx, scope, taskId);
      if (read === undefined) return undefined;
      if ('list' in read) return { ...taskVariables(read.declared), output: JSON.stringify(read.list.map((r) => r.output ?? '')), json: read.list.map((r) => r.json ?? null) };
      return { ...taskVariables(read.record), ...(read.previous && { previous: taskVariables(read.previous) }) };
    },
    ...(scope && { extra: scopeExtra(ctx, scope) }),
    // A condition function reads a group's tasks as tasks.<group>.<child> (i21-tsfn).
    groups: ctx.workflow.groups,
  };
}

/** Where a task reads from: the instance or iteration it belongs to (`n`: its index, or iteration number), of declared task `d`. */
interface ReadScope {
  d: number;
  kind: 'instance' | 'iteration';
  n: number;
}

function scopeOf(ctx: Ctx, i: number): ReadScope | undefined {
  const task = ctx.workflow.tasks[i]!;
  if (task.instance) return { d: indexOfTask(ctx, task.instance.of), kind: 'instance', n: task.instance.index };
  if (task.iteration) return { d: indexOfTask(ctx, task.iteration.of), kind: 'iteration', n: task.iteration.k };
  return undefined;
}

function scopeVariables(scope: ReadScope | undefined): string[] {
  if (!scope) return [];
  return scope.kind === 'instance' ? ['item', 'index'] : ['iteration'];
}

function scopeExtra(ctx: Ctx, scope: ReadScope): Record<string, unknown> {
  if (scope.kind === 'iteration') return { iteration: scope.n };
  return { item: rec(ctx, scope.d).items![scope.n], index: scope.n };
}

/** The id of the task `child` (a group's local id; none for a task's unit) in unit `n` of declared task `d`. */
function memberId(ctx: Ctx, d: number, kind: ReadScope['kind'], n: number, child: string | undefined): string {
  const id = ctx.workflow.tasks[d]!.id;
  return kind === 'instance' ? instanceId(id, n, child) : iterationId(id, n, child);
}

/** A name a task of declared task `d`'s unit reads its sibling by (`test`, or in full `fix_tests.test`): the local id (`''` for a task's own unit); `undefined` for another task. */
function localName(task: Task, taskId: string): string | undefined {
  if (task.kind !== 'group') return taskId === task.id ? '' : undefined;
  const name = taskId.startsWith(`${task.id}.`) ? taskId.slice(task.id.length + 1) : taskId;
  return task.body.some((c) => c.id === name) ? name : undefined;
}

/** What a reference reads: a record (with the one of the iteration before, in a loop), or a fan-out's list of records (its instances', or their last-declared task's). */
type Read = { record: TaskRecord; previous?: TaskRecord | undefined } | { declared: TaskRecord; list: TaskRecord[] };

function readOf(ctx: Ctx, scope: ReadScope | undefined, taskId: string): Read | undefined {
  if (scope) {
    const task = ctx.workflow.tasks[scope.d]!;
    const previous = scope.kind === 'iteration' ? /^(.+)\.previous$/.exec(taskId)?.[1] : undefined;
    const name = localName(task, previous ?? taskId);
    if (name !== undefined) {
      const child = name === '' ? undefined : name;
      if (previous !== undefined) {
        // Iteration 1 has no previous: its templates read it as empty.
        const j = scope.n > 1 ? indexOfTask(ctx, memberId(ctx, scope.d, scope.kind, scope.n - 1, child)) : -1;
        return j < 0 ? undefined : { record: rec(ctx, j) };
      }
      const j = indexOfTask(ctx, memberId(ctx, scope.d, scope.kind, scope.n, child));
      const before = scope.kind === 'iteration' && scope.n > 1 ? indexOfTask(ctx, memberId(ctx, scope.d, scope.kind, scope.n - 1, child)) : -1;
      return { record: rec(ctx, j), ...(before >= 0 && { previous: rec(ctx, before) }) };
    }
  }
  const j = indexOfTask(ctx, taskId);
  if (j >= 0) return declaredRead(ctx, j);
  // `<group>.<child>` of a looping or fan-out group, from outside (the group's id may have dots: `outer.g.child`).
  for (let dot = taskId.indexOf('.'); dot > 0; dot = taskId.indexOf('.', dot + 1)) {
    const d = indexOfTask(ctx, taskId.slice(0, dot));
    const child = taskId.slice(dot + 1);
    const task = ctx.workflow.tasks[d];
    if (task?.kind === 'group' && task.body.some((c) => c.id === child)) return declaredRead(ctx, d, child);
  }
  return undefined;
}

/**
 * A declared task as its readers see it: a fan-out as the list of its instances (of `child`, or
 * the group's last-declared task); a loop as its last iteration's (`child`, or the last-declared
 * task), with the loop's own status.
 */
function declaredRead(ctx: Ctx, d: number, child?: string): Read {
  const record = rec(ctx, d);
  const task = ctx.workflow.tasks[d]!;
  const body = task.kind === 'group' ? task.body : undefined;
  const pos = body === undefined ? 0 : child === undefined ? body.length - 1 : body.findIndex((c) => c.id === child);
  if (record.items !== undefined) return { declared: record, list: unitList(ctx, d, pos) };
  if (record.iteration === undefined || task.repeat === undefined) return { record };
  const last = rec(ctx, indexOfTask(ctx, iterationId(task.id, record.iteration, body?.[pos]!.id)));
  return { record: { ...last, status: record.status } };
}

/** A task that never started fails (a `wait_for` timeout, an expression error); its failure policy applies. */
function failUnstarted(ctx: Ctx, i: number, error: SerializedError): void {
  const record = ownRecord(ctx, i);
  record.status = 'failed';
  record.endedAt = Date.now();
  record.error = error;
  if (ctx.workflow.tasks[i]!.allow_failure === true) record.allowedFailure = true;
  settledWithEvent(ctx, i, 'task.failed');
  afterFailure(ctx, i);
}

/**
 * Whether completing task `i` makes ready a dependant that would start before everything
 * ready now: then the freed slot waits for that dependant (until the record is durable)
 * instead of going to a task of a shorter path.
 */
function releasesFirst(ctx: Ctx, i: number): boolean {
  const top = readyTop(ctx);
  for (const d of ctx.graph.dependants[i]!) {
    if (remainingOf(ctx, d) !== 1 || rec(ctx, d).status !== 'pending') continue;
    if (top === undefined || before(d, top, ctx.graph.priority)) return true;
  }
  return false;
}

/** Queues the dependants of a completed task whose other dependencies are done. */
function release(ctx: Ctx, i: number): void {
  const dependants = ctx.graph.dependants[i]!;
  if (dependants.length === 0) return;
  for (const d of dependants) {
    const left = decrementRemaining(ctx, d);
    if (left === 0 && rec(ctx, d).status === 'pending') makeReady(ctx, d);
  }
}

/**
 * A task whose dependencies are done: queued, or, when it has `wait_for` and its event has not
 * reached the run, `waiting` for it (taking no slot; its timeout starts now, or kept from an
 * earlier process).
 */
function makeReady(ctx: Ctx, i: number): void {
  // A condition is evaluated first: a task that will not run does not wait for its event.
  if (!conditionHolds(ctx, i)) return;
  if (ctx.workflow.tasks[i]!.for_each !== undefined) return startFanout(ctx, i);
  if (ctx.workflow.tasks[i]!.repeat !== undefined) return startLoop(ctx, i);
  const wait = ctx.workflow.tasks[i]!.wait_for;
  if (wait) {
    const record = ownRecord(ctx, i);
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
  enqueueReady(ctx, i);
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
  own(ctx, 'signals').push(signal);
  if (announce) ctx.step.outbox.push({ type: 'workflow.signal', workflowId: ctx.run.workflowId, runId: ctx.run.runId, at: Date.now(), origin, signal });
  if (ctx.halt !== null) return;
  ctx.workflow.tasks.forEach((task, i) => {
    if (rec(ctx, i).status !== 'waiting' || task.wait_for?.event !== signal.type) return;
    const record = ownRecord(ctx, i);
    record.status = 'pending';
    record.signal = signal;
    ctx.step.toUntime.push(record.taskId);
    enqueueReady(ctx, i);
  });
}

/** The signal a completed task with `publish:` sends: its output, under an id that is the same in every process. */
function publishedSignal(ctx: Ctx, i: number): Signal | undefined {
  const type = ctx.workflow.tasks[i]!.publish;
  const record = rec(ctx, i);
  if (type === undefined || record.status !== 'completed') return undefined;
  return { id: `${ctx.run.runId}/${record.taskId}`, type, payload: record.output, source: `${ctx.run.runId}/${record.taskId}`, at: record.endedAt ?? Date.now() };
}

/** A `wait_for` task whose event did not come in time fails (its failure policy applies). */
function timeOut(ctx: Ctx, i: number): void {
  const wait = ctx.workflow.tasks[i]!.wait_for;
  if (rec(ctx, i).status !== 'waiting' || !wait) return;
  const taskId = rec(ctx, i).taskId;
  failUnstarted(ctx, i, {
    name: 'WaitTimeoutError',
    code: 'WAIT_TIMEOUT',
    message:
      `Task "${taskId}" waited ${wait.timeout ?? 0} s for event "${wait.event}", which did not come ` +
      `(send it with: agents-sdk signal ${ctx.run.runId} ${wait.event}; then agents-sdk resume ${ctx.run.runId} --retry-failed)`,
    transient: false,
  });
  startReadyTasks(ctx);
}

/** Skips a task that has not started: because of a failure or a halt, or (`by: 'when'`) its condition was false. */
function skip(ctx: Ctx, i: number, reason: string, by?: 'when'): void {
  const status = rec(ctx, i).status;
  if (status === 'waiting') ctx.step.toUntime.push(rec(ctx, i).taskId);
  else if (status !== 'pending') return;
  const record = ownRecord(ctx, i);
  record.status = 'skipped';
  record.reason = reason;
  if (by !== undefined) record.skippedBy = by;
  record.endedAt = Date.now();
  settledWithEvent(ctx, i, 'task.skipped');
}

/**
 * Settles task `i` (finished, not by a child of its own) with its event. A task of an instance
 * or an iteration has its event first: settling it may end its fan-out or loop, whose event must
 * come after it.
 */
function settledWithEvent(ctx: Ctx, i: number, type: 'task.skipped' | 'task.failed'): void {
  const task = ctx.workflow.tasks[i]!;
  const record = rec(ctx, i);
  const event = taskEvent(ctx, type, record.taskId, { record: { ...record } });
  const inUnit = task.instance !== undefined || task.iteration !== undefined;
  if (inUnit) ctx.step.outbox.push(event);
  settle(ctx, i);
  if (!inUnit) ctx.step.outbox.push(event);
}

/** Skips every task that has not started (used when the run halts). */
function skipAllPending(ctx: Ctx, reason: string): void {
  if (readyCount(ctx) > 0) ctx.ready = { base: [], head: 0, heap: [], gates: ctx.ready.gates };
  for (let i = 0; i < ctx.workflow.tasks.length; i++) skip(ctx, i, reason);
}

/** `on_failure: stop` halts the run; `continue` skips only the failed task's dependants. */
function applyFailurePolicy(ctx: Ctx, failed: number): void {
  if (ctx.workflow.on_failure === 'stop') {
    if (ctx.halt === null) ctx.halt = 'failed';
    skipAllPending(ctx, `task "${rec(ctx, failed).taskId}" failed and on_failure is stop`);
  } else skipDependants(ctx, failed);
}

/** Skips the transitive dependants of a failed task (`on_failure: continue`). */
function skipDependants(ctx: Ctx, failed: number): void {
  const stack = [...ctx.graph.dependants[failed]!];
  const why = `dependency "${rec(ctx, failed).taskId}" failed`;
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (rec(ctx, i).status !== 'pending') continue;
    skip(ctx, i, why);
    stack.push(...ctx.graph.dependants[i]!);
  }
}

/** Task `i`'s templates' values (an instance's `{{item}}` and `{{index}}`, an iteration's `{{iteration}}` and siblings too). */
function templateValues(ctx: Ctx, i = -1): TemplateValues {
  const scope = i < 0 ? undefined : scopeOf(ctx, i);
  return {
    input: (name) => ctx.workflow.inputs[name],
    ...(scope?.kind === 'instance' && {
      item: (path) => payloadText(rec(ctx, scope.d).items?.[scope.n], path),
      index: () => String(scope.n),
    }),
    ...(scope?.kind === 'iteration' && { iteration: () => String(scope.n) }),
    task: (taskId, field) => {
      const read = readOf(ctx, scope, taskId);
      if (read !== undefined && 'list' in read) {
        if (field === 'output' || field === 'outputs') return JSON.stringify(read.list.map((r) => r.output ?? ''));
        return field === 'status' ? read.declared.status : '';
      }
      const record = read?.record;
      if (field === 'outputs') return undefined;
      if (field === 'status') return record?.status;
      if (field === 'exit_code') return record?.exitCode === undefined || record.exitCode === null ? '' : String(record.exitCode);
      if (field === 'commit' || field === 'branch') return record?.[field];
      return (field === 'output' ? record?.output : record?.sessionId) ?? undefined;
    },
    event: (type) => latestSignal(ctx, type)?.payload,
    json: (taskId, path) => {
      const read = readOf(ctx, scope, taskId);
      if (read === undefined) return undefined;
      return jsonText('list' in read ? read.list.map((r) => (r.json === undefined ? null : r.json)) : read.record.json, path);
    },
  };
}

function sessionInput(ctx: Ctx, i: number): AgentSessionInput {
  // Only leaf tasks run (a looping or fan-out group's tasks do, as its units').
  const task = ctx.workflow.tasks[i]! as LeafTask;
  const record = rec(ctx, i);
  // Attempts made before this spawn (by an earlier process, on resume): startReadyTasks counted this one.
  const attemptsBefore = record.attempts - 1;
  // Every attempt in the log before this spawn's (cancelled ones too): the number its files start after.
  const loggedBefore = (record.attemptLog?.length ?? 1) - 1;
  const values = templateValues(ctx, i);
  const timeoutMs = task.timeout !== undefined ? Math.round(task.timeout * 1000) : undefined;
  let request: ExecutionRequest;
  let claudeSessionId: string | null = null;
  // Memory and hash references are read when the task runs, by the executor's memory layer.
  let deferred: Pick<TaskMemoryRequest, 'prompt' | 'command'> | undefined;
  if (task.kind === 'command') {
    const args = task.command.map((a) => renderDeferred(a, values));
    if (args.some((a) => typeof a !== 'string')) deferred = { command: args };
    request = {
      kind: 'command',
      command: args.map(deferredSource),
      taskId: task.id,
      ...(task.cwd !== undefined && { cwd: task.cwd }),
      ...(task.env !== undefined && { env: task.env }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(ctx.run.processRegistry && { processRegistry: true }),
      ...(task.output === 'json' && { outputJson: true }),
      ...(task.output_schema !== undefined && { outputSchema: task.output_schema }),
    };
  } else {
    // A session id known at spawn time comes from an earlier process (interrupted or cancelled
    // there; a retried failed task starts afresh without one): within a process, retries
    // happen inside the session actor.
    const continueInterrupted = record.sessionId !== null && (task.resume_interrupted ?? ctx.workflow.resume_interrupted) === 'continue';
    if (continueInterrupted) claudeSessionId = record.sessionId;
    const prompt = continueInterrupted ? CONTINUE_PROMPT : renderDeferred(task.prompt, values);
    if (typeof prompt !== 'string') deferred = { prompt };
    request = {
      kind: 'claude',
      prompt: deferredSource(prompt),
      model: task.model,
      agentName: task.id,
      ...(task.cwd !== undefined && { cwd: task.cwd }),
      ...(task.env !== undefined && { env: task.env }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(task.max_turns !== undefined && { maxTurns: task.max_turns }),
      ...(task.allowed_tools !== undefined && { allowedTools: task.allowed_tools }),
      ...(task.append_system_prompt !== undefined && { appendSystemPrompt: task.append_system_prompt }),
      ...(task.dangerously_skip_permissions !== undefined && { dangerouslySkipPermissions: task.dangerously_skip_permissions }),
      ...(task.api_retries !== undefined && { apiRetries: task.api_retries }),
      ...(task.output_schema !== undefined && { jsonSchema: task.output_schema }),
      ...(ctx.run.processRegistry && { processRegistry: true }),
    };
  }
  if (task.runs_on !== undefined) request.runsOn = [...task.runs_on];
  // Its worktree (starting from its dependencies' commits) and ports: made by the executor's workspace layer.
  const workspace = workspaceRequestOf(ctx.workflow, task, ctx.run.runId, workspaceLookup(ctx));
  if (workspace) request.workspace = workspace;
  // The attempts before this spawn's were cut short by crashes: a remote executor may find one still running, or finished.
  const interrupted: number[] = [];
  for (let k = loggedBefore - 1; k >= 0 && record.attemptLog?.[k]?.status === 'interrupted'; k--) interrupted.push(record.attemptLog[k]!.attempt);
  if (interrupted.length > 0) request.interruptedAttempts = interrupted;
  if (deferred || task.cache || task.remember) {
    const memory: TaskMemoryRequest = { runId: ctx.run.runId, taskId: task.id, ...deferred };
    if (task.cache) memory.cache = memoryEntry(task.cache, values);
    if (task.remember) memory.remember = memoryEntry(task.remember, values);
    request.memory = memory;
  }
  const input: AgentSessionInput = {
    sessionId: task.id,
    agentName: task.kind === 'agent' ? (task.agent ?? unitAgentName(task)) : task.id,
    runId: ctx.run.runId,
    stateDir: ctx.run.stateDir,
    notifyParent: true,
    continueSession: claudeSessionId !== null,
    claudeSessionId,
    // Attempts already made by an earlier process count against retry_count.
    retry: {
      ...ctx.run.retry,
      ...(task.retry_delay !== undefined && { baseDelayMs: task.retry_delay * 1000 }),
      maxAttempts: Math.max(1, task.retry_count - attemptsBefore),
    },
    execute: { request },
    attemptsBefore: loggedBefore,
  };
  if (task.kind === 'agent') input.model = task.model;
  return input;
}

/** Tasks and records by id, for the workspace request (see workspace-request.ts). */
function workspaceLookup(ctx: Ctx): WorkspaceLookup {
  return {
    task: (taskId) => {
      const k = indexOfTask(ctx, taskId);
      return k < 0 ? undefined : ctx.workflow.tasks[k];
    },
    record: (taskId) => {
      const k = indexOfTask(ctx, taskId);
      return k < 0 ? undefined : rec(ctx, k);
    },
  };
}

/** A task's `cache:` or `remember:` with its key rendered (but for its hashes). */
function memoryEntry(entry: { key: string; ttl?: number | undefined }, values: TemplateValues): { key: string | DeferredText; ttl?: number } {
  const key = renderDeferred(entry.key, memoryKeyValues(values));
  return entry.ttl === undefined ? { key } : { key, ttl: entry.ttl };
}

/** How the run ends (or would, if it ended now). */
function outcomeOf(ctx: Ctx): WorkflowStatus {
  if (ctx.halt === 'cancelled' || ctx.halt === 'state_write_failed') return 'cancelled';
  if (ctx.halt === 'budget_exceeded') return 'budget_exceeded';
  return ctx.anyFailed ? 'failed' : 'completed';
}

/** Every task has finished and no child runs. */
function isSettled(ctx: Ctx): boolean {
  return ctx.settled >= ctx.workflow.tasks.length && ctx.running === 0;
}

/** The `always` transitions to the final state of the run's outcome, once it has settled. */
const FINISH = (['completed', 'failed', 'cancelled', 'budget_exceeded'] as const).map((status) => ({
  guard: { type: 'settledAs' as const, params: status },
  target: status,
}));

/** The result of a finished (or halted) run. */
export function workflowResultOf(ctx: Ctx, endedAt = Date.now()): WorkflowResult {
  const status = outcomeOf(ctx);
  return {
    workflowId: ctx.run.workflowId,
    runId: ctx.run.runId,
    status,
    success: status === 'completed',
    taskResults: ctx.finishedOrder.flatMap((chunk) => chunk.map((i) => toTaskResult(rec(ctx, i)))),
    totalTimeMs: endedAt - ctx.run.startedAt,
    tokens: ctx.tokens,
    costUsd: ctx.costUsd,
  };
}

/** A command whose stdout outgrew its record: the record says so, and where the whole of it is. */
function setOutputTruncation(record: TaskRecord, result: ExecutionResult): void {
  if (!result.truncated) {
    delete record.truncated;
    delete record.outputFile;
    delete record.outputBytes;
    return;
  }
  record.truncated = true;
  if (result.outputFile !== undefined) record.outputFile = result.outputFile;
  else delete record.outputFile;
  if (result.outputBytes !== undefined) record.outputBytes = result.outputBytes;
  else delete record.outputBytes;
}

function addSpend(ctx: Ctx, record: TaskRecord, tokens: TokenUsage, costUsd: number): void {
  record.tokens = addTokens(record.tokens, tokens);
  record.costUsd += costUsd;
  ctx.tokens = addTokens(ctx.tokens, tokens);
  ctx.costUsd += costUsd;
}

/**
 * A running task has ended (`type`: how): its record is closed, its event queued, and it is
 * settled. An instance's event goes first: settling the last one finishes its fan-out, whose
 * event must come after it.
 */
function finishTask(ctx: Ctx, i: number, type: 'task.completed' | 'task.failed' | 'task.cancelled'): void {
  const record = ownRecord(ctx, i);
  record.endedAt = Date.now();
  record.durationMs = record.startedAt === null ? null : record.endedAt - record.startedAt;
  ctx.running -= 1;
  ctx.step.toStop.push(record.taskId);
  const instance = ctx.workflow.tasks[i]!.instance !== undefined || ctx.workflow.tasks[i]!.iteration !== undefined;
  if (instance) ctx.step.outbox.push(taskEvent(ctx, type, record.taskId, { record: { ...record } }));
  settle(ctx, i, !ctx.run.awaitDurable);
  if (!instance) ctx.step.outbox.push(taskEvent(ctx, type, record.taskId, { record: { ...record } }));
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
  for (let i = 0; i < ctx.workflow.tasks.length; i++) {
    const status = rec(ctx, i).status;
    // A fan-out or a loop under way has no child: it finishes with its last instance or iteration.
    if ((status === 'running' || status === 'retrying') && rec(ctx, i).items === undefined && rec(ctx, i).iteration === undefined) {
      const record = ownRecord(ctx, i);
      if (record.status === 'running') record.attempts -= 1;
      record.status = 'cancelled';
      record.error = error;
      closeAttempt(record, 'cancelled', Date.now(), error);
      finishTask(ctx, i, 'task.cancelled');
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
    settledAs: ({ context }, status: WorkflowStatus) => isSettled(context) && outcomeOf(context) === status,
    // Halted with tasks still running: they finish, nothing new starts.
    halted: ({ context }) => context.halt !== null && !isSettled(context),
    // Nothing runs or can start, yet tasks are left: they (or what depends on them) wait for events.
    onlyWaiting: ({ context: ctx }) =>
      ctx.running === 0 && readyCount(ctx) === 0 && ctx.halt === null && ctx.settled < ctx.workflow.tasks.length && isEmpty(ctx.undurable),
  },
  actions: {
    applySessionEvent: assign(({ context, event }) => {
      if (event.type !== 'SESSION.EVENT') return {};
      const i = indexOfTask(context, event.childId);
      if (i < 0 || isFinished(rec(context, i).status)) return {};
      const ctx = beginStep(context);
      const e = event.event;
      if (e.type === 'session.progress') {
        // The most frequent event: the record changes only when the Claude session id comes.
        const sessionId = (e.progress.type === 'init' || e.progress.type === 'result') && e.progress.sessionId;
        if (sessionId && sessionId !== rec(ctx, i).sessionId) ownRecord(ctx, i).sessionId = sessionId;
        const record = rec(ctx, i);
        ctx.step.outbox.push(taskEvent(ctx, 'task.progress', record.taskId, { attempt: attemptNumber(record), progress: e.progress }));
        return ctx;
      }
      const record = ownRecord(ctx, i);
      switch (e.type) {
        case 'session.started':
          // Only retries: the first attempt was counted when the task was spawned.
          record.status = 'running';
          record.attempts += 1;
          ctx.step.outbox.push(startedEvent(ctx, i, startAttempt(ctx, i)));
          break;
        case 'session.retrying': {
          record.status = 'retrying';
          record.error = e.error;
          closeAttempt(record, 'failed', e.at, e.error);
          applyWorkspaceFailure(record, e.error);
          const spent = e.error.result;
          if (spent) addSpend(ctx, record, spent.tokens, spent.costUsd);
          ctx.step.outbox.push(taskEvent(ctx, 'task.retrying', record.taskId, { attempt: attemptNumber(record), counted: record.attempts, error: e.error, delayMs: e.delayMs }));
          break;
        }
        case 'session.completed': {
          record.status = 'completed';
          record.output = e.result.output;
          if (e.result.json !== undefined) record.json = e.result.json;
          else delete record.json;
          setOutputTruncation(record, e.result);
          if (e.result.cached) record.cached = true;
          if (e.result.outputCut) record.outputCut = e.result.outputCut;
          else delete record.outputCut;
          record.sessionId = e.result.sessionId ?? record.sessionId;
          if (e.result.exitCode !== undefined) record.exitCode = e.result.exitCode;
          applyWorkspaceResult(record, e.result.workspace);
          record.error = null;
          closeAttempt(record, 'succeeded', e.at, null, e.result);
          addSpend(ctx, record, e.result.tokens, e.result.costUsd);
          finishTask(ctx, i, 'task.completed');
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
          const exitCode = e.error.exitCode !== undefined ? e.error.exitCode : e.error.result?.exitCode;
          if (exitCode !== undefined) record.exitCode = exitCode;
          if (ctx.workflow.tasks[i]!.allow_failure === true) {
            record.allowedFailure = true;
            // What its dependants read: a failed command's stdout.
            if (e.error.result) record.output = e.error.result.output;
          }
          closeAttempt(record, 'failed', e.at, e.error);
          applyWorkspaceFailure(record, e.error);
          const spent = e.error.result;
          if (spent) addSpend(ctx, record, spent.tokens, spent.costUsd);
          finishTask(ctx, i, 'task.failed');
          afterFailure(ctx, i);
          checkBudget(ctx);
          startReadyTasks(ctx);
          break;
        }
      }
      return ctx;
    }),
    applySignal: assign(({ context, event }) => {
      if (event.type !== 'SIGNAL') return {};
      const ctx = beginStep(context);
      applySignal(ctx, event.signal, 'received');
      startReadyTasks(ctx);
      return ctx;
    }),
    applyWaitTimeout: assign(({ context, event }) => {
      if (event.type !== 'WAIT.TIMEOUT') return {};
      const i = indexOfTask(context, event.taskId);
      if (i < 0) return {};
      const ctx = beginStep(context);
      timeOut(ctx, i);
      return ctx;
    }),
    startReady: assign(({ context }) => {
      const ctx = beginStep(context);
      startReadyTasks(ctx);
      return ctx;
    }),
    applyCancel: assign(({ context, event }) => {
      const ctx = beginStep(context);
      const message = event.type === 'CANCEL' && event.reason !== undefined ? event.reason : 'The run was cancelled';
      const error: SerializedError = { name: 'CancelledError', code: 'CANCELLED', message, transient: false };
      haltRun(ctx, 'cancelled', error, 'the run was cancelled');
      return ctx;
    }),
    applyWriteFailure: assign(({ context, event }) => {
      if (event.type !== 'STATE.WRITE_FAILED') return {};
      const ctx = beginStep(context);
      const error: SerializedError = {
        name: 'CancelledError',
        code: 'CANCELLED',
        message: `Cancelled: the run's state could not be saved (${event.error.message})`,
        transient: false,
      };
      haltRun(ctx, 'state_write_failed', error, "the run's state could not be saved");
      return ctx;
    }),
    releaseDurable: assign(({ context, event }) => {
      if (event.type !== 'RECORDS.DURABLE') return {};
      const ctx = beginStep(context);
      for (const taskId of event.taskIds) {
        const i = indexOfTask(ctx, taskId);
        if (ctx.undurable[i] !== 1) continue;
        delete own(ctx, 'undurable')[i];
        if (ctx.halt !== null) continue;
        // A fan-out's recorded list is durable: its instances may start.
        if (rec(ctx, i).status === 'running' && rec(ctx, i).items !== undefined) pumpGate(ctx, i);
        // A loop's iteration number is durable: that iteration's tasks may start.
        else if (rec(ctx, i).status === 'running' && rec(ctx, i).iteration !== undefined) openIteration(ctx, i);
        else release(ctx, i);
      }
      startReadyTasks(ctx);
      return ctx;
    }),
    flush: enqueueActions(({ context: ctx, enqueue }) => {
      for (const id of ctx.step.toStop) enqueue.stopChild(id);
      for (const i of ctx.step.toStart) {
        enqueue.spawnChild('agentSession', { id: rec(ctx, i).taskId, input: sessionInput(ctx, i) });
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
        taskIds: ctx.workflow.tasks.map((t) => t.id),
        resumed: ctx.run.resumed,
        ...(ctx.run.rerunOf && { rerunOf: ctx.run.rerunOf }),
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
    // Both stop every running task at once: the run settles in the same step (see the final states).
    CANCEL: { actions: ['applyCancel', 'flush'] },
    'STATE.WRITE_FAILED': { actions: ['applyWriteFailure', 'flush'] },
  },
  states: {
    /** Tasks run; new ones start as their dependencies complete. */
    running: {
      always: [...FINISH, { guard: 'halted', target: 'draining' }, { guard: 'onlyWaiting', target: 'waiting' }],
    },
    /** Nothing runs: every task left waits for an event (`wait_for`), directly or through its dependencies. */
    waiting: {
      always: [...FINISH, { guard: 'halted', target: 'draining' }, { guard: not('onlyWaiting'), target: 'running' }],
    },
    /**
     * Halted (a failure under `on_failure: stop`, the budget): nothing new starts, the tasks
     * still running finish.
     */
    draining: {
      always: FINISH,
    },
    completed: { type: 'final', entry: 'announceFinish' },
    failed: { type: 'final', entry: 'announceFinish' },
    /** Cancelled (`cancel()`, Ctrl-C), or stopped because its state could not be saved. */
    cancelled: { type: 'final', entry: 'announceFinish' },
    budget_exceeded: { type: 'final', entry: 'announceFinish' },
  },
  output: ({ context }) => workflowResultOf(context),
});

/** Takes ready tasks off the queue while slots are free and the run is not halted. */
function startReadyTasks(ctx: Ctx): void {
  while (ctx.halt === null && ctx.running < ctx.workflow.max_parallel && readyCount(ctx) > 0) {
    const i = dequeueReady(ctx)!;
    const record = ownRecord(ctx, i);
    record.status = 'running';
    record.startedAt ??= Date.now();
    record.attempts += 1;
    const attempt = startAttempt(ctx, i);
    ctx.running += 1;
    ctx.step.toStart.push(i);
    ctx.step.outbox.push(startedEvent(ctx, i, attempt));
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
  if (ctx.settled + ctx.running >= ctx.workflow.tasks.length) return;
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
  // A context being built is nobody's snapshot yet: change it in place.
  owned = null;
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
      // A rerun starts with the kept records of another run: it is new, not resumed.
      resumed: input.records !== undefined && input.keptRecords !== true,
      ...(input.rerunOf && { rerunOf: input.rerunOf }),
      retry: input.retry ?? {},
      processRegistry: input.processRegistry ?? false,
      awaitDurable: input.awaitDurable ?? false,
    },
    workflow,
    graph,
    records: [],
    remaining: chunked(graph.dependencyCount),
    ready: { base: [], head: 0, heap: [], gates: {} },
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

  const resumed = (task: Task, before: TaskRecord | undefined): TaskRecord => {
    if (!before) return emptyTaskRecord(task.id);
    // Finished tasks are kept as they were (a task skipped by its `when` too: never evaluated
    // again); interrupted, cancelled and other skipped ones run (or are decided) again.
    // An allowed failure (`allow_failure`) is final too: its dependants may have used it already.
    const keptFailure = before.status === 'failed' && (!input.retryFailed || task.allow_failure === true);
    if (before.status === 'completed' || keptFailure || isSkippedByWhen(before)) return { ...before };
    // A fan-out whose list was recorded keeps it (never evaluated again) and goes on: its
    // instances decide (each kept, or run again, by these same rules). A loop goes on in the
    // iteration it was in.
    if (before.items !== undefined || before.iteration !== undefined) {
      const { reason: _reason, allowedFailure: _allowed, exhausted: _exhausted, ...rest } = before;
      return { ...rest, status: 'running', error: null, endedAt: null, durationMs: null };
    }
    // A retried failed task starts afresh (no attempts, no Claude session to continue); what it
    // spent stays in the run's total, which a budget is measured against.
    if (before.status === 'failed') return { ...emptyTaskRecord(task.id), tokens: before.tokens, costUsd: before.costUsd, attemptLog: resumedAttemptLog(before) };
    // startedAt is left to the run that now produces the result: its duration must not count
    // the time the run was down.
    return {
      ...emptyTaskRecord(task.id),
      attempts: before.attempts,
      sessionId: before.sessionId,
      tokens: before.tokens,
      costUsd: before.costUsd,
      // A task that was waiting keeps its deadline.
      ...(before.waitingSince !== undefined && { waitingSince: before.waitingSince }),
      attemptLog: resumedAttemptLog(before),
    };
  };
  ctx.records = chunked(workflow.tasks.map((task) => resumed(task, previous.get(task.id))));
  /** A finished unit's task, kept as it was (a copy: this context is changed in place). */
  const kept = (id: string): TaskRecord => ({ ...(previous.get(id) ?? emptyTaskRecord(id)) });
  // The fan-outs whose lists were recorded get their instances back: those of a finished one
  // as they are, the others by the rules above (a finished instance never runs again).
  const declared = workflow.tasks.length;
  for (let d = 0; d < declared; d++) {
    const fanout = rec(ctx, d);
    if (fanout.items === undefined || fanout.items.length === 0) continue;
    const finished = fanout.status !== 'running';
    expandFanout(ctx, d, (task) => (finished ? kept(task.id) : resumed(task, previous.get(task.id))), !finished);
  }
  // The loops get their iterations back: the finished ones (and all of a finished loop) as they
  // are, the one it was in by the rules above.
  for (let d = 0; d < declared; d++) {
    const loop = rec(ctx, d);
    const task = ctx.workflow.tasks[d]!;
    if (loop.iteration === undefined || task.repeat === undefined) continue;
    for (let k = 1; k <= loop.iteration; k++) {
      const current = loop.status === 'running' && k === loop.iteration;
      addTasks(ctx, unitTasks(task, { iteration: k }), graph.priority[d]!, (t) => (current ? resumed(t, previous.get(t.id)) : kept(t.id)));
    }
  }
  const records = recordsOf(ctx);
  for (const record of records) {
    ctx.tokens = addTokens(ctx.tokens, record.tokens);
    ctx.costUsd += record.costUsd;
  }
  // Signals that came before this process (its inbox), announced once the run starts; no task
  // is waiting yet: the queue is built below, with them in.
  for (const signal of input.signals ?? []) applySignal(ctx, signal, 'received');
  // Replay what an earlier process finished, in the order it finished, so that dependants
  // see it and the failure policy applies again.
  const finished = records
    .map((record, i) => ({ record, i }))
    .filter(({ record, i }) => record.status === 'completed' || record.status === 'failed' || isSkippedByWhen(record) || ofFinishedUnit(ctx, i))
    .sort((a, b) => (a.record.endedAt ?? 0) - (b.record.endedAt ?? 0));
  for (const { record, i } of finished) {
    const published = publishedSignal(ctx, i);
    if (published) applySignal(ctx, published, 'published', false);
    settle(ctx, i);
    if (record.status === 'failed') afterFailure(ctx, i);
  }
  // settle() queued some dependants already; rebuild the queue once so none is queued twice.
  const gates = ctx.ready.gates;
  ctx.ready = { base: [], head: 0, heap: [], gates };
  for (let i = 0; i < declared; i++) {
    if (rec(ctx, i).status === 'pending' && remainingOf(ctx, i) === 0) makeReady(ctx, i);
  }
  // The fan-outs under way offer their unfinished instances again, from the first.
  for (const key of Object.keys(ctx.ready.gates)) {
    const d = Number(key);
    const gate = ctx.ready.gates[d]!;
    gate.next = 0;
    gate.open = 0;
    // A list evaluated just now (above) waits to be durable, as in a step.
    if (ctx.halt === null && ctx.undurable[d] !== 1) pumpGate(ctx, d);
  }
  // The loops under way start the iteration they are in (one started just now waits to be durable).
  for (let d = 0; d < declared; d++) {
    const loop = rec(ctx, d);
    if (loop.status === 'running' && loop.iteration !== undefined && ctx.halt === null && ctx.undurable[d] !== 1) openIteration(ctx, d);
  }
  // What is ready now becomes the sorted base, which the steps never copy. (A task skipped by
  // its `when` above released its dependants, which the loop may have reached again: once each.)
  const priority = graph.priority;
  ctx.ready = { base: [...new Set(ctx.ready.heap)].sort((a, b) => (before(a, b, priority) ? -1 : 1)), head: 0, heap: [], gates: ctx.ready.gates };
  checkBudget(ctx);
  return ctx;
}

/**
 * A task of an instance of a fan-out, or of an iteration of a loop, that finished in an earlier
 * process (a loop's iterations before the one it is in): kept, and counted, whatever its status.
 */
function ofFinishedUnit(ctx: Ctx, i: number): boolean {
  const task = ctx.workflow.tasks[i]!;
  const unit = task.instance ?? task.iteration;
  if (unit === undefined) return false;
  const declared = rec(ctx, indexOfTask(ctx, unit.of));
  return declared.status !== 'running' || (task.iteration !== undefined && task.iteration.k < declared.iteration!);
}

function isSkippedByWhen(record: TaskRecord): boolean {
  return record.status === 'skipped' && record.skippedBy === 'when';
}

// ---- Units: fan-out instances (`for_each`) and loop iterations (`repeat`) --------------------

/** Appends items to a chunked per-task list (its last chunk copied, new chunks added). */
function appendChunked<T>(chunks: T[][], items: readonly T[]): void {
  let k = 0;
  const last = chunks.length - 1;
  if (last >= 0 && chunks[last]!.length < RECORD_CHUNK) {
    k = RECORD_CHUNK - chunks[last]!.length;
    chunks[last] = [...chunks[last]!, ...items.slice(0, k)];
  }
  for (; k < items.length; k += RECORD_CHUNK) chunks.push(items.slice(k, k + RECORD_CHUNK));
}

const NO_DEPENDANTS: number[] = [];

/**
 * Adds tasks of instances or iterations to the run: tasks, graph entries (dependencies among
 * themselves only, the declared task's priority), records. One copy of the run's task list per
 * call, never per task.
 */
function addTasks(ctx: Ctx, tasks: readonly LeafTask[], priority: number, recordFor: (task: LeafTask) => TaskRecord): void {
  const start = ctx.workflow.tasks.length;
  ctx.workflow = { ...ctx.workflow, tasks: [...ctx.workflow.tasks, ...tasks] };
  const dependants: number[][] = tasks.map(() => NO_DEPENDANTS);
  const counts: number[] = tasks.map(() => 0);
  if (tasks.some((t) => t.depends_on.length > 0)) {
    const at = new Map(tasks.map((t, p) => [t.id, p]));
    tasks.forEach((t, p) => {
      for (const dep of t.depends_on) {
        const q = at.get(dep)!;
        dependants[q] = dependants[q] === NO_DEPENDANTS ? [start + p] : [...dependants[q]!, start + p];
        counts[p]! += 1;
      }
    });
  }
  const g = ctx.graph;
  ctx.graph = {
    dependants: [...g.dependants, ...dependants],
    priority: [...g.priority, ...tasks.map(() => priority)],
    dependencyCount: [...g.dependencyCount, ...counts],
  };
  appendChunked(own(ctx, 'records'), tasks.map(recordFor));
  appendChunked(own(ctx, 'remaining'), counts);
}

/** How many tasks one instance or iteration of declared task `d` has (1, or its group's). */
function unitSize(ctx: Ctx, d: number): number {
  const task = ctx.workflow.tasks[d]!;
  return task.kind === 'group' ? task.body.length : 1;
}

/** The index of the first task of unit `n` (an instance's index, an iteration's number) of declared task `d`. */
function unitBase(ctx: Ctx, d: number, kind: ReadScope['kind'], n: number): number {
  const task = ctx.workflow.tasks[d]!;
  return indexOfTask(ctx, memberId(ctx, d, kind, n, task.kind === 'group' ? task.body[0]!.id : undefined));
}

/** Whether every task of the unit starting at `base` has finished. */
function unitFinished(ctx: Ctx, base: number, m: number): boolean {
  for (let c = 0; c < m; c++) if (!isFinished(rec(ctx, base + c).status)) return false;
  return true;
}

/** Queues the tasks of the unit starting at `base` that are ready (a task of a group's may be skipped by its `when`, or wait). */
function openUnit(ctx: Ctx, base: number, m: number): void {
  for (let c = 0; c < m; c++) {
    const i = base + c;
    if (rec(ctx, i).status === 'pending' && remainingOf(ctx, i) === 0) makeReady(ctx, i);
  }
}

/** The agent name of a task of an instance or iteration: its declared task's (`impl`, `fix`), or its group's task's (`fix_tests.test`). */
function unitAgentName(task: Task): string {
  const of = task.instance?.of ?? task.iteration?.of;
  if (of === undefined) return task.id;
  return task.child === undefined ? of : `${of}.${task.child}`;
}

/**
 * Adds the instances of fan-out task `d` (its list recorded): one unit per item (the task, or
 * its group's tasks), and a gate.
 */
function expandFanout(ctx: Ctx, d: number, recordFor: (task: LeafTask) => TaskRecord, gated: boolean): void {
  const task = ctx.workflow.tasks[d]!;
  const n = rec(ctx, d).items!.length;
  const tasks: LeafTask[] = [];
  for (let k = 0; k < n; k++) tasks.push(...unitTasks(task, { instance: k }));
  addTasks(ctx, tasks, ctx.graph.priority[d]!, recordFor);
  if (gated) setGate(ctx, d, { next: 0, open: 0, left: n });
}

function setGate(ctx: Ctx, d: number, gate: FanoutGate): void {
  const ready = own(ctx, 'ready');
  if (owned !== null && !owned.has('readyGates')) {
    owned.add('readyGates');
    ready.gates = { ...ready.gates };
  }
  ready.gates[d] = gate;
  owned?.add(-2_000_000_000 - d);
}

/** Fan-out `d`'s gate, to change (copied once per step). */
function ownGate(ctx: Ctx, d: number): FanoutGate {
  const gate = ctx.ready.gates[d]!;
  if (owned === null || owned.has(-2_000_000_000 - d)) return gate;
  const copy = { ...gate, ...(gate.units && { units: { ...gate.units } }) };
  setGate(ctx, d, copy);
  return copy;
}

/** The index of fan-out `d`'s first instance. */
function instanceBase(ctx: Ctx, d: number): number {
  return unitBase(ctx, d, 'instance', 0);
}

/** Queues fan-out `d`'s next instances while it has room (its `max_parallel`, or the run's). */
function pumpGate(ctx: Ctx, d: number): void {
  const n = rec(ctx, d).items!.length;
  const cap = Math.min(ctx.workflow.tasks[d]!.max_parallel ?? Infinity, ctx.workflow.max_parallel);
  const seen = ctx.ready.gates[d];
  if (!seen || seen.open >= cap || seen.next >= n) return;
  const base = instanceBase(ctx, d);
  const m = unitSize(ctx, d);
  const gate = ownGate(ctx, d);
  while (gate.open < cap && gate.next < n) {
    const i = base + gate.next * m;
    gate.next += 1;
    if (m === 1) {
      if (rec(ctx, i).status !== 'pending') continue;
      gate.open += 1;
      enqueueReady(ctx, i);
    } else if (!unitFinished(ctx, i, m)) {
      gate.open += 1;
      openUnit(ctx, i, m);
    }
  }
}

/**
 * Fan-out task `d`'s dependencies are done (and its `when` held): its list is evaluated, once,
 * and recorded on its record before any instance starts (with a checkpointed run, the instances
 * wait until that record is durable). A value that is not a list, or a list longer than
 * `max_items`, fails the task; an empty list completes it at once.
 */
function startFanout(ctx: Ctx, d: number): void {
  const task = ctx.workflow.tasks[d]!;
  const outcome = evaluateList(task.for_each!, expressionValues(ctx));
  if ('error' in outcome) {
    failUnstarted(ctx, d, {
      name: 'ExpressionError',
      code: 'EXPRESSION_ERROR',
      message: `Task "${task.id}": ${outcome.error}`,
      transient: false,
      details: { taskId: task.id, field: 'for_each', expression: task.for_each },
    });
    return;
  }
  const max = task.max_items ?? DEFAULT_MAX_ITEMS;
  if (outcome.items.length > max) {
    failUnstarted(ctx, d, {
      name: 'FanoutError',
      code: 'TOO_MANY_ITEMS',
      message: `Task "${task.id}": for_each: ${task.for_each} gave ${outcome.items.length} items, more than its max_items (${max}); no instance was started (raise max_items, up to 100000)`,
      transient: false,
      details: { taskId: task.id, field: 'for_each', items: outcome.items.length, maxItems: max },
    });
    return;
  }
  const record = ownRecord(ctx, d);
  record.items = outcome.items;
  record.status = 'running';
  record.startedAt = Date.now();
  ctx.step.outbox.push(
    taskEvent(ctx, 'fanout.expanded', record.taskId, { count: outcome.items.length, ...(task.kind === 'group' && { tasks: task.body.map((t) => t.id) }) }),
  );
  if (outcome.items.length === 0) return finishFanout(ctx, d, 0);
  expandFanout(ctx, d, (t) => emptyTaskRecord(t.id), true);
  if (ctx.run.awaitDurable) own(ctx, 'undurable')[d] = 1;
  else pumpGate(ctx, d);
}

/** A task of an instance has finished: once its instance has, its fan-out queues the next one, or finishes with the last. */
function instanceSettled(ctx: Ctx, i: number): void {
  const instance = ctx.workflow.tasks[i]!.instance!;
  const d = indexOfTask(ctx, instance.of);
  // The instances of a fan-out that finished in an earlier process (kept as they are).
  if (!ctx.ready.gates[d]) return;
  const gate = ownGate(ctx, d);
  const m = unitSize(ctx, d);
  if (m > 1) {
    // A group's instance: its tasks settle one by one (each once, in a step or on resume).
    gate.units ??= {};
    const done = (gate.units[instance.index] ?? 0) + 1;
    if (done < m) {
      gate.units[instance.index] = done;
      return;
    }
    delete gate.units[instance.index];
  }
  if (instance.index < gate.next) gate.open -= 1;
  gate.left -= 1;
  if (gate.left === 0) finishFanout(ctx, d, instanceBase(ctx, d));
  // In initialContext (owned === null) the queue is built once the records are replayed.
  else if (ctx.halt === null && owned !== null) pumpGate(ctx, d);
}

/**
 * Every instance of fan-out `d` has finished: it completes if they all did (or failed with
 * `allow_failure`); else it fails (one failed), is cancelled or skipped (the run halted).
 */
function finishFanout(ctx: Ctx, d: number, base: number): void {
  const n = rec(ctx, d).items!.length * unitSize(ctx, d);
  const task = ctx.workflow.tasks[d]!;
  const failed: TaskRecord[] = [];
  let cancelled: TaskRecord | undefined;
  let skipped: TaskRecord | undefined;
  for (let k = 0; k < n; k++) {
    const r = rec(ctx, base + k);
    // A task's own instances fail the fan-out (allowed or not: then the fan-out's failure is allowed); a group's task with allow_failure does not.
    if (r.status === 'failed' && (task.kind !== 'group' || !r.allowedFailure)) failed.push(r);
    else if (r.status === 'cancelled') cancelled ??= r;
    else if (r.status === 'skipped' && r.skippedBy !== 'when') skipped ??= r;
  }
  if (ctx.ready.gates[d]) {
    const gates = { ...ctx.ready.gates };
    delete gates[d];
    own(ctx, 'ready').gates = gates;
    owned?.add('readyGates');
  }
  if (failed.length > 0) {
    const first = failed[0]!;
    const ids = failed.slice(0, 5).map((r) => r.taskId).join(', ') + (failed.length > 5 ? ', ...' : '');
    const what = task.kind === 'group' ? 'tasks' : 'instances';
    endDeclared(ctx, d, 'failed', {
      name: first.error?.name ?? 'FanoutError',
      code: first.error?.code ?? 'EXPRESSION_ERROR',
      message: `Task "${task.id}": ${failed.length} of ${n} ${what} failed (${ids}); ${first.taskId}: ${first.error?.message ?? 'failed'}`,
      transient: false,
      details: { taskId: task.id, failed: failed.map((r) => r.taskId) },
    });
  } else if (cancelled) endDeclared(ctx, d, 'cancelled', cancelled.error);
  else if (skipped) endDeclared(ctx, d, 'skipped', null, skipped.reason);
  else endDeclared(ctx, d, 'completed', null);
}

/**
 * A fan-out or a loop has ended (its units settled): its record is closed, it is settled (a
 * completed one's dependants wait for it to be durable, when the run waits for that), its event
 * queued and, for a failure, the failure policy applied.
 */
function endDeclared(ctx: Ctx, d: number, status: 'completed' | 'failed' | 'cancelled' | 'skipped', error: SerializedError | null, reason?: string): void {
  const record = ownRecord(ctx, d);
  record.endedAt = Date.now();
  // (A fan-out or a loop has started: its list, or its first iteration, was recorded.)
  record.durationMs = record.endedAt - record.startedAt!;
  record.status = status;
  record.error = error;
  if (reason !== undefined) record.reason = reason;
  if (status === 'failed' && ctx.workflow.tasks[d]!.allow_failure === true) record.allowedFailure = true;
  settle(ctx, d, status !== 'completed' || !ctx.run.awaitDurable);
  const type = status === 'completed' ? 'task.completed' : status === 'failed' ? 'task.failed' : status === 'cancelled' ? 'task.cancelled' : 'task.skipped';
  ctx.step.outbox.push(taskEvent(ctx, type, record.taskId, { record: { ...record } }));
  if (status === 'failed') afterFailure(ctx, d);
}

/** The records of task `pos` of the body (0 for a task's own) of every instance of fan-out `d`, in item order. */
function unitList(ctx: Ctx, d: number, pos: number): TaskRecord[] {
  const n = rec(ctx, d).items!.length;
  if (n === 0) return [];
  const base = instanceBase(ctx, d);
  const m = unitSize(ctx, d);
  const list: TaskRecord[] = [];
  for (let k = 0; k < n; k++) list.push(rec(ctx, base + k * m + pos));
  return list;
}

// ---- Loops (`repeat`) ---------------------------------------------------------------------------

/** Loop task `d`'s dependencies are done (and its `when` held): its first iteration starts. */
function startLoop(ctx: Ctx, d: number): void {
  const record = ownRecord(ctx, d);
  record.status = 'running';
  record.startedAt = Date.now();
  nextIteration(ctx, d, 1);
}

/**
 * Loop `d` starts iteration `k`: the number is recorded on its record (with a checkpointed run,
 * the iteration's tasks wait until that record is durable), then its tasks are added.
 */
function nextIteration(ctx: Ctx, d: number, k: number): void {
  const task = ctx.workflow.tasks[d]!;
  const record = ownRecord(ctx, d);
  record.iteration = k;
  ctx.step.outbox.push(taskEvent(ctx, 'loop.iteration', record.taskId, { iteration: k, max: task.repeat!.max }));
  addTasks(ctx, unitTasks(task, { iteration: k }), ctx.graph.priority[d]!, (t) => emptyTaskRecord(t.id));
  if (ctx.run.awaitDurable) own(ctx, 'undurable')[d] = 1;
  else openIteration(ctx, d);
}

/** Queues the ready tasks of the iteration loop `d` is in. */
function openIteration(ctx: Ctx, d: number): void {
  openUnit(ctx, unitBase(ctx, d, 'iteration', rec(ctx, d).iteration!), unitSize(ctx, d));
}

/** A task of an iteration has finished: once the iteration's last has, the loop decides. */
function iterationSettled(ctx: Ctx, i: number): void {
  const { of, k } = ctx.workflow.tasks[i]!.iteration!;
  const d = indexOfTask(ctx, of);
  const loop = rec(ctx, d);
  // An earlier iteration's task, or one of a loop that has ended (kept as they are, on resume).
  if (loop.status !== 'running' || loop.iteration !== k) return;
  const base = unitBase(ctx, d, 'iteration', k);
  if (unitFinished(ctx, base, unitSize(ctx, d))) finishIteration(ctx, d, k, base);
}

/**
 * Iteration `k` of loop `d` has ended: a failed task (without `allow_failure`) fails the loop;
 * a cancelled or skipped one (the run halted) ends it so; else `until` is evaluated over the
 * iteration: true completes the loop, false starts the next iteration, or at `max` fails the loop
 * with `LOOP_EXHAUSTED` (completes it `exhausted`, with `on_exhausted: continue`).
 */
function finishIteration(ctx: Ctx, d: number, k: number, base: number): void {
  const task = ctx.workflow.tasks[d]!;
  const repeat = task.repeat!;
  let failed: TaskRecord | undefined;
  let cancelled: TaskRecord | undefined;
  let skipped: TaskRecord | undefined;
  for (let c = 0; c < unitSize(ctx, d); c++) {
    const r = rec(ctx, base + c);
    if (r.status === 'failed' && (task.kind !== 'group' || !r.allowedFailure)) failed ??= r;
    else if (r.status === 'cancelled') cancelled ??= r;
    else if (r.status === 'skipped' && r.skippedBy !== 'when') skipped ??= r;
  }
  if (failed) {
    // A failed task has its error (its code is the loop's).
    const { result: _result, ...error } = failed.error!;
    return endDeclared(ctx, d, 'failed', {
      ...error,
      message: `Task "${task.id}": iteration ${k}: ${failed.taskId} failed: ${error.message}`,
      transient: false,
      details: { taskId: task.id, iteration: k, failed: failed.taskId },
    });
  }
  if (cancelled) return endDeclared(ctx, d, 'cancelled', cancelled.error);
  if (skipped) return endDeclared(ctx, d, 'skipped', null, skipped.reason);
  const scope: ReadScope = { d, kind: 'iteration', n: k };
  // CEL, or a TypeScript function (a workflow built in code): see evaluateCondition.
  const outcome = evaluateCondition(repeat.until, expressionValues(ctx, scope), { field: 'repeat.until', extraVariables: ['iteration'] });
  const until = conditionText(repeat.until);
  const saw = /(^|, )iteration = /.test(outcome.seen) ? outcome.seen : outcome.seen === '' ? `iteration = ${k}` : `${outcome.seen}, iteration = ${k}`;
  if ('error' in outcome) {
    return endDeclared(ctx, d, 'failed', {
      name: 'ExpressionError',
      code: 'EXPRESSION_ERROR',
      message: `Task "${task.id}": repeat.until: ${until}: ${outcome.problem} (${saw})`,
      transient: false,
      details: { taskId: task.id, field: 'repeat.until', expression: until, iteration: k },
    });
  }
  if (outcome.run) return endDeclared(ctx, d, 'completed', null);
  if (k < repeat.max) {
    if (ctx.halt !== null) return endDeclared(ctx, d, 'skipped', null, 'the run halted before its next iteration');
    return nextIteration(ctx, d, k + 1);
  }
  if (repeat.on_exhausted === 'continue') {
    ownRecord(ctx, d).exhausted = true;
    return endDeclared(ctx, d, 'completed', null);
  }
  endDeclared(ctx, d, 'failed', {
    name: 'LoopExhaustedError',
    code: 'LOOP_EXHAUSTED',
    message: `Task "${task.id}": repeat: until ${until} was still false after ${repeat.max} iteration${repeat.max === 1 ? '' : 's'}, its max (${saw})`,
    transient: false,
    details: { taskId: task.id, until, max: repeat.max, seen: saw },
  });
}
