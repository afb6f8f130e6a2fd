/**
 * Before a run with `workspace: worktree` tasks starts: each such task's repository is found
 * and its base commit (`HEAD` now) recorded in the workflow (`worktree_base`), or the run is
 * refused with a `WORKSPACE_UNAVAILABLE` error naming the tasks, their `cwd` and why.
 *
 * @module
 */
import { constants, existsSync, realpathSync, statSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { PermanentError } from '../errors.js';
import type { Task, Workflow, WorktreeBase } from '../workflow/spec.js';
import { git } from './git.js';

/** Why a task cannot have a worktree (`details.reason` of `WORKSPACE_UNAVAILABLE`). */
export type WorkspaceProblem = 'no-git' | 'cwd-missing' | 'not-a-repo' | 'submodule' | 'no-commit' | 'state-dir-unwritable' | 'no-remote';

/** The key of a task's `cwd` in `worktree_base`: the `cwd`, or `.` for a task without one. */
export function worktreeBaseKey(task: Pick<Task, 'cwd'>): string {
  return task.cwd ?? '.';
}

/** Every task that runs: the workflow's, and the tasks of its looping and fan-out groups. */
export function leaves(workflow: Pick<Workflow, 'tasks'>): Array<Pick<Task, 'id' | 'cwd' | 'workspace'>> {
  return workflow.tasks.flatMap((t) => (t.kind === 'group' ? t.body : [t]));
}

/** Whether any task of the workflow runs in a worktree. */
export function usesWorktrees(workflow: Pick<Workflow, 'tasks'>): boolean {
  return leaves(workflow).some((t) => t.workspace?.mode === 'worktree');
}

function unavailable(reason: WorkspaceProblem, message: string, details: Record<string, unknown>): PermanentError {
  return new PermanentError('WORKSPACE_UNAVAILABLE', message, { details: { reason, ...details } });
}

/**
 * Finds the repository of every worktree task's `cwd` and its `HEAD` commit: the workflow's
 * `worktree_base`. A dirty working tree is fine (its changes are not in `HEAD`: the tasks do not
 * see them). A detached `HEAD` is fine too.
 *
 * @throws PermanentError `WORKSPACE_UNAVAILABLE` (see {@link WorkspaceProblem}).
 */
export async function findWorktreeBases(workflow: Workflow, stateDir: string, processCwd = process.cwd()): Promise<Record<string, WorktreeBase>> {
  const byKey = new Map<string, string[]>();
  const remotes = new Map<string, Map<string, string[]>>();
  for (const task of leaves(workflow)) {
    if (task.workspace?.mode !== 'worktree') continue;
    const key = worktreeBaseKey(task);
    byKey.set(key, [...(byKey.get(key) ?? []), task.id]);
    const remote = task.workspace.remote;
    if (remote !== undefined) {
      const mine = remotes.get(key) ?? new Map<string, string[]>();
      mine.set(remote, [...(mine.get(remote) ?? []), task.id]);
      remotes.set(key, mine);
    }
  }
  const bases: Record<string, WorktreeBase> = {};
  for (const [key, taskIds] of byKey) {
    const dir = key === '.' ? processCwd : key;
    const field = key === '.' ? 'the current directory (no cwd)' : `cwd ${dir}`;
    const named = `${taskIds.length === 1 ? 'task' : 'tasks'} ${taskIds.map((t) => `"${t}"`).join(', ')}`;
    const details = { tasks: taskIds, cwd: dir, field: `tasks.${taskIds[0]}.cwd` };
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw unavailable('cwd-missing', `${named} (workspace: worktree): ${field} does not exist or is not a directory`, details);
    }
    const top = await git(['rev-parse', '--show-toplevel'], dir);
    if (top.exitCode !== 0) {
      throw unavailable('not-a-repo', `${named} (workspace: worktree): ${field} is not inside a git repository (git init it, or use workspace: shared)`, details);
    }
    const root = top.stdout.trim();
    const superproject = (await git(['rev-parse', '--show-superproject-working-tree'], dir)).stdout.trim();
    if (superproject !== '') {
      throw unavailable('submodule', `${named} (workspace: worktree): ${field} is inside the submodule ${root} of ${superproject}; worktrees of submodules are not supported (set cwd to a directory of ${superproject} outside it)`, details);
    }
    const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], dir);
    if (head.exitCode !== 0) {
      throw unavailable('no-commit', `${named} (workspace: worktree): the repository ${root} has no commit yet (a worktree starts from HEAD: commit something first)`, details);
    }
    for (const [remote, ids] of remotes.get(key) ?? []) {
      if ((await git(['remote', 'get-url', remote], dir)).exitCode !== 0) {
        const who = `${ids.length === 1 ? 'task' : 'tasks'} ${ids.map((t) => `"${t}"`).join(', ')}`;
        throw unavailable('no-remote', `${who} (workspace.remote: ${remote}): the repository ${root} has no remote "${remote}" (add it with git remote add ${remote} <url>, or name one of git remote's)`, {
          ...details,
          tasks: ids,
          remote,
          field: `tasks.${ids[0]}.workspace.remote`,
        });
      }
    }
    bases[key] = { root, base: head.stdout.trim(), path: relative(root, realpathSync(dir)) };
  }
  await assertWritable(resolve(stateDir));
  return bases;
}

/** The state directory must take the worktrees. */
async function assertWritable(stateDir: string): Promise<void> {
  try {
    await mkdir(stateDir, { recursive: true });
    await access(stateDir, constants.W_OK);
  } catch (error) {
    throw unavailable('state-dir-unwritable', `The state directory ${stateDir} is not writable: the tasks' worktrees are made there (${(error as Error).message})`, { stateDir });
  }
}

/**
 * The repositories of the workflow's worktree tasks that have uncommitted changes (tracked
 * files): a run starts from their `HEAD`, without them, which is worth saying. Repositories
 * that cannot be read are left to {@link findWorktreeBases} to report.
 */
export async function dirtyRepositories(workflow: Pick<Workflow, 'tasks'>, processCwd = process.cwd()): Promise<Array<{ root: string; head: string }>> {
  const dirs = new Set(leaves(workflow).filter((t) => t.workspace?.mode === 'worktree').map((t) => t.cwd ?? processCwd));
  const out: Array<{ root: string; head: string }> = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const status = await git(['status', '--porcelain', '--untracked-files=no'], dir).catch(() => null);
    const root = status?.exitCode === 0 ? (await git(['rev-parse', '--show-toplevel'], dir)).stdout.trim() : null;
    if (root === null || seen.has(root) || status!.stdout.trim() === '') continue;
    seen.add(root);
    out.push({ root, head: (await git(['rev-parse', '--short=12', 'HEAD'], dir)).stdout.trim() });
  }
  return out;
}
