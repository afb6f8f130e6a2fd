/**
 * The workspace layer of a workflow's executor: gives an attempt of a `workspace: worktree`
 * task a fresh git worktree (starting from its dependencies' commits, merged when there are
 * several), runs it there, and commits what it changed; reserves a task's `ports:`. The
 * orchestrator machine stays pure: it hands over a {@link WorkspaceRequest}, and the record
 * takes the commit from the result (`ExecutionResult.workspace`).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { AgentsSdkError, deserializeError, serializeError } from '../errors.js';
import type { Executor, ExecutionRequest } from '../actors/executor.js';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import type { DeferredText } from '../workflow/template.js';
import { addWorktree, attemptWorktreeDir, commitWorktree, detachWorktree, fetchCommits, listWorktrees, pushBranch, removeWorktreesUnder } from './git-worktree.js';

/** The placeholder of a task's reserved ports in its prompt or command. */
const PORTS_PLACEHOLDER = '{{workspace.ports}}';

/** A task's commit message: its first line (`workspace.message`, default `agents-sdk: <task>`), then the run and the task. */
export function commitMessage(runId: string, taskId: string, first?: string): string {
  return `${first ?? `agents-sdk: ${taskId}`}\n\nAgents-SDK-Run: ${runId}\nAgents-SDK-Task: ${taskId}\n`;
}

/** Where the workspace layer works. */
export interface WorkspaceExecutorOptions {
  /**
   * Worktree tasks with a `remote` go to `inner` as they are (default: whether `inner` is
   * marked `remoteWorktrees`, as the BullMQ executor is): it runs them on workers, whose layer does the git work.
   */
  forwardRemote?: boolean;
  /**
   * On a `--redis` worker: its own clone of the repository, where the worktrees of tasks with a
   * `remote` are made (instead of the driving host's repository), and the directory they go in.
   */
  clone?: { root: string; worktreesDir: string };
}

/**
 * Wraps an executor in the workspace layer; a request without `workspace` goes straight to
 * `inner`, and so does a worktree task with a `remote` when `inner` runs attempts on workers
 * (`remoteWorktrees`, the BullMQ executor's): the worker's layer does its git work.
 */
export function createWorkspaceExecutor(inner: Executor, options: WorkspaceExecutorOptions = {}): Executor {
  const forwards = options.forwardRemote ?? (inner as { remoteWorktrees?: boolean }).remoteWorktrees === true;
  return async (request, hooks) => {
    const workspace = request.workspace;
    if (workspace === undefined || (forwards && workspace.worktree?.remote !== undefined)) return inner(request, hooks);
    const { workspace: _workspace, ...plain } = request;
    let ready = plain as ExecutionRequest;
    if (workspace.ports !== undefined) ready = withPorts(ready, await freePorts(workspace.ports));
    const asked = workspace.worktree;
    if (asked === undefined) return inner(ready, hooks);
    const clone = asked.remote !== undefined ? options.clone : undefined;
    const tree = clone ? { ...asked, root: clone.root } : asked;
    const stateDir = clone?.worktreesDir ?? ready.stateDir ?? DEFAULT_STATE_DIR;
    // Through a remote: the starting commits this clone lacks come from it first.
    if (tree.remote !== undefined) await fetchCommits(tree.root, tree.remote, [tree.base, ...tree.from.map((c) => c.commit)]);
    // An agent continuing the Claude session a killed process interrupted continues in that
    // attempt's worktree, with its partial changes; any other attempt starts in a fresh one.
    const interrupted = ready.kind === 'claude' && ready.resumeSessionId !== undefined ? request.interruptedAttempts?.[0] : undefined;
    const kept = interrupted === undefined ? null : await liveWorktree(tree.root, attemptWorktreeDir(stateDir, workspace.runId, workspace.taskId, interrupted), tree.branch);
    const dir = kept ?? attemptWorktreeDir(stateDir, workspace.runId, workspace.taskId, ready.attempt ?? 1);
    if (kept === null) {
      await addWorktree({
        root: tree.root,
        dir,
        branch: tree.branch,
        base: tree.base,
        from: tree.from,
        taskId: workspace.taskId,
        ...(tree.author !== undefined && { author: tree.author }),
      });
    }
    ready.cwd = join(dir, tree.path);
    let result;
    let commit: string;
    try {
      result = await inner(ready, hooks);
      // An agent that left the worktree mid-merge, say, cannot be committed: the attempt fails.
      commit = await commitWorktree(dir, commitMessage(workspace.runId, workspace.taskId, tree.message), tree.author);
      // The driver and the dependants' workers take it from the remote.
      if (tree.remote !== undefined) await pushBranch(tree.root, tree.remote, commit, tree.branch);
    } catch (error) {
      // Kept for inspection; the next attempt makes its own.
      await detachWorktree(dir).catch(() => undefined);
      throw withWorktree(error, dir);
    }
    await removeWorktreesUnder(tree.root, dir);
    return { ...result, workspace: { commit, branch: tree.branch } };
  };
}

/** `dir` when it is a worktree of `root` on `branch` (an interrupted attempt's, left as it was), else `null`. */
async function liveWorktree(root: string, dir: string, branch: string): Promise<string | null> {
  const entries = await listWorktrees(root);
  return entries.some((e) => e.path === dir && e.branch === `refs/heads/${branch}`) && existsSync(dir) ? dir : null;
}

/** The error of a failed attempt, saying where its worktree is (`details.worktree`). */
function withWorktree(error: unknown, dir: string): AgentsSdkError {
  const serialized = serializeError(error);
  return deserializeError({ ...serialized, details: { ...serialized.details, worktree: dir } });
}

/** The request with its ports: env `PORT_<k>`, and `{{workspace.ports}}` (comma-separated) in its prompt or command. */
export function withPorts(request: ExecutionRequest, ports: number[]): ExecutionRequest {
  const env = { ...request.env };
  ports.forEach((port, k) => (env[`PORT_${k}`] = String(port)));
  const text = ports.join(',');
  const fill = (s: string): string => s.split(PORTS_PLACEHOLDER).join(text);
  const fillDeferred = (d: DeferredText): DeferredText => d.map((part) => (typeof part === 'string' ? fill(part) : part));
  const out = { ...request, env } as ExecutionRequest;
  if (out.kind === 'command') out.command = out.command.map(fill);
  else out.prompt = fill(out.prompt);
  if (out.memory) {
    out.memory = { ...out.memory };
    if (out.memory.prompt) out.memory.prompt = fillDeferred(out.memory.prompt);
    if (out.memory.command) out.memory.command = out.memory.command.map((arg) => (typeof arg === 'string' ? fill(arg) : fillDeferred(arg)));
  }
  return out;
}

/**
 * `count` distinct free TCP ports on 127.0.0.1 (each was free when asked: the system gave it to
 * a listener closed right after; another process may still take it before the task does).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let k = 0; k < count; k++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
