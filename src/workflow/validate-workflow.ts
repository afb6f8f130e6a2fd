/**
 * Validates a workflow before anything runs, reporting every problem at once with the task
 * id and field: schema errors (zod), unknown fields (with the name probably meant),
 * duplicate ids, unknown dependencies, cycles (named), template references that are not
 * (transitive) dependencies, and missing inputs. Also merges the `defaults` block into each
 * task and makes each `cwd` absolute.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { isReservedRunEntry } from '../persistence/state-keys.js';
import { closestName } from './closest-name.js';
import {
  EXTENSION_KEY,
  INPUT_NAME,
  agentTaskSchema,
  commandTaskSchema,
  taskDefaultsSchema,
  workflowInputsSchema,
  workflowSpecSchema,
  type GroupTask,
  type LeafTask,
  type Task,
  type TaskDefaults,
  type Workflow,
  type WorkspaceSpec,
} from './spec.js';
import { outputSchemaProblem, readOutputSchemaFile, schemaPathProblem } from './output-schema.js';
import { schemaMessage } from './schema-messages.js';
import { GROUP_FIELDS, flattenGroups, hasGroups, isUnitGroup } from './groups.js';
import { templateRefs } from './template.js';
import { conditionParts } from './condition-function.js';
import { EXPRESSION_VARIABLES, TASK_VARIABLE_FIELDS, checkExpression, positionOf } from './expression.js';

/** Options of {@link validateWorkflow}. */
export interface ValidateOptions {
  /** Values for the workflow's inputs (`--input k=v`), over the spec's defaults. */
  inputs?: Record<string, string>;
  /** Where the spec came from (a file name), for messages. */
  source?: string;
  /**
   * Checks the workflow without its input values (`agents-sdk validate --no-inputs`, a CI
   * lint): a required input that was not given is no problem; every other problem is.
   */
  lintOnly?: boolean;
  /**
   * The directory a relative task `cwd` is relative to. Default: the process's working
   * directory; {@link loadWorkflowFile} passes the workflow file's directory.
   */
  baseDir?: string;
}

const WORKFLOW_FIELDS = Object.keys(workflowSpecSchema.shape);
const AGENT_FIELDS = new Set(Object.keys(agentTaskSchema.shape));
const COMMAND_FIELDS = new Set(Object.keys(commandTaskSchema.shape));
const TASK_FIELDS = [...new Set([...AGENT_FIELDS, ...COMMAND_FIELDS])];
const DEFAULT_FIELDS = Object.keys(taskDefaultsSchema.shape);
const WAIT_FOR_FIELDS = ['event', 'timeout'];
const MEMORY_ENTRY_FIELDS = ['key', 'ttl'];

/**
 * Checks a workflow spec and returns it normalized (defaults filled in).
 *
 * @throws ValidationError listing every problem found.
 */
export function validateWorkflow(spec: unknown, options: ValidateOptions = {}): Workflow {
  const issues: ValidationIssue[] = [];
  spec = withoutExtensions(spec);
  const top = workflowSpecSchema.safeParse(spec);
  const declaredTasks = Array.isArray((spec as { tasks?: unknown } | null)?.tasks) ? ((spec as { tasks: unknown[] }).tasks).map(asWritten) : [];
  if (!top.success) issues.push(...zodIssues(top.error, [], spec, declaredTasks));
  // Groups become ordinary tasks `<group>.<child>` (see groups.ts); a validated workflow keeps its map.
  const flat = hasGroups(declaredTasks) ? flattenGroups(declaredTasks, issues) : null;
  const rawTasks = flat?.tasks ?? declaredTasks;
  const groups = flat?.groups ?? (spec as { groups?: Record<string, string[]> } | null)?.groups;

  // Invalid defaults are reported once (as `defaults.<field>`), not again in every task.
  const defaults = taskDefaultsSchema.safeParse((spec as { defaults?: unknown } | null)?.defaults ?? {}).data ?? {};
  const baseDir = resolve(options.baseDir ?? '.');
  const tasks: Task[] = [];
  rawTasks.forEach((raw, index) => {
    const task = parseTask(raw, index, defaults, baseDir, issues);
    if (task) tasks.push(task);
  });
  inheritWorkspace(tasks, top.data?.workspace);

  // A task with problems of its own still exists for the tasks that refer to it.
  const nodes = rawTasks.flatMap(graphNode);
  checkGraph(nodes, issues);
  checkReservedNames(tasks, issues);
  // A problem elsewhere in the workflow must not hide the inputs it declares.
  const declared = top.success ? top.data.inputs : workflowInputsSchema.safeParse((spec as { inputs?: unknown } | null)?.inputs).data;
  const inputs = resolveInputs(declared, options.inputs ?? {}, issues, options.lintOnly === true);
  // A required input that was not given is reported once, not again at each use.
  const known = new Set([...Object.keys(inputs), ...Object.keys(declared ?? {})]);
  const units = new Map(tasks.filter((t): t is GroupTask => t.kind === 'group').map((t) => [t.id, t]));
  checkTemplates(tasks, nodes, known, issues, TOP_SCOPE(units));
  checkJsonRefs(tasks, rawTasks, issues);
  checkExpressions(tasks, nodes, known, issues, TOP_SCOPE(units));
  checkBodies(tasks, nodes, known, issues, units);

  if (issues.length > 0 || !top.success) {
    const where = options.source ? ` in ${options.source}` : '';
    throw new ValidationError(
      `Invalid workflow${where}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`,
      issues,
      { details: options.source ? { file: options.source } : {} },
    );
  }
  const { tasks: _ignored, inputs: _declared, defaults: _merged, ...rest } = top.data;
  return { ...rest, tasks, inputs, ...(groups !== undefined && Object.keys(groups).length > 0 && { groups }) } as Workflow;
}

