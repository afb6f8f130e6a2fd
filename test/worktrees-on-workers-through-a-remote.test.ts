/**
 * `workspace: { mode: worktree, remote: origin }`: the commits travel through a git remote.
 * With `--redis` workers, each worker makes the worktrees in its own clone (its `cwd`), fetches
 * a task's starting commits from the remote (merging several where the task runs) and pushes
 * the task's branch; the driver records the commits, fetches the branches and pushes the run's
 * result branch. The user's checkout is never touched. Without workers, the same run pushes
 * its branches from the user's repository. A full disk while a worker commits stops the run,
 * and resume finishes it. A remote the repository does not have is refused
 * before the run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBullmqExecutor } from '../src/distributed/bullmq-executor.js';
import { startWorker, type RunningWorker } from '../src/distributed/worker.js';
import { AgentsSdkError, JsonStateBackend, WorkflowOrchestrator, validateWorkflow, type TaskResult, type WorkflowResult, type WorkflowSpecInput } from '../src/index.js';
import { gitIn, makeRepo, type TestRepo } from './helpers/git-repo.js';
import { startRedis, type TestRedis } from './helpers/redis.js';

let repo: TestRepo | undefined;
const temps: string[] = [];
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/** The user's repository with a bare `origin` holding its first commit, and a local commit on top not pushed. */
function repoWithRemote(): { repo: TestRepo; remote: string } {
  const made = makeRepo();
  const remote = join(made.dir, 'remote.git');
  gitIn(made.dir, 'clone', '--quiet', '--bare', made.repo, remote);
  gitIn(made.repo, 'remote', 'add', 'origin', remote);
  made.write('local.txt', 'not pushed');
  made.commitAll('local only');
  return { repo: made, remote };
}

/** A command that writes `<id>.txt` and prints the git directory it works in (the clone it runs in). */
const writes = (id: string, wait = '') => ['sh', '-c', `${wait}echo ${id} > ${id}.txt; git rev-parse --git-common-dir`];

/** plan; front and back at once (each waits until the other has started: two workers of concurrency 1 must each take one); ship joins them. */
function diamond(cwd: string, sync: string): WorkflowSpecInput {
  const meet = (me: string, other: string) =>
    `touch ${sync}/${me}; i=0; while [ ! -e ${sync}/${other} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; `;
  return {
    id: 'remote-diamond',
    workspace: { mode: 'worktree', remote: 'origin' },
    defaults: { cwd },
    tasks: [
      { id: 'plan', command: writes('plan') },
      { id: 'front', depends_on: ['plan'], command: writes('front', meet('front', 'back')) },
      { id: 'back', depends_on: ['plan'], command: writes('back', meet('back', 'front')) },
      { id: 'ship', depends_on: ['front', 'back'], command: ['sh', '-c', 'ls | tr "\\n" " "; git rev-parse --git-common-dir'] },
    ],
  };
}

