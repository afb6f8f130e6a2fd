/**
 * What a run would do, without running anything (`run --dry-run`): the order in which tasks
 * would start, as waves, and each task's prompt or command as it would be sent, inputs
 * rendered and task outputs shown as placeholders.
 *
 * The order comes from the same ready queue the orchestrator uses (longest remaining
 * critical path first, then declaration order, never more than `max_parallel` at once),
 * run on a simulated clock where each task takes its estimate (by default one unit each).
 *
 * @module
 */
import { buildTaskGraph, popReady, pushReady } from './ready-queue.js';
import { DEFAULT_MAX_ITEMS, type Task, type Workflow } from './spec.js';
import { conditionText } from './condition-function.js';
import { renderTemplate, type TemplateValues } from './template.js';

/** Options of {@link planWorkflow}. */
export interface PlanOptions {
  /** Tasks running at once. Default: the workflow's `max_parallel`. */
  maxParallel?: number;
  /**
   * How long a task is expected to take, in any unit (a number ≥ 0). Default: 1 for every
   * task, so waves are the steps of a run whose tasks all take the same time.
   */
  estimate?: (task: Task) => number;
}

/** One task of a {@link WorkflowPlan}. Plain JSON. */
export interface PlannedTask {
  id: string;
  /** `group`: a looping or fan-out group (its tasks in `children`). */
  kind: 'agent' | 'command' | 'group';
  dependsOn: string[];
  /** The wave it starts in, from 1. */
  wave: number;
  /** When it would start and end on the simulated clock (estimate units from 0). */
  start: number;
  end: number;
  /** Agent tasks: the prompt as it would be sent; `<output of x>` stands for task x's output. */
  prompt?: string;
  /** Agent tasks: the agent name (the task id unless set). */
  agent?: string;
  model?: string;
  /** Command tasks: the program and arguments as they would be run. */
  command?: string[];
  /** Absolute working directory, when set. */
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds. */
  timeout?: number;
  /** Attempts in all. */
  retryCount: number;
  /** Seconds: the cap of the first retry's wait (`retry_delay`), when set. */
  retryDelay?: number;
  maxTurns?: number;
  allowedTools?: string[];
  appendSystemPrompt?: string;
  dangerouslySkipPermissions?: boolean;
  /** Claude Code's own retries of a failed API request (`api_retries`), when set. */
  apiRetries?: number;
  /** Worker tags (`runs_on`), for runs on workers (`--redis`). */
  runsOn?: string[];
  /** A looping or fan-out group: its tasks' local ids, in declared order. */
  children?: string[];
  /** A loop (`repeat`): its condition and bound. */
  repeat?: { until: string; max: number; onExhausted: 'fail' | 'continue' };
  /** The JSON Schema of its structured output (`output_schema`; `{}` for a command's `output: json` without one). */
  outputSchema?: Record<string, unknown>;
  /** Its `when:` condition: the task runs only if it holds once its dependencies are done. */
  when?: string;
  /** `allow_failure: true`: its failure does not fail the run. */
  allowFailure?: boolean;
  /**
   * A fan-out (`for_each`): the expression giving its list (how many items is known only when
   * it runs), its `max_items` and its own `max_parallel`. It is planned as one task.
   */
  forEach?: { expression: string; maxItems: number; maxParallel?: number };
}

/** Tasks that would start at the same moment. */
export interface PlannedWave {
  /** From 1. */
  wave: number;
  /** On the simulated clock. */
  start: number;
  taskIds: string[];
}

/** The result of {@link planWorkflow}. Plain JSON (what `run --dry-run --json` prints). */
export interface WorkflowPlan {
  workflowId: string;
  description?: string;
  maxParallel: number;
  /** Whether every task took one unit (no `estimate` given). */
  unitEstimates: boolean;
  waves: PlannedWave[];
  /** Every task, in the order they would start. */
  tasks: PlannedTask[];
  /** When the last task would end, on the simulated clock. */
  length: number;
  /** Values of the workflow's inputs used in the prompts and commands. */
  inputs: Record<string, string>;
}

/**
 * Plans a validated workflow without starting anything: the waves in which tasks would
 * start at `maxParallel`, and the rendered prompt or command of each task.
 *
 * @example
 * ```ts
 * const plan = planWorkflow(await loadWorkflowFile('examples/sdlc.yaml'), { maxParallel: 2 });
 * for (const wave of plan.waves) console.log(wave.wave, wave.taskIds.join(', '));
 * ```
 * @throws RangeError for a `maxParallel` that is not a positive integer, or an estimate
 *   that is not a finite number ≥ 0.
 */
