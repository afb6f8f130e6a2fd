/**
 * The dependency bookkeeping and the ready queue of a run, in plain arrays (they live in
 * machine context and checkpoints: no Map, no Set, no class).
 *
 * Tasks are referred to by their index in `workflow.tasks`. Among ready tasks, the one with
 * the longest remaining critical path starts first, then declaration order. The path is
 * weighted by each task's expected duration when one is known (see task-durations.ts), and
 * counted in tasks otherwise: with tasks of 50 ms and 600 ms, "three tasks to go" says little
 * about which chain ends last. Every operation is O(log n) or O(degree), so a 10,000-task
 * run costs the same per task as a 100-task one.
 *
 * @module
 */
import type { Task } from './spec.js';

/** Static facts of the task graph. */
export interface TaskGraph {
  /** `dependants[i]`: indices of the tasks that depend on task i. */
  dependants: number[][];
  /**
   * `priority[i]`: the longest path from task i to the end, i included: the sum of the
   * tasks' expected durations (ms) when given, else the number of tasks.
   */
  priority: number[];
  /** `dependencyCount[i]`: how many tasks task i depends on. */
  dependencyCount: number[];
}

/**
 * Builds the graph of a validated (acyclic) task list.
 *
 * @param expectedMs - expected duration of each task (ms, > 0), by index; default 1 each.
 */
export function buildTaskGraph(tasks: Task[], expectedMs?: number[]): TaskGraph {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => index.set(t.id, i));
  const dependants: number[][] = tasks.map(() => []);
  const dependencyCount = tasks.map((t) => t.depends_on.length);
  tasks.forEach((t, i) => {
    for (const dep of t.depends_on) dependants[index.get(dep)!]!.push(i);
  });
  // Longest path to a sink, computed in reverse topological order (Kahn on the reversed graph).
  const weight = (i: number): number => expectedMs?.[i] ?? 1;
  const priority = tasks.map((_, i) => weight(i));
  const pending = dependants.map((d) => d.length);
  const queue: number[] = [];
  pending.forEach((n, i) => {
    if (n === 0) queue.push(i);
  });
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    for (const dep of tasks[i]!.depends_on) {
      const d = index.get(dep)!;
      priority[d] = Math.max(priority[d]!, priority[i]! + weight(d));
      if (--pending[d]! === 0) queue.push(d);
    }
  }
  return { dependants, priority, dependencyCount };
}

/** Whether task `a` starts before task `b`: longer remaining path first, then declaration order. */
export function before(a: number, b: number, priority: number[]): boolean {
  const pa = priority[a]!;
  const pb = priority[b]!;
  return pa !== pb ? pa > pb : a < b;
}

/** Adds a task to the ready heap (in place). */
export function pushReady(heap: number[], task: number, priority: number[]): void {
  heap.push(task);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!, priority)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

/** Takes the task that should start next from the ready heap (in place). */
export function popReady(heap: number[], priority: number[]): number | undefined {
  if (heap.length === 0) return undefined;
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l]!, heap[best]!, priority)) best = l;
      if (r < heap.length && before(heap[r]!, heap[best]!, priority)) best = r;
      if (best === i) break;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
  }
  return top;
}
