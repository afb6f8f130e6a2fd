/**
 * The git worktrees of `workspace: worktree` tasks: one per attempt, under the run's state
 * directory (`<stateDir>/<runId>/.worktrees/<task>/attempt-<n>`), on the task's branch
 * `agents-sdk-task/<runId>/<task>`; the run's result on `agents-sdk/<runId>`.
 *
 * Branch names: a task id is a valid ref component but for a fan-out instance's brackets and a
 * loop's `#`: `impl[3]` is `impl@3` and `fix#2` is `fix@@2` (`@` is never in a task id, so two
 * tasks never share a branch); `..` becomes `.-.` and a trailing `.lock` or `.` gets a `_`.
 * The run's branch and its tasks' cannot share the prefix `agents-sdk/<runId>` (git cannot
 * hold a branch `a/b` beside `a/b/c`): the tasks' live under `agents-sdk-task/`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PermanentError } from '../errors.js';
import { git, gitFailed, gitText } from './git.js';

/** The branch of a run's result: the merge of its sink tasks' commits. */
export function runBranch(runId: string): string {
  return `agents-sdk/${runId}`;
}

/** A task id as a ref (and directory) name component: see the module's doc. */
export function refSafeTaskId(taskId: string): string {
  let name = taskId
    .replace(/\[(\d+)\]/g, '@$1')
    .replace(/#/g, '@@')
    .replace(/[^A-Za-z0-9_.@-]/g, '-');
  while (name.includes('..')) name = name.replace('..', '.-.');
  if (name.endsWith('.lock') || name.endsWith('.')) name += '_';
  return name;
}

/** The branch of a task of a run. */
export function taskBranch(runId: string, taskId: string): string {
  return `agents-sdk-task/${runId}/${refSafeTaskId(taskId)}`;
}

/** Where a run's worktrees are. */
export function runWorktreesDir(stateDir: string, runId: string): string {
  return join(resolve(stateDir), runId, '.worktrees');
}

/** The worktree of attempt `attempt` of a task. */
export function attemptWorktreeDir(stateDir: string, runId: string, taskId: string, attempt: number): string {
  return join(runWorktreesDir(stateDir, runId), refSafeTaskId(taskId), `attempt-${attempt}`);
}

/** One commit a task starts from: the task that made it. */
export interface StartingCommit {
  taskId: string;
  commit: string;
}

/** One worktree of a repository, as `git worktree list --porcelain` tells it. */
export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** `refs/heads/...`, or `null` when detached. */
  branch: string | null;
}

/**
 * `git worktree add` is not safe beside another: it reads every worktree's files, and one being
 * made has not written them all yet ("failed to read .git/worktrees/<name>/commondir"). In this
 * process they run one at a time per repository; another process's are waited out by
 * {@link worktreeAdmin}.
 */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(job, job);
    this.tails.set(key, next.catch(() => undefined));
    return next;
  }
}
const registering = new KeyedQueue();

/** Tries of a worktree command that met another's half-made worktree. */
const ADMIN_TRIES = 8;

/** A `git worktree ...` command that must succeed, tried again while it meets a worktree another process is making. */
async function worktreeAdmin(args: string[], root: string): Promise<string> {
  for (let k = 1; ; k++) {
    const out = await git(args, root);
    if (out.exitCode === 0) return out.stdout.trim();
    if (k >= ADMIN_TRIES || !/\.git\/worktrees\//.test(out.stderr)) throw gitFailed(args, root, out);
    await new Promise((resolve) => setTimeout(resolve, 20 * k));
  }
}

/** The repository's worktrees. */
export async function listWorktrees(root: string): Promise<WorktreeEntry[]> {
  const text = await worktreeAdmin(['worktree', 'list', '--porcelain'], root);
  const entries: WorktreeEntry[] = [];
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split('\n');
    const path = lines.find((l) => l.startsWith('worktree '))?.slice('worktree '.length);
    if (path === undefined) continue;
    const head = lines.find((l) => l.startsWith('HEAD '))?.slice(5) ?? null;
    const branch = lines.find((l) => l.startsWith('branch '))?.slice(7) ?? null;
    entries.push({ path, head, branch });
  }
  return entries;
}

