/**
 * The report's view of a run's worktrees: each task's `git diff --stat` (what its commit changed
 * against the commit it started from), read from the repository when the report is made.
 *
 * @module
 */
import { declaredTaskOf } from '../workflow/fan-out.js';
import type { Workflow } from '../workflow/spec.js';
import { git } from './git.js';
import { worktreeBaseKey } from './workspace-preflight.js';

/** What the report shows of a task's worktree. */
export interface ReportWorkspace {
  commit?: string;
  branch?: string;
  /** A failed attempt's worktree, kept. */
  worktree?: string;
  /** `git diff --stat <commit>~1 <commit>`; absent when the repository or the commit is gone. */
  diffStat?: string;
}

/** Fills in each task's `diffStat` (tasks with a commit whose repository still has it). */
export async function addDiffStats(tasks: Array<{ id: string; workspace?: ReportWorkspace }>, workflow: Pick<Workflow, 'tasks' | 'worktree_base'>): Promise<void> {
  for (const task of tasks) {
    const commit = task.workspace?.commit;
    const declared = declaredTaskOf(workflow.tasks, task.id);
    const base = declared && workflow.worktree_base?.[worktreeBaseKey(declared)];
    if (commit === undefined || !base) continue;
    const out = await git(['diff', '--stat', `${commit}~1`, commit], base.root).catch(() => null);
    if (out?.exitCode === 0) task.workspace!.diffStat = out.stdout.trimEnd() || '(no change: an empty commit)';
  }
}
