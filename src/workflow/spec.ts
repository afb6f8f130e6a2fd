/**
 * The workflow spec: what users write (YAML, JSON or a TS object), as a zod schema.
 * Field names are snake_case, as in the files.
 *
 * @module
 */
import { z } from 'zod';
import { markCondition, type ConditionFn } from './condition-function.js';

/** Longest task `timeout`, in seconds (7 days). */
export const MAX_TIMEOUT_S = 7 * 24 * 3600;

const taskId = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and use only letters, digits, _ . -');

const env = z.record(z.string(), z.string());

/** Event (signal) types: `approval.granted`, `build.done`... */
export const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9_:-]*(\.[A-Za-z0-9_:-]+)*$/;

const eventType = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(EVENT_TYPE, 'must be dot-separated words of letters, digits, _ : - (e.g. approval.granted)')
  .refine((s) => !s.split('.').includes('payload'), 'must not contain a `payload` segment (it ends {{events.<type>.payload}})');

/**
 * `wait_for`: the task starts only once this event has reached the run (see `agents-sdk
 * signal`, `publish:`), and fails if it has not within `timeout` seconds of the task becoming
 * ready. The short form is the event type alone.
 */
export const waitForSchema = z
  .union([
    eventType,
    z.strictObject({
      event: eventType,
      /** Seconds; default: wait as long as it takes. */
      timeout: z.number().positive().max(MAX_TIMEOUT_S, `must be at most ${MAX_TIMEOUT_S} (7 days); the unit is seconds`).optional(),
    }),
  ])
  .transform((v) => (typeof v === 'string' ? { event: v } : v));

/** A task's `wait_for`, normalized. */
export type WaitFor = z.output<typeof waitForSchema>;


/**
 * `cache:` and `remember:` of a task: a memory key (a template of inputs, dependencies' outputs
 * and `{{hash "<path or glob>"}}`) and how long the entry lives.
 */
export const memoryEntrySchema = z.strictObject({
  key: z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  /** Seconds until the entry expires; default never. */
  ttl: z.number().positive().optional(),
});

/** A task's `cache:` or `remember:`. */
export type MemoryEntrySpec = z.output<typeof memoryEntrySchema>;

/**
 * A condition (`when:`, a loop's `until:`): a CEL expression, or, in a workflow built in code, a
 * TypeScript function of the same values (see condition-function.ts). Validation wraps a
 * function so that the validated workflow stores its marker (`"<function isBug>"`), not code.
 */
export const conditionSchema = z.union([
  z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  z.custom<ConditionFn>((v) => typeof v === 'function', 'must be a CEL expression (or, in a workflow built in code, a function)').transform(markCondition),
]);

/** Names of workflow inputs (`{{inputs.<name>}}`). */
export const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `inputs` block: names with their defaults; `null` means required. */
export const workflowInputsSchema = z.record(z.string().regex(INPUT_NAME), z.union([z.string(), z.number(), z.boolean(), z.null()]));

/** What to do with a task that was running when the process died (see resume). */
export const resumeInterruptedSchema = z.enum(['restart', 'continue']);

/**
 * Where a task works: `shared` (the default) runs it in its `cwd` as it is; `worktree` runs each
 * attempt in a fresh git worktree of the repository holding its `cwd`, on its own branch,
 * starting from its dependencies' commits, and commits what it changed (see README,
 * Workspaces). The object form also sets the commits' `author` (`Name <email>`) and `message`.
 */
export const workspaceSchema = z
  .union([
    z.enum(['worktree', 'shared']),
    z.strictObject({
      mode: z.enum(['worktree', 'shared']),
      /** The author (and committer) of a task's commit: `Name <email>`. Default `agents-sdk <agents-sdk@localhost>`. */
      author: z.string().regex(/^[^<>\n]+ <[^<>\n]*>$/, 'must be "Name <email>"').optional(),
      /** The first line of a task's commit message; the run and the task are named below it. Default `agents-sdk: <task>`. */
      message: z.string().refine((s) => s.trim().length > 0, 'must not be empty').optional(),
      /**
       * A git remote of the repository (`origin`): the commits travel through it, so that
       * `--redis` workers make the worktrees in their own clones (see README, Workspaces).
       */
      remote: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a remote name (e.g. origin)').optional(),
    }),
  ])
  .transform((v) => (typeof v === 'string' ? { mode: v } : v));

/** A task's (or the workflow's) `workspace`, normalized. */
export type WorkspaceSpec = z.output<typeof workspaceSchema>;

/** Most ports a task's `ports:` may reserve. */
export const MAX_PORTS = 64;

/**
 * Where a worktree task's repository is, recorded when the run starts (a run's workflow
 * carries it: resume uses the same base): by the task's `cwd` (`.` for a task without one), the
 * repository's top directory, its `HEAD` commit then, and the `cwd`'s path inside it.
 */
