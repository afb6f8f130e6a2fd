/**
 * A `workspace: worktree` task that cannot have a worktree is refused before anything runs,
 * with a `WORKSPACE_UNAVAILABLE` error naming the tasks, their cwd and why (exit 2 from the
 * CLI); nothing is stored. A merge conflict between the commits a task starts from fails it with
 * `MERGE_CONFLICT` naming the tasks and the files, not retried.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentsSdkError, JsonStateBackend, WorkflowOrchestrator, validateWorkflow, type WorkflowSpecInput } from '../src/index.js';
import { findWorktreeBases } from '../src/workspace/workspace-preflight.js';
import { cli } from './helpers/cli.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';
import { overrideProcessEnv } from './helpers/process-env.js';

let repo: TestRepo | undefined;
const temps: string[] = [];
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const one = (cwd: string, extra: Record<string, unknown> = {}): WorkflowSpecInput => ({
  id: 'one',
  tasks: [{ id: 'build', workspace: 'worktree', cwd, command: writeFileCommand('x.txt', 'x'), ...extra }],
});

async function refusal(spec: WorkflowSpecInput, stateDir: string): Promise<AgentsSdkError> {
  const backend = new JsonStateBackend(stateDir);
  const orchestrator = new WorkflowOrchestrator({ stateBackend: backend, stateDir });
  const error = await orchestrator.runWorkflow(spec, { runId: 'r' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AgentsSdkError);
  // Nothing ran, nothing was stored.
  expect(await backend.loadRun('r')).toBeUndefined();
  return error as AgentsSdkError;
}

describe('a worktree task is refused before the run', () => {
  it('when its cwd is not in a git repository', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-nogit-'));
    temps.push(dir);
    const error = await refusal(one(dir), join(dir, 'state'));
    expect(error.code).toBe('WORKSPACE_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'not-a-repo', tasks: ['build'], cwd: dir, field: 'tasks.build.cwd' });
    expect(error.message).toContain(`task "build" (workspace: worktree): cwd ${dir} is not inside a git repository`);
  });

  it('when its cwd does not exist', async () => {
    repo = makeRepo();
    const error = await refusal(one(join(repo.repo, 'nope')), repo.state);
    expect(error.details).toMatchObject({ reason: 'cwd-missing' });
  });

  it('when the repository has no commit', async () => {
    repo = makeRepo({ empty: true });
    const error = await refusal(one(repo.repo), repo.state);
    expect(error.details).toMatchObject({ reason: 'no-commit' });
    expect(error.message).toContain('has no commit yet');
  });

  it('when its cwd is in a submodule', async () => {
    repo = makeRepo();
    const inner = makeRepo();
    temps.push(inner.dir);
    gitIn(repo.repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', inner.repo, 'lib');
    repo.commitAll('add lib');
    const error = await refusal(one(join(repo.repo, 'lib')), repo.state);
    expect(error.details).toMatchObject({ reason: 'submodule' });
    expect(error.message).toContain('submodule');
  });

  it('when there is no git', async () => {
    repo = makeRepo();
    const restore = overrideProcessEnv({ PATH: join(repo.dir, 'empty-bin') });
    try {
      const error = await findWorktreeBases(validateWorkflow(one(repo.repo)), repo.state).catch((e: unknown) => e as AgentsSdkError);
      expect(error.code).toBe('WORKSPACE_UNAVAILABLE');
      expect(error.details).toMatchObject({ reason: 'no-git' });
    } finally {
      restore();
    }
  });

  it('when the state directory is not writable', async () => {
    repo = makeRepo();
    // Under a file: no directory can be made there (whoever runs the test, root included).
    const file = join(repo.dir, 'a-file');
    writeFileSync(file, '');
    const error = await findWorktreeBases(validateWorkflow(one(repo.repo)), join(file, 'state')).catch((e: unknown) => e as AgentsSdkError);
    expect(error.details).toMatchObject({ reason: 'state-dir-unwritable' });
    expect(error.message).toContain('is not writable');
  });

  it('exits 2 from the CLI, naming the task', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agents-nogit-'));
    temps.push(dir);
    const file = join(dir, 'w.json');
    writeFileSync(file, JSON.stringify(one(dir)));
    const run = await cli(['run', file, '--state-dir', join(dir, 'state')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('WORKSPACE_UNAVAILABLE');
    expect(run.stderr).toContain('task "build"');
  });
});

describe('workspace in the spec', () => {
  it('is checked: a mode, an author as Name <email>, ports, and commit/branch only of worktree tasks', () => {
    const bad = {
      id: 'w',
      workspace: { mode: 'worktree', author: 'nobody' },
      tasks: [
        { id: 'a', workspace: 'elsewhere', command: ['true'] },
        { id: 'b', workspace: 'shared', command: ['true'] },
        { id: 'd', ports: 0, command: ['true'] },
        { id: 'c', depends_on: ['b'], workspace: 'shared', command: ['echo', '{{tasks.b.commit}}', '{{workspace.ports}}'] },
      ],
    };
    const error = (() => {
      try {
        validateWorkflow(bad);
      } catch (e) {
        return e as AgentsSdkError & { issues: Array<{ path: string; message: string }> };
      }
      throw new Error('accepted');
    })();
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['workspace.author', 'tasks.a.workspace', 'tasks.d.ports', 'tasks.c.command[1]', 'tasks.c.command[2]']));
    expect(error.issues.find((i) => i.path === 'tasks.c.command[1]')!.message).toContain('does not run in a worktree');
    expect(error.issues.find((i) => i.path === 'tasks.c.command[2]')!.message).toContain('ports:');
  });

  it('flows from the workflow into each task, under defaults and the task', () => {
    const workflow = validateWorkflow({
      id: 'w',
      workspace: { mode: 'worktree', message: 'work' },
      defaults: { workspace: 'shared' },
      tasks: [
        { id: 'a', command: ['true'] },
        { id: 'b', workspace: 'worktree', command: ['true'] },
      ],
    });
    expect(workflow.tasks.map((t) => t.workspace)).toEqual([
      { mode: 'shared', message: 'work' },
      { mode: 'worktree', message: 'work' },
    ]);
  });
});

describe('a merge conflict', () => {
  it('fails the task that would start from it, naming the tasks and files, without retrying', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'clash',
        workspace: 'worktree',
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'left', command: writeFileCommand('README.md', 'left') },
          { id: 'right', command: writeFileCommand('README.md', 'right') },
          { id: 'join', depends_on: ['left', 'right'], retry_count: 3, command: writeFileCommand('j.txt', 'j') },
        ],
      },
      { runId: 'rc' },
    );
    expect(result.status).toBe('failed');
    const join_ = result.taskResults.find((t) => t.taskId === 'join')!;
    expect(join_.error).toMatchObject({ code: 'MERGE_CONFLICT', details: { tasks: ['left', 'right'], files: ['README.md'] } });
    expect(join_.error!.message).toContain('"left" and "right" conflict in README.md');
    expect(join_.attempts).toBe(1);
    expect(result.workspace).toBeUndefined();
  });
});