/** Whether `path` is `dir` or inside it. */
function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * Removes the worktrees under `dir` (forced: their changes go), the directory itself, and what
 * git still recorded of them.
 */
export async function removeWorktreesUnder(root: string, dir: string): Promise<void> {
  for (const entry of await listWorktrees(root)) {
    if (isUnder(entry.path, dir)) await git(['worktree', 'remove', '--force', '--force', entry.path], root);
  }
  await rm(dir, { recursive: true, force: true });
  // Safe beside another task's `worktree add`: git locks a worktree while it is being made.
  await git(['worktree', 'prune'], root);
}

/** What {@link addWorktree} needs. */
export interface AddWorktreeOptions {
  /** The repository's top directory. */
  root: string;
  dir: string;
  branch: string;
  /** The commit to start from when `from` is empty. */
  base: string;
  /** The dependencies' commits: the first is checked out, the others merged into it in order. */
  from: StartingCommit[];
  /** The task the worktree is for (named in merge messages and conflicts). */
  taskId: string;
  author?: string;
}

/**
 * Makes a fresh worktree at `dir` on `branch` (reset to the starting commit): the base, the
 * single dependency's commit, or a merge of several made there. What an earlier attempt left
 * at `dir` goes first.
 *
 * @throws PermanentError `MERGE_CONFLICT` naming the tasks and files (the worktree is removed), `GIT_FAILED`.
 */
export async function addWorktree(options: AddWorktreeOptions): Promise<void> {
  const { root, dir, branch, taskId } = options;
  const distinct = distinctCommits(options.from);
  const start = distinct[0]?.commit ?? options.base;
  // Parallel tasks add worktrees at once: git makes each under its own lock. What a killed
  // process left (a half-made worktree, an interrupted attempt's on this branch) goes first.
  let leftovers = existsSync(dir);
  for (const entry of await listWorktrees(root)) {
    if (entry.path === dir || entry.branch === `refs/heads/${branch}`) {
      await git(['worktree', 'remove', '--force', '--force', entry.path], root);
      leftovers = true;
    }
  }
  if (leftovers) {
    await rm(dir, { recursive: true, force: true });
    await git(['worktree', 'prune'], root);
  }
  // Registered one at a time (quick), checked out in parallel (the slow part: every file written).
  await registering.run(root, () => worktreeAdmin(['worktree', 'add', '--quiet', '--no-checkout', '-B', branch, dir, start], root));
  await gitText(['reset', '--quiet', '--hard'], dir);
  const merged = [distinct[0]?.taskId ?? 'base'];
  for (const next of distinct.slice(1)) {
    const message = `agents-sdk: merge ${next.taskId} into ${merged.join(', ')} for ${taskId}`;
    const out = await git(['-c', 'commit.gpgsign=false', 'merge', '--no-ff', '--no-verify', '-m', message, next.commit], dir, options.author !== undefined ? { author: options.author } : {});
    if (out.exitCode !== 0) {
      const files = (await git(['diff', '--name-only', '--diff-filter=U'], dir)).stdout.split('\n').filter((f) => f !== '');
      await removeWorktreesUnder(root, dir);
      if (files.length === 0) {
        throw new PermanentError('GIT_FAILED', `Task "${taskId}": merging ${next.taskId}'s commit failed: ${out.stderr.trim() || out.stdout.trim()}`, {
          details: { taskId, tasks: [...merged, next.taskId] },
        });
      }
      throw new PermanentError(
        'MERGE_CONFLICT',
        `Task "${taskId}" cannot start: the commits of ${[...merged, next.taskId].map((t) => `"${t}"`).join(' and ')} conflict in ${files.join(', ')}`,
        { details: { taskId, tasks: [...merged, next.taskId], files } },
      );
    }
    merged.push(next.taskId);
  }
}

/** Each commit once, in order. */
function distinctCommits(from: StartingCommit[]): StartingCommit[] {
  const seen = new Set<string>();
  return from.filter((c) => !seen.has(c.commit) && seen.add(c.commit));
}