export interface WorktreeBase {
  root: string;
  base: string;
  path: string;
}

/** A worker tag (`runs_on`, `agents-sdk worker --tag`). */
export const WORKER_TAG = /^[A-Za-z0-9_.-]{1,64}$/;
/** Most tags a task's `runs_on` (or a worker) may name. */
export const MAX_RUNS_ON_TAGS = 4;

/** The settings a task may take from the workflow's `defaults` (each optional there). */
const sharedFields = {
  /** Attempts in all, the first included. */
  retry_count: z.number().int().min(1).max(100),
  /**
   * Seconds: the longest wait before the first retry (default 2); each later retry may wait
   * twice as long, up to 60 s, and the wait is random below that cap (full jitter).
   */
  retry_delay: z.number().min(0).max(60, 'must be at most 60 (the longest wait between attempts); the unit is seconds'),
  /** Seconds (at most 7 days: a value in milliseconds by mistake is caught). */
  timeout: z.number().positive().max(MAX_TIMEOUT_S, `must be at most ${MAX_TIMEOUT_S} (7 days); the unit is seconds`),
  /** Relative to the workflow file's directory (or, for a spec given in code, the process's). */
  cwd: z.string().min(1),
  env,
  resume_interrupted: resumeInterruptedSchema,
  /**
   * Worker tags (`agents-sdk worker --tag T`): with `--redis`, the task runs only on a worker
   * that has every one of them. Ignored by a local run.
   */
  runs_on: z
    .array(z.string().regex(WORKER_TAG, 'must be letters, digits, _ . - (e.g. gpu)'))
    .min(1, 'must name at least one tag')
    .max(MAX_RUNS_ON_TAGS, `must name at most ${MAX_RUNS_ON_TAGS} tags`),
  workspace: workspaceSchema,
};

/** Settings of agent tasks only; a command task ignores them in `defaults`. */
const agentFields = {
  agent: z.string().min(1),
  model: z.string().min(1),
  max_turns: z.number().int().positive(),
  allowed_tools: z.array(z.string().min(1)),
  append_system_prompt: z.string(),
  dangerously_skip_permissions: z.boolean(),
  /**
   * How many times Claude Code itself retries a failed API request (an overloaded 529, a
   * 5xx) before it gives up on the attempt: `CLAUDE_CODE_MAX_RETRIES` in the agent's
   * environment. Default 2 (Claude Code's own default, 10, makes a persistent 529 take about
   * 3 minutes per attempt); our retries (`retry_count`, `retry_delay`) take it from there.
   */
  api_retries: z.number().int('must be a whole number').min(0).max(20, 'must be at most 20 (Claude Code retries each failed API request up to this many times)'),
};

/** Most iterations a loop's `max` allows. */
export const MAX_ITERATIONS = 100;

/**
 * `repeat:` of a task or a group: after each iteration `until` (CEL, reading `tasks.<child>` of
 * that iteration and `iteration`) is evaluated; true ends the loop. `max` iterations without it:
 * the loop fails with `LOOP_EXHAUSTED`, or (`on_exhausted: continue`) completes with `exhausted: true`.
 */
export const repeatSchema = z.strictObject({
  /** CEL, or in a workflow built in code a TypeScript function (see `conditionSchema`). */
  until: conditionSchema,
  max: z
    .number({ error: (issue) => (issue.input === undefined ? `is required: the most iterations the loop may run (1 to ${MAX_ITERATIONS})` : undefined) })
    .int('must be a whole number')
    .min(1, `must be at least 1 (the most iterations the loop may run, up to ${MAX_ITERATIONS})`)
    .max(MAX_ITERATIONS, `must be at most ${MAX_ITERATIONS}`),
  on_exhausted: z.enum(['fail', 'continue']).optional(),
});

/** A task's or a group's `repeat`. */
export type RepeatSpec = z.output<typeof repeatSchema>;