/** The workflow's `workspace` under each task's own (or its `defaults`'): a task saying only `worktree` keeps the workflow's author and message. */
function inheritWorkspace(tasks: Task[], workflow: WorkspaceSpec | undefined): void {
  for (const task of tasks) {
    if (workflow) task.workspace = { ...workflow, ...task.workspace };
    // A looping or fan-out group's tasks take the group's.
    if (task.kind === 'group' && task.workspace) for (const child of task.body) child.workspace = { ...task.workspace, ...child.workspace };
  }
}

/** A validated looping or fan-out group (`kind: group`, its `body`) as written (its `tasks`): validating a validated workflow gives it back. */
function asWritten(raw: unknown): unknown {
  if (!isPlainObject(raw) || raw.kind !== 'group' || !Array.isArray(raw.body)) return raw;
  const { kind: _kind, body, retry_count: _retries, ...rest } = raw;
  return { ...rest, tasks: body };
}

/** Task ids and agent names name directories beside the run's state files: those names are taken. */
function checkReservedNames(tasks: Task[], issues: ValidationIssue[]): void {
  for (const task of tasks) {
    const names: Array<[string, string]> = [['id', task.id]];
    if (task.kind === 'agent' && task.agent !== undefined) names.push(['agent', task.agent]);
    for (const [field, name] of names) {
      if (isReservedRunEntry(name)) {
        issues.push({ path: `tasks.${task.id}.${field}`, message: `"${name}" is the name of one of the run's state files (checkpoint.json, run.lock, journal-<n>.jsonl, events.jsonl, signals.jsonl); choose another` });
      }
    }
  }
}

/** The spec without its top-level `x-` keys (a place for YAML anchors). */
function withoutExtensions(spec: unknown): unknown {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return spec;
  return Object.fromEntries(Object.entries(spec).filter(([key]) => !EXTENSION_KEY.test(key)));
}

function parseTask(raw: unknown, index: number, defaults: TaskDefaults, baseDir: string, issues: ValidationIssue[]): Task | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: `tasks[${index}]`, message: 'must be an object with an id and a prompt or a command' });
    return null;
  }
  const record = raw as Record<string, unknown>;
  const name = taskLabel(record, index);
  if (isUnitGroup(record)) return parseGroupTask(record, name, defaults, baseDir, issues);
  const unknown = Object.keys(record).filter((key) => !TASK_FIELDS.includes(key));
  for (const key of unknown) issues.push({ path: `${name}.${key}`, message: unknownField(key, TASK_FIELDS) });
  const hasPrompt = 'prompt' in record;
  const hasCommand = 'command' in record;
  if (hasPrompt && hasCommand) {
    issues.push({ path: name, message: 'has both `prompt` and `command`; a task is one or the other' });
    return null;
  }
  if (!hasPrompt && !hasCommand) {
    // A misspelt `prompt` or `command` was reported above, as such.
    const misspelt = unknown.some((key) => ['prompt', 'command'].includes(closestName(key, TASK_FIELDS) ?? ''));
    if (!misspelt) issues.push({ path: name, message: 'needs a `prompt` (agent task) or a `command` (command task)' });
    return null;
  }
  const fields = hasPrompt ? AGENT_FIELDS : COMMAND_FIELDS;
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (fields.has(key)) own[key] = value;
    else if (TASK_FIELDS.includes(key)) {
      const message = hasPrompt
        ? 'is a setting of command tasks (tasks with a `command`); an agent task gives JSON with output_schema'
        : 'is a setting of agent tasks (tasks with a `prompt`), not of command tasks';
      issues.push({ path: `${name}.${key}`, message });
    }
  }
  const schema = hasPrompt ? agentTaskSchema : commandTaskSchema;
  const input = withDefaults(own, defaults, fields);
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, [name], input));
    return null;
  }
  // A task whose only problems are extra fields stays, so its templates are checked too.
  const task = { ...parsed.data, kind: hasPrompt ? 'agent' : 'command' } as Task;
  if (task.cwd !== undefined) task.cwd = resolve(baseDir, task.cwd);
  resolveOutputSchema(task, parsed.data.output_schema, name, baseDir, issues);
  return task;
}

