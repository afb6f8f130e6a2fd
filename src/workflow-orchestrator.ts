/**
 * `WorkflowOrchestrator`: runs workflows on the orchestrator machine behind a promise API,
 * publishing every event on its priority bus (`bus`) and its mitt emitter (`events`).
 *
 * @module
 */
import { resolve } from 'node:path';
import { createActor, toPromise, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { createExecutorActor, defaultExecutor, type Executor } from './actors/executor.js';
import { recordPrompts } from './actors/prompt-file.js';
import { processRegistryDir, reapProcesses, type ReapedProcess } from './actors/process-registry.js';
import { DEFAULT_STATE_DIR } from './actors/claude-code-runner.js';
import { AgentsSdkError, PermanentError, ValidationError, serializeError } from './errors.js';
import { CallbackManager, attachCallbacks } from './callbacks/callback-manager.js';
import type { Events } from './events.js';
import { createEventBus, publishLifecycleEvent, type EventBus, type LifecycleEvent } from './event-bus.js';
import { JsonStateBackend } from './persistence/json-state-backend.js';
import { RunCheckpointer, type CommitStats } from './persistence/run-checkpointer.js';
import { hasRunEventStore, openRunEventSink } from './persistence/run-event-sink.js';
import type { LockOptions } from './persistence/process-lock.js';
import { STATE_SCHEMA_VERSION, type ReleaseLock, type RunCheckpoint, type RunLaunch, type StateBackend } from './persistence/state-backend.js';
import { assertValidRunId } from './persistence/state-keys.js';
import { agentSessionMachine } from './machines/agent-session.machine.js';
import { orchestratorMachine, recordOf, recordsOf, type OrchestratorInput } from './machines/orchestrator.machine.js';
import type { RetryPolicy } from './retry-policy.js';
import type { Workflow, WorkflowSpecInput } from './workflow/spec.js';
import { validateWorkflow } from './workflow/validate-workflow.js';
import { workflowToGoOn } from './workflow/workflow-from-code.js';
import type { WorkflowDefinition } from './workflow/workflow-definition.js';
import { planRerun, type RerunOrigin } from './workflow/rerun-plan.js';
import { addDurations, durationHistoryKey, expectedDurationsMs, readDurationHistory } from './workflow/task-durations.js';
import { newRunId } from './run-id.js';
import { BROADCAST_SCOPE, createSignal, isSignalStore, type Signal } from './signals/signal.js';
import { assertAwaitedEvent, sendSignal, type SendSignalOptions } from './signals/send-signal.js';
import { readInboxes, SignalWatcher } from './signals/signal-watcher.js';
import { cancelRequestMessage, isCancelRequest } from './signals/cancel-request.js';
import { cancelRun, type CancelRunOptions, type CancelRunResult } from './cancel-run.js';
import { createInspector, type InspectTarget } from './inspector/inspection-client.js';
import type { WorkflowResult } from './workflow/workflow-result.js';
import type { MemoryBackend } from './memory/memory-backend.js';
import { InMemoryBackend } from './memory/in-memory-backend.js';
import { openMemoryBackend } from './memory/open-memory-backend.js';
import { createMemoryExecutor, usesMemory, type RunMemory } from './memory/memory-executor.js';
import { SharedMemoryStore } from './memory/shared-memory-store.js';
import { createWorkspaceExecutor } from './workspace/workspace-executor.js';
import { findWorktreeBases, usesWorktrees } from './workspace/workspace-preflight.js';
import { finishRunWorkspace, publishRunBases } from './workspace/run-workspace.js';

/** Options of {@link WorkflowOrchestrator}. */
export interface WorkflowOrchestratorOptions {
  /**
   * Where runs are checkpointed: default a {@link JsonStateBackend} in `stateDir`;
   * `null`: nothing is persisted (and `resume` is unavailable).
   */
  stateBackend?: StateBackend | null;
  /** Where raw outputs (and, with the JSON backend, state) go; default `agents`. */
  stateDir?: string;
  /** Replaces the runner of every task (e.g. `createReplayExecutor(dir)`); default Claude Code / commands. */
  executor?: Executor;
  /** The event bus every lifecycle event is published on (see `bus`); default a new one. */
  bus?: EventBus<Events>;
  /** Backoff of task retries; attempts come from each task's `retry_count`. */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  /**
   * XState inspection of every actor of a run (orchestrator, sessions, executors): an observer
   * (e.g. `createInspector().inspect`, or `@statelyai/inspect`'s; you stop what you create), or
   * a target (`'local'`, `'sky'`, `'ws://host:port'`): then each run gets a compact forwarder
   * (see {@link createInspector}) that is stopped when the run ends.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | InspectTarget;
  /**
   * Collects how long each task record took to become durable (ms from the change to the end
   * of its write) and how many writes were made: for measuring a backend under load.
   */
  commitStats?: CommitStats;
  /**
   * Appends every event of a run to its event log: the backend's own store when it has one (the
   * SQLite backend's `events` table), else `<stateDir>/<runId>/events.jsonl` (see `RunEventLog`).
   * Default: on when the backend has an event store, is a {@link JsonStateBackend} or has a `stateDir`.
   */
  eventLog?: boolean;
  /**
   * Where workflows' memory is (`{{memory.<key>}}`, `cache:`, `remember:`): a store (yours: it
   * is never closed here), or the kind of store to open in `stateDir` (`json`: `<stateDir>/memory/`;
   * `sqlite`), opened when a run first needs it and closed once no run uses it. Default: `json`
   * with a state backend; without one (`stateBackend: null`) an `InMemoryBackend` kept by this
   * orchestrator, shared by its runs.
   */
  memory?: MemoryBackend | 'json' | 'sqlite';
}

/** Options of {@link WorkflowOrchestrator.resume}. */
export interface ResumeOptions {
  /**
   * Take the run's lock even from a holder that looks alive: for a run whose driver was on
   * another host (a crashed machine, a replaced container), which cannot be checked from here.
   */
  force?: boolean;
  /**
   * Run the failed tasks again, and the tasks skipped because of them, keeping the completed
   * ones: a finished `failed` run continues (so does an interrupted or cancelled one, whose
   * failed tasks would otherwise be kept). Each retried task gets fresh attempts (its whole
   * `retry_count` again) and starts a new Claude session; what its earlier attempts cost stays
   * in the run's cost. Default false.
   */
  retryFailed?: boolean;
  /**
   * A new `budget_usd` for the run (USD, > 0): a `budget_exceeded` run continues under it (its
   * skipped tasks run), and any resumed run keeps it from then on (it is saved with the run).
   * Measured against the whole run's cost, what was spent before included. Default: the
   * workflow's own `budget_usd`.
   */
  budgetUsd?: number;
  /** See {@link RunWorkflowOptions.cache}. */
  cache?: boolean;
  /** How the run is driven from now on (stored with it); default: what the run stored. See {@link RunWorkflowOptions.launch}. */
  launch?: RunLaunch;
  /**
   * The workflow the run was started with, from the code that started it (the spec given to
   * `runWorkflow`): required to go on with a run whose workflow held functions (a `when` or
   * `until` written in TypeScript), since its checkpoint holds no code. It must give the same
   * workflow as the one stored (with the run's inputs), or the resume fails naming the first
   * difference. Default: the stored workflow.
   */
  workflow?: WorkflowDefinition | WorkflowSpecInput | Workflow;
  /**
   * The run's lock, already taken by the caller through this orchestrator's backend
   * (`backend.lockRun(runId)`, to read the run before resuming it): the resume holds it
   * instead of taking it again, and releases it when it ends. Default: the resume takes it.
   */
  lock?: ReleaseLock;
}

/** Options of {@link WorkflowOrchestrator.rerun}. */
export interface RerunOptions {
  /** The task to run again from: it and (without `only`) every task downstream of it run again. */
  from: string;
  /**
   * Run only `from` again: its dependants keep their records (and so the outputs they made from
   * its old output). Default false.
   */
  only?: boolean;
  /** The new run's id; default a fresh 12-character id. */
  runId?: string;
  /** See {@link RunWorkflowOptions.cache}. */
  cache?: boolean;
  /** How the new run is driven (stored with it); default: the old run's. See {@link RunWorkflowOptions.launch}. */
  launch?: RunLaunch;
  /** The old run's workflow, from the code that started it: see {@link ResumeOptions.workflow}. */
  workflow?: WorkflowDefinition | WorkflowSpecInput | Workflow;
}

/** Options of one run. */
export interface RunWorkflowOptions {
  /** Values of the workflow's `inputs`. */
  inputs?: Record<string, string>;
  /** The run id; default a fresh 12-character id. */
  runId?: string;
  /**
   * `false` (`--no-cache`): tasks with `cache:` do not read their memory entries: every one
   * runs, and its fresh output replaces the entry. Default true.
   */
  cache?: boolean;
  /**
   * How the run is driven (the CLI's `--replay`, `--redis`, ...), stored in its checkpoints
   * ({@link RunCheckpoint.launch}) so that a later `resume` can drive it the same way. The
   * orchestrator stores it as given and does not act on it.
   */
  launch?: RunLaunch;
}

/** The machine of a run, with an executor of your choice. */
export function createOrchestratorMachine(executor: Executor = defaultExecutor) {
  if (executor === defaultExecutor) return orchestratorMachine;
  return orchestratorMachine.provide({
    actors: { agentSession: agentSessionMachine.provide({ actors: { executor: createExecutorActor(executor) } }) },
  });
}

/**
 * Runs workflows: validates the spec, spawns one session actor per task as its dependencies
 * resolve (up to `max_parallel`), and resolves with the {@link WorkflowResult}.
 *
 * @example
 * ```ts
 * const orchestrator = new WorkflowOrchestrator();
 * orchestrator.bus.subscribe('task.completed', (e) => console.log(e.source, e.payload.record.costUsd));
 * const result = await orchestrator.runWorkflow({
 *   id: 'plan-build',
 *   tasks: [
 *     { id: 'plan', prompt: 'Plan the feature' },
 *     { id: 'build', prompt: 'Build this plan: {{tasks.plan.output}}', depends_on: ['plan'] },
 *   ],
 * });
 * ```
 */
export class WorkflowOrchestrator {
  /**
   * Every lifecycle and progress event of every run, on the priority bus: the primary path
   * (typed by the {@link Events} catalogue; `source` the task or run id; failures and cancels
   * `high`, progress `low`, the rest `normal`). Runs settle once its handlers have.
   */
  readonly bus: EventBus<Events>;
  /** `onStart` / `onProgress` / `onComplete` / `onError` callbacks of every task, fed by `bus`; runs settle once they are done. */
  readonly callbacks = new CallbackManager();
  /** Where runs are checkpointed (`null`: nowhere). */
  readonly stateBackend: StateBackend | null;
  /**
   * Told when a cancel request from another process (`agents-sdk cancel`, {@link cancelRun})
   * reaches a run driven here, just before the run is cancelled (the CLI prints who asked).
   */
  onCancelRequest: ((runId: string, request: { source: string; reason: string | null; message: string }) => void) | undefined;
  private readonly stateDir: string;
  private readonly executor: Executor;
  private readonly retry: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  private readonly inspect: WorkflowOrchestratorOptions['inspect'];
  private readonly active = new Set<Actor<typeof orchestratorMachine>>();
  /** The active runs by id, for {@link WorkflowOrchestrator.signal}. */
  private readonly byRunId = new Map<string, Actor<typeof orchestratorMachine>>();
  /** Each live run's checkpointer: a task's commit that found the disk full stops its run. */
  private readonly checkpointers = new Map<string, RunCheckpointer>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly starting = new Set<{ cancelled: boolean }>();
  private machine: ReturnType<typeof createOrchestratorMachine> | undefined;
  /** Filled with the latency of every checkpoint write when given (`commitStats` option: the bench). */
  private readonly commitStats: CommitStats | undefined;
  /** Whether each run's events go to `<stateDir>/<runId>/events.jsonl`. */
  private readonly eventLog: boolean;
  /** The memory store of the runs that use memory. */
  private readonly memoryStore: SharedMemoryStore;
  /** The memory of each active run that uses memory, by run id (read by the executor's memory layer). */
  private readonly runMemory = new Map<string, RunMemory>();

  /**
   * @param stateBackend - where runs are checkpointed (the seed's signature); or the options.
   * @param options - see {@link WorkflowOrchestratorOptions}.
   */
  constructor(stateBackend?: StateBackend | null | WorkflowOrchestratorOptions, options: WorkflowOrchestratorOptions = {}) {
    if (stateBackend === null || isStateBackend(stateBackend)) options = { ...options, stateBackend };
    else if (stateBackend !== undefined) options = { ...stateBackend, ...options };
    this.bus = options.bus ?? createEventBus<Events>();
    attachCallbacks(this, this.callbacks);
    // Raw outputs sit beside the checkpoints: a JSON backend's directory is the default.
    const backendDir = (options.stateBackend as { stateDir?: unknown } | null | undefined)?.stateDir;
    // Resolved once: agents register where resume will look even if the process changes directory.
    this.stateDir = resolve(options.stateDir ?? (typeof backendDir === 'string' ? backendDir : DEFAULT_STATE_DIR));
    this.stateBackend = options.stateBackend === undefined ? new JsonStateBackend(this.stateDir) : options.stateBackend;
    this.retry = options.retry ?? {};
    this.inspect = options.inspect;
    this.commitStats = options.commitStats;
    this.eventLog =
      options.eventLog ??
      (this.stateBackend instanceof JsonStateBackend || typeof backendDir === 'string' || hasRunEventStore(this.stateBackend));
    this.memoryStore = sharedMemoryStore(options.memory, this.stateBackend !== null, this.stateDir);
    // Each agent attempt's prompt is kept as sent: after the memory layer has rendered it. An
    // orchestrator with no state (no backend, no stateDir given) writes no files of its own.
    const inner = options.executor ?? defaultExecutor;
    const keepsPrompts = this.stateBackend !== null || options.stateDir !== undefined;
    // The workspace layer outside: the memory layer hashes files in the task's worktree.
    const executor = createWorkspaceExecutor(createMemoryExecutor(keepsPrompts ? recordPrompts(inner) : inner, (runId) => this.runMemory.get(runId)), {
      forwardRemote: (inner as { remoteWorktrees?: boolean }).remoteWorktrees === true,
    });
    // Track executions so that cancel() can wait until every process tree is gone.
    this.executor = (request, hooks) => {
      const execution = executor(request, hooks).catch((error: unknown) => {
        // A worktree task's commit that found the disk full stops the run as a failed write of
        // its state does (before the task could fail: resume finishes it).
        if ((error as { code?: unknown }).code === 'STATE_WRITE_FAILED') this.checkpointers.get(request.workspace?.runId ?? '')?.fail(error);
        throw error;
      });
      this.inflight.add(execution);
      void execution.then(
        () => this.inflight.delete(execution),
        () => this.inflight.delete(execution),
      );
      return execution;
    };
  }

  /**
   * Validates and runs a workflow to its end.
   *
   * @throws ValidationError (before anything runs) listing every problem of the spec;
   *   PermanentError `RUN_EXISTS` when `runId` names a stored run, `LOCKED` when another process drives it.
   */
  async runWorkflow(spec: WorkflowDefinition | WorkflowSpecInput | Workflow, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
    // Always validated here, even a workflow from validateWorkflow: it may have been changed since.
    let workflow = validateWorkflow(spec, options.inputs ? { inputs: options.inputs } : {});
    const runId = options.runId ?? newRunId();
    assertValidRunId(runId);
    return this.locked(runId, {}, async (pending) => {
      const existing = this.stateBackend ? await this.stateBackend.loadRun(runId) : undefined;
      if (existing) throw runExists(runId, existing.status);
      // Worktree tasks: their repositories and base commits, recorded with the run (resume starts from the same).
      if (usesWorktrees(workflow)) {
        workflow = { ...workflow, worktree_base: await findWorktreeBases(workflow, this.stateDir) };
        await publishRunBases(workflow, runId);
      }
      return this.start(
        { workflow, runId, stateDir: this.stateDir, retry: this.retry, ...(options.launch && { launch: options.launch }) },
        pending,
        [],
        options.cache ?? true,
      );
    });
  }

  /**
   * Resumes a run from its last checkpoint: completed tasks keep their results and never run
   * again; tasks that were running when the process died run again with their attempts kept
   * (from scratch, or continuing their Claude session with `resume_interrupted: continue`).
   * A cancelled run continues the same way, except that the attempt a cancel stopped does not
   * count against `retry_count`. A finished run (completed, failed, over budget) is not run
   * again, and its stored result is returned, unless `retryFailed` (a failed run) or
   * `budgetUsd` (a run over budget) says to go on: see {@link ResumeOptions}.
   *
   * @throws ValidationError when `budgetUsd` is not a positive number.
   * @throws PermanentError `NOT_FOUND` (unknown run), `UNSUPPORTED_SCHEMA` (a newer schema),
   *   `LOCKED` (another process drives it), `CORRUPT_STATE` (a damaged checkpoint).
   */
  async resume(runId: string, options: ResumeOptions = {}): Promise<WorkflowResult> {
    assertValidRunId(runId);
    const budget = options.budgetUsd;
    if (budget !== undefined && !(typeof budget === 'number' && Number.isFinite(budget) && budget > 0)) {
      throw new ValidationError(`budgetUsd must be a positive number of USD (got ${String(budget)})`, [
        { path: 'budgetUsd', message: 'must be a positive number' },
      ]);
    }
    const backend = this.stateBackend;
    if (!backend) throw new PermanentError('NOT_FOUND', 'This orchestrator has no state backend: nothing to resume');
    // Lock first, then read: another driver may finish the run in between.
    return this.locked(runId, options.force ? { force: true } : {}, async (pending) => {
      const run = await backend.loadRun(runId);
      if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in this state backend)`, { details: { runId } });
      assertReadableSchema(run);
      // A cancelled run is resumable (Ctrl-C, then resume later); completed, failed and
      // over-budget ones are finished, unless asked to retry the failed tasks or given a new budget.
      const retryFailed = options.retryFailed === true;
      const reopened = (retryFailed && run.status === 'failed') || (options.budgetUsd !== undefined && run.status === 'budget_exceeded');
      if (run.status !== 'running' && run.status !== 'cancelled' && run.result && !reopened) return run.result;
      const stored = workflowToGoOn(runId, run.workflow, options.workflow);
      const workflow = options.budgetUsd === undefined ? stored : { ...stored, budget_usd: options.budgetUsd };
      // We hold the lock, so the process that drove the run is gone: end the agents it left behind.
      const processes = await reapProcesses(processRegistryDir(this.stateDir, runId));
      return this.start({
        workflow,
        runId,
        stateDir: this.stateDir,
        retry: this.retry,
        records: run.records,
        startedAt: run.startedAt,
        ...(retryFailed && { retryFailed }),
        ...((options.launch ?? run.launch) && { launch: options.launch ?? run.launch }),
        ...(run.rerunOf && { rerunOf: run.rerunOf }),
      }, pending, processes, options.cache ?? true);
    }, options.lock);
  }

  /**
   * Runs a stored run again from one of its tasks, as a new run (LangGraph's fork from a
   * checkpoint, Temporal's reset): the tasks not downstream of `from` keep their records
   * (completed, with their outputs; they do not run, and `{{tasks.<id>.output}}` of a task that
   * runs again reads their kept output), `from` and its dependants run again. With `only`, just
   * `from` runs again. A task that did not complete in the old run has nothing to keep: it runs
   * too. The old run is not changed; the new one stores `rerunOf: { runId, fromTask }` (see
   * `status --json`, `list --json`), and is resumed like any run. Each kept record says where it
   * comes from (`keptFrom`); its tokens and cost stay the old run's and are not counted again.
   *
   * @throws ValidationError naming `from` when the run's workflow has no such task;
   *   PermanentError `NOT_FOUND` (unknown run), `UNSUPPORTED_SCHEMA`, `CORRUPT_STATE`,
   *   `LOCKED` (the old run is still being driven: cancel it or let it finish first),
   *   `RUN_EXISTS` (`runId` names a stored run).
   */
  async rerun(runId: string, options: RerunOptions): Promise<WorkflowResult> {
    assertValidRunId(runId);
    const backend = this.stateBackend;
    if (!backend) throw new PermanentError('NOT_FOUND', 'This orchestrator has no state backend: no stored run to rerun');
    const newId = options.runId ?? newRunId();
    assertValidRunId(newId);
    // Everything is read holding the new run's lock: a cancel() from now on applies to it.
    return this.locked(newId, {}, async (pending) => {
      const run = await backend.loadRun(runId);
      if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}" (no checkpoint in this state backend)`, { details: { runId } });
      assertReadableSchema(run);
      const workflow = workflowToGoOn(runId, run.workflow, options.workflow);
      const plan = planRerun(workflow, run.records, runId, options.from, options.only === true);
      const holder = await backend.lockHolder(runId);
      if (holder) {
        throw new PermanentError(
          'LOCKED',
          `Run ${runId} is still running (process ${holder.pid} on ${holder.host}): cancel it or let it finish before rerunning it`,
          { details: { runId, pid: holder.pid, host: holder.host } },
        );
      }
      const existing = await backend.loadRun(newId);
      if (existing) throw runExists(newId, existing.status);
      const rerunOf: RerunOrigin = { runId, fromTask: options.from, ...(options.only === true && { only: true }) };
      return this.start(
        {
          workflow,
          runId: newId,
          stateDir: this.stateDir,
          retry: this.retry,
          records: plan.kept,
          keptRecords: true,
          rerunOf,
          ...((options.launch ?? run.launch) && { launch: options.launch ?? run.launch }),
        },
        pending,
        [],
        options.cache ?? true,
      );
    });
  }

  /**
   * Sends a signal (an event with a JSON payload) to a run: its tasks with `wait_for: <type>`
   * start. A run active in this orchestrator gets it at once; with a state backend it is also
   * stored in the run's inbox first, so that a run driven by another process gets it within a
   * fraction of a second, and a run that is not running (interrupted, cancelled, failed) when
   * it is resumed. Each signal is applied once, however often it is delivered.
   *
   * @returns the signal as stored (with its id).
   * @throws PermanentError `NOT_FOUND` (unknown run), `RUN_FINISHED` (a completed run),
   *   `UNKNOWN_EVENT` (no task of the run waits for `type`: a typo; `force: true` stores it anyway);
   *   ValidationError (a bad event type, a payload that is not JSON).
   */
  async signal(runId: string, type: string, payload?: unknown, options: SendSignalOptions = {}): Promise<Signal> {
    const actor = this.byRunId.get(runId);
    let signal: Signal;
    if (this.stateBackend && isSignalStore(this.stateBackend)) signal = await sendSignal(this.stateBackend, runId, type, payload, options);
    else if (actor) {
      signal = createSignal(type, payload, options.source ?? 'api');
      if (options.force !== true) assertAwaitedEvent(runId, actor.getSnapshot().context.workflow, type);
    } else throw new PermanentError('NOT_FOUND', `No active run "${runId}" in this orchestrator (and no state backend to store the signal in)`, { details: { runId } });
    if (actor?.getSnapshot().status === 'active') actor.send({ type: 'SIGNAL', signal });
    return signal;
  }

  /**
   * Cancels every active run: children are stopped, their process trees killed, and each run
   * ends `cancelled`. Resolves once every agent process has exited.
   */
  async cancel(): Promise<void>;
  /**
   * Cancels one run, whichever process drives it: a run active here is cancelled at once;
   * otherwise, through the state backend, a driving process (on any host) gets a cancel request
   * in the run's inbox and cancels it within a second, and a run that nothing drives is marked
   * `cancelled` (see {@link cancelRun}: `force` kills a driver that does not answer).
   *
   * @throws PermanentError `NOT_FOUND`, `RUN_FINISHED`, `LOCKED` (see {@link cancelRun}).
   */
  async cancel(runId: string, options?: CancelRunOptions): Promise<CancelRunResult>;
  async cancel(runId?: string, options: CancelRunOptions = {}): Promise<void | CancelRunResult> {
    if (runId === undefined) {
      for (const pending of this.starting) pending.cancelled = true;
      for (const actor of this.active) actor.send({ type: 'CANCEL' });
      await Promise.allSettled([...this.inflight]);
      return;
    }
    assertValidRunId(runId);
    if (this.byRunId.has(runId) || !this.stateBackend) {
      const actor = this.byRunId.get(runId);
      if (!actor) throw new PermanentError('NOT_FOUND', `No active run "${runId}" in this orchestrator (and no state backend to look for it in)`, { details: { runId } });
      if (actor.getSnapshot().status === 'active') {
        const ended = new Promise<void>((resolve) => actor.subscribe({ complete: resolve, error: () => resolve() }));
        actor.send({ type: 'CANCEL', ...(options.reason !== undefined && { reason: `The run was cancelled: ${options.reason}` }) });
        await ended;
      }
      await Promise.allSettled([...this.inflight]);
      const status = actor.getSnapshot().output?.status ?? 'cancelled';
      return { runId, outcome: status === 'cancelled' ? 'cancelled' : 'finished', status, driver: null, reaped: 0 };
    }
    return cancelRun(this.stateBackend, runId, { stateDir: this.stateDir, ...options });
  }

  private tellCancelRequest(runId: string, request: Signal): void {
    const reason = (request.payload as { reason?: unknown } | null)?.reason;
    try {
      this.onCancelRequest?.(runId, { source: request.source, reason: typeof reason === 'string' ? reason : null, message: cancelRequestMessage(request) });
    } catch {
      // a listener's bug must not keep the run from being cancelled
    }
  }

  /** The one publication point: the bus (whose handlers' bugs never reach the run). */
  private publish(event: LifecycleEvent): void {
    publishLifecycleEvent(this.bus, event);
  }

  /**
   * Runs `work` holding the run's lock (when there is a backend). From the first moment, a
   * `cancel()` is noted in `pending` so that it applies once the run starts.
   */
  private async locked<T>(runId: string, lock: LockOptions, work: (pending: { cancelled: boolean }) => Promise<T>, held?: ReleaseLock): Promise<T> {
    // lockedAt: a cancel request stored from then on is for this process (older ones were not).
    const pending = { cancelled: false, lockedAt: Date.now() };
    this.starting.add(pending);
    try {
      const release = held ?? (this.stateBackend ? await this.stateBackend.lockRun(runId, lock) : null);
      let result: T;
      try {
        result = await work(pending);
      } catch (error) {
        // A lock that cannot be released (the disk that failed the run is still full) must not
        // hide why the run stopped; a dead holder's lock is taken over anyway.
        await release?.().catch(() => undefined);
        throw error;
      }
      await release?.();
      return result;
    } finally {
      this.starting.delete(pending);
      // The run settles once the callbacks and the bus handlers of its events have run.
      await this.callbacks.idle();
      await this.bus.idle();
    }
  }

  /**
   * Starts the machine for a run (the caller holds its lock) and resolves with its output.
   * `reaped`: the agent processes a resume killed first, told as `workflow.reaped` (to the
   * event log too) before the run starts. `readCache`: see {@link RunWorkflowOptions.cache}.
   */
  protected async start(input: OrchestratorInput, pending: { cancelled: boolean }, reaped: ReapedProcess[] = [], readCache = true): Promise<WorkflowResult> {
    const memory = usesMemory(input.workflow) ? this.openRunMemory(input.runId, readCache) : null;
    try {
      return await this.startRun(input, pending, reaped);
    } finally {
      this.runMemory.delete(input.runId);
      await memory?.release();
    }
  }

  /** The memory of a run, for the executor's memory layer; `release` once the run has ended. */
  private openRunMemory(runId: string, readCache: boolean): { release(): Promise<void> } {
    let acquired: Promise<MemoryBackend> | undefined;
    this.runMemory.set(runId, { readCache, backend: () => (acquired ??= this.memoryStore.acquire()) });
    return {
      release: async () => {
        if (acquired && (await acquired.then(() => true, () => false))) await this.memoryStore.release();
      },
    };
  }

  private async startRun(input: OrchestratorInput, pending: { cancelled: boolean; lockedAt?: number; reason?: string }, reaped: ReapedProcess[]): Promise<WorkflowResult> {
    const backend = this.stateBackend;
    // Only a checkpointed run can be resumed, and so only it keeps a process registry to reap;
    // its dependants start once the output they read is durable.
    if (backend) input = { ...input, processRegistry: true, awaitDurable: true };
    // Expected durations weight the critical path: estimates, else earlier runs' (one read per run start).
    const history = backend ? await readDurationHistory(backend, input.workflow.id, input.runId) : undefined;
    const expectedMs = expectedDurationsMs(input.workflow.tasks, history);
    if (expectedMs) input = { ...input, expectedMs };
    const since = Date.now();
    // Signals stored for the run (sent while it was down, or before) go in with it; a run with
    // `wait_for` tasks then watches its inboxes for more.
    const store = backend && isSignalStore(backend) ? backend : null;
    let watching: { since: number; cursors: Awaited<ReturnType<typeof readInboxes>>['cursors']; signals: boolean } | null = null;
    if (store) {
      const startedAt = input.startedAt ?? since;
      const inbox = await readInboxes(store, input.runId, startedAt);
      // Cancel requests (`agents-sdk cancel`) are no signals; one stored since this process
      // took the lock is for it, older ones were for a driver before it.
      const signals = inbox.signals.filter((s) => !isCancelRequest(s));
      const request = inbox.signals.find((s) => isCancelRequest(s) && s.at >= (pending.lockedAt ?? since));
      if (request) {
        pending.cancelled = true;
        pending.reason = cancelRequestMessage(request);
        this.tellCancelRequest(input.runId, request);
      }
      input = { ...input, startedAt, ...(signals.length > 0 && { signals }) };
      // The inbox is always watched, for cancel requests; its signals only by a run that waits for some.
      watching = { since: startedAt, cursors: inbox.cursors, signals: input.workflow.tasks.some((t) => t.wait_for) };
    }
    // One machine per orchestrator: XState caches its transition tables per machine.
    this.machine ??= createOrchestratorMachine(this.executor);
    // A target: this run's own forwarder, stopped when it ends.
    const inspection = typeof this.inspect === 'string' ? createInspector({ target: this.inspect }) : null;
    const inspect = inspection ? inspection.inspect : (this.inspect as Exclude<WorkflowOrchestratorOptions['inspect'], string>);
    const actor = createActor(this.machine, inspect ? { input, inspect } : { input });
    const context = () => actor.getSnapshot().context;
    const sendIfActive = (event: Parameters<typeof actor.send>[0]): void => {
      if (actor.getSnapshot().status === 'active') actor.send(event);
    };
    const eventLog = this.eventLog ? openRunEventSink(backend, this.stateDir, input.runId) : null;
    const checkpointer = backend
      ? new RunCheckpointer(
          backend,
          input.runId,
          input.workflow,
          context().run.startedAt,
          {
            records: () => recordsOf(context()),
            recordOf: (taskId) => recordOf(context(), taskId),
            snapshot: () => actor.getPersistedSnapshot(),
          },
          {
            onDurable: (taskIds) => sendIfActive({ type: 'RECORDS.DURABLE', taskIds }),
            // Nothing new may start once the state cannot be saved: what ran would run again on resume.
            onFailure: (error) => sendIfActive({ type: 'STATE.WRITE_FAILED', error: error.toJSON() }),
            // The events that describe the records are durable first: one commit holds both.
            beforeCommit: () => eventLog?.commit?.(),
          },
          this.commitStats,
          input.launch,
        )
      : null;
    if (checkpointer && input.rerunOf) checkpointer.runFields.rerunOf = input.rerunOf;
    // Durability first, from the machine's own emit: never through the (possibly queued) bus.
    const groups = input.workflow.groups;
    actor.on('*', (emitted) => {
      // workflow.started carries the workflow's groups (the live view and the inspector draw them).
      const event = emitted.type === 'workflow.started' && groups && Object.keys(groups).length > 0 ? { ...emitted, groups } : emitted;
      checkpointer?.onEvent(event);
      eventLog?.append(event);
      // A task's `publish:` reaches the other runs of the state dir through the broadcast inbox.
      if (event.type === 'workflow.signal' && event.origin === 'published' && store) {
        store.appendSignal(BROADCAST_SCOPE, event.signal).catch(() => {
          // the other runs miss it; this run has applied it already
        });
      }
      this.publish(event);
    });
    const deliver = (signal: Signal): void => {
      if (isCancelRequest(signal)) {
        this.tellCancelRequest(input.runId, signal);
        sendIfActive({ type: 'CANCEL', reason: cancelRequestMessage(signal) });
      } else if (watching?.signals) sendIfActive({ type: 'SIGNAL', signal });
    };
    const watcher = watching && store ? new SignalWatcher(store, input.runId, watching.since, watching.cursors, deliver) : null;
    if (reaped.length > 0) {
      const event: LifecycleEvent = { type: 'workflow.reaped', workflowId: input.workflow.id, runId: input.runId, at: Date.now(), processes: reaped };
      eventLog?.append(event);
      this.publish(event);
    }
    let result: WorkflowResult;
    try {
      await checkpointer?.begin();
      this.active.add(actor);
      this.byRunId.set(input.runId, actor);
      if (checkpointer) this.checkpointers.set(input.runId, checkpointer);
      actor.start();
      watcher?.start();
      // A cancel() that arrived while the run was being set up applies now.
      if (pending.cancelled) sendIfActive({ type: 'CANCEL', ...(pending.reason !== undefined && { reason: pending.reason }) });
      result = await toPromise(actor);
    } finally {
      watcher?.stop();
      this.active.delete(actor);
      this.byRunId.delete(input.runId);
      this.checkpointers.delete(input.runId);
      await eventLog?.close();
      await inspection?.stop();
    }
    // Cancelled agents may still be dying: the lock is kept until every process has exited.
    if (result.status === 'cancelled') await Promise.allSettled([...this.inflight]);
    // A completed run's result branch (its sinks' merge); its worktrees go, its branches stay.
    if (result.status === 'completed' && usesWorktrees(input.workflow)) {
      const workspace = await finishRunWorkspace(context().workflow, recordsOf(context()), this.stateDir, input.runId).catch((error: unknown) => ({ error: serializeError(error) }));
      if (workspace) result = { ...result, workspace };
    }
    try {
      await checkpointer?.finish(result);
    } catch (error) {
      throw withResumeAdvice(error, input.runId);
    }
    if (backend && history) {
      // Only what this process ran: a resumed run's earlier records are in the history already.
      const ran = recordsOf(context()).filter((r) => r.endedAt !== null && r.endedAt >= since);
      if (ran.length > 0) {
        await backend.save(durationHistoryKey(input.workflow.id), addDurations(history, input.workflow.tasks, ran)).catch(() => {
          // only a hint for the next run's ordering
        });
      }
    }
    return result;
  }
}

