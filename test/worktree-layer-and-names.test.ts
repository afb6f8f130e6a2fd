/**
 * The workspace layer and its names, close up: task ids become valid branch names (checked by
 * git itself); an attempt that continues an interrupted Claude session runs in that attempt's
 * worktree when it is still there, else in a fresh one; leftovers of a killed attempt are
 * removed before a worktree is made again; another process's half-made worktree is waited out.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionRequest, ExecutionResult } from '../src/index.js';
import { emptyTokens } from '../src/claude/stream-json.js';
import { git, gitText } from '../src/workspace/git.js';
import { addWorktree, attemptWorktreeDir, listWorktrees, mergeCommits, refSafeTaskId, taskBranch } from '../src/workspace/git-worktree.js';
import { createWorkspaceExecutor } from '../src/workspace/workspace-executor.js';
import { gitIn, makeRepo, type TestRepo } from './helpers/git-repo.js';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

const done: ExecutionResult = { success: true, output: 'ok', sessionId: 's', tokens: emptyTokens(), costUsd: 0, durationMs: 1, cliDurationMs: null, numTurns: 1, exitCode: 0, stderrTail: '' };

describe('branch names', () => {
  it.each([
    ['impl[3]', 'impl@3'],
    ['impl[3].code', 'impl@3.code'],
    ['fix#2', 'fix@@2'],
    ['fix_tests#2.test', 'fix_tests@@2.test'],
    ['a..b', 'a.-.b'],
    ['x.lock', 'x.lock_'],
    ['trailing.', 'trailing._'],
  ])('%s is %s, a valid ref', (id, safe) => {
    expect(refSafeTaskId(id)).toBe(safe);
    expect(gitIn('/', 'check-ref-format', '--branch', taskBranch('run1', id))).toBe(`agents-sdk-task/run1/${safe}`);
  });
});

describe('the workspace layer', () => {
  function request(attempt: number, extra: Record<string, unknown> = {}): ExecutionRequest {
    return {
      kind: 'claude',
      prompt: 'go on',
      model: 'sonnet',
      attempt,
      stateDir: repo.state,
      runId: 'r',
      workspace: { runId: 'r', taskId: 't', worktree: { root: repo.repo, base: repo.checkout().head, path: '', branch: taskBranch('r', 't'), from: [] } },
      ...extra,
    } as ExecutionRequest;
  }

  it('continues an interrupted session in that attempt\'s worktree, or in a fresh one when it is gone', async () => {
    repo = makeRepo();
    const first = attemptWorktreeDir(repo.state, 'r', 't', 1);
    await addWorktree({ root: repo.repo, dir: first, branch: taskBranch('r', 't'), base: repo.checkout().head, from: [], taskId: 't' });
    writeFileSync(join(first, 'half.txt'), 'partial');
    const seen: string[] = [];
    const layer = createWorkspaceExecutor(async (req) => {
      seen.push(req.cwd!);
      return done;
    });
    const signal = new AbortController().signal;
    const result = await layer(request(2, { resumeSessionId: 's', interruptedAttempts: [1] }), { signal, onEvent: () => undefined });
    expect(seen).toEqual([first]);
    expect(gitIn(repo.repo, 'show', `${result.workspace!.commit}:half.txt`)).toBe('partial');
    // Gone (the run completed it): the next continuing attempt starts afresh.
    await layer(request(3, { resumeSessionId: 's', interruptedAttempts: [1] }), { signal, onEvent: () => undefined });
    expect(seen[1]).toBe(attemptWorktreeDir(repo.state, 'r', 't', 3));
  });

  it('removes what a killed attempt left before making the worktree again', async () => {
    repo = makeRepo();
    const dir = attemptWorktreeDir(repo.state, 'r', 't', 1);
    const options = { root: repo.repo, dir, branch: taskBranch('r', 't'), base: repo.checkout().head, from: [], taskId: 't' };
    await addWorktree(options);
    writeFileSync(join(dir, 'half.txt'), 'partial');
    await addWorktree(options);
    expect(existsSync(join(dir, 'half.txt'))).toBe(false);
    // A directory git does not know (a kill during add) goes too.
    const stray = attemptWorktreeDir(repo.state, 'r', 'u', 1);
    mkdirSync(stray, { recursive: true });
    writeFileSync(join(stray, 'junk'), '');
    await addWorktree({ ...options, dir: stray, branch: taskBranch('r', 'u') });
    expect(readFileSync(join(stray, 'README.md'), 'utf8')).toBe('# test\n');
    expect((await listWorktrees(repo.repo)).map((w) => w.path)).toEqual([repo.repo, dir, stray]);
  });

  it('tries again while another process is making a worktree, and names it when it stays half-made', async () => {
    repo = makeRepo();
    const ghost = join(repo.repo, '.git', 'worktrees', 'ghost');
    mkdirSync(ghost, { recursive: true });
    // What `git worktree add` has written of a worktree before its commondir.
    writeFileSync(join(ghost, 'gitdir'), join(repo.dir, 'elsewhere', '.git'));
    writeFileSync(join(ghost, 'HEAD'), 'ref: refs/heads/other\n');
    writeFileSync(join(ghost, 'commondir'), '');
    // Tried again (8 times, 560 ms in all), then named.
    await expect(listWorktrees(repo.repo)).rejects.toMatchObject({ code: 'GIT_FAILED', message: expect.stringContaining('worktrees/ghost/commondir') });
    // Once its process has finished it, it is listed.
    writeFileSync(join(ghost, 'commondir'), '../..\n');
    expect((await listWorktrees(repo.repo)).map((w) => w.path)).toEqual([repo.repo, join(repo.dir, 'elsewhere')]);
  });

  it('merges nothing into nothing', async () => {
    repo = makeRepo();
    expect(await mergeCommits(repo.repo, join(repo.dir, 'scratch'), [], 'none')).toBeNull();
  });

  it('git that must succeed names the command and what git said', async () => {
    repo = makeRepo();
    await expect(gitText(['rev-parse', '--verify', 'no-such-ref'], repo.repo)).rejects.toMatchObject({ code: 'GIT_FAILED', message: expect.stringContaining('git rev-parse --verify no-such-ref failed') });
    expect((await git(['rev-parse', '--verify', 'no-such-ref'], repo.repo)).exitCode).toBe(128);
  });
});