const common = {
  id: taskId,
  depends_on: z.array(taskId).default([]),
  retry_count: sharedFields.retry_count.default(3),
  retry_delay: sharedFields.retry_delay.optional(),
  timeout: sharedFields.timeout.optional(),
  cwd: sharedFields.cwd.optional(),
  /** Expected duration in seconds: weights the critical path the ready queue orders by (default: earlier runs' median). */
  estimate: z.number().positive().max(MAX_TIMEOUT_S, `must be at most ${MAX_TIMEOUT_S} (7 days); the unit is seconds`).optional(),
  env: env.optional(),
  resume_interrupted: resumeInterruptedSchema.optional(),
  runs_on: sharedFields.runs_on.optional(),
  /** `worktree`: each attempt in its own git worktree (see {@link workspaceSchema}); default `shared`. */
  workspace: sharedFields.workspace.optional(),
  /** Free TCP ports reserved for each attempt: env `PORT_0`..`PORT_<N-1>` and `{{workspace.ports}}`. */
  ports: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_PORTS, `must be at most ${MAX_PORTS}`).optional(),
  /** Wait for an event before starting (an approval gate, another branch or run's `publish`). */
  wait_for: waitForSchema.optional(),
  /** Publish the task's output as this event when it completes (to this run and the others in its state dir). */
  publish: eventType.optional(),
  /**
   * While an unexpired memory entry exists under the rendered key, the task completes with it
   * (no agent call, no command); otherwise it runs and its output is stored there.
   */
  cache: memoryEntrySchema.optional(),
  /** Store the task's output in memory under the rendered key once it completes. */
  remember: memoryEntrySchema.optional(),
  /**
   * A JSON Schema the task's output must match, inline or the path of a JSON or YAML file
   * (relative to the workflow file): an agent is given it (`--json-schema`), a command's stdout
   * is parsed as JSON and checked against it. The object is kept as the record's `json`
   * (`{{tasks.<id>.json}}`). After validation it is always the schema object.
   */
  output_schema: z.union([z.string().min(1, 'must not be empty'), z.record(z.string(), z.unknown())]).optional(),
  /**
   * A CEL condition (see expression.ts), evaluated once the task's dependencies are done: false
   * skips the task (it costs nothing, and counts as done for its dependants).
   */
  when: conditionSchema.optional(),
  /** The task may fail (after its retries) without failing the run: its dependants run and read its status. */
  allow_failure: z.boolean().optional(),
  /**
   * Fan-out: a CEL expression giving a list, evaluated once the task's dependencies are done
   * (after its `when`); the task runs once per item, as instances `<id>[<index>]` that read
   * `{{item}}`, `{{item.<field>}}` and `{{index}}`.
   */
  for_each: z.string().refine((s) => s.trim().length > 0, 'must not be empty').optional(),
  /** A fan-out's instances running at once (under the run's `max_parallel`). Default: the run's. */
  max_parallel: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  /** Most items a fan-out may have (default 1,000): a longer list fails the task before any instance starts. */
  max_items: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').optional(),
  /**
   * A loop: the task runs again and again, as iterations `<id>#1`, `<id>#2`..., until the CEL
   * condition `until` holds after an iteration, at most `max` times.
   */
  repeat: repeatSchema.optional(),
};



/** Default of a fan-out's `max_items`. */
export const DEFAULT_MAX_ITEMS = 1000;

/**
 * What an instance of a fan-out task carries (set by the orchestrator, never written): the
 * declared task's id and the instance's index in the recorded list.
 */
export interface FanoutInstance {
  of: string;
  index: number;
}

/** What an iteration of a loop carries (set by the orchestrator): the loop's id and the iteration's number (from 1). */
export interface LoopIteration {
  of: string;
  k: number;
}

/** Set by the orchestrator on the tasks of an instance or iteration: which unit it belongs to, and (in a group's) its local id. */
interface UnitFields {
  instance?: FanoutInstance;
  iteration?: LoopIteration;
  /** A task of a group's instance or iteration: its id in the group (`test` of `fix_tests#2.test`). */
  child?: string;
}

/** A task run by a Claude Code agent. */
export const agentTaskSchema = z.strictObject({
  ...common,
  /** Optional discriminator; a task with a `prompt` is an agent task. */
  kind: z.literal('agent').optional(),
  prompt: z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  agent: agentFields.agent.optional(),
  model: agentFields.model.default('sonnet'),
  max_turns: agentFields.max_turns.optional(),
  allowed_tools: agentFields.allowed_tools.optional(),
  append_system_prompt: agentFields.append_system_prompt.optional(),
  dangerously_skip_permissions: agentFields.dangerously_skip_permissions.optional(),
  api_retries: agentFields.api_retries.optional(),
});

/** A task that runs a command (no shell): success is exit code 0, output is stdout. */
export const commandTaskSchema = z.strictObject({
  ...common,
  kind: z.literal('command').optional(),
  command: z.array(z.string()).min(1, 'must name a program'),
  /** `json`: stdout is parsed as JSON and kept as the record's `json` (implied by `output_schema`). Default `text`. */
  output: z.enum(['text', 'json']).optional(),
});

/**
 * The workflow's `defaults`: settings every task takes unless it sets its own. `env` merges
 * key by key (the task's value wins); every other field, arrays included, is replaced whole.
 */
