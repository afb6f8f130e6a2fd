/**
 * Worktree tasks are seen: the run's progress lines and summary name each task's commit and
 * branch and the run's result branch; `status` lists them (and a failed attempt's kept
 * worktree); the report shows them with a `git diff --stat` per task.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

describe('worktree tasks in the views', () => {
  it('a completed run: progress, summary, status and report name commits, branches and the result branch', async () => {
    repo = makeRepo();
    const file = join(repo.dir, 'w.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'seen',
        workspace: 'worktree',
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'a', command: writeFileCommand('a.txt', 'one\ntwo\n') },
          { id: 'b', depends_on: ['a'], command: ['node', '-e', ''] },
        ],
      }),
    );
    const run = await cli(['run', file, '--run-id', 's', '--state-dir', repo.state]);
    expect(run.code).toBe(0);
    const a = gitIn(repo.repo, 'rev-parse', 'agents-sdk-task/s/a');
    const b = gitIn(repo.repo, 'rev-parse', 'agents-sdk-task/s/b');
    // Progress (stderr when not a terminal) and the summary.
    expect(run.stderr).toContain(`  commit ${a.slice(0, 12)} on agents-sdk-task/s/a`);
    expect(run.stdout).toContain(`result branch: agents-sdk/s (commit ${b.slice(0, 12)}); your checkout is untouched.`);
    expect(run.stdout).toContain('git merge agents-sdk/s');

    const status = await cli(['status', 's', '--state-dir', repo.state]);
    expect(status.stdout).toMatch(new RegExp(`\\n  a {5}commit ${a.slice(0, 12)} on agents-sdk-task/s/a\\n  b {5}commit ${b.slice(0, 12)} on agents-sdk-task/s/b\\n`));
    const json = JSON.parse((await cli(['status', 's', '--json', '--state-dir', repo.state])).stdout);
    expect(json.workspace).toEqual({ branch: 'agents-sdk/s', commit: b });

    const report = await cli(['report', 's', '--output', '-', '--state-dir', repo.state]);
    expect(report.stdout).toContain('<section id="worktrees">');
    expect(report.stdout).toContain(`data-task-id="a" data-commit="${a}"`);
    expect(report.stdout).toMatch(/a\.txt \| 2 \+\+\n 1 file changed, 2 insertions\(\+\)/);
    expect(report.stdout).toContain('(no change: an empty commit)');
    // The repository gone, the report still names the commits (without their diff).
    rmSync(repo.repo, { recursive: true, force: true });
    const later = await cli(['report', 's', '--output', '-', '--state-dir', repo.state]);
    expect(later.stdout).toContain(`data-task-id="a" data-commit="${a}"`);
    expect(later.stdout).not.toContain('1 file changed');
  });

  it('a failed run: status and report show the worktree its attempt left', async () => {
    repo = makeRepo();
    const file = join(repo.dir, 'w.json');
    writeFileSync(file, JSON.stringify({ id: 'fails', tasks: [{ id: 'x', workspace: 'worktree', cwd: repo.repo, retry_count: 1, command: ['node', '-e', 'process.exit(2)'] }] }));
    const run = await cli(['run', file, '--run-id', 'f', '--state-dir', repo.state]);
    expect(run.code).toBe(1);
    const kept = join(repo.state, 'f', '.worktrees', 'x', 'attempt-1');
    expect(run.stderr).toContain(`  worktree kept: ${kept}`);
    expect(run.stdout).not.toContain('result branch');
    const status = await cli(['status', 'f', '--state-dir', repo.state]);
    expect(status.stdout).toContain(`  x     worktree kept: ${kept}`);
    const report = await cli(['report', 'f', '--output', '-', '--state-dir', repo.state]);
    expect(report.stdout).toContain(`worktree kept: <code>${kept}</code>`);
    expect(readFileSync(join(kept, 'README.md'), 'utf8')).toBe('# test\n');
  });
});
