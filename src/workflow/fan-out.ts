/**
 * Fan-out (`for_each`): the instances of a declared task, one per item of its recorded list.
 *
 * An instance is the declared task with the id `<task>[<index>]` (`impl[3]`: stable across
 * resumes, since the list is recorded once and never evaluated again), no dependencies of its
 * own (the declared task's were done before the list was evaluated) and no fan-out fields.
 *
 * @module
 */
import type { Task } from './spec.js';

/** The id of instance `index` of fan-out task `taskId`: `impl[3]`. */
export function instanceId(taskId: string, index: number): string {
  return `${taskId}[${index}]`;
}

/** `impl[3]` → `{ of: 'impl', index: 3 }`; `null` for an id that is not an instance's. */
export function parseInstanceId(id: string): { of: string; index: number } | null {
  const match = /^(.+)\[(\d+)\]$/.exec(id);
  return match ? { of: match[1]!, index: Number(match[2]) } : null;
}

/** Instance `index` of a fan-out task. */
export function instanceTask(task: Task, index: number): Task {
  const { for_each: _list, max_items: _max, max_parallel: _cap, when: _when, publish: _publish, ...rest } = task;
  return { ...rest, id: instanceId(task.id, index), depends_on: [], instance: { of: task.id, index } } as Task;
}

/**
 * The task a record id stands for: the declared task of that id, or, for an instance
 * (`impl[3]`), its fan-out task. `undefined` for an id the workflow does not know.
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
  const instance = parseInstanceId(taskId);
  const of = instance ? byId.get(instance.of) : undefined;
  return of?.for_each !== undefined ? of : undefined;
}

const taskMaps = new WeakMap<readonly unknown[], Map<string, unknown>>();

/**
 * Records in the order a person reads them: each fan-out's instances right under it, in item
 * order (a backend may hold them in the order they were first saved).
 */
export function withInstancesUnderTheirTask<R extends { taskId: string }>(records: readonly R[]): R[] {
  const instances = new Map<string, Array<{ index: number; record: R }>>();
  const declared: R[] = [];
  for (const record of records) {
    const instance = parseInstanceId(record.taskId);
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