/** The fields of a looping or fan-out group, checked as on a task. */
const groupSchema = agentTaskSchema.pick({ id: true, depends_on: true, when: true, repeat: true, for_each: true, max_parallel: true, max_items: true, allow_failure: true });

/**
 * A looping (`repeat`) or fan-out (`for_each`) group: one task whose `body` is its tasks under
 * their local ids (plain groups inside flattened to `<inner>.<child>`). A reference to a child
 * written in full (`tasks.<group>.<child>`) reads the sibling, as `tasks.<child>` does.
 */
function parseGroupTask(record: Record<string, unknown>, name: string, defaults: TaskDefaults, baseDir: string, issues: ValidationIssue[]): GroupTask | null {
  const fields = Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'tasks' && key !== 'description' && (GROUP_FIELDS as readonly string[]).includes(key)));
  const parsed = groupSchema.safeParse(fields);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [name], fields));
  if (!Array.isArray(record.tasks) || record.tasks.length === 0) {
    issues.push({ path: `${name}.tasks`, message: 'a group needs a list of at least one task' });
    return null;
  }
  const id = String(record.id);
  const local: ValidationIssue[] = [];
  const children = (hasGroups(record.tasks) ? flattenGroups(record.tasks, local).tasks : record.tasks).map((child) => withLocalReferences(child, id));
  const body: LeafTask[] = [];
  children.forEach((child, i) => {
    const nested = typeof child === 'object' && child !== null && ((child as Record<string, unknown>).repeat !== undefined || (child as Record<string, unknown>).for_each !== undefined);
    if (nested || isUnitGroup(child)) {
      local.push({ path: taskLabel(child as Record<string, unknown>, i), message: `a loop or fan-out inside a ${record.repeat !== undefined ? 'looping' : 'fan-out'} group is not supported yet` });
      return;
    }
    const task = parseTask(child, i, defaults, baseDir, local);
    if (task && task.kind !== 'group') body.push(task);
  });
  const nodes = children.flatMap(graphNode);
  checkGraph(nodes, local);
  // A child reads its siblings (and, through the group, what the group depends on).
  for (const issue of local) issues.push({ ...issue, path: issue.path.replace(/^tasks\./, `${name}.`).replace(/^tasks\[/, `${name}.tasks[`) });
  if (!parsed.success) return null;
  const { id: _id, ...rest } = parsed.data;
  return {
    ...rest,
    kind: 'group',
    id,
    retry_count: 1,
    ...(typeof record.description === 'string' && { description: record.description }),
    body,
  } as GroupTask;
}

/** `tasks.<group>.<child>` in a child of a looping or fan-out group, as `tasks.<child>` (templates and CEL). */
function withLocalReferences(child: unknown, group: string): unknown {
  if (typeof child !== 'object' || child === null || Array.isArray(child)) return child;
  const full = new RegExp(`(\\{\\{\\s*tasks|\\btasks)\\.${group.replace(/[.]/g, '\\.')}\\.(?=[A-Za-z0-9_])`, 'g');
  const local = (text: unknown) => (typeof text === 'string' ? text.replace(full, '$1.') : text);
  const out: Record<string, unknown> = { ...(child as Record<string, unknown>) };
  for (const key of ['prompt', 'when'] as const) if (key in out) out[key] = local(out[key]);
  if (Array.isArray(out.command)) out.command = out.command.map(local);
  for (const key of ['cache', 'remember'] as const) {
    const entry = out[key];
    if (isPlainObject(entry)) out[key] = { ...entry, key: local(entry.key) };
  }
  return out;
}

/** A task's own fields over the workflow's defaults: `env` merges key by key, the rest is replaced whole. */
function withDefaults(own: Record<string, unknown>, defaults: TaskDefaults, fields: Set<string>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(defaults)) {
    // Agent-only defaults (model, max_turns, ...) do not apply to command tasks.
    if (fields.has(key)) merged[key] = value;
  }
  Object.assign(merged, own);
  if (isPlainObject(defaults.env) && isPlainObject(own.env) && fields.has('env')) merged.env = { ...defaults.env, ...own.env };
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message for an unknown field: the name probably meant, or the names there are. */
function unknownField(key: string, known: readonly string[], hint = ''): string {
  const near = closestName(key, known);
  return near !== undefined ? `unknown field: did you mean \`${near}\`?` : `unknown field (known: ${known.join(', ')})${hint}`;
}

function taskLabel(record: Record<string, unknown>, index: number): string {
  return typeof record.id === 'string' && record.id !== '' ? `tasks.${record.id}` : `tasks[${index}]`;
}

