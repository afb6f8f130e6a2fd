/**
 * What `rerun <run> --from <task> [--only]` keeps of a stored run and what it runs again
 * (LangGraph's fork from a checkpoint, Temporal's reset): the records of the tasks that are
 * kept, as the new run starts from them.
 *
 * @module
 */
import { emptyTokens } from '../claude/stream-json.js';
import { ValidationError } from '../errors.js';
import type { Workflow } from './spec.js';
import { closestName } from './closest-name.js';
import { parseUnitId } from './fan-out.js';
import type { TaskRecord } from './workflow-result.js';

/** Where a rerun comes from: stored in the new run (`RunCheckpoint.rerunOf`). */
export interface RerunOrigin {
  /** The run it was made from. */
  runId: string;
  /** The task it runs again from (`--from`). */
  fromTask: string;
  /** `--only`: only `fromTask` ran again; its dependants kept their records. */
  only?: boolean;
}

/** What a rerun keeps and what it runs. */
export interface RerunPlan {
  /** The records the new run starts with: one per kept task (completed, with its output). */
  kept: TaskRecord[];
  /** The tasks that run again, in workflow order. */
  rerun: string[];
}

/**
 * The tasks downstream of `taskId` (its dependants, theirs, ...), `taskId` included, in
 * workflow order.
 */
export function downstreamOf(workflow: Workflow, taskId: string): string[] {
  const dependants = new Map<string, string[]>();
  for (const task of workflow.tasks) {
    for (const dep of task.depends_on) {
      const list = dependants.get(dep);
      if (list) list.push(task.id);
      else dependants.set(dep, [task.id]);
    }
  }
  const seen = new Set([taskId]);
  const stack = [taskId];
  while (stack.length > 0) {
    for (const d of dependants.get(stack.pop()!) ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return workflow.tasks.filter((t) => seen.has(t.id)).map((t) => t.id);
}

/**
 * Plans a rerun of `runId` from `fromTask`. Kept: every task that completed in the old run and
 * is not run again (its record copied, output and attempt log included, marked `keptFrom`; its
 * tokens and cost are not counted again: they stay the old run's). Run again: `fromTask` and,
 * without `only`, every task downstream of it; and any task that did not complete in the old
 * run (failed, skipped, cancelled, never started), since it has no output to keep.
 *
 * @throws ValidationError naming `fromTask` when the workflow has no such task.
 */
export function planRerun(workflow: Workflow, records: TaskRecord[], runId: string, fromTask: string, only = false): RerunPlan {
  const ids = workflow.tasks.map((t) => t.id);
  if (!ids.includes(fromTask)) {
    const close = closestName(fromTask, ids);
    throw new ValidationError(
      `--from: run ${runId} (workflow ${workflow.id}) has no task "${fromTask}"${close ? `; did you mean "${close}"?` : ''} (its tasks: ${ids.join(', ')})`,
      [{ path: 'from', message: `no task "${fromTask}"` }],
    );
  }
  const again = new Set(only ? [fromTask] : downstreamOf(workflow, fromTask));
  const byId = new Map(records.map((r) => [r.taskId, r]));
  // The records of each fan-out's instances and each loop's iterations, by declared task.
  const members = new Map<string, TaskRecord[]>();
  for (const r of records) {
    const of = parseUnitId(r.taskId)?.of;
    if (of === undefined) continue;
    const list = members.get(of);
    if (list) list.push(r);
    else members.set(of, [r]);
  }
  const kept: TaskRecord[] = [];
  const rerun: string[] = [];
  for (const id of ids) {
    const old = byId.get(id);
    if (!again.has(id) && old?.status === 'completed') {
      kept.push({ ...old, keptFrom: old.keptFrom ?? runId, tokens: emptyTokens(), costUsd: 0 });
      // A kept fan-out keeps its instances, a kept loop its iterations (their outputs are its outputs).
      for (const member of members.get(id) ?? []) kept.push({ ...member, keptFrom: member.keptFrom ?? runId, tokens: emptyTokens(), costUsd: 0 });
    } else rerun.push(id);
  }
  return { kept, rerun };
}