describe('worktrees on two workers through a bare remote', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('each worker works in its own clone; dependants start from the remote commits; the result branch is pushed', async () => {
    const made = repoWithRemote();
    repo = made.repo;
    const before = repo.checkout();
    const clones = [join(made.repo.dir, "w1"), join(made.repo.dir, "w2")];
    for (const clone of clones) gitIn(repo.dir, 'clone', '--quiet', made.remote, clone);
    const sync = mkdtempSync(join(tmpdir(), 'agents-ws-sync-'));
    temps.push(sync);
    const queue = `ws${Date.now()}`;
    const workers: RunningWorker[] = [];
    const executor = createBullmqExecutor({ connection: redis.url, queue });
    try {
      for (const clone of clones) workers.push(await startWorker({ connection: redis.url, queue, concurrency: 1, cwd: clone }));
      const orchestrator = new WorkflowOrchestrator(new JsonStateBackend(repo.state), { executor, stateDir: repo.state });
      const result = await orchestrator.runWorkflow(diamond(repo.repo, sync), { runId: 'rw' });
      const tasks = byId(result);
      expect(result.status, JSON.stringify(result.taskResults.map((t) => t.error))).toBe('completed');
      // front and back ran at once, so on the two workers, each in its own clone.
      const cloneOf = (id: string) => clones.findIndex((c) => String(tasks[id]!.output).trim().endsWith(`${c}/.git`));
      expect(cloneOf('front')).not.toBe(-1);
      expect(cloneOf('back')).not.toBe(-1);
      expect(cloneOf('front')).not.toBe(cloneOf('back'));
      // The base is the user's HEAD (its local commit reached the workers through the remote); ship sees both sides.
      expect(tasks.ship!.output).toMatch(/^README\.md back\.txt front\.txt local\.txt plan\.txt \//);
      for (const id of ['plan', 'front', 'back', 'ship']) {
        expect(tasks[id]!.branch).toBe(`agents-sdk-task/rw/${id}`);
        // Each branch is on the remote, and in the user's repository once the run completed.
        expect(gitIn(made.remote, 'rev-parse', `refs/heads/agents-sdk-task/rw/${id}`)).toBe(tasks[id]!.commit);
        expect(gitIn(repo.repo, 'rev-parse', `refs/heads/agents-sdk-task/rw/${id}`)).toBe(tasks[id]!.commit);
      }
      // ship started from the merge of front and back, made on its worker.
      expect(gitIn(repo.repo, 'rev-list', '--parents', '-1', `${tasks.ship!.commit}~1`).split(' ')).toHaveLength(3);
      expect(result.workspace).toEqual({ branch: 'agents-sdk/rw', commit: tasks.ship!.commit });
      expect(gitIn(made.remote, 'rev-parse', 'refs/heads/agents-sdk/rw')).toBe(tasks.ship!.commit);
      expect(gitIn(made.remote, 'ls-tree', '--name-only', 'agents-sdk/rw').split('\n')).toEqual(['README.md', 'back.txt', 'front.txt', 'local.txt', 'plan.txt']);
      // The user's checkout, and the workers' clones, are as they were; the workers' worktrees are gone.
      expect(repo.checkout()).toEqual(before);
      for (const clone of clones) {
        expect(gitIn(clone, 'status', '--porcelain')).toBe('');
        expect(gitIn(clone, 'worktree', 'list').split('\n')).toHaveLength(1);
      }
      expect(existsSync(join(repo.state, 'rw', '.worktrees'))).toBe(false);
    } finally {
      for (const worker of workers) await worker.close();
      await executor.close();
    }
  }, 60_000);

  it('a full disk while a worker commits stops the run (STATE_WRITE_FAILED); resume finishes it once space is back', async () => {
    const made = repoWithRemote();
    repo = made.repo;
    // The worker's clone (where its commits' objects go) is a small tmpfs (the tests run as root, as CI does).
    const clone = join(made.repo.dir, 'small');
    mkdirSync(clone);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', clone]);
    const queue = `full${Date.now()}`;
    const executor = createBullmqExecutor({ connection: redis.url, queue });
    let worker: RunningWorker | undefined;
    try {
      gitIn(made.repo.dir, 'clone', '--quiet', '--template=', made.remote, clone);
      worker = await startWorker({ connection: redis.url, queue, cwd: clone });
      const orchestrator = new WorkflowOrchestrator(new JsonStateBackend(repo.state), { executor, stateDir: repo.state });
      const spec: WorkflowSpecInput = {
        id: 'remote-full',
        workspace: { mode: 'worktree', remote: 'origin' },
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'big', command: ['sh', '-c', 'head -c 400000 /dev/urandom > big.bin'] },
          { id: 'after', depends_on: ['big'], command: writes('after') },
        ],
      };
      const error = (await orchestrator.runWorkflow(spec, { runId: 'rf' }).catch((e: unknown) => e)) as AgentsSdkError;
      expect(error).toBeInstanceOf(AgentsSdkError);
      expect(error.code).toBe('STATE_WRITE_FAILED');
      expect(error.message).toContain('ENOSPC');
      expect(error.message).toContain('agents-sdk resume rf');
      execFileSync('mount', ['-o', 'remount,size=8m', clone]);
      const resumed = await orchestrator.resume('rf');
      expect(resumed.status).toBe('completed');
      expect(gitIn(made.remote, 'ls-tree', '--name-only', 'agents-sdk/rf').split('\n')).toEqual(['README.md', 'after.txt', 'big.bin', 'local.txt']);
    } finally {
      await worker?.close();
      await executor.close();
      execFileSync('umount', ['-l', clone]);
    }
  }, 60_000);
});