/**
 * A new run under the id of a stored one. A finished run has nothing left to do (resuming it
 * only prints its result): the way on is another run id.
 */
function runExists(runId: string, status: RunCheckpoint['status']): AgentsSdkError {
  const details = { runId, status };
  if (status !== 'running' && status !== 'cancelled') {
    return new PermanentError(
      'RUN_EXISTS',
      `Run ${runId} already exists and has finished (${status}); start the workflow under another run id (--run-id), or see that run with agents-sdk status ${runId}`,
      { details },
    );
  }
  // The lock is ours: a stored run still `running` has no live process, it was interrupted.
  const state = status === 'running' ? 'interrupted' : status;
  return new PermanentError(
    'RUN_EXISTS',
    `Run ${runId} already exists and has not finished (${state}); continue it with agents-sdk resume ${runId}, or choose another run id`,
    { details },
  );
}

/** A stored run this version can read: a schema version, not newer than ours. */
function assertReadableSchema(run: RunCheckpoint): void {
  const { runId } = run;
  if (typeof run.schemaVersion !== 'number') {
    throw new PermanentError('CORRUPT_STATE', `Run ${runId}: its checkpoint has no schema version; it is damaged or was not written by agents-sdk`, {
      details: { runId },
    });
  }
  if (run.schemaVersion > STATE_SCHEMA_VERSION) {
    throw new PermanentError(
      'UNSUPPORTED_SCHEMA',
      `Run ${runId} was saved with state schema version ${run.schemaVersion}, newer than this agents-sdk understands (${STATE_SCHEMA_VERSION}); upgrade agents-sdk to resume it`,
      { details: { runId, schemaVersion: run.schemaVersion } },
    );
  }
}

