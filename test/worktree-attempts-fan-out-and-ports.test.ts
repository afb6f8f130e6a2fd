/**
 * A failed attempt's worktree is kept for inspection (its path in the record) and the retry
 * starts from a fresh one; fan-out instances each get their own worktree and an integrator
 * depending on the fan-out starts from their merge; `ports: N` reserves N free ports for an
 * attempt (env PORT_k, `{{workspace.ports}}`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type TaskResult, type WorkflowResult } from '../src/index.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/**
 * Writes `partial.txt`; the first time (no marker yet) prints no JSON (a transient OUTPUT_SCHEMA
 * failure, retried), later times prints `{}` unless `alwaysFail`. Lists the files it started with.
 */
function flaky(marker: string, alwaysFail = false): string[] {
  const script = `
const fs = require('fs');
const seen = fs.readdirSync('.').filter((f) => f !== '.git').sort().join(' ');
fs.writeFileSync('partial.txt', 'attempt made here');
const again = fs.existsSync(process.argv[1]);
fs.writeFileSync(process.argv[1], '');
process.stdout.write(again && !${alwaysFail} ? JSON.stringify({ seen }) : 'not json: ' + seen);`;
  return ['node', '-e', script, marker];
}

describe('attempts of a worktree task', () => {
  it('a retry starts from a fresh worktree; the commit holds the successful attempt only', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state, retry: { baseDelayMs: 0 } });
    const result = await orchestrator.runWorkflow(
      { id: 'flaky', tasks: [{ id: 'build', workspace: 'worktree', cwd: repo.repo, output: 'json', retry_count: 2, retry_delay: 0, command: flaky(join(repo.dir, 'marker')) }] },
      { runId: 'rf' },
    );
    expect(result.status).toBe('completed');
    const build = byId(result).build!;
    expect(build.attempts).toBe(2);
    // The second attempt did not see the first one's partial.txt.
    expect(build.json).toEqual({ seen: 'README.md' });
    expect(gitIn(repo.repo, 'ls-tree', '--name-only', build.commit!)).toBe('README.md\npartial.txt');
    expect(build.worktree).toBeUndefined();
    // The run completed: every worktree is gone, the failed attempt's too.
    expect(existsSync(join(repo.state, 'rf', '.worktrees'))).toBe(false);
  });

  it('a failed task keeps its attempts\' worktrees, the last one named in its record', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state, retry: { baseDelayMs: 0 } });
    const result = await orchestrator.runWorkflow(
      { id: 'flaky', tasks: [{ id: 'build', workspace: 'worktree', cwd: repo.repo, output: 'json', retry_count: 2, retry_delay: 0, command: flaky(join(repo.dir, 'marker'), true) }] },
      { runId: 'rk' },
    );
    expect(result.status).toBe('failed');
    const build = byId(result).build!;
    expect(build.commit).toBeUndefined();
    expect(build.worktree).toBe(join(repo.state, 'rk', '.worktrees', 'build', 'attempt-2'));
    expect(build.error!.details).toMatchObject({ worktree: build.worktree });
    for (const attempt of [1, 2]) expect(readFileSync(join(repo.state, 'rk', '.worktrees', 'build', `attempt-${attempt}`, 'partial.txt'), 'utf8')).toBe('attempt made here');
    // Kept detached: the task's branch is free for a later attempt.
    expect(gitIn(join(repo.state, 'rk', '.worktrees', 'build', 'attempt-2'), 'status', '--porcelain', '--branch').split('\n')[0]).toBe('## HEAD (no branch)');
    expect(result.workspace).toBeUndefined();
  });
});

describe('a fan-out in worktrees', () => {
  it('gives each instance its own worktree and branch; the integrator starts from their merge', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'workers',
        workspace: 'worktree',
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'plan', command: writeFileCommand('plan.md', 'parts: a b c') },
          { id: 'impl', depends_on: ['plan'], for_each: '["a", "b", "c"]', command: writeFileCommand('{{item}}.txt', 'part {{index}}') },
          { id: 'integrate', depends_on: ['impl'], command: writeFileCommand('done.txt', 'ok') },
        ],
      },
      { runId: 'rw' },
    );
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    for (const [k, item] of ['a', 'b', 'c'].entries()) {
      const instance = tasks[`impl[${k}]`]!;
      expect(instance.branch).toBe(`agents-sdk-task/rw/impl@${k}`);
      // Each started from plan's commit and saw no other instance's file.
      expect(instance.output).toBe(`README.md ${item}.txt plan.md`);
      expect(gitIn(repo.repo, 'rev-parse', `${instance.commit}~1`)).toBe(tasks.plan!.commit);
    }
    expect(tasks.integrate!.output).toBe('README.md a.txt b.txt c.txt done.txt plan.md');
    expect(gitIn(repo.repo, 'ls-tree', '--name-only', 'agents-sdk/rw')).toBe('README.md\na.txt\nb.txt\nc.txt\ndone.txt\nplan.md');
    expect(gitIn(repo.repo, 'check-ref-format', '--branch', 'agents-sdk-task/rw/impl@0')).toBe('agents-sdk-task/rw/impl@0');
  });
});

describe('ports', () => {
  it('reserves N free ports for an attempt, as PORT_k and {{workspace.ports}}', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'servers',
        tasks: [
          {
            id: 'serve',
            ports: 2,
            output: 'json',
            command: ['node', '-e', 'process.stdout.write(JSON.stringify({ env: [process.env.PORT_0, process.env.PORT_1], arg: process.argv[1] }))', '{{workspace.ports}}'],
          },
        ],
      },
      { runId: 'rp' },
    );
    expect(result.status).toBe('completed');
    const { env, arg } = byId(result).serve!.json as { env: string[]; arg: string };
    expect(arg).toBe(env.join(','));
    expect(new Set(env).size).toBe(2);
    // Each is free: a server can listen on it now.
    for (const port of env) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(Number(port), '127.0.0.1', resolve));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
