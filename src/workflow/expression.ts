/**
 * Expressions of a workflow (`when:`; later `until:` and `for_each:`): CEL, the Common
 * Expression Language (https://cel.dev), parsed and evaluated by `@marcbachmann/cel-js`, never
 * by JavaScript `eval`.
 *
 * An expression reads `inputs.<name>` (strings) and `tasks.<id>.<field>` ({@link TASK_VARIABLE_FIELDS});
 * a task id that is not a CEL name (`my-task`) is written `tasks["my-task"]`. `checkExpression`
 * finds what `validate` reports (syntax, unknown names, the tasks and inputs read, with the
 * column); `evaluateExpression` is pure: given the values, it returns the value or the
 * error, with the values it saw (for a skip reason or an `EXPRESSION_ERROR`).
 *
 * @module
 */
import { Environment } from '@marcbachmann/cel-js';
import type { TaskRecord } from './workflow-result.js';
import { conditionParts, conditionText, type Condition, type ConditionFn, type ConditionValues } from './condition-function.js';

/** The fields of `tasks.<id>` in an expression. */
export const TASK_VARIABLE_FIELDS = ['status', 'output', 'json', 'exit_code', 'cost_usd', 'attempts'] as const;

/** A field of `tasks.<id>` in an expression. */
export type TaskVariableField = (typeof TASK_VARIABLE_FIELDS)[number];

/** The variables every expression may read; a loop or a fan-out adds its own (`iteration`, `item`, `index`). */
export const EXPRESSION_VARIABLES = ['inputs', 'tasks'] as const;

/** What an expression reads: a task's field (and the path below it, for `json`), or an input. */
export type ExpressionRef =
  | { kind: 'task'; taskId: string; field?: string; path: string[]; text: string; offset: number }
  | { kind: 'input'; name: string; text: string; offset: number }
  | { kind: 'variable'; name: string; offset: number };

/** A problem of an expression, at an offset of its source. */
export interface ExpressionProblem {
  kind: 'syntax' | 'unknown_name' | 'bad_reference' | 'type';
  message: string;
  offset: number;
  /** For `unknown_name`: the name. */
  name?: string;
}

/** What `checkExpression` found. */
export interface ExpressionCheck {
  problems: ExpressionProblem[];
  refs: ExpressionRef[];
  /** The type CEL infers (`bool`, `string`, `dyn`...), when the expression is well formed. */
  type?: string;
}

/** Options of `checkExpression` and `evaluateExpression`. */
export interface ExpressionOptions {
  /** Variables besides `inputs` and `tasks` (a loop's `iteration`, a fan-out's `item` and `index`). */
  extraVariables?: readonly string[];
}

interface AstNode {
  op: string;
  args: unknown;
  pos: number;
  start?: number;
}

interface ParsedExpression {
  (context: Record<string, unknown>): unknown;
  ast: AstNode;
}

const environments = new Map<string, Environment>();

/** One CEL environment per set of variables (all `dyn`: values come from JSON and records). */
function environmentFor(extra: readonly string[] = []): Environment {
  const key = extra.join(',');
  let env = environments.get(key);
  if (!env) {
    env = new Environment({ homogeneousAggregateLiterals: false });
    for (const name of [...EXPRESSION_VARIABLES, ...extra]) env.registerVariable(name, 'dyn');
    environments.set(key, env);
  }
  return env;
}

/** The 1-based line and column of an offset, as messages say it (`column 18`, or `line 2, column 3`). */
export function positionOf(source: string, offset: number): string {
  const before = source.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return source.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
}

/** The first line of a cel-js error message (the rest draws the source with a caret). */
function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function errorOffset(error: unknown): number {
  const e = error as { node?: { pos?: number; start?: number }; range?: { start: number } };
  return e.range?.start ?? e.node?.start ?? e.node?.pos ?? 0;
}

/** Finds the syntax errors, unknown names, and what the expression reads. Never throws. */
export function checkExpression(source: string, options: ExpressionOptions = {}): ExpressionCheck {
  const env = environmentFor(options.extraVariables);
  let parsed: ParsedExpression;
  try {
    parsed = env.parse(source) as unknown as ParsedExpression;
  } catch (error) {
    return { problems: [{ kind: 'syntax', message: firstLine((error as Error).message), offset: errorOffset(error) }], refs: [] };
  }
  const problems: ExpressionProblem[] = [];
  const refs = collectRefs(parsed.ast, problems);
  const result = env.check(source);
  if (!result.valid && result.error) {
    const message = firstLine(result.error.message);
    const unknown = /^Unknown variable: (\S+)/.exec(message);
    if (unknown) problems.push({ kind: 'unknown_name', message, offset: errorOffset(result.error), name: unknown[1]! });
    else problems.push({ kind: 'type', message, offset: errorOffset(result.error) });
  }
  return { problems, refs, ...(result.valid && result.type !== undefined && { type: String(result.type) }) };
}