/** zod's issues as ours: a path naming the task by id, and a message that says what to write ({@link schemaMessage}). */
function zodIssues(error: z.ZodError, prefix: string[], input: unknown, rawTasks: unknown[] = []): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    const path = [...issue.path];
    // Task entries are checked one by one with their own schema.
    if (prefix.length === 0 && path[0] === 'tasks' && path.length > 1) return [];
    const parts = [...prefix];
    for (const [i, key] of path.entries()) {
      if (i === 1 && path[0] === 'tasks' && typeof key === 'number' && prefix.length === 0) {
        parts.pop();
        parts.push(taskLabel((rawTasks[key] ?? {}) as Record<string, unknown>, key));
      } else parts.push(typeof key === 'number' ? `[${key}]` : String(key));
    }
    const at = parts.join('.').replace(/\.\[/g, '[') || '(workflow)';
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unrecognized(at, key));
    const field = path.findLast((key): key is string => typeof key === 'string') ?? '';
    return [{ path: at, message: schemaMessage(issue, field, valueAt(input, path)) }];
  });
}

/** What `path` points at in `input` (`undefined` where nothing is). */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** An unknown key of the workflow or of its `defaults` (tasks are checked before zod sees them). */
function unrecognized(at: string, key: string): ValidationIssue {
  if (at === 'defaults') {
    const perTask = TASK_FIELDS.includes(key) && !DEFAULT_FIELDS.includes(key);
    return {
      path: `defaults.${key}`,
      message: perTask ? `\`${key}\` is set in each task, not in \`defaults\`` : unknownField(key, DEFAULT_FIELDS),
    };
  }
  if (/\.wait_for$/.test(at)) return { path: `${at}.${key}`, message: unknownField(key, WAIT_FOR_FIELDS) };
  if (/\.(cache|remember)$/.test(at)) return { path: `${at}.${key}`, message: unknownField(key, MEMORY_ENTRY_FIELDS) };
  const path = at === '(workflow)' ? key : `${at}.${key}`;
  return { path, message: unknownField(key, WORKFLOW_FIELDS, '; top-level keys starting with `x-` are ignored (for YAML anchors)') };
}

/** The id and dependencies of a task entry, even when other fields of it are invalid. */
interface GraphNode {
  id: string;
  depends_on: string[];
}

function graphNode(raw: unknown): GraphNode[] {
  const record = raw as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || record.id === '') return [];
  const deps = Array.isArray(record.depends_on) ? record.depends_on.filter((d): d is string => typeof d === 'string') : [];
  return [{ id: record.id, depends_on: deps }];
}

function checkGraph(tasks: GraphNode[], issues: ValidationIssue[]): void {
  const byId = new Map<string, GraphNode>();
  for (const task of tasks) {
    if (byId.has(task.id)) issues.push({ path: `tasks.${task.id}.id`, message: `duplicate task id "${task.id}"` });
    else byId.set(task.id, task);
  }
  for (const task of tasks) {
    for (const dep of task.depends_on) {
      if (dep === task.id) issues.push({ path: `tasks.${task.id}.depends_on`, message: 'a task cannot depend on itself' });
      else if (!byId.has(dep)) issues.push({ path: `tasks.${task.id}.depends_on`, message: `unknown task "${dep}"` });
    }
  }
  for (const cycle of findCycles(tasks, byId)) {
    issues.push({ path: `tasks.${cycle[0]}.depends_on`, message: `dependency cycle: ${cycle.join(' → ')}` });
  }
}

/** Iterative DFS (no recursion: 10,000-task chains must not overflow the stack). */
function findCycles(tasks: GraphNode[], byId: Map<string, GraphNode>): string[][] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  const cycles: string[][] = [];
  for (const root of tasks) {
    if ((color.get(root.id) ?? WHITE) !== WHITE) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: root.id, next: 0 }];
    const path: string[] = [root.id];
    color.set(root.id, GREY);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const deps = byId.get(frame.id)?.depends_on ?? [];
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!;
        if (dep === frame.id || !byId.has(dep)) continue;
        const c = color.get(dep) ?? WHITE;
        if (c === GREY) {
          const start = path.indexOf(dep);
          cycles.push([...path.slice(start), dep]);
        } else if (c === WHITE) {
          color.set(dep, GREY);
          stack.push({ id: dep, next: 0 });
          path.push(dep);
        }
      } else {
        color.set(frame.id, BLACK);
        stack.pop();
        path.pop();
      }
    }
  }
  return cycles;
}

function resolveInputs(
  declared: Record<string, string | number | boolean | null> | undefined,
  given: Record<string, string>,
  issues: ValidationIssue[],
  lintOnly: boolean,
): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [name, value] of Object.entries(declared ?? {})) {
    if (value !== null) inputs[name] = String(value);
  }
  for (const [name, value] of Object.entries(given)) {
    if (!INPUT_NAME.test(name)) {
      issues.push({ path: `inputs.${name}`, message: 'an input name uses letters, digits and _, and does not start with a digit' });
      continue;
    }
    if (declared && !Object.hasOwn(declared, name)) {
      issues.push({ path: `inputs.${name}`, message: `not an input of this workflow (it declares: ${Object.keys(declared).join(', ') || 'none'})` });
      continue;
    }
    inputs[name] = value;
  }
  for (const [name, value] of Object.entries(declared ?? {})) {
    if (value === null && !Object.hasOwn(given, name) && !lintOnly) {
      issues.push({ path: `inputs.${name}`, message: `required input not given (--input ${name}=...)` });
    }
  }
  return inputs;
}

