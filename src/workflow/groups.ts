/**
 * Groups: a task entry with its own `tasks:` is a sub-DAG. Validation flattens every group into
 * ordinary tasks with the ids `<group>.<child>` (nested: `<outer>.<inner>.<child>`), so the
 * orchestrator, the checkpoints and resume see plain tasks:
 *
 * - a child's `depends_on` names its siblings (a name that is not a sibling is read as a full
 *   task id, e.g. `build` or `other_group.child`); the group's own `depends_on` is added to
 *   every child, so the group is gated as a whole;
 * - a task depending on a group depends on every task of the group (nested groups included);
 * - the group's `when` is put on each of its tasks (before the task's own `when`, joined with
 *   `&&`): it reads only tasks the group depends on, which are finished before any of its tasks
 *   starts, so every task sees the same values;
 * - `tasks.<group>.<child>.<field>` (templates and CEL) reads a child, and
 *   `tasks.<group>.<field>` reads the group's last-declared child.
 *
 * @module
 */
import type { ValidationIssue } from '../errors.js';
import { allConditions, bothConditions, conditionParts, type Condition } from './condition-function.js';

/** The fields a group entry may have. */
export const GROUP_FIELDS = ['id', 'tasks', 'depends_on', 'when', 'description', 'repeat', 'for_each', 'max_parallel', 'max_items', 'allow_failure'] as const;

/**
 * A group that loops (`repeat`) or fans out (`for_each`) is not flattened: it stays one task
 * entry with its `tasks` (see `GroupTask`), run once per iteration or item by the orchestrator.
 */
export function isUnitGroup(raw: unknown): boolean {
  return isGroup(raw) && (raw.repeat !== undefined || raw.for_each !== undefined);
}

/** What {@link flattenGroups} gives: the task entries with no groups left, and the groups by full id (their tasks' full ids, in declared order). */
export interface FlatTasks {
  tasks: unknown[];
  groups: Record<string, string[]>;
}