export function planWorkflow(workflow: Workflow, options: PlanOptions = {}): WorkflowPlan {
  const maxParallel = options.maxParallel ?? workflow.max_parallel;
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new RangeError(`maxParallel must be a positive integer, not ${maxParallel}`);
  const { tasks } = workflow;
  const durations = tasks.map((task) => {
    const d = options.estimate ? options.estimate(task) : 1;
    if (!Number.isFinite(d) || d < 0) throw new RangeError(`The estimate of task ${task.id} must be a finite number ≥ 0, not ${d}`);
    return d;
  });

  const { dependants, priority, dependencyCount } = buildTaskGraph(tasks);
  const waiting = dependencyCount.slice();
  const ready: number[] = [];
  waiting.forEach((n, i) => {
    if (n === 0) pushReady(ready, i, priority);
  });
  const start: number[] = tasks.map(() => 0);
  const order: number[] = [];
  let running: number[] = [];
  let now = 0;
  while (ready.length > 0 || running.length > 0) {
    while (running.length < maxParallel && ready.length > 0) {
      const i = popReady(ready, priority)!;
      start[i] = now;
      order.push(i);
      running.push(i);
    }
    now = Math.min(...running.map((i) => start[i]! + durations[i]!));
    // Tasks that end together free their slots and dependants before the next ones start.
    const ended = running.filter((i) => start[i]! + durations[i]! === now);
    running = running.filter((i) => start[i]! + durations[i]! !== now);
    for (const i of ended) {
      for (const d of dependants[i]!) if (--waiting[d]! === 0) pushReady(ready, d, priority);
    }
  }

  const waves: PlannedWave[] = [];
  const waveOf: number[] = tasks.map(() => 0);
  for (const i of order) {
    let wave = waves[waves.length - 1];
    if (wave === undefined || wave.start !== start[i]) {
      wave = { wave: waves.length + 1, start: start[i]!, taskIds: [] };
      waves.push(wave);
    }
    wave.taskIds.push(tasks[i]!.id);
    waveOf[i] = wave.wave;
  }

  const values: TemplateValues = {
    input: (name) => workflow.inputs[name],
    task: (id, field) => `<${{ output: 'output', outputs: 'outputs', session_id: 'session id', status: 'status', exit_code: 'exit code', commit: 'commit', branch: 'branch' }[field]} of ${id}>`,
    json: (id, path) => `<json${path.map((key) => `.${key}`).join('')} of ${id}>`,
    item: (path) => `<item${path.map((key) => `.${key}`).join('')}>`,
    index: () => '<index>',
  };
  return {
    workflowId: workflow.id,
    ...(workflow.description !== undefined && { description: workflow.description }),
    maxParallel,
    unitEstimates: options.estimate === undefined,
    waves,
    tasks: order.map((i) => plannedTask(tasks[i]!, waveOf[i]!, start[i]!, start[i]! + durations[i]!, values)),
    length: Math.max(0, ...order.map((i) => start[i]! + durations[i]!)),
    inputs: { ...workflow.inputs },
  };
}

function plannedTask(task: Task, wave: number, start: number, end: number, values: TemplateValues): PlannedTask {
  const planned: PlannedTask = { id: task.id, kind: task.kind, dependsOn: [...task.depends_on], wave, start, end, retryCount: task.retry_count };
  if (task.kind === 'agent') {
    planned.prompt = renderTemplate(task.prompt, values);
    planned.agent = task.agent ?? task.id;
    planned.model = task.model;
    if (task.max_turns !== undefined) planned.maxTurns = task.max_turns;
    if (task.allowed_tools !== undefined) planned.allowedTools = [...task.allowed_tools];
    if (task.append_system_prompt !== undefined) planned.appendSystemPrompt = task.append_system_prompt;
    if (task.dangerously_skip_permissions !== undefined) planned.dangerouslySkipPermissions = task.dangerously_skip_permissions;
    if (task.api_retries !== undefined) planned.apiRetries = task.api_retries;
  } else if (task.kind === 'command') {
    planned.command = task.command.map((arg) => renderTemplate(arg, values));
  } else planned.children = task.body.map((child) => child.id);
  if (task.repeat !== undefined) planned.repeat = { until: conditionText(task.repeat.until), max: task.repeat.max, onExhausted: task.repeat.on_exhausted ?? 'fail' };
  if (task.cwd !== undefined) planned.cwd = task.cwd;
  if (task.env !== undefined) planned.env = { ...task.env };
  if (task.timeout !== undefined) planned.timeout = task.timeout;
  if (task.retry_delay !== undefined) planned.retryDelay = task.retry_delay;
  if (task.runs_on !== undefined) planned.runsOn = [...task.runs_on];
  if (task.output_schema !== undefined) planned.outputSchema = task.output_schema;
  else if (task.kind === 'command' && task.output === 'json') planned.outputSchema = {};
  if (task.when !== undefined) planned.when = conditionText(task.when);
  if (task.allow_failure === true) planned.allowFailure = true;
  if (task.for_each !== undefined) {
    planned.forEach = { expression: task.for_each, maxItems: task.max_items ?? DEFAULT_MAX_ITEMS, ...(task.max_parallel !== undefined && { maxParallel: task.max_parallel }) };
  }
  return planned;
}
