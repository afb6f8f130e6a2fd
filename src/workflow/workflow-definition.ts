/**
 * A workflow written in TypeScript: the same spec as the YAML files, as typed objects, where
 * a condition (`when:`, a loop's `until:`) may also be a function. {@link defineWorkflow}
 * checks the shape at compile time (a misspelt field, a wrong type, `prompt` and `command`
 * together); `runWorkflow` validates it at run time as it does a file's.
 *
 * @module
 */
import type { z } from 'zod';
import type { Condition } from './condition-function.js';
import type { agentTaskSchema, commandTaskSchema, taskDefaultsSchema, workflowSpecSchema } from './spec.js';

/** The control-flow fields every task entry may have, typed here (conditions may be functions). */
interface ControlFlow<Id extends string> {
  /**
   * Run only if this holds once the dependencies are done: a CEL expression, or a function of
   * the values it would read (`({ tasks }) => tasks.classify.json.kind === 'bug'`). False:
   * the task is `skipped`, and counts as done for its dependants.
   */
  when?: Condition<NoInfer<Id>>;
  /** Fan-out: a CEL expression giving a list; one instance per item (`{{item}}`, `{{index}}`). */
  for_each?: string;
  /** Most items of a fan-out (default 1,000). */
  max_items?: number;
  /** A fan-out's instances running at once. */
  max_parallel?: number;
  /** A loop: run again until `until` holds, at most `max` times. */
  repeat?: RepeatDefinition<Id>;
}

/** A loop (`repeat:`) on a task or a group. */
export interface RepeatDefinition<Id extends string = string> {
  /** Checked after each iteration: a CEL expression, or a function (it also reads `iteration`). */
  until: Condition<NoInfer<Id>>;
  /** Most iterations (1 to 100). */
  max: number;
  /** When `max` is reached and `until` never held: fail with `LOOP_EXHAUSTED` (default), or `continue` (completed, `exhausted: true`). */
  on_exhausted?: 'fail' | 'continue';
}

/** Every field of `B` that `A` lacks, forbidden: a task is an agent, a command or a group, never two. */
type Exclusive<A, B> = A & { [K in Exclude<keyof B, keyof A>]?: never };

/**
 * What a top-level entry's `depends_on` names: the workflow's tasks and groups, or a group's
 * task (`<group>.<child>`). (A group's task names its siblings too: any `string`.)
 */
export type DependsOnIds<Id extends string> = Array<NoInfer<Id> | `${NoInfer<Id>}.${string}`>;

/** The fields of a schema's tasks, with the ones typed here. */
type Fields<Schema extends z.ZodType, Id extends string, Own extends string, Deps> = Omit<z.input<Schema>, keyof ControlFlow<string> | 'id' | 'depends_on'> &
  ControlFlow<Id> & { id: Own; depends_on?: Deps };

type AgentFields<Id extends string, Own extends string, Deps> = Fields<typeof agentTaskSchema, Id, Own, Deps>;
type CommandFields<Id extends string, Own extends string, Deps> = Fields<typeof commandTaskSchema, Id, Own, Deps>;

/** A group: a task entry with its own `tasks:` (a sub-DAG, gated as a whole). */
export interface GroupFields<Id extends string, Own extends string, Deps> extends ControlFlow<Id> {
  id: Own;
  /** Its tasks: their ids are local to the group (`<group>.<child>` outside). */
  tasks: Array<TaskDefinition<Id, string, string[]>>;
  depends_on?: Deps;
  description?: string;
  /** A looping or fan-out group may fail without failing the run. */
  allow_failure?: boolean;
}

/**
 * An agent task (a `prompt`), as written in code. `Id`: the workflow's task and group ids (what
 * a condition function reads); `Own`: this entry's id, `Deps` what its `depends_on` may name
 * (a group's task: any `string`).
 */
export type AgentTaskDefinition<Id extends string = string, Own extends string = Id, Deps = DependsOnIds<Id>> = Exclusive<
  AgentFields<Id, Own, Deps>,
  CommandFields<Id, Own, Deps> & GroupFields<Id, Own, Deps>
>;
/** A command task (a `command`, no shell), as written in code. */
export type CommandTaskDefinition<Id extends string = string, Own extends string = Id, Deps = DependsOnIds<Id>> = Exclusive<
  CommandFields<Id, Own, Deps>,
  AgentFields<Id, Own, Deps> & GroupFields<Id, Own, Deps>
>;
/** A group (its own `tasks`), as written in code. */
export type GroupDefinition<Id extends string = string, Own extends string = Id, Deps = DependsOnIds<Id>> = Exclusive<
  GroupFields<Id, Own, Deps>,
  AgentFields<Id, Own, Deps> & CommandFields<Id, Own, Deps>
>;
/** One entry of a workflow's `tasks`: an agent task, a command task or a group. */
export type TaskDefinition<Id extends string = string, Own extends string = Id, Deps = DependsOnIds<Id>> =
  | AgentTaskDefinition<Id, Own, Deps>
  | CommandTaskDefinition<Id, Own, Deps>
  | GroupDefinition<Id, Own, Deps>;

/** The workflow's `defaults`, as written in code. */
export type TaskDefaultsDefinition = z.input<typeof taskDefaultsSchema>;

/** A whole workflow, as written in code: what {@link defineWorkflow} takes. `Id`: its task and group ids. */
export type WorkflowDefinition<Id extends string = string> = Omit<z.input<typeof workflowSpecSchema>, 'tasks' | 'groups' | 'defaults'> & {
  tasks: Array<TaskDefinition<Id>>;
  defaults?: TaskDefaultsDefinition;
};

/**
 * A workflow written in TypeScript, typed: a misspelt field, a value of the wrong type, or an
 * agent task's field on a command task does not compile. Returns the spec as given, for
 * `orchestrator.runWorkflow()` (which validates it as it does a YAML file's) and
 * `orchestrator.resume(runId, { workflow })`.
 *
 * A condition (`when`, `repeat.until`) may be a function of the values a CEL expression reads.
 * Such a run resumes only with the same code: its checkpoint stores `"<function name>"` in
 * place of each function.
 *
 * @example
 * ```ts
 * const triage = defineWorkflow({
 *   id: 'triage',
 *   tasks: [
 *     { id: 'classify', prompt: 'Classify: {{inputs.issue}}', output_schema: { type: 'object', properties: { route: { type: 'string' } } } },
 *     { id: 'fix', depends_on: ['classify'], when: ({ tasks }) => tasks.classify.json.route === 'bug', prompt: 'Fix it.' },
 *   ],
 * });
 * ```
 */
export function defineWorkflow<const Id extends string>(spec: WorkflowDefinition<Id>): WorkflowDefinition<Id> {
  return spec;
}