/** The `tasks.<id>.<field>...` and `inputs.<name>` chains of an AST (and a `tasks` used any other way, as a problem). */
function collectRefs(root: AstNode, problems: ExpressionProblem[]): ExpressionRef[] {
  const refs: ExpressionRef[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null || !('op' in node)) return;
    const n = node as AstNode;
    const chain = accessChain(n);
    if (chain) {
      const [head, ...keys] = chain.keys;
      if (head === 'tasks') {
        if (keys.length === 0) {
          problems.push({ kind: 'bad_reference', message: 'tasks must be followed by a task id (tasks.<id>.<field>, or tasks["<id>"].<field>)', offset: chain.offset });
          return;
        }
        const [taskId, field, ...path] = keys as [string, ...string[]];
        refs.push({ kind: 'task', taskId, ...(field !== undefined && { field }), path, text: chain.text, offset: chain.offset });
        chain.rest.forEach(visit);
        return;
      }
      if (head === 'inputs' && keys.length > 0) {
        refs.push({ kind: 'input', name: keys[0]!, text: chain.text, offset: chain.offset });
        chain.rest.forEach(visit);
        return;
      }
    }
    if (n.op === 'id') {
      if (n.args === 'tasks') {
        problems.push({ kind: 'bad_reference', message: 'tasks must be followed by a task id (tasks.<id>.<field>, or tasks["<id>"].<field>)', offset: n.start ?? n.pos });
      }
      refs.push({ kind: 'variable', name: String(n.args), offset: n.start ?? n.pos });
      return;
    }
    if (n.op === 'value') return;
    visit(n.args);
  };
  visit(root);
  return refs;
}

/**
 * A chain of field selections and constant string indexes from a variable: `tasks.a.json.x`,
 * `tasks["my-task"].output`. `rest`: index expressions that are not constants (visited apart).
 */
function accessChain(node: AstNode): { keys: string[]; text: string; offset: number; rest: AstNode[] } | null {
  const keys: string[] = [];
  const rest: AstNode[] = [];
  let n: AstNode = node;
  while (n.op === '.' || n.op === '[]') {
    const [target, key] = n.args as [AstNode, unknown];
    if (n.op === '.') keys.unshift(String(key));
    else {
      const k = key as AstNode;
      if (k.op !== 'value' || typeof k.args !== 'string') return null;
      keys.unshift(k.args);
    }
    n = target;
  }
  if (n.op !== 'id' || (n.args !== 'tasks' && n.args !== 'inputs')) return null;
  keys.unshift(n.args);
  const text = keys.map((k, i) => (i === 0 ? k : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
  return { keys, text, offset: n.start ?? n.pos, rest };
}

/** The values an expression reads, as it reads them. */
export interface ExpressionValues {
  inputs: Record<string, string>;
  /** `tasks.<id>`: see `taskVariables`; `undefined` for a task the expression may not read. */
  task(taskId: string): Record<string, unknown> | undefined;
  /** A loop's `iteration`, a fan-out's `item` and `index`. */
  extra?: Record<string, unknown>;
  /**
   * The workflow's groups (`Workflow.groups`): a condition function reads a group's tasks as
   * `tasks.<group>.<child>` (a CEL expression has them rewritten at validation).
   */
  groups?: Readonly<Record<string, readonly string[]>>;
}

/** `tasks.<id>` in an expression: a record's {@link TASK_VARIABLE_FIELDS}. A skipped task's output is empty. */
export function taskVariables(record: TaskRecord): Record<TaskVariableField, unknown> {
  const json = record.json;
  return {
    status: record.status,
    output: record.output ?? '',
    json: json === undefined ? null : json,
    exit_code: record.exitCode ?? null,
    cost_usd: record.costUsd,
    attempts: record.attempts,
  };
}

/** The outcome of `evaluateExpression`: the value, or the error; with the values read. */
export type ExpressionOutcome = { ok: true; value: unknown; seen: string } | { ok: false; error: string; seen: string };

/** Expressions checked and parsed, by variables and source: a run evaluates the same few again and again. */
const compiled = new Map<string, { check: ExpressionCheck; parsed?: ParsedExpression }>();
const COMPILED_MAX = 1000;

function compile(source: string, options: ExpressionOptions): { check: ExpressionCheck; parsed?: ParsedExpression } {
  const key = `${(options.extraVariables ?? []).join(',')}\u0000${source}`;
  let entry = compiled.get(key);
  if (!entry) {
    const check = checkExpression(source, options);
    entry = check.problems.length > 0 ? { check } : { check, parsed: environmentFor(options.extraVariables).parse(source) as unknown as ParsedExpression };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(key, entry);
  }
  return entry;
}

/** Evaluates an expression (pure: the same values give the same outcome). Never throws. */
export function evaluateExpression(source: string, values: ExpressionValues, options: ExpressionOptions = {}): ExpressionOutcome {
  const { check, parsed } = compile(source, options);
  const tasks: Record<string, unknown> = {};
  for (const ref of check.refs) {
    if (ref.kind !== 'task' || ref.taskId in tasks) continue;
    const vars = values.task(ref.taskId);
    if (vars !== undefined) tasks[ref.taskId] = vars;
  }
  const context: Record<string, unknown> = { ...values.extra, inputs: values.inputs, tasks };
  const seen = describeSeen(check.refs, context);
  if (!parsed) {
    const problem = check.problems[0]!;
    return { ok: false, error: `${problem.message} (${positionOf(source, problem.offset)})`, seen };
  }
  try {
    return { ok: true, value: fromCel(parsed(context)), seen };
  } catch (error) {
    return { ok: false, error: firstLine((error as Error).message), seen };
  }
}

/** CEL's integers are bigints: back to numbers (JSON-able). */
function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), fromCel(v)]));
  return value;
}