export const taskDefaultsSchema = z.strictObject({
  retry_count: sharedFields.retry_count.optional(),
  retry_delay: sharedFields.retry_delay.optional(),
  timeout: sharedFields.timeout.optional(),
  cwd: sharedFields.cwd.optional(),
  env: env.optional(),
  resume_interrupted: resumeInterruptedSchema.optional(),
  runs_on: sharedFields.runs_on.optional(),
  workspace: sharedFields.workspace.optional(),
  agent: agentFields.agent.optional(),
  model: agentFields.model.optional(),
  max_turns: agentFields.max_turns.optional(),
  allowed_tools: agentFields.allowed_tools.optional(),
  append_system_prompt: agentFields.append_system_prompt.optional(),
  dangerously_skip_permissions: agentFields.dangerously_skip_permissions.optional(),
  api_retries: agentFields.api_retries.optional(),
});

/** The workflow's `defaults` block, as written. */
export type TaskDefaults = z.output<typeof taskDefaultsSchema>;

/** The whole workflow. */
export const workflowSpecSchema = z.strictObject({
  id: taskId,
  description: z.string().optional(),
  tasks: z.array(z.unknown()).min(1, 'a workflow needs at least one task'),
  max_parallel: z.number().int().min(1).max(1000).default(5),
  on_failure: z.enum(['stop', 'continue']).default('stop'),
  budget_usd: z.number().positive().optional(),
  /** Input names with their defaults; `null` means required. */
  inputs: workflowInputsSchema.optional(),
  resume_interrupted: resumeInterruptedSchema.optional(),
  /** Settings every task takes unless it sets its own. */
  defaults: taskDefaultsSchema.optional(),
  /** Where every task works unless `defaults` or the task says otherwise: `shared` (default) or `worktree`. */
  workspace: workspaceSchema.optional(),
  /** Filled in when a run starts (see {@link WorktreeBase}); not written by hand. */
  worktree_base: z.record(z.string(), z.strictObject({ root: z.string(), base: z.string(), path: z.string() })).optional(),
  /** Filled in by validation: each group's id with its tasks' ids (`<group>.<child>`), in declared order. */
  groups: z.record(z.string(), z.array(z.string())).optional(),
});

/**
 * Top-level keys starting with `x-` are ignored: a place for YAML anchors
 * (`x-agent: &agent {...}`, then `<<: *agent` in a task), as in Docker Compose files.
 */
export const EXTENSION_KEY = /^x-/;

/** A JSON Schema object (`output_schema` after validation). */
export type OutputSchema = Record<string, unknown>;
/** An agent task after validation (defaults filled in; `output_schema` read from its file). */
export type AgentTask = Omit<z.output<typeof agentTaskSchema>, 'output_schema'> & { kind: 'agent'; output_schema?: OutputSchema } & UnitFields;
/** A command task after validation (`output_schema` read from its file). */
export type CommandTask = Omit<z.output<typeof commandTaskSchema>, 'output_schema'> & { kind: 'command'; output_schema?: OutputSchema } & UnitFields;
/** A leaf task (an agent's or a command's). */
export type LeafTask = AgentTask | CommandTask;

/**
 * A group that loops (`repeat`) or fans out (`for_each`): kept as one task whose `body` is its
 * tasks with their local ids (`depends_on` naming siblings); the orchestrator runs the body once
 * per iteration (`<group>#<k>.<child>`) or item (`<group>[<index>].<child>`).
 */
export type GroupTask = Omit<Partial<CommandTask>, 'kind' | 'id' | 'depends_on' | 'retry_count'> & {
  kind: 'group';
  id: string;
  depends_on: string[];
  retry_count: number;
  description?: string;
  /** The group's tasks (leaf tasks; plain groups inside are flattened to `<inner>.<child>`). */
  body: LeafTask[];
};
/** A task after validation. */
export type Task = LeafTask | GroupTask;

/** A workflow as written: what `validateWorkflow` accepts. */
export type WorkflowSpecInput = z.input<typeof workflowSpecSchema> & {
  tasks: Array<Record<string, unknown>>;
  /** Ignored: a place for YAML anchors. */
  [extension: `x-${string}`]: unknown;
};

/**
 * A validated workflow: defaults filled in (the `defaults` block merged into each task),
 * tasks typed, `cwd`s absolute, inputs resolved. Plain JSON.
 */
export interface Workflow {
  id: string;
  description?: string;
  tasks: Task[];
  max_parallel: number;
  on_failure: 'stop' | 'continue';
  budget_usd?: number;
  /** Every input with its value (defaults overridden by the given inputs). */
  inputs: Record<string, string>;
  resume_interrupted?: 'restart' | 'continue';
  /**
   * The groups (task entries with their own `tasks:`), by full id, each with its tasks' full
   * ids in declared order. Validation flattens a group into ordinary tasks `<group>.<child>`.
   */
  groups?: Record<string, string[]>;
  /** The workflow's own `workspace` (each task has it merged in already). */
  workspace?: WorkspaceSpec;
  /** Recorded when a run with worktree tasks starts: see {@link WorktreeBase}. */
  worktree_base?: Record<string, WorktreeBase>;
}