interface GroupInfo {
  /** Full ids of the leaf tasks of the group (nested groups' tasks included). */
  leaves: string[];
  /** Full id of the last-declared leaf (the group's output). */
  last: string | undefined;
  /** Full ids of the direct children (groups included). */
  children: string[];
  /** A looping or fan-out group (see {@link isUnitGroup}): one task; its children are read through it. */
  unit?: true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isGroup(raw: unknown): raw is Record<string, unknown> & { tasks: unknown } {
  return isRecord(raw) && 'tasks' in raw;
}

/** Whether any entry is a group. */
export function hasGroups(rawTasks: unknown[]): boolean {
  return rawTasks.some(isGroup);
}

/** Flattens the groups of a workflow's task list (see the module's description); problems go to `issues`. */
export function flattenGroups(rawTasks: unknown[], issues: ValidationIssue[]): FlatTasks {
  const infos = new Map<string, GroupInfo>();
  collect(rawTasks, '', infos, issues);
  const out: unknown[] = [];
  emit(rawTasks, '', [], undefined, infos, out);
  const leafIds = new Set<string>();
  for (const raw of out) if (isRecord(raw) && typeof raw.id === 'string') leafIds.add(raw.id);
  for (const raw of out) if (isRecord(raw)) rewriteReferences(raw, infos, leafIds, issues);
  const groups: Record<string, string[]> = {};
  // A looping or fan-out group is one task: its children exist only per iteration or item.
  for (const [id, info] of infos) if (!info.unit) groups[id] = info.children;
  return { tasks: out, groups };
}

/** First pass: every group's leaves and children, and the problems of group entries. */
function collect(entries: unknown[], prefix: string, infos: Map<string, GroupInfo>, issues: ValidationIssue[]): string[] {
  const leaves: string[] = [];
  for (const raw of entries) {
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') continue;
    const full = prefix + raw.id;
    if (prefix !== '' && raw.id.includes('.')) {
      issues.push({ path: `tasks.${full}.id`, message: `a task of a group has an id without "." ("." joins a group's id and its tasks' ids)` });
    }
    if (!isGroup(raw)) {
      leaves.push(full);
      continue;
    }
    // (A looping or fan-out group nested in a plain group is validated as `<outer>.<group>`.)
    if (raw.id.includes('.') && prefix === '' && !isUnitGroup(raw)) {
      issues.push({ path: `tasks.${full}.id`, message: `a group's id has no "." ("." joins a group's id and its tasks' ids)` });
    }
    for (const key of Object.keys(raw)) {
      if ((GROUP_FIELDS as readonly string[]).includes(key)) continue;
      issues.push({ path: `tasks.${full}.${key}`, message: `is not a field of a group (a group has ${GROUP_FIELDS.join(', ')}; its tasks have the rest)` });
    }
    if (isUnitGroup(raw)) {
      // Its tasks are checked with the group (validate-workflow.ts), under their local ids.
      const children = Array.isArray(raw.tasks) ? raw.tasks.filter((t) => isRecord(t) && typeof t.id === 'string' && t.id !== '').map((t) => `${full}.${(t as { id: string }).id}`) : [];
      infos.set(full, { leaves: [full], last: full, children, unit: true });
      leaves.push(full);
      continue;
    }
    if (!Array.isArray(raw.tasks) || raw.tasks.length === 0) {
      issues.push({ path: `tasks.${full}.tasks`, message: 'a group needs a list of at least one task' });
      infos.set(full, { leaves: [], last: undefined, children: [] });
      continue;
    }
    const inner = collect(raw.tasks, `${full}.`, infos, issues);
    const children = raw.tasks.filter((t) => isRecord(t) && typeof t.id === 'string' && t.id !== '').map((t) => `${full}.${(t as { id: string }).id}`);
    const lastChild = children.at(-1);
    const last = lastChild === undefined ? undefined : (infos.get(lastChild)?.last ?? lastChild);
    infos.set(full, { leaves: inner, last, children });
    leaves.push(...inner);
  }
  return leaves;
}

/** A `depends_on` name, as full ids: a sibling (`prefix` + name) first, else a full id; a group stands for all its tasks. */
function resolveDep(name: string, siblings: Set<string>, prefix: string, infos: Map<string, GroupInfo>): string[] {
  const full = siblings.has(name) ? prefix + name : name;
  return infos.get(full)?.leaves ?? [full];
}

/** Second pass: the leaf tasks, with full ids, dependencies and conditions. */
function emit(entries: unknown[], prefix: string, outerDeps: string[], outerWhen: Condition | undefined, infos: Map<string, GroupInfo>, out: unknown[]): void {
  const siblings = new Set(entries.filter(isRecord).map((e) => e.id).filter((id): id is string => typeof id === 'string'));
  for (const raw of entries) {
    if (!isRecord(raw) || typeof raw.id !== 'string') {
      out.push(raw);
      continue;
    }
    const full = prefix + raw.id;
    const ownDeps = Array.isArray(raw.depends_on) ? raw.depends_on.filter((d): d is string => typeof d === 'string') : [];
    const deps = [...new Set([...outerDeps, ...ownDeps.flatMap((d) => resolveDep(d, siblings, prefix, infos))])];
    // A function (a workflow built in code) is a condition too: see condition-function.ts.
    const ownWhen = typeof raw.when === 'string' || typeof raw.when === 'function' ? (raw.when as Condition) : undefined;
    const when = outerWhen !== undefined && ownWhen !== undefined ? bothConditions(outerWhen, ownWhen) : (ownWhen ?? outerWhen);
    if (isUnitGroup(raw)) {
      const { when: _when, ...entry } = raw;
      out.push({ ...entry, id: full, depends_on: deps, ...(when !== undefined && { when }) });
      continue;
    }
    if (isGroup(raw)) {
      if (Array.isArray(raw.tasks)) emit(raw.tasks, `${full}.`, deps, when, infos, out);
      continue;
    }
    const task: Record<string, unknown> = { ...raw, id: full };
    if (prefix !== '' || ownDeps.some((d) => infos.has(d))) task.depends_on = deps;
    if (prefix !== '' && when !== undefined) task.when = when;
    out.push(task);
  }
}

const TEMPLATE_FIELDS = new Set(['output', 'outputs', 'session_id', 'status', 'exit_code', 'json']);

/**
 * `tasks.<group>.<child>...` and `tasks.<group>.<field>` in a task's templates and expressions,
 * as the flat ids: templates keep the dotted id (`tasks.g.c.output`), CEL reads it by index
 * (`tasks["g.c"].output`).
 */
function rewriteReferences(task: Record<string, unknown>, infos: Map<string, GroupInfo>, leafIds: Set<string>, issues: ValidationIssue[]): void {
  const where = `tasks.${String(task.id)}`;
  const template = (text: string, field: string): string =>
    text.replace(/(\{\{\s*tasks)((?:\.[A-Za-z0-9_-]+)+)/g, (match, head: string, chain: string) => {
      const resolved = resolveChain(chain.slice(1).split('.'), infos, leafIds, `${where}.${field}`, issues);
      return resolved === null ? match : `${head}.${[resolved.id, ...resolved.rest].join('.')}`;
    });
  const cel = (text: string, field: string): string =>
    text.replace(/\btasks((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g, (match, chain: string) => {
      const resolved = resolveChain(chain.slice(1).split('.'), infos, leafIds, `${where}.${field}`, issues);
      return resolved === null ? match : `tasks[${JSON.stringify(resolved.id)}]${resolved.rest.map((k) => `.${k}`).join('')}`;
    });
  if (typeof task.prompt === 'string') task.prompt = template(task.prompt, 'prompt');
  if (Array.isArray(task.command)) task.command = task.command.map((arg, i) => (typeof arg === 'string' ? template(arg, `command[${i}]`) : arg));
  for (const key of ['cache', 'remember'] as const) {
    const entry = task[key];
    if (isRecord(entry) && typeof entry.key === 'string') task[key] = { ...entry, key: template(entry.key, `${key}.key`) };
  }
  for (const key of ['when', 'for_each'] as const) {
    if (typeof task[key] === 'string') task[key] = cel(task[key] as string, key);
  }
  if (isRecord(task.repeat) && typeof task.repeat.until === 'string') task.repeat = { ...task.repeat, until: cel(task.repeat.until, 'repeat.until') };
  // A condition with a function (a workflow built in code): its CEL parts, each.
  if (typeof task.when === 'function') task.when = allConditions(conditionParts(task.when as Condition).map((p) => (typeof p === 'string' ? cel(p, 'when') : p)));
}

/** A chain after `tasks.` that starts with a group: the task it reads and the rest; `null` when it does not start with a group. */
function resolveChain(keys: string[], infos: Map<string, GroupInfo>, leafIds: Set<string>, path: string, issues: ValidationIssue[]): { id: string; rest: string[] } | null {
  if (!infos.has(keys[0]!)) return null;
  let group = keys[0]!;
  let i = 1;
  for (;;) {
    const next = keys[i];
    // A looping or fan-out group's child is read through the group (its last iteration, or every item).
    if (infos.get(group)!.unit && next !== undefined && infos.get(group)!.children.includes(`${group}.${next}`)) return { id: `${group}.${next}`, rest: keys.slice(i + 1) };
    if (next === undefined || TEMPLATE_FIELDS.has(next)) {
      const last = infos.get(group)!.last;
      if (last === undefined) return null;
      return { id: last, rest: keys.slice(i) };
    }
    const full = `${group}.${next}`;
    if (leafIds.has(full) && !infos.get(full)?.unit) return { id: full, rest: keys.slice(i + 1) };
    if (infos.has(full)) {
      group = full;
      i++;
      continue;
    }
    const children = infos.get(group)!.children.map((c) => c.slice(group.length + 1));
    issues.push({ path, message: `tasks.${keys.join('.')}: group "${group}" has no task "${next}" (its tasks: ${children.join(', ')})` });
    return null;
  }
}
