/**
 * `WorkflowOrchestrator`: runs workflows on the orchestrator machine behind a promise API,
 * publishing every event on a mitt bus.
 *
 * @module
 */
import { createActor, toPromise, type Actor } from 'xstate';
import { nanoid } from 'nanoid';
import { createExecutorActor, defaultExecutor, type Executor } from './actors/executor.js';
import { DEFAULT_STATE_DIR } from './actors/claude-code-runner.js';
import { createEventBus, type EventBus, type Events } from './events.js';
import { agentSessionMachine } from './machines/agent-session.machine.js';
import { orchestratorMachine, type OrchestratorInput } from './machines/orchestrator.machine.js';
import type { RetryPolicy } from './retry-policy.js';
import type { Workflow, WorkflowSpecInput } from './workflow/spec.js';
import { validateWorkflow } from './workflow/validate-workflow.js';
import type { WorkflowResult } from './workflow/workflow-result.js';

/** Options of {@link WorkflowOrchestrator}. */
export interface WorkflowOrchestratorOptions {
  /** Where raw outputs (and, with the JSON backend, state) go; default `agents`. */
  stateDir?: string;
  /** Replaces the runner of every task (e.g. `createReplayExecutor(dir)`); default Claude Code / commands. */
  executor?: Executor;
  /** The bus events are published on; default a new one (see `events`). */
  bus?: EventBus;
  /** Backoff of task retries; attempts come from each task's `retry_count`. */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
}

/** Options of one run. */
export interface RunWorkflowOptions {
  /** Values of the workflow's `inputs`. */
  inputs?: Record<string, string>;
  /** The run id; default a fresh nanoid. */
  runId?: string;
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
 * orchestrator.events.on('task.completed', (e) => console.log(e.taskId, e.record.costUsd));
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
  /** Every lifecycle and progress event of every run. */
  readonly events: EventBus;
  private readonly stateDir: string;
  private readonly executor: Executor;
  private readonly retry: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  private readonly active = new Set<Actor<typeof orchestratorMachine>>();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(options: WorkflowOrchestratorOptions = {}) {
    this.events = options.bus ?? createEventBus();
    this.stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
    this.retry = options.retry ?? {};
    const executor = options.executor ?? defaultExecutor;
    // Track executions so that cancel() can wait until every process tree is gone.
    this.executor = (request, hooks) => {
      const execution = executor(request, hooks);
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
   * @throws ValidationError (before anything runs) listing every problem of the spec.
   */
  async runWorkflow(spec: WorkflowSpecInput | Workflow, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
    const workflow = validateWorkflow(spec, options.inputs ? { inputs: options.inputs } : {});
    return this.start({ workflow, runId: options.runId ?? nanoid(), stateDir: this.stateDir, retry: this.retry });
  }

  /**
   * Cancels every active run: children are stopped, their process trees killed, and each run
   * ends `cancelled`. Resolves once every agent process has exited.
   */
  async cancel(): Promise<void> {
    for (const actor of this.active) actor.send({ type: 'CANCEL' });
    await Promise.allSettled([...this.inflight]);
  }

  /** Starts the machine for a run and resolves with its output. */
  protected async start(input: OrchestratorInput): Promise<WorkflowResult> {
    const actor = createActor(createOrchestratorMachine(this.executor), { input });
    actor.on('*', (event) => {
      try {
        this.events.emit(event.type, event as Events[typeof event.type]);
      } catch {
        // a listener's bug must not break the run
      }
    });
    this.active.add(actor);
    try {
      actor.start();
      return await toPromise(actor);
    } finally {
      this.active.delete(actor);
    }
  }
}
