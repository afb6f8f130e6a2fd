/**
 * Conditions written as TypeScript functions (`when:`, and a loop's `until:`) in a workflow built
 * in code: `when: ({ tasks }) => tasks.classify.json.route === 'bug'`.
 *
 * A function is given the values a CEL expression reads ({@link ConditionValues}), read-only, and
 * must return a boolean. Validation wraps it ({@link markCondition}) so that the validated
 * workflow stays plain JSON where it is stored: a wrapped function serializes as a marker,
 * `"<function isBug>"` (`"<function>"` for an anonymous one), and a checkpoint therefore holds
 * no code. A run whose workflow held functions resumes only with the same code (see
 * `WorkflowOrchestrator.resume`'s `workflow` option); {@link functionMarkers} finds them in a
 * stored workflow.
 *
 * @module
 */
import type { TaskStatus } from './workflow-result.js';

/** `tasks.<id>` as a condition function reads it (the fields of `tasks.<id>` in CEL). */
export interface TaskValues {
  /** `completed`, `failed` (with `allow_failure`) or `skipped`. */
  readonly status: TaskStatus;
  /** Its output (a command's stdout, also when it failed); `''` for a skipped task. */
  readonly output: string;
  /**
   * Its structured output (`output_schema`, `output: json`), `null` when it has none; a fan-out's:
   * the array of its instances' (in item order). Typed `any`: its shape is the schema's.
   */
  readonly json: any;
  /** Its process's exit code; `null` when none ended (a skipped task, a timeout). */
  readonly exit_code: number | null;
  readonly cost_usd: number;
  readonly attempts: number;
  /** Inside a loop's iteration k: iteration k-1's record of this task. */
  readonly previous?: TaskValues | null;
}

/**
 * `tasks` as a condition function reads it: a task by id (`tasks.classify`,
 * `tasks['fix-tests']`), a group's task by its full id (`tasks['fix_tests.test']`; untyped,
 * `tasks.fix_tests.test` reads it too) and a group's fields (its last-declared task's:
 * `tasks.fix_tests.status`). `undefined` for an id the workflow does not have.
 *
 * In a spec given to {@link defineWorkflow} as an object literal, `Id` is its top-level task
 * and group ids: `tasks.<id>` is typed (a misspelt id does not compile), and a group's tasks
 * are read as `tasks['<group>.<child>']`.
 */
export type TaskValuesMap<Id extends string = string> = { readonly [K in Id | `${Id}.${string}`]: TaskValues };

/** What a condition function is given: what a CEL expression reads. */
export interface ConditionValues<Id extends string = string> {
  /** The run's inputs (strings). */
  readonly inputs: Readonly<Record<string, string>>;
  /** The run's tasks ({@link TaskValuesMap}): read only the task's (transitive) dependencies. */
  readonly tasks: TaskValuesMap<Id>;
  /** Inside a fan-out: its item. */
  readonly item?: any;
  /** Inside a fan-out: the item's index (from 0). */
  readonly index?: number;
  /** Inside a loop: the iteration (from 1). */
  readonly iteration?: number;
}

/**
 * A condition written as a function: true or false, synchronously. It must not throw (a throw
 * is `EXPRESSION_ERROR`). (Declared as a method: a function typed for a workflow's task ids is
 * also a `ConditionFn` of any workflow.)
 */
export type ConditionFn<Id extends string = string> = {
  /** True when the condition holds for these values. */
  condition(values: ConditionValues<Id>): boolean;
}['condition'];

/** A condition: a CEL expression, or (in a workflow built in code) a function. */
export type Condition<Id extends string = string> = string | ConditionFn<Id>;

const LABEL = Symbol('agents-sdk.condition.label');
const PARTS = Symbol('agents-sdk.condition.parts');

/** A function validation has wrapped: it serializes as its label. */
interface MarkedCondition extends ConditionFn {
  [LABEL]: string;
  [PARTS]?: readonly Condition[];
  toJSON(): string;
}