/**
 * Where a task's templates and expressions are checked: at the top of the workflow, or in the
 * body of a looping or fan-out group (`siblings`: its tasks' local ids, which `previous` may
 * read in a loop; `item`/`index` in a fan-out, `iteration` in a loop).
 */
interface CheckScope {
  loop: boolean;
  fanout: boolean;
  siblings: Set<string>;
  /** The looping and fan-out groups of the workflow, by id: `tasks.<group>.<child>` reads through the group. */
  units: Map<string, GroupTask>;
}

const TOP_SCOPE = (units: Map<string, GroupTask>): CheckScope => ({ loop: false, fanout: false, siblings: new Set(), units });

/** The task a reference reads: itself, or for `<group>.<child>` of a looping or fan-out group, the group. */
function readTarget(id: string, byId: Map<string, GraphNode>, units: Map<string, GroupTask>): string {
  if (byId.has(id)) return id;
  for (const [group, task] of units) {
    if (id.startsWith(`${group}.`) && task.body.some((child) => child.id === id.slice(group.length + 1))) return group;
  }
  return id;
}

/** The texts of a leaf task's templates, by field. */
function templateTexts(task: LeafTask): Array<readonly [string, string]> {
  const texts: Array<readonly [string, string]> = task.kind === 'agent' ? [['prompt', task.prompt]] : task.command.map((arg, i) => [`command[${i}]`, arg] as const);
  if (task.cache) texts.push(['cache.key', task.cache.key]);
  if (task.remember) texts.push(['remember.key', task.remember.key]);
  return texts;
}

function checkTemplates(tasks: Task[], nodes: GraphNode[], inputs: Set<string>, issues: ValidationIssue[], scope: CheckScope): void {
  const byId = new Map<string, GraphNode>();
  for (const node of nodes) if (!byId.has(node.id)) byId.set(node.id, node);
  const waitsFor = new Map(tasks.filter((t) => t.wait_for).map((t) => [t.id, t.wait_for!.event]));
  for (const task of tasks) {
    if (task.kind === 'group') continue;
    const texts = templateTexts(task);
    let ancestors: Set<string> | null = null;
    for (const [field, text] of texts) {
      const isKey = field.endsWith('.key');
      for (const ref of templateRefs(text)) {
        const path = `tasks.${task.id}.${field}`;
        if (ref.kind === 'invalid') {
          issues.push({
            path,
            message:
              `unknown placeholder ${ref.raw} (use {{tasks.<id>.output}}, {{tasks.<id>.session_id}}, {{tasks.<id>.status}}, {{tasks.<id>.exit_code}}, {{tasks.<id>.commit}}, {{tasks.<id>.branch}}, {{tasks.<id>.json[.<path>]}}, {{workspace.ports}}, {{inputs.<name>}}, {{events.<type>.payload}}, ` +
              `{{memory.<key>}}, {{memory.<key> | "default"}} or {{hash "<path or glob>"}}; write \\{{...}} for a literal {{...}})`,
          });
        } else if (ref.kind === 'memory') {
          // A key read from memory would make the entry depend on what it is stored under.
          if (isKey) issues.push({ path, message: `${ref.raw}: a memory key is made of inputs, dependencies' outputs and {{hash "..."}}, not of memory` });
        } else if (ref.kind === 'hash') {
          // Read when the task runs, relative to its cwd.
        } else if (ref.kind === 'event') {
          // The event must have arrived before the task starts: it waits for it, or a task it depends on did.
          ancestors ??= ancestorsOf(task, byId);
          const waited = [task.id, ...ancestors].some((id) => waitsFor.get(id) === ref.eventType);
          if (!waited) {
            issues.push({
              path,
              message: `${ref.raw}: neither this task nor a task it depends on waits for "${ref.eventType}" (add wait_for: ${ref.eventType})`,
            });
          }
        } else if (ref.kind === 'input') {
          if (!inputs.has(ref.name)) issues.push({ path, message: `${ref.raw} refers to input "${ref.name}", which was not given` });
        } else if (ref.kind === 'workspace') {
          if (task.ports === undefined) issues.push({ path, message: `${ref.raw} is only known in a task with ports: (the ports reserved for it)` });
        } else if (ref.kind === 'item' || ref.kind === 'index') {
          if (task.for_each === undefined && !scope.fanout) issues.push({ path, message: `${ref.raw} is only known in a fan-out (a task or group with for_each:)` });
        } else if (ref.kind === 'iteration') {
          if (task.repeat === undefined && !scope.loop) issues.push({ path, message: `${ref.raw} is only known in a loop (a task or group with repeat:)` });
        } else {
          const previous = /^(.+)\.previous$/.exec(ref.taskId)?.[1];
          if (previous !== undefined && ((scope.loop && scope.siblings.has(previous)) || (task.repeat !== undefined && previous === task.id))) continue;
          if (previous !== undefined && byId.has(previous) && !byId.has(ref.taskId)) {
            issues.push({ path, message: `${ref.raw}: previous is only known in a loop (a task with repeat: reads its own, a looping group's tasks their siblings')` });
            continue;
          }
          const read = ref.kind === 'task' && ref.field === 'outputs' ? tasks.find((t) => t.id === ref.taskId) : undefined;
          if (read !== undefined && read.for_each === undefined) {
            issues.push({ path, message: `${ref.raw}: task "${ref.taskId}" is not a fan-out (outputs is the list of a for_each task's outputs; use {{tasks.${ref.taskId}.output}})` });
          }
          if (ref.kind === 'task' && (ref.field === 'commit' || ref.field === 'branch')) {
            const read = tasks.find((t) => t.id === ref.taskId);
            if (read !== undefined && read.workspace?.mode !== 'worktree') {
              issues.push({ path, message: `${ref.raw}: task "${ref.taskId}" does not run in a worktree (only a task with workspace: worktree has a commit and a branch)` });
            }
          }
          ancestors ??= ancestorsOf(task, byId);
          const target = readTarget(ref.taskId, byId, scope.units);
          if (!ancestors.has(target)) {
            const why = byId.has(target) ? 'is not a (transitive) dependency of this task' : 'does not exist';
            issues.push({ path, message: `${ref.raw}: task "${ref.taskId}" ${why}` });
          }
        }
      }
    }
  }
}

