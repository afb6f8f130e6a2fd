/**
 * The edges of worktrees: a task's cwd deep in the repository is the same path in its worktree
 * (a task without one takes the current directory's); sinks whose commits conflict leave the run
 * completed without a result branch, saying why; ports reach an agent's prompt and the memory
 * layer's text; git in a directory that is gone is GIT_FAILED.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateWorkflow, WorkflowOrchestrator, type ExecutionRequest } from '../src/index.js';
import { summaryTable } from '../src/cli/progress-view.js';
import { git } from '../src/workspace/git.js';
import { findWorktreeBases } from '../src/workspace/workspace-preflight.js';
import { withPorts } from '../src/workspace/workspace-executor.js';
import { makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

describe('a worktree task\'s cwd', () => {
  it('deep in the repository is the same path inside its worktree', async () => {
    repo = makeRepo({ files: { 'pkg/app/index.ts': 'x' } });
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      { id: 'deep', tasks: [{ id: 'app', workspace: 'worktree', cwd: join(repo.repo, 'pkg', 'app'), command: ['node', '-e', 'process.stdout.write(process.cwd())'] }] },
      { runId: 'd' },
    );
    expect(result.taskResults[0]!.output).toBe(join(repo.state, 'd', '.worktrees', 'app', 'attempt-1', 'pkg', 'app'));
  });

  it('not given is the current directory, recorded with the run', async () => {
    repo = makeRepo();
    mkdirSync(join(repo.repo, 'sub'));
    const workflow = validateWorkflow({ id: 'here', tasks: [{ id: 'a', workspace: 'worktree', command: ['true'] }] });
    const bases = await findWorktreeBases(workflow, repo.state, join(repo.repo, 'sub'));
    expect(bases).toEqual({ '.': { root: repo.repo, base: repo.checkout().head, path: 'sub' } });
  });
});

describe('sinks whose commits conflict', () => {
  it('leave the run completed without a result branch, saying why', async () => {
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
        ],
      },
      { runId: 'sc' },
    );
    expect(result.status).toBe('completed');
    expect(result.workspace).toMatchObject({ error: { code: 'MERGE_CONFLICT', details: { files: ['README.md'] } } });
    expect(summaryTable(result)).toContain('result branch: not made (MERGE_CONFLICT: ');
  });
});

describe('a run whose worktree tasks made no commit', () => {
  it('has no result branch', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      { id: 'idle', tasks: [{ id: 'never', workspace: 'worktree', cwd: repo.repo, when: '1 == 2', command: ['true'] }] },
      { runId: 'n' },
    );
    expect(result.status).toBe('completed');
    expect(result.workspace).toBeUndefined();
    expect(repo.checkout().branch).toBe('main');
  });
});

describe('ports', () => {
  it('fill an agent\'s prompt and the text the memory layer renders', () => {
    const request = {
      kind: 'claude',
      prompt: 'serve on {{workspace.ports}}',
      model: 'sonnet',
      memory: { runId: 'r', taskId: 't', prompt: ['dev server {{workspace.ports}}, notes: ', { memory: 'notes' }], command: ['x', ['{{workspace.ports}}', { hash: 'a' }]] },
    } as unknown as ExecutionRequest;
    const out = withPorts(request, [4001, 4002]) as ExecutionRequest & { kind: 'claude' };
    expect(out.prompt).toBe('serve on 4001,4002');
    expect(out.env).toEqual({ PORT_0: '4001', PORT_1: '4002' });
    expect(out.memory!.prompt).toEqual(['dev server 4001,4002, notes: ', { memory: 'notes' }]);
    expect(out.memory!.command).toEqual(['x', ['4001,4002', { hash: 'a' }]]);
  });
});

describe('git', () => {
  it('in a directory that is gone is GIT_FAILED, not a missing git', async () => {
    await expect(git(['status'], '/nonexistent/agents-sdk-dir')).rejects.toMatchObject({ code: 'GIT_FAILED' });
  });
});

describe('an attempt whose changes cannot be committed', () => {
  it('fails, its worktree kept and named', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    // Leaves its index locked, as a git killed mid-command does: git cannot stage anything.
    const script = `
const { execFileSync } = require('child_process');
const lock = execFileSync('git', ['rev-parse', '--git-path', 'index.lock'], { encoding: 'utf8' }).trim();
require('fs').writeFileSync(lock, '');`;
    const result = await orchestrator.runWorkflow(
      { id: 'mess', tasks: [{ id: 'messy', workspace: 'worktree', cwd: repo.repo, retry_count: 1, command: ['node', '-e', script] }] },
      { runId: 'm' },
    );
    const messy = result.taskResults[0]!;
    expect(messy.status).toBe('failed');
    expect(messy.error).toMatchObject({ code: 'GIT_FAILED', message: expect.stringContaining('index.lock') });
    expect(messy.worktree).toBe(join(repo.state, 'm', '.worktrees', 'messy', 'attempt-1'));
  });
});
