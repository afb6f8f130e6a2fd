/**
 * `workspace: worktree`: each task works in its own git worktree on its own branch, starting
 * from its dependencies' commits (merged when there are several); what it changed is committed;
 * the run's branch `agents-sdk/<runId>` is the merge of its sinks; the user's checkout is never
 * touched and the worktrees are gone once the run completes.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type TaskResult, type WorkflowResult, type WorkflowSpecInput } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';
import { cli } from './helpers/cli.js';

let repo: TestRepo;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  repo?.cleanup();
});

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

const diamond = (cwd: string): WorkflowSpecInput => ({
  id: 'diamond',
  workspace: 'worktree',
  defaults: { cwd, retry_count: 1 },
  tasks: [
    { id: 'plan', command: writeFileCommand('plan.md', 'the plan') },
    { id: 'front', depends_on: ['plan'], command: writeFileCommand('front.txt', 'front') },
    { id: 'back', depends_on: ['plan'], command: writeFileCommand('back.txt', 'back') },
    // Sees both branches' files: it starts from their merge.
    { id: 'ship', depends_on: ['front', 'back'], command: ['node', '-e', 'process.stdout.write(process.argv[1] + " " + require("fs").readdirSync(".").filter((f) => f !== ".git").sort().join(" "))', '{{tasks.front.commit}} {{tasks.back.branch}}'] },
  ],
});

describe.each(backendFactories())('worktree tasks on $name', (factory) => {
  it('run in their own worktrees, start from their dependencies and leave the run a merged branch', async () => {
    repo = makeRepo();
    repo.write('dirty.txt', 'not committed');
    const before = repo.checkout();
    const backend = await factory.create(repo.state);
    closers.push(() => backend.close());
    const orchestrator = new WorkflowOrchestrator({ stateBackend: backend, stateDir: repo.state });
    const result = await orchestrator.runWorkflow(diamond(repo.repo), { runId: 'r1' });
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    // The base is HEAD: the dirty file is in no worktree.
    expect(tasks.plan!.output).toBe('README.md plan.md');
    expect(tasks.front!.output).toBe('README.md front.txt plan.md');
    expect(tasks.ship!.output).toBe(`${tasks.front!.commit} agents-sdk-task/r1/back README.md back.txt front.txt plan.md`);
    for (const id of ['plan', 'front', 'back', 'ship']) {
      expect(tasks[id]!.branch).toBe(`agents-sdk-task/r1/${id}`);
      expect(gitIn(repo.repo, 'rev-parse', tasks[id]!.branch!)).toBe(tasks[id]!.commit);
    }
    // Each commit names the run and the task.
    expect(gitIn(repo.repo, 'log', '-1', '--format=%an <%ae>%n%B', tasks.front!.commit!)).toBe('agents-sdk <agents-sdk@localhost>\nagents-sdk: front\n\nAgents-SDK-Run: r1\nAgents-SDK-Task: front');
    expect(gitIn(repo.repo, 'show', `${tasks.front!.commit}:front.txt`)).toBe('front');
    // ship started from the merge of front and back.
    expect(gitIn(repo.repo, 'rev-list', '--parents', '-1', `${tasks.ship!.commit}~1`).split(' ')).toHaveLength(3);
    // The run's branch: its one sink, ship.
    expect(result.workspace).toEqual({ branch: 'agents-sdk/r1', commit: tasks.ship!.commit });
    expect(gitIn(repo.repo, 'ls-tree', '--name-only', 'agents-sdk/r1')).toBe('README.md\nback.txt\nfront.txt\nplan.md');
    // The user's checkout is as it was, the worktrees are gone, and so is what git knew of them.
    expect(repo.checkout()).toEqual(before);
    expect(gitIn(repo.repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree '))).toEqual([`worktree ${repo.repo}`]);
    expect(existsSync(join(repo.state, 'r1', '.worktrees'))).toBe(false);
    // Recorded durably with the run.
    const stored = await backend.loadRun('r1');
    expect(stored!.records.find((r) => r.taskId === 'ship')!.commit).toBe(tasks.ship!.commit);
    expect(stored!.workflow.worktree_base!['' + repo.repo]!.base).toBe(before.head);
    expect(stored!.result!.workspace).toEqual(result.workspace);
  });
});

describe('a dirty checkout', () => {
  it('is fine: the run says its tasks start from HEAD without the changes', async () => {
    repo = makeRepo({ files: { 'src.txt': 'committed' } });
    repo.write('src.txt', 'changed, not committed');
    const file = join(repo.dir, 'w.json');
    writeFileSync(file, JSON.stringify({ id: 'dirty', tasks: [{ id: 'read', workspace: 'worktree', cwd: repo.repo, command: ['node', '-e', 'process.stdout.write(require("fs").readFileSync("src.txt", "utf8"))'] }] }));
    const run = await cli(['run', file, '--run-id', 'dt', '--json', '--state-dir', repo.state]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`note: ${repo.repo} has uncommitted changes; worktree tasks start from HEAD (${repo.checkout().head.slice(0, 12)}) without them`);
    expect(JSON.parse(run.stdout).taskResults[0].output).toBe('committed');
    // A clean one says nothing.
    const clean = makeRepo();
    try {
      writeFileSync(file, JSON.stringify({ id: 'clean', tasks: [{ id: 'a', workspace: 'worktree', cwd: clean.repo, command: ['node', '-e', ''] }] }));
      const quiet = await cli(['run', file, '--run-id', 'cl', '--state-dir', clean.state]);
      expect(quiet.stderr).not.toContain('uncommitted');
    } finally {
      clean.cleanup();
    }
  });
});

describe('the run branch', () => {
  it('merges several sinks', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'two-sinks',
        workspace: { mode: 'worktree', author: 'Bot <bot@example.com>', message: 'bot work' },
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'a', command: writeFileCommand('a.txt', 'a') },
          { id: 'b', command: writeFileCommand('b.txt', 'b') },
          { id: 'shared', workspace: 'shared', depends_on: ['a'], command: ['node', '-e', ''] },
        ],
      },
      { runId: 'r2' },
    );
    expect(result.status).toBe('completed');
    expect(gitIn(repo.repo, 'ls-tree', '--name-only', 'agents-sdk/r2')).toBe('README.md\na.txt\nb.txt');
    expect(gitIn(repo.repo, 'log', '-1', '--format=%an <%ae> %s', byId(result).a!.commit!)).toBe('Bot <bot@example.com> bot work');
    expect(byId(result).shared!.commit).toBeUndefined();
  });
});