/** Longest value shown in a reason or an error. */
const SEEN_VALUE_MAX = 200;

/** `tasks.classify.output = "feature", inputs.mode = "fast"`: each chain the expression reads, once. */
function describeSeen(refs: ExpressionRef[], context: Record<string, unknown>): string {
  const parts = new Map<string, string>();
  for (const ref of refs) {
    if (ref.kind === 'variable' || parts.has(ref.text)) continue;
    const keys = ref.kind === 'task' ? ['tasks', ref.taskId, ...(ref.field === undefined ? [] : [ref.field]), ...ref.path] : ['inputs', ref.name];
    let value: unknown = context;
    let missing = false;
    for (const key of keys) {
      if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
        missing = true;
        break;
      }
      value = (value as Record<string, unknown>)[key];
    }
    parts.set(ref.text, missing ? '(missing)' : shown(value));
  }
  return [...parts].map(([text, value]) => `${text} = ${value}`).join(', ');
}

function shown(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? String(value);
  return text.length > SEEN_VALUE_MAX ? `${text.slice(0, SEEN_VALUE_MAX)}…` : text;
}

/** Options of `evaluateCondition`. */
export interface ConditionOptions extends ExpressionOptions {
  /** The field the condition is, for messages: `when` (default) or a loop's `until`. */
  field?: string;
}

/**
 * What `evaluateCondition` gives: the condition held (`run: true`), did not (with the
 * reason), or could not be evaluated (`error`: the field, the condition, the `problem` and what
 * it read); each with `seen`, the values it read (`tasks.review.json.ok = false`).
 */
export type ConditionOutcome = ({ run: true } | { run: false; reason: string } | { error: string; problem: string }) & { seen: string };

/**
 * A condition (`when:`, a loop's `until:`): a CEL expression, or in a workflow built in code a
 * TypeScript function given the same values ({@link ConditionValues}). `run: true` when it holds;
 * `run: false` with the reason (the condition and the values it read) when it does not; the
 * error (`EXPRESSION_ERROR`) when it cannot be evaluated: a CEL error, a function that threw, a
 * value that is not a boolean. Never throws.
 *
 * @example
 * ```ts
 * evaluateCondition(task.repeat.until, values, { field: 'repeat.until', extraVariables: ['iteration'] });
 * ```
 */
export function evaluateCondition(condition: Condition, values: ExpressionValues, options: ConditionOptions = {}): ConditionOutcome {
  const seen: string[] = [];
  for (const part of conditionParts(condition)) {
    const outcome = evaluatePart(part, values, options);
    if (outcome.seen !== '') seen.push(outcome.seen);
    if (!('run' in outcome && outcome.run)) return outcome;
  }
  return { run: true, seen: seen.join(', ') };
}

function evaluatePart(condition: Condition, values: ExpressionValues, options: ConditionOptions): ConditionOutcome {
  const outcome = typeof condition === 'string' ? evaluateExpression(condition, values, options) : evaluateFunction(condition, values);
  const field = options.field ?? 'when';
  const text = conditionText(condition);
  const seen = outcome.seen;
  const saw = seen === '' ? '' : ` (${seen})`;
  const failed = (problem: string): ConditionOutcome => ({ error: `${field}: ${text}: ${problem}${saw}`, problem, seen });
  if (!outcome.ok) return failed(outcome.error);
  if (typeof outcome.value !== 'boolean') {
    return failed(`gave ${outcome.value instanceof Promise ? 'a Promise (a condition function must be synchronous)' : shown(outcome.value)}, not a boolean`);
  }
  return outcome.value ? { run: true, seen } : { run: false, reason: `${field}: ${text} is false${saw}`, seen };
}