function ancestorsOf(task: Task, byId: Map<string, GraphNode>): Set<string> {
  const seen = new Set<string>();
  const stack = [...task.depends_on];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.depends_on ?? []));
  }
  return seen;
}

/**
 * A task's `output_schema`: read from its file (relative to the workflow file) and compiled
 * with ajv; a missing file or a schema ajv refuses is an issue naming the task and field.
 */
function resolveOutputSchema(task: Task, given: unknown, name: string, baseDir: string, issues: ValidationIssue[]): void {
  if (given === undefined) return;
  const path = `${name}.output_schema`;
  let schema: unknown = given;
  if (typeof given === 'string') {
    try {
      schema = readOutputSchemaFile(given, baseDir);
    } catch (error) {
      issues.push({ path, message: (error as Error).message });
      delete task.output_schema;
      return;
    }
  }
  const problem = outputSchemaProblem(schema);
  if (problem !== null) {
    issues.push({ path, message: typeof given === 'string' ? `${given} ${problem}` : problem });
    delete task.output_schema;
    return;
  }
  task.output_schema = schema as Record<string, unknown>;
  if (task.kind === 'command' && task.output === 'text') {
    issues.push({ path: `${name}.output`, message: 'is text, but output_schema checks JSON: write output: json (or leave it out)' });
  }
}

/** Whether a task entry gives structured output (`output_schema`, or a command's `output: json`), even when it has other problems. */
function declaresJson(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const record = raw as Record<string, unknown>;
  return record.output_schema !== undefined || record.output === 'json';
}

/** `{{tasks.<id>.json...}}` reads a task that gives structured output. */
function checkJsonRefs(tasks: Task[], rawTasks: unknown[], issues: ValidationIssue[]): void {
  const structured = new Set<string>();
  for (const raw of rawTasks) {
    if (declaresJson(raw) && typeof (raw as { id?: unknown }).id === 'string') structured.add((raw as { id: string }).id);
  }
  const known = new Set(rawTasks.map((raw) => (raw as { id?: unknown } | null)?.id));
  // A looping or fan-out group gives its last-declared task's JSON; `<group>.<child>` a child's.
  for (const task of tasks) {
    if (task.kind !== 'group') continue;
    for (const child of task.body) {
      known.add(`${task.id}.${child.id}`);
      if (declaresJson(child)) structured.add(`${task.id}.${child.id}`);
    }
    if (declaresJson(task.body.at(-1))) structured.add(task.id);
  }
  for (const task of tasks) {
    if (task.kind === 'group') continue;
    for (const [field, text] of templateTexts(task)) {
      for (const ref of templateRefs(text)) {
        if (ref.kind !== 'json' || !known.has(ref.taskId)) continue;
        if (structured.has(ref.taskId)) {
          // A fan-out's json is the list of its instances' (not checked against the schema of one).
          const read = tasks.find((t) => t.id === ref.taskId);
          const schema = read?.for_each === undefined ? read?.output_schema : undefined;
          const problem = typeof schema === 'object' && ref.path.length > 0 ? schemaPathProblem(schema, ref.path) : null;
          if (problem !== null) issues.push({ path: `tasks.${task.id}.${field}`, message: `${ref.raw}: task "${ref.taskId}"'s output_schema: ${problem}` });
          continue;
        }
        issues.push({
          path: `tasks.${task.id}.${field}`,
          message: `${ref.raw}: task "${ref.taskId}" gives no JSON (give it an output_schema, or output: json on a command)`,
        });
      }
    }
  }
}