describe('a remote without workers', () => {
  it('the run pushes its base, its tasks\' branches and its result to the remote', async () => {
    const made = repoWithRemote();
    repo = made.repo;
    const before = repo.checkout();
    const orchestrator = new WorkflowOrchestrator(new JsonStateBackend(repo.state), { stateDir: repo.state });
    const spec: WorkflowSpecInput = {
      id: 'remote-local',
      defaults: { cwd: repo.repo, workspace: { mode: 'worktree', remote: 'origin', message: 'from a remote run' } },
      tasks: [
        { id: 'a', command: writes('a') },
        { id: 'b', command: writes('b') },
        { id: 'join', depends_on: ['a', 'b'], command: writes('join') },
      ],
    };
    const result = await orchestrator.runWorkflow(spec, { runId: 'rl' });
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    expect(gitIn(made.remote, 'rev-parse', 'refs/heads/agents-sdk-task/rl/@base')).toBe(before.head);
    expect(gitIn(made.remote, 'rev-parse', 'refs/heads/agents-sdk-task/rl/join')).toBe(tasks.join!.commit);
    expect(gitIn(made.remote, 'rev-parse', 'refs/heads/agents-sdk/rl')).toBe(tasks.join!.commit);
    expect(gitIn(made.remote, 'log', '-1', '--format=%s', tasks.a!.commit!)).toBe('from a remote run');
    expect(repo.checkout()).toEqual(before);
  });

  it('a remote the repository does not have is refused before the run, naming the tasks and the remote', async () => {
    repo = makeRepo();
    const backend = new JsonStateBackend(repo.state);
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir: repo.state });
    const spec: WorkflowSpecInput = {
      id: 'no-remote',
      tasks: [{ id: 'build', cwd: repo.repo, workspace: { mode: 'worktree', remote: 'upstream' }, command: writes('build') }],
    };
    const error = (await orchestrator.runWorkflow(spec, { runId: 'nr' }).catch((e: unknown) => e)) as AgentsSdkError;
    expect(error).toBeInstanceOf(AgentsSdkError);
    expect(error.code).toBe('WORKSPACE_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'no-remote', remote: 'upstream', tasks: ['build'], field: 'tasks.build.workspace.remote' });
    expect(error.message).toContain('task "build" (workspace.remote: upstream)');
    expect(error.message).toContain(`has no remote "upstream"`);
    expect(await backend.loadRun('nr')).toBeUndefined();
    // Several tasks naming it: all named.
    const two: WorkflowSpecInput = { ...spec, tasks: [...spec.tasks, { id: 'check', cwd: repo.repo, workspace: { mode: 'worktree', remote: 'upstream' }, command: writes('check') }] };
    const again = (await orchestrator.runWorkflow(two, { runId: 'nr2' }).catch((e: unknown) => e)) as AgentsSdkError;
    expect(again.message).toContain('tasks "build", "check" (workspace.remote: upstream)');
  });

  it('a remote that is no remote name is a validation error naming the field', () => {
    expect(() => validateWorkflow({ id: 'bad', workspace: { mode: 'worktree', remote: 'not a name' }, tasks: [{ id: 't', command: ['true'] }] })).toThrow(/workspace\.remote.*must be a remote name/);
  });
});