/**
 * Commits everything changed in the worktree (new, changed and deleted files, as `git add -A`
 * sees them: ignored files stay out) on its branch: an empty commit when nothing changed. Git
 * hooks do not run and nothing is signed. Returns the commit id.
 */
export async function commitWorktree(dir: string, message: string, author?: string): Promise<string> {
  await gitText(['add', '-A'], dir);
  await gitText(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--allow-empty', '--no-verify', '-m', message], dir, author);
  return gitText(['rev-parse', 'HEAD'], dir);
}

/** Leaves the worktree's files as they are but lets go of its branch (a failed attempt's, kept for inspection). */
export async function detachWorktree(dir: string): Promise<void> {
  await git(['checkout', '--quiet', '--detach'], dir);
}

/**
 * A commit merging `from` (in order), made in a temporary worktree: the one commit itself when
 * there is one. `null` when there is none.
 *
 * @throws PermanentError `MERGE_CONFLICT`, `GIT_FAILED`.
 */
export async function mergeCommits(root: string, scratchDir: string, from: StartingCommit[], label: string, author?: string): Promise<string | null> {
  const distinct = distinctCommits(from);
  if (distinct.length === 0) return null;
  if (distinct.length === 1) return distinct[0]!.commit;
  const branch = `agents-sdk-scratch/${label}`;
  try {
    await addWorktree({ root, dir: scratchDir, branch, base: distinct[0]!.commit, from: distinct, taskId: label, ...(author !== undefined && { author }) });
    return await gitText(['rev-parse', 'HEAD'], scratchDir);
  } finally {
    if (existsSync(scratchDir)) await removeWorktreesUnder(root, scratchDir);
    await git(['branch', '-D', branch], root);
  }
}

/** Points `branch` at `commit` (creating it), without touching any checkout. */
export async function setBranch(root: string, branch: string, commit: string): Promise<void> {
  await gitText(['update-ref', `refs/heads/${branch}`, commit], root);
}

/** Where a run with a `remote` leaves its base commit on the remote, for the workers to fetch. */
export function baseBranch(runId: string): string {
  return `agents-sdk-task/${runId}/@base`;
}

/** Fetches from `remote` those of `commits` the repository does not have (by id: the remote holds them on its branches). */
export async function fetchCommits(root: string, remote: string, commits: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const commit of new Set(commits)) {
    if ((await git(['cat-file', '-e', `${commit}^{commit}`], root)).exitCode !== 0) missing.push(commit);
  }
  if (missing.length > 0) await gitText(['fetch', '--quiet', '--no-tags', remote, ...missing], root);
}

/** Points `branch` on `remote` at `commit` (forced: a retried task's branch starts again). */
export async function pushBranch(root: string, remote: string, commit: string, branch: string): Promise<void> {
  await gitText(['push', '--quiet', '--force', '--no-verify', remote, `${commit}:refs/heads/${branch}`], root);
}

/** Fetches a run's task branches from `remote` into the repository (its own branches of the same names). */
export async function fetchRunBranches(root: string, remote: string, runId: string): Promise<void> {
  await gitText(['fetch', '--quiet', '--no-tags', remote, `+refs/heads/agents-sdk-task/${runId}/*:refs/heads/agents-sdk-task/${runId}/*`], root);
}

/** The branches of a run (its tasks' and its result's) that exist. */
export async function runBranches(root: string, runId: string): Promise<string[]> {
  const out = await gitText(['for-each-ref', '--format=%(refname:short)', `refs/heads/agents-sdk-task/${runId}/`, `refs/heads/${runBranch(runId)}`], root);
  return out.split('\n').filter((b) => b !== '');
}

/** Deletes a run's branches; returns those deleted. */
export async function deleteRunBranches(root: string, runId: string): Promise<string[]> {
  const branches = await runBranches(root, runId);
  for (const branch of branches) await gitText(['update-ref', '-d', `refs/heads/${branch}`], root);
  return branches;
}
