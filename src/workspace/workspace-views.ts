/**
 * How the views (the live view, `status`, the end-of-run summary, the report) tell a task's
 * worktree: its branch and commit, or the worktree a failed attempt left.
 *
 * @module
 */
import type { TaskRecord, WorkflowResult } from '../workflow/workflow-result.js';

/** A commit id as people read it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 12);
}

/** `commit 1a2b3c4d5e6f on agents-sdk-task/<run>/<task>`, `worktree kept: <path>`, or `''`. */
export function workspaceNote(record: Pick<TaskRecord, 'commit' | 'branch' | 'worktree'>): string {
  if (record.commit !== undefined) return `commit ${shortCommit(record.commit)} on ${record.branch}`;
  if (record.worktree !== undefined) return `worktree kept: ${record.worktree}`;
  return '';
}

/** The lines about a run's result branch (after its summary), or none. */
export function runBranchLines(workspace: WorkflowResult['workspace']): string[] {
  if (workspace === undefined) return [];
  if ('error' in workspace) return [`result branch: not made (${workspace.error.code}: ${workspace.error.message})`];
  return [
    `result branch: ${workspace.branch} (commit ${shortCommit(workspace.commit)}); your checkout is untouched.`,
    `  merge it: git merge ${workspace.branch}    or push it for a pull request: git push origin ${workspace.branch}`,
  ];
}

/** The `status` section listing each worktree task's branch and commit (or kept worktree); `''` when there is none. */
export function workspaceSection(records: readonly TaskRecord[], workspace: WorkflowResult['workspace']): string {
  const rows = records.filter((r) => r.commit !== undefined || r.worktree !== undefined);
  if (rows.length === 0 && workspace === undefined) return '';
  const width = Math.max(4, ...rows.map((r) => r.taskId.length));
  const lines = ['', 'worktrees (workspace: worktree): each task\'s branch and commit, or the worktree its failed attempt left:'];
  for (const r of rows) lines.push(`  ${r.taskId.padEnd(width)}  ${workspaceNote(r)}`);
  lines.push(...runBranchLines(workspace));
  return `${lines.join('\n')}\n`;
}