/** Names a function gets from where it is written, not from its author (`when: () => ...`). */
const POSITION_NAMES = new Set(['', 'when', 'until', 'anonymous']);

/** `<function isBug>`, or `<function>` for an anonymous function (an arrow written in place). */
export function functionLabel(fn: (...args: never[]) => unknown): string {
  const marked = (fn as Partial<MarkedCondition>)[LABEL];
  if (marked !== undefined) return marked;
  return POSITION_NAMES.has(fn.name) ? '<function>' : `<function ${fn.name}>`;
}

/** A marker a stored workflow holds in place of a function: `<function ...>` alone, or in a group's `... && <function ...>`. */
const MARKER = /(?:^|\) && )<function(?: [^>]*)?>/;

/** Whether a stored condition is (or contains) the marker of a function. */
export function isFunctionMarker(value: unknown): value is string {
  return typeof value === 'string' && MARKER.test(value);
}

function mark(fn: ConditionFn, label: string, parts?: readonly Condition[]): MarkedCondition {
  const marked = ((values: ConditionValues) => fn(values)) as MarkedCondition;
  Object.defineProperty(marked, 'name', { value: fn.name });
  Object.defineProperty(marked, LABEL, { value: label });
  Object.defineProperty(marked, 'toJSON', { value: () => label });
  if (parts) Object.defineProperty(marked, PARTS, { value: parts });
  return marked;
}

/** A condition function wrapped so that it serializes as its marker (the same function again for one already wrapped). */
export function markCondition(fn: ConditionFn): ConditionFn {
  return LABEL in fn ? fn : mark(fn, functionLabel(fn));
}

/** A condition as text: the CEL expression, or a function's label. */
export function conditionText(condition: Condition): string {
  return typeof condition === 'string' ? condition : functionLabel(condition);
}

/**
 * Both conditions (a group's `when` and its task's own), the first evaluated first: the CEL
 * `(a) && (b)` when both are CEL, else a function standing for both.
 */
export function bothConditions(first: Condition, second: Condition): Condition {
  if (typeof first === 'string' && typeof second === 'string') return `(${first}) && (${second})`;
  const parts = [...conditionParts(first), ...conditionParts(second)];
  const label = parts.map((p) => (typeof p === 'string' ? `(${p})` : functionLabel(p))).join(' && ');
  return mark(() => {
    throw new Error('a combined condition is evaluated part by part');
  }, label, parts);
}

/** Every one of the conditions (at least one), in order: see {@link bothConditions}. */
export function allConditions(conditions: readonly Condition[]): Condition {
  return conditions.reduce((all, next) => bothConditions(all, next));
}

/** The conditions a combined one stands for, in order (a condition alone: itself). */
export function conditionParts(condition: Condition): readonly Condition[] {
  return typeof condition === 'string' ? [condition] : ((condition as Partial<MarkedCondition>)[PARTS] ?? [condition]);
}

/** A stored task, as far as its conditions go (a looping or fan-out group's tasks in `body`). */
interface StoredTask {
  id: string;
  when?: unknown;
  repeat?: unknown;
  body?: readonly StoredTask[];
}

/** Where a stored workflow holds a function's marker: each task (a group's by full id) and field. */
export function functionMarkers(workflow: { tasks: readonly StoredTask[] }): Array<{ taskId: string; field: string; marker: string }> {
  const found: Array<{ taskId: string; field: string; marker: string }> = [];
  const visit = (tasks: readonly StoredTask[], prefix: string): void => {
    for (const task of tasks) {
      const id = prefix + task.id;
      if (isFunctionMarker(task.when)) found.push({ taskId: id, field: 'when', marker: task.when });
      const until = (task.repeat as { until?: unknown } | undefined)?.until;
      if (isFunctionMarker(until)) found.push({ taskId: id, field: 'repeat.until', marker: until });
      if (Array.isArray(task.body)) visit(task.body, `${id}.`);
    }
  };
  visit(workflow.tasks, '');
  return found;
}