/** A failed state write, told with what happened to the run and how to go on. */
function withResumeAdvice(error: unknown, runId: string): unknown {
  if (!(error instanceof AgentsSdkError) || error.code !== 'STATE_WRITE_FAILED') return error;
  return new PermanentError(
    'STATE_WRITE_FAILED',
    `${error.message}. The run stopped: no new task was started after the failed write and running tasks were cancelled; ` +
      `everything saved before it is intact. Once the cause is fixed (free some space), continue with: agents-sdk resume ${runId}`,
    { cause: error, details: { ...error.details, runId } },
  );
}

/** The memory store of {@link WorkflowOrchestratorOptions.memory}. */
function sharedMemoryStore(memory: WorkflowOrchestratorOptions['memory'], persistent: boolean, stateDir: string): SharedMemoryStore {
  if (typeof memory === 'object') return new SharedMemoryStore(async () => memory, { closeWhenUnused: false });
  const kind = memory ?? (persistent ? 'json' : undefined);
  if (kind === undefined) {
    // Lives as long as the orchestrator: closing it would forget everything.
    const inProcess = new InMemoryBackend();
    return new SharedMemoryStore(async () => inProcess, { closeWhenUnused: false });
  }
  return new SharedMemoryStore(() => openMemoryBackend(kind, stateDir));
}

function isStateBackend(value: unknown): value is StateBackend {
  return typeof value === 'object' && value !== null && typeof (value as StateBackend).saveCheckpoint === 'function';
}
