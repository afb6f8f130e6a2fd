/**
 * Fan-out (`for_each`) and loops (`repeat`): the tasks of a declared task's instances (one per
 * item of its recorded list) and iterations (one per turn of the loop). The same mechanism for
 * both: a **unit** is the declared task's body (the task itself, or a group's tasks) under a
 * prefix.
 *
 * - instance `index` of a fan-out task `impl`: `impl[3]`; of a group `impl` with child `code`:
 *   `impl[3].code` (stable across resumes: the list is recorded once, never evaluated again);
 * - iteration `k` (from 1) of a looping task `fix`: `fix#2`; of a looping group `fix_tests`
 *   with child `test`: `fix_tests#2.test`.
 *
 * A unit's tasks depend on their siblings in the same unit only (the declared task's
 * dependencies were done before it started), and carry no fan-out or loop fields.
 *
 * @module
 */
import type { LeafTask, Task } from './spec.js';

/** The id of instance `index` of fan-out task `taskId` (`impl[3]`), or of its group's child (`impl[3].code`). */
export function instanceId(taskId: string, index: number, child?: string): string {
  return child === undefined ? `${taskId}[${index}]` : `${taskId}[${index}].${child}`;
}

/** The id of iteration `k` (from 1) of looping task `taskId` (`fix#2`), or of its group's child (`fix_tests#2.test`). */
export function iterationId(taskId: string, k: number, child?: string): string {
  return child === undefined ? `${taskId}#${k}` : `${taskId}#${k}.${child}`;
}

/** What a record id of an instance or an iteration says: its declared task, which unit, and (in a group) the child. */
export interface UnitId {
  of: string;
  kind: 'instance' | 'iteration';
  /** The instance's index (from 0), or the iteration's number (from 1). */
  index: number;
  child?: string;
}

/** `impl[3]`, `impl[3].code`, `fix#2`, `fix_tests#2.test` → what they say; `null` for a declared task's id. */
export function parseUnitId(id: string): UnitId | null {
  // A declared id never has `[` or `#`: the first one ends the declared task's id.
  const match = /^([^[#]+)(?:\[(\d+)\]|#(\d+))(?:\.(.+))?$/.exec(id);
  if (!match) return null;
  const kind = match[2] !== undefined ? 'instance' : 'iteration';
  return { of: match[1]!, kind, index: Number(match[2] ?? match[3]), ...(match[4] !== undefined && { child: match[4] }) };
}

/** `impl[3]` (or `impl[3].code`) → `{ of: 'impl', index: 3 }`; `null` for an id that is not an instance's. */
export function parseInstanceId(id: string): { of: string; index: number } | null {
  const unit = parseUnitId(id);
  return unit?.kind === 'instance' ? { of: unit.of, index: unit.index } : null;
}

/** The tasks a unit of a declared task runs: the task itself, or a group's body. */
export function bodyOf(task: Task): LeafTask[] {
  if (task.kind === 'group') return task.body;
  const { for_each: _list, max_items: _max, max_parallel: _cap, when: _when, publish: _publish, repeat: _repeat, ...rest } = task;
  return [rest as LeafTask];
}

/** The tasks of instance `index` (`{ instance }`) or iteration `k` (`{ iteration }`) of a declared task, in body order. */
export function unitTasks(task: Task, unit: { instance: number } | { iteration: number }): LeafTask[] {
  const group = task.kind === 'group';
  const idOf = (child?: string) => ('instance' in unit ? instanceId(task.id, unit.instance, child) : iterationId(task.id, unit.iteration, child));
  const mark = 'instance' in unit ? { instance: { of: task.id, index: unit.instance } } : { iteration: { of: task.id, k: unit.iteration } };
  return bodyOf(task).map((child) => ({
    ...child,
    id: group ? idOf(child.id) : idOf(),
    depends_on: group ? child.depends_on.map((d) => idOf(d)) : [],
    ...mark,
    ...(group && { child: child.id }),
  })) as LeafTask[];
}

/**
 * The task a record id stands for: the declared task of that id; for an instance (`impl[3]`) or
 * an iteration (`fix#2`), its fan-out or looping task; for a group's (`impl[3].code`,
 * `fix_tests#2.test`), the group's task of that name (what runs). `undefined` for an id the
 * workflow does not know.
 */
export function declaredTaskOf<T extends { id: string; for_each?: string | undefined }>(tasks: readonly T[], taskId: string): T | undefined {
  // Looked up once per record: a map per task list, not a scan (quadratic on big runs).
  let byId = taskMaps.get(tasks) as Map<string, T> | undefined;
  if (!byId) {
    byId = new Map(tasks.map((t) => [t.id, t]));
    taskMaps.set(tasks, byId);
  }
  const task = byId.get(taskId);
  if (task) return task;
  const unit = parseUnitId(taskId);
  const of = unit ? (byId.get(unit.of) as (T & { repeat?: unknown; body?: T[] }) | undefined) : undefined;
  if (!unit || !of || (unit.kind === 'instance' ? of.for_each === undefined : of.repeat === undefined)) return undefined;
  if (unit.child === undefined) return of.body === undefined ? of : undefined;
  return of.body?.find((child) => child.id === unit.child);
}

const taskMaps = new WeakMap<readonly unknown[], Map<string, unknown>>();

/**
 * Records in the order a person reads them: each fan-out's instances and each loop's iterations
 * right under it, in item (iteration) order, a group's tasks in the order they were added (a
 * backend may hold them in the order they were first saved).
 */
export function withInstancesUnderTheirTask<R extends { taskId: string }>(records: readonly R[]): R[] {
  const instances = new Map<string, Array<{ index: number; record: R }>>();
  const declared: R[] = [];
  for (const record of records) {
    const instance = parseUnitId(record.taskId);
    if (instance) {
      const list = instances.get(instance.of) ?? [];
      list.push({ index: instance.index, record });
      instances.set(instance.of, list);
    } else declared.push(record);
  }
  if (instances.size === 0) return [...records];
  const out: R[] = [];
  for (const record of declared) {
    out.push(record);
    const list = instances.get(record.taskId);
    if (!list) continue;
    instances.delete(record.taskId);
    for (const { record: r } of list.sort((a, b) => a.index - b.index)) out.push(r);
  }
  // An id with brackets that is no instance of a task here stays, at the end.
  for (const list of instances.values()) for (const { record } of list) out.push(record);
  return out;
}
