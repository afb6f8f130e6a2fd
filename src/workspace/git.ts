/**
 * Runs `git` (execa, never a shell) for the worktrees of `workspace: worktree` tasks: in a
 * clean environment (no `GIT_DIR` or `GIT_INDEX_FILE` inherited from a hook, no prompt, C
 * locale), with a fixed identity for the commits it makes.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { PermanentError } from '../errors.js';

/** What a git command gave. */
export interface GitOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The author of the commits agents-sdk makes unless the workflow names one (`workspace.author`). */
export const DEFAULT_AUTHOR = 'agents-sdk <agents-sdk@localhost>';

/** Variables that would point git at another repository, index or worktree than the one asked for. */
const REPOSITORY_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX'];

/** The environment git runs in; `author` (`Name <email>`) is the commits' author and committer. */
function gitEnv(author: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  const match = /^(.*) <(.*)>$/.exec(author)!;
  return {
    ...env,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: match[1]!,
    GIT_AUTHOR_EMAIL: match[2]!,
    GIT_COMMITTER_NAME: match[1]!,
    GIT_COMMITTER_EMAIL: match[2]!,
  };
}

/**
 * Runs `git <args>` in `cwd`. Resolves with its output whatever its exit code (`check: true`:
 * a non-zero exit is a `GIT_FAILED` error quoting stderr).
 *
 * @throws PermanentError `WORKSPACE_UNAVAILABLE` (`details.reason: 'no-git'`) when there is no `git` on PATH.
 */
export async function git(args: string[], cwd: string, options: { check?: boolean; author?: string } = {}): Promise<GitOutput> {
  const result = await execa('git', args, { cwd, env: gitEnv(options.author ?? DEFAULT_AUTHOR), extendEnv: false, reject: false, stdin: 'ignore' });
  if (result.exitCode === undefined) throw cannotRun(args, cwd, result);
  const out = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  if (options.check && out.exitCode !== 0) throw gitFailed(args, cwd, out);
  return out;
}

/** git did not start: not installed (`no-git`), or its directory is gone. */
function cannotRun(args: string[], cwd: string, result: { code?: string; message?: string }): PermanentError {
  if (result.code === 'ENOENT' && existsSync(cwd)) {
    return new PermanentError('WORKSPACE_UNAVAILABLE', 'git was not found on PATH: a task with workspace: worktree needs git (install it, e.g. apt-get install git)', {
      details: { reason: 'no-git' },
    });
  }
  return new PermanentError('GIT_FAILED', `git ${args[0]} could not run in ${cwd}: ${result.message ?? result.code}`, { details: { args, cwd } });
}

/** What git says when a write found the disk (or the quota) full. */
const DISK_FULL = /No space left on device|Disk quota exceeded/;

/**
 * The `GIT_FAILED` error of a git command that exited non-zero, quoting its stderr; a write
 * that found the disk full is `STATE_WRITE_FAILED` (`details.cause: 'ENOSPC'`): the run stops
 * as it does when its own state cannot be written, and `resume` finishes it.
 */
export function gitFailed(args: string[], cwd: string, out: GitOutput): PermanentError {
  const text = out.stderr.trim() || out.stdout.trim();
  if (DISK_FULL.test(text)) {
    return new PermanentError('STATE_WRITE_FAILED', `git ${args[0]} could not write in ${cwd}: ENOSPC: ${text}`, {
      details: { args, cwd, cause: 'ENOSPC', file: cwd },
    });
  }
  return new PermanentError('GIT_FAILED', `git ${args.join(' ')} failed in ${cwd} (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}`, {
    details: { args, cwd, exitCode: out.exitCode },
  });
}

/** `git <args>` that must succeed: its stdout, trimmed. */
export async function gitText(args: string[], cwd: string, author?: string): Promise<string> {
  return (await git(args, cwd, { check: true, ...(author !== undefined && { author }) })).stdout.trim();
}
