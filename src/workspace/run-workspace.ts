/**
 * A run's worktrees as a whole: its result branch when it completes (`agents-sdk/<runId>`, the
 * merge of its sink tasks' commits), and the clean-up of what it left (`agents-sdk clean`).
 *
 * @module
 */
import { join } from 'node:path';
import { serializeError } from '../errors.js';
import type { Workflow } from '../workflow/spec.js';
import type { TaskRecord, WorkflowResult } from '../workflow/workflow-result.js';
import { baseBranch, deleteRunBranches, fetchRunBranches, mergeCommits, pushBranch, removeWorktreesUnder, runBranch, runWorktreesDir, setBranch } from './git-worktree.js';
import { leaves, worktreeBaseKey } from './workspace-preflight.js';
import { startingCommits } from './workspace-request.js';

/** The repositories of a run's worktree tasks (top directories). */
export function runRepositories(workflow: Pick<Workflow, 'worktree_base'>): string[] {
  return [...new Set(Object.values(workflow.worktree_base ?? {}).map((b) => b.root))];
}

/** Each repository's remote (`workspace.remote`, the first a task names) and its base commit. */
function runRemotes(workflow: Pick<Workflow, 'tasks' | 'worktree_base'>): Map<string, { remote: string; base: string }> {
  const out = new Map<string, { remote: string; base: string }>();
  for (const task of leaves(workflow)) {
    const base = workflow.worktree_base?.[worktreeBaseKey(task)];
    const remote = task.workspace?.mode === 'worktree' ? task.workspace.remote : undefined;
    if (base !== undefined && remote !== undefined && !out.has(base.root)) out.set(base.root, { remote, base: base.base });
  }
  return out;
}

/**
 * Before a run whose worktree tasks name a `remote` starts: pushes each repository's base
 * commit there (branch `agents-sdk-task/<runId>/@base`), for the workers to fetch.
 *
 * @throws PermanentError `GIT_FAILED` when the remote does not take it.
 */
export async function publishRunBases(workflow: Pick<Workflow, 'tasks' | 'worktree_base'>, runId: string): Promise<void> {
  for (const [root, { remote, base }] of runRemotes(workflow)) await pushBranch(root, remote, base, baseBranch(runId));
}

/**
 * Once a run has completed: points `agents-sdk/<runId>` at the merge of its sink tasks' commits
 * (the tasks no other depends on; a fan-out's instances; a shared sink stands for its
 * dependencies), and removes the run's worktrees (its branches stay). With tasks in several
 * repositories, each gets its branch; the result names the first. `undefined` when no task
 * made a commit.
 */
export async function finishRunWorkspace(workflow: Workflow, records: readonly TaskRecord[], stateDir: string, runId: string): Promise<WorkflowResult['workspace']> {
  const tasks = new Map(workflow.tasks.map((t) => [t.id, t]));
  const byId = new Map(records.map((r) => [r.taskId, r]));
  const declared = workflow.tasks.filter((t) => !t.instance && !t.iteration);
  const dependedOn = new Set(declared.flatMap((t) => t.depends_on));
  const sinks = declared.filter((t) => !dependedOn.has(t.id)).map((t) => t.id);
  const commits = startingCommits(sinks, { task: (id) => tasks.get(id), record: (id) => byId.get(id) });
  let outcome: WorkflowResult['workspace'];
  const remotes = runRemotes(workflow);
  for (const root of runRepositories(workflow)) {
    const remote = remotes.get(root)?.remote;
    const mine = commits.filter((c) => {
      const task = tasks.get(c.taskId);
      return task !== undefined && workflow.worktree_base?.[worktreeBaseKey(task)]?.root === root;
    });
    try {
      // Through a remote: the tasks' branches (made by workers, in their clones) come here first.
      if (remote !== undefined) await fetchRunBranches(root, remote, runId);
      const commit = await mergeCommits(root, join(runWorktreesDir(stateDir, runId), '.result'), mine, `${runId}-result`);
      if (commit !== null) {
        await setBranch(root, runBranch(runId), commit);
        if (remote !== undefined) await pushBranch(root, remote, commit, runBranch(runId));
        outcome ??= { branch: runBranch(runId), commit };
      }
    } catch (error) {
      outcome ??= { error: serializeError(error) };
    }
    await removeWorktreesUnder(root, runWorktreesDir(stateDir, runId));
  }
  return outcome;
}

/** What {@link cleanRunWorkspace} removed. */
export interface CleanedWorkspace {
  repositories: string[];
  branches: string[];
}

/** Removes every worktree a run left (its failed attempts' too); with `branches`, its branches as well. */
export async function cleanRunWorkspace(workflow: Pick<Workflow, 'worktree_base'>, stateDir: string, runId: string, options: { branches?: boolean } = {}): Promise<CleanedWorkspace> {
  const repositories = runRepositories(workflow);
  const branches: string[] = [];
  for (const root of repositories) {
    await removeWorktreesUnder(root, runWorktreesDir(stateDir, runId));
    if (options.branches) branches.push(...(await deleteRunBranches(root, runId)));
  }
  return { repositories, branches };
}