/** A condition function called with the values, read-only; what it read is seen as a CEL expression's. */
function evaluateFunction(fn: ConditionFn, values: ExpressionValues): ExpressionOutcome {
  const reads = new Map<string, unknown>();
  const functionValues = conditionValues(values, reads);
  try {
    const value = fn(functionValues);
    return { ok: true, value, seen: describeReads(reads) };
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, error: `threw ${firstLine(text)}`, seen: describeReads(reads) };
  }
}

/** `.name`, or `["my-task"]` for a key that is not a name. */
function segment(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * A value a function reads, as a copy (it cannot change a record) whose property reads are
 * noted in `reads` under their path (`tasks.classify.json.route`). An array is noted whole.
 */
function tracked(value: unknown, path: string, reads: Map<string, unknown>): unknown {
  reads.set(path, value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return new Proxy(value, {
    get: (target, key, receiver) => {
      if (typeof key === 'symbol' || (!Object.hasOwn(target, key) && key in target)) return Reflect.get(target, key, receiver);
      if (Object.hasOwn(target, key)) return tracked((target as Record<string, unknown>)[key], `${path}${segment(key)}`, reads);
      reads.set(`${path}${segment(key)}`, MISSING);
      return undefined;
    },
  });
}

/** What a path the function read but the value does not have is noted as. */
const MISSING = Symbol('missing');

/** The values a condition function is given: {@link ConditionValues} over the run's records. */
function conditionValues(values: ExpressionValues, reads: Map<string, unknown>): ConditionValues {
  const groups = values.groups ?? {};
  const lookup = (id: string, path: string): unknown => {
    const vars = values.task(id);
    if (vars !== undefined) return tracked(structuredClone(vars), path, reads);
    return isGroup(id) ? groupView(id, path) : undefined;
  };
  const isGroup = (id: string): boolean => Object.hasOwn(groups, id);
  // A group has at least one task (validation says so).
  const lastTask = (id: string): string => {
    let last = id;
    while (isGroup(last)) last = groups[last]!.at(-1)!;
    return last;
  };
  const readOnly = { set: () => false, deleteProperty: () => false, defineProperty: () => false };
  // A group reads its tasks by their local ids, and its fields are its last-declared task's.
  const groupView = (id: string, path: string): unknown =>
    new Proxy(
      {},
      {
        ...readOnly,
        get: (_t, key) => {
          if (typeof key === 'symbol') return undefined;
          const child = `${id}.${key}`;
          if (values.task(child) !== undefined || isGroup(child)) return lookup(child, `${path}${segment(key)}`);
          return (lookup(lastTask(id), path) as Record<string, unknown>)[key];
        },
      },
    );
  const tasks = new Proxy(
    {},
    {
      ...readOnly,
      get: (_t, key) => (typeof key === 'symbol' ? undefined : lookup(key, `tasks${segment(key)}`)),
      has: (_t, key) => typeof key === 'string' && (values.task(key) !== undefined || isGroup(key)),
    },
  ) as ConditionValues['tasks'];
  const inputs = new Proxy(
    { ...values.inputs },
    { ...readOnly, get: (t, key) => (typeof key === 'string' && Object.hasOwn(t, key) ? tracked(t[key], `inputs${segment(key)}`, reads) : undefined) },
  );
  const result: Record<string, unknown> = { tasks, inputs };
  for (const [name, value] of Object.entries(values.extra ?? {})) {
    Object.defineProperty(result, name, { enumerable: true, get: () => tracked(structuredClone(value), name, reads) });
  }
  return result as unknown as ConditionValues;
}

/** `tasks.classify.json.route = "bug"`: each path read, but not one a longer path read goes through. */
function describeReads(reads: Map<string, unknown>): string {
  const paths = [...reads.keys()];
  return paths
    .filter((p) => !paths.some((q) => q.length > p.length && q.startsWith(p) && (q[p.length] === '.' || q[p.length] === '[')))
    .map((p) => `${p} = ${reads.get(p) === MISSING ? '(missing)' : shown(reads.get(p))}`)
    .join(', ');
}

/**
 * A `for_each:` list: the items, or the error (`EXPRESSION_ERROR`, naming the expression and
 * what it gave). A value that is not a list is an error.
 */
export function evaluateList(source: string, values: ExpressionValues, options: ExpressionOptions = {}): { items: unknown[] } | { error: string } {
  const outcome = evaluateExpression(source, values, options);
  const saw = outcome.seen === '' ? '' : ` (${outcome.seen})`;
  if (!outcome.ok) return { error: `for_each: ${source}: ${outcome.error}${saw}` };
  if (!Array.isArray(outcome.value)) return { error: `for_each: ${source}: gave ${shown(outcome.value)}, not a list${saw}` };
  return { items: outcome.value };
}
