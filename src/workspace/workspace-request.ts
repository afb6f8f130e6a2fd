/**
 * What the orchestrator machine hands the workspace layer for one attempt (plain JSON, in the
 * execution request) and how the layer's answer lands in the task's record. Pure functions:
 * the machine stays free of side effects, the layer (workspace-executor.ts) does the git work.
 *
 * @module
 */
import type { SerializedError } from '../errors.js';
import type { LeafTask, Task, Workflow } from '../workflow/spec.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import { bodyOf, instanceId, iterationId } from '../workflow/fan-out.js';
import { taskBranch, type StartingCommit } from './git-worktree.js';
import { worktreeBaseKey } from './workspace-preflight.js';

/** The workspace of one attempt: its ports, and its worktree (for a `workspace: worktree` task). */
export interface WorkspaceRequest {
  runId: string;
  taskId: string;
  /** How many free TCP ports to reserve (`ports:`). */
  ports?: number;
  worktree?: {
    /** The repository's top directory. */
    root: string;
    /** The run's base commit (the repository's `HEAD` when the run started). */
    base: string;
    /** The task's `cwd` inside the repository (`''` for its top). */
    path: string;
    branch: string;
    /** The commits it starts from (its dependencies'): none means the base. */
    from: StartingCommit[];
    author?: string;
    message?: string;
    /** The git remote the commits travel through (`workspace.remote`): fetched from, pushed to. */
    remote?: string;
  };
}

/** What a task's completed attempt made: its commit, on its branch. */
export interface WorkspaceResult {
  commit: string;
  branch: string;
}

/** Looks up a task and a record by id (the machine's own indexes). */
export interface WorkspaceLookup {
  task(taskId: string): Task | undefined;
  record(taskId: string): TaskRecord | undefined;
}

/**
 * The commits the dependencies `depIds` made, in order: a worktree task's commit; for a fan-out,
 * each instance's (each task of a group's instance); for a loop, its last iteration's; a
 * dependency without one (a shared task, a skipped one) stands for its own dependencies' commits.
 */
export function startingCommits(depIds: readonly string[], lookup: WorkspaceLookup, seen = new Set<string>()): StartingCommit[] {
  const out: StartingCommit[] = [];
  for (const id of depIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    const record = lookup.record(id);
    if (record?.commit !== undefined) {
      out.push({ taskId: id, commit: record.commit });
    } else if (record?.items !== undefined) {
      const instances = record.items.flatMap((_, k) => unitIds(lookup.task(id), id, { instance: k }));
      out.push(...startingCommits(instances, lookup, seen));
    } else if (record?.iteration !== undefined) {
      out.push(...startingCommits(unitIds(lookup.task(id), id, { iteration: record.iteration }), lookup, seen));
    } else {
      const task = lookup.task(id);
      if (task) out.push(...startingCommits(dependenciesOf(task, lookup), lookup, seen));
    }
  }
  return out;
}

/** The record ids of one instance or iteration of a declared task: `impl[3]`, or a group's `impl[3].<child>` each. */
function unitIds(declared: Task | undefined, id: string, unit: { instance: number } | { iteration: number }): string[] {
  const children = declared?.kind === 'group' ? bodyOf(declared).map((c) => c.id) : [undefined];
  return children.map((child) => ('instance' in unit ? instanceId(id, unit.instance, child) : iterationId(id, unit.iteration, child)));
}

/**
 * What a task starts from: its dependencies. A task of a group's instance or iteration depends
 * on its siblings there; the first of a unit starts where its fan-out or loop does, except that
 * iteration k > 1 starts from iteration k - 1.
 */
function dependenciesOf(task: Task, lookup: WorkspaceLookup): string[] {
  if (task.kind === 'group' || (!task.instance && !task.iteration) || task.depends_on.length > 0) return task.depends_on;
  const of = (task.instance ?? task.iteration)!.of;
  if (task.iteration && task.iteration.k > 1) return unitIds(lookup.task(of), of, { iteration: task.iteration.k - 1 });
  return lookup.task(of)?.depends_on ?? [];
}

/** The workspace request of a task's attempt; `undefined` for a task that needs none. */
export function workspaceRequestOf(workflow: Pick<Workflow, 'worktree_base'>, task: LeafTask, runId: string, lookup: WorkspaceLookup): WorkspaceRequest | undefined {
  const worktree = task.workspace?.mode === 'worktree';
  if (!worktree && task.ports === undefined) return undefined;
  const request: WorkspaceRequest = { runId, taskId: task.id };
  if (task.ports !== undefined) request.ports = task.ports;
  const base = workflow.worktree_base?.[worktreeBaseKey(task)];
  if (worktree && base) {
    request.worktree = {
      root: base.root,
      base: base.base,
      path: base.path,
      branch: taskBranch(runId, task.id),
      from: startingCommits(dependenciesOf(task, lookup), lookup),
      ...(task.workspace?.author !== undefined && { author: task.workspace.author }),
      ...(task.workspace?.message !== undefined && { message: task.workspace.message }),
      ...(task.workspace?.remote !== undefined && { remote: task.workspace.remote }),
    };
  }
  return request;
}

/** A completed attempt's commit and branch into its record (its worktree is gone: only a failed one's is kept). */
export function applyWorkspaceResult(record: TaskRecord, result: WorkspaceResult | undefined): void {
  if (result === undefined) return;
  record.commit = result.commit;
  record.branch = result.branch;
  delete record.worktree;
}

/** A failed attempt's kept worktree (`details.worktree` of its error) into its record. */
export function applyWorkspaceFailure(record: TaskRecord, error: SerializedError): void {
  const worktree = error.details?.worktree;
  if (typeof worktree === 'string') record.worktree = worktree;
}
