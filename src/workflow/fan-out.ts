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