/**
 * The expressions of the tasks (`when:`, `for_each:`, `repeat.until`): CEL syntax, names
 * (`inputs`, `tasks`; `item`/`index` in a fan-out, `iteration` in a loop), the tasks they read
 * (each a transitive dependency; an `until` may read the loop's own tasks) and their fields, the
 * inputs they read; each problem with its column.
 */
function checkExpressions(tasks: Task[], nodes: GraphNode[], inputs: Set<string>, issues: ValidationIssue[], scope: CheckScope): void {
  const byId = new Map<string, GraphNode>();
  for (const node of nodes) if (!byId.has(node.id)) byId.set(node.id, node);
  const ids = [...byId.keys()];
  const inBody: ExprScope = { variables: [...(scope.fanout ? ['item', 'index'] : []), ...(scope.loop ? ['iteration'] : [])], free: new Set(), previous: scope.loop ? scope.siblings : new Set() };
  const ctx = { tasks, byId, ids, inputs, issues, units: scope.units };
  for (const task of tasks) {
    // A function (a workflow built in code) is not CEL: nothing to check before it runs.
    for (const part of task.when === undefined ? [] : conditionParts(task.when)) {
      if (typeof part === 'string') checkExpressionOf(task, 'when', part, inBody, ctx);
    }
    if (task.for_each !== undefined) checkExpressionOf(task, 'for_each', task.for_each, inBody, ctx);
    if (task.repeat !== undefined) {
      // `until` reads the iteration just ended: the loop's own tasks, whatever their order.
      const own = task.kind === 'group' ? new Set(task.body.flatMap((c) => [c.id, `${task.id}.${c.id}`])) : new Set([task.id]);
      if (typeof task.repeat.until === 'string') checkExpressionOf(task, 'repeat.until', task.repeat.until, { variables: [...inBody.variables, 'iteration'], free: own, previous: own }, ctx);
      if (task.for_each !== undefined) issues.push({ path: `tasks.${task.id}.repeat`, message: 'a task (or group) has either for_each or repeat, not both' });
      for (const field of ['wait_for', 'publish'] as const) {
        if (task[field] !== undefined) issues.push({ path: `tasks.${task.id}.${field}`, message: `a loop (repeat) cannot ${field === 'publish' ? 'publish' : 'wait for an event'} yet: put ${field} on a task ${field === 'publish' ? 'that depends on it' : 'it depends on'}` });
      }
    }
    if (task.for_each !== undefined && task.wait_for !== undefined) {
      issues.push({ path: `tasks.${task.id}.wait_for`, message: 'a fan-out task (for_each) cannot wait for an event yet: put wait_for on a task it depends on' });
    }
    if (task.for_each !== undefined && task.publish !== undefined) {
      issues.push({ path: `tasks.${task.id}.publish`, message: 'a fan-out task (for_each) cannot publish yet: put publish on a task that depends on it' });
    }
    if (task.for_each === undefined) {
      for (const field of ['max_parallel', 'max_items'] as const) {
        if (task[field] !== undefined) issues.push({ path: `tasks.${task.id}.${field}`, message: `is only for a fan-out task (one with for_each:)` });
      }
    }
  }
}

/** What an expression may read besides `inputs` and the task's dependencies. */
interface ExprScope {
  /** `item`, `index`, `iteration`, where they exist. */
  variables: string[];
  /** Tasks it may read without depending on them (an `until`: the loop's own). */
  free: Set<string>;
  /** Siblings whose `previous` it may read (in a loop's body). */
  previous: Set<string>;
}

const SCOPED_VARIABLES: Record<string, string> = {
  item: 'is only known inside a fan-out (a task\'s templates, or the tasks of a group with for_each)',
  index: 'is only known inside a fan-out (a task\'s templates, or the tasks of a group with for_each)',
  iteration: 'is only known inside a loop (a task or group with repeat)',
};

/** One expression of a task: `when` (a condition), `for_each` (a list) or `repeat.until` (a condition). */
function checkExpressionOf(
  task: Task,
  field: 'when' | 'for_each' | 'repeat.until',
  source: string,
  scope: ExprScope,
  { tasks, byId, ids, inputs, issues, units }: { tasks: Task[]; byId: Map<string, GraphNode>; ids: string[]; inputs: Set<string>; issues: ValidationIssue[]; units: Map<string, GroupTask> },
): void {
  const path = `tasks.${task.id}.${field}`;
  const at = (offset: number) => `at ${positionOf(source, offset)} of \`${source}\``;
  const check = checkExpression(source, { extraVariables: scope.variables });
  const known = [...EXPRESSION_VARIABLES, ...scope.variables];
  for (const problem of check.problems) {
    if (problem.kind === 'syntax') issues.push({ path, message: `syntax error ${at(problem.offset)}: ${problem.message}` });
    else if (problem.kind === 'unknown_name') {
      const scoped = SCOPED_VARIABLES[problem.name!];
      const near = closestName(problem.name!, known);
      issues.push({
        path,
        message: scoped !== undefined ? `\`${problem.name}\` ${at(problem.offset)} ${scoped}` : `unknown name "${problem.name}" ${at(problem.offset)}${near ? ` (did you mean \`${near}\`?)` : ''}; an expression reads ${known.slice(0, -1).join(', ')} and ${known.at(-1)}`,
      });
    } else issues.push({ path, message: `${problem.message} ${at(problem.offset)}` });
  }
  if (check.problems.some((p) => p.kind === 'syntax')) return;
  if (field !== 'for_each' && check.type !== undefined && check.type !== 'bool' && check.type !== 'dyn') {
    issues.push({ path, message: `\`${source}\` gives a ${check.type}, not a boolean (a condition is true or false)` });
  }
  if (field === 'for_each' && check.type !== undefined && !check.type.startsWith('list') && check.type !== 'dyn') {
    issues.push({ path, message: `\`${source}\` gives a ${check.type}, not a list (for_each runs the task once per item of a list)` });
  }
  let ancestors: Set<string> | null = null;
  for (const ref of check.refs) {
    if (ref.kind === 'input') {
      if (!inputs.has(ref.name)) issues.push({ path, message: `${ref.text} ${at(ref.offset)}: the workflow has no input "${ref.name}"` });
      continue;
    }
    if (ref.kind !== 'task') continue;
    let { field: readField, path: readPath } = ref;
    const isPrevious = readField === 'previous' && scope.previous.has(ref.taskId);
    if (isPrevious) [readField, ...readPath] = readPath;
    const target = isPrevious || scope.free.has(ref.taskId) ? ref.taskId : readTarget(ref.taskId, byId, units);
    if (!isPrevious && !scope.free.has(ref.taskId)) {
      if (!byId.has(target)) {
        const near = closestName(ref.taskId, ids);
        issues.push({ path, message: `${ref.text} ${at(ref.offset)}: task "${ref.taskId}" does not exist${near ? ` (did you mean "${near}"?)` : ''}` });
        continue;
      }
      ancestors ??= ancestorsOf(task, byId);
      if (!ancestors.has(target)) {
        const loop = field === 'repeat.until' ? ' (an until reads the loop\'s own tasks and what the loop depends on)' : '';
        issues.push({
          path,
          message: `${ref.text} ${at(ref.offset)}: task "${ref.taskId}" is not a (transitive) dependency of task "${task.id}" (add "${target}" to its depends_on)${loop}`,
        });
      }
    }
    if (readField !== undefined && !(TASK_VARIABLE_FIELDS as readonly string[]).includes(readField)) {
      const near = closestName(readField, TASK_VARIABLE_FIELDS);
      issues.push({
        path,
        message: `${ref.text} ${at(ref.offset)}: unknown field "${readField}" of task "${ref.taskId}"${near ? ` (did you mean \`${near}\`?)` : ''}; its fields: ${TASK_VARIABLE_FIELDS.join(', ')}${scope.previous.size > 0 ? ' (and previous, in a loop)' : ''}`,
      });
    } else if (readField !== undefined && readField !== 'json' && readPath.length > 0) {
      issues.push({ path, message: `${ref.text} ${at(ref.offset)}: tasks.${ref.taskId}.${readField} has no fields (only json does)` });
    } else if (readField === 'json' && readPath.length > 0) {
      const read = tasks.find((t) => t.id === target);
      const schema = read?.for_each === undefined ? read?.output_schema : undefined;
      const problem = typeof schema === 'object' ? schemaPathProblem(schema, readPath) : null;
      if (problem !== null) issues.push({ path, message: `${ref.text} ${at(ref.offset)}: task "${ref.taskId}"'s output_schema: ${problem}` });
    }
  }
}

/**
 * The tasks of each looping or fan-out group, checked in the group's scope: templates and
 * expressions read siblings (by their local ids) and what the group depends on; problems are
 * named `tasks.<group>.<child>...`.
 */
function checkBodies(tasks: Task[], nodes: GraphNode[], inputs: Set<string>, issues: ValidationIssue[], units: Map<string, GroupTask>): void {
  for (const group of units.values()) {
    const siblings = new Set(group.body.map((t) => t.id));
    const body = group.body.map((t) => ({ ...t, depends_on: [...t.depends_on, ...group.depends_on] }));
    const bodyNodes = [...body.map((t) => ({ id: t.id, depends_on: t.depends_on })), ...nodes.filter((n) => !siblings.has(n.id))];
    const scope: CheckScope = { loop: group.repeat !== undefined, fanout: group.for_each !== undefined, siblings, units };
    const local: ValidationIssue[] = [];
    checkTemplates(body, bodyNodes, inputs, local, scope);
    checkJsonRefs(body, group.body, local);
    checkExpressions(body, bodyNodes, inputs, local, scope);
    for (const issue of local) issues.push({ ...issue, path: issue.path.replace(/^tasks\./, `tasks.${group.id}.`) });
  }
}
