/**
 * Worktree runs are durable: SIGKILL the CLI while a task works in its worktree, `resume`, and
 * the completed task keeps its commit (it never runs again) while the interrupted one gets a
 * fresh worktree. Two runs on one repository never share a worktree or a branch. `agents-sdk
 * clean` removes what a failed run left (its branches with --branches), refusing a live run.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { cli, CLI_BIN } from './helpers/cli.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';
import { diesWithSuite } from './helpers/suite-processes.js';
import { fakeWorld } from './helpers/fake-claude.js';
import { CONTINUE_PROMPT } from '../src/machines/orchestrator.machine.js';

let repo: TestRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

/** Appends its name to `log`, writes `<name>.txt`; with `gate`, writes `partial.txt` first and waits for the gate file (exits when its parent dies). */
function step(name: string, log: string, gate?: string): string[] {
  const script = `
const fs = require('fs');
const [name, log, gate] = process.argv.slice(1);
fs.appendFileSync(log, name + '\\n');
const finish = () => { fs.writeFileSync(name + '.txt', name); process.stdout.write(fs.readdirSync('.').filter((f) => f !== '.git').sort().join(' ')); process.exit(0); };
if (!gate) finish();
fs.writeFileSync('partial.txt', 'half done');
const parent = process.ppid;
setInterval(() => { if (fs.existsSync(gate)) finish(); if (process.ppid !== parent) process.exit(1); }, 50);`;
  return ['node', '-e', script, name, log, ...(gate ? [gate] : [])];
}

function worktreePaths(root: string): string[] {
  return gitIn(root, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}

describe('a worktree run resumes after kill -9', { concurrent: false }, () => {
  for (const factory of backendFactories()) {
    const backend = factory.name === 'SqliteStateBackend' ? 'sqlite' : 'json';
    it(`${factory.name}: the completed task keeps its commit, the interrupted one starts in a fresh worktree`, { timeout: 90_000 }, async () => {
      repo = makeRepo();
      const r = repo;
      const log = join(r.dir, 'ran.log');
      const gate = join(r.dir, 'gate');
      const file = join(r.dir, 'w.json');
      writeFileSync(
        file,
        JSON.stringify({
          id: 'killed',
          workspace: 'worktree',
          defaults: { cwd: r.repo, retry_count: 1 },
          tasks: [
            { id: 'a', command: step('a', log) },
            { id: 'b', depends_on: ['a'], command: step('b', log, gate) },
          ],
        }),
      );
      const before = r.checkout();
      const start = (args: string[]): ResultPromise =>
        diesWithSuite(execa(process.execPath, [CLI_BIN, ...args, '--state-dir', r.state, '--backend', backend], { reject: false, stdin: 'ignore', detached: true }));
      const child = start(['run', file, '--run-id', 'k', '--json']);
      const partial = join(r.state, 'k', '.worktrees', 'b', 'attempt-1', 'partial.txt');
      let commitOfA: string | undefined;
      const until = Date.now() + 30_000;
      for (;;) {
        const store = await factory.create(r.state);
        const run = await store.loadRun('k').catch(() => undefined);
        await store.close();
        commitOfA = run?.records.find((x) => x.taskId === 'a' && x.status === 'completed')?.commit;
        if (commitOfA && existsSync(partial)) break;
        if (Date.now() > until) throw new Error('b never started in its worktree');
        await new Promise((res) => setTimeout(res, 20));
      }
      child.kill('SIGKILL');
      await child;
      writeFileSync(gate, '');

      const resumed = await start(['resume', 'k', '--json']);
      expect([resumed.exitCode, String(resumed.stderr)]).toEqual([0, expect.stringContaining('completed')]);
      const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
      const tasks = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
      expect(result.status).toBe('completed');
      // a ran once and kept its commit; b ran again from a's commit, in a fresh worktree.
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['a', 'b', 'b']);
      expect(tasks.a!.commit).toBe(commitOfA);
      expect(tasks.b!.output).toBe('README.md a.txt b.txt partial.txt');
      expect(gitIn(r.repo, 'rev-parse', `${tasks.b!.commit}~1`)).toBe(commitOfA);
      expect(gitIn(r.repo, 'ls-tree', '--name-only', 'agents-sdk/k')).toBe('README.md\na.txt\nb.txt\npartial.txt');
      expect(worktreePaths(r.repo)).toEqual([r.repo]);
      expect(r.checkout()).toEqual(before);
    });
  }
});

describe('an interrupted agent with resume_interrupted: continue', () => {
  it('continues its Claude session in its own worktree, with its partial changes', { timeout: 90_000 }, async () => {
    repo = makeRepo();
    const r = repo;
    const world = fakeWorld();
    try {
      const file = join(r.dir, 'w.yaml');
      writeFileSync(file, ['id: cont', 'workspace: worktree', 'resume_interrupted: continue', 'tasks:', '  - id: long', `    cwd: ${r.repo}`, '    prompt: "long job [[delay:20000]]"', ''].join('\n'));
      const start = (args: string[]): ResultPromise =>
        diesWithSuite(execa(process.execPath, [CLI_BIN, ...args, '--state-dir', r.state], { env: { ...world.env, FAKE_CLAUDE_EXIT_WITH_PARENT: '1' }, reject: false, stdin: 'ignore', detached: true }));
      const child = start(['run', file, '--run-id', 'c', '--json']);
      const until = Date.now() + 30_000;
      for (;;) {
        const backend = new JsonStateBackend(r.state);
        const run = await backend.loadRun('c').catch(() => undefined);
        await backend.close();
        if (run?.records.find((x) => x.taskId === 'long')?.sessionId) break;
        if (Date.now() > until) throw new Error('no session id checkpointed');
        await new Promise((res) => setTimeout(res, 20));
      }
      child.kill('SIGKILL');
      await child;
      // What the agent had written when its driver died.
      const first = join(r.state, 'c', '.worktrees', 'long', 'attempt-1');
      writeFileSync(join(first, 'half.txt'), 'written before the crash');

      const resumed = await start(['resume', 'c', '--json']);
      expect(resumed.exitCode).toBe(0);
      const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
      const long = result.taskResults[0]!;
      expect(long.status).toBe('completed');
      const continued = world.invocations().filter((c) => c.prompt === CONTINUE_PROMPT);
      expect(continued.map((c) => [c.cwd, c.resume])).toEqual([[first, long.sessionId]]);
      expect(gitIn(r.repo, 'show', `${long.commit}:half.txt`)).toBe('written before the crash');
      expect(worktreePaths(r.repo)).toEqual([r.repo]);
    } finally {
      world.cleanup();
    }
  });
});

describe('runs side by side', () => {
  it('two runs on one repository never share a worktree or a branch', async () => {
    repo = makeRepo();
    const r = repo;
    const spec = (text: string) => ({
      id: 'twin',
      workspace: 'worktree' as const,
      defaults: { cwd: r.repo },
      tasks: [
        { id: 'impl', for_each: '["x", "y"]', command: writeFileCommand('{{item}}.txt', text) },
        { id: 'join', depends_on: ['impl'], command: writeFileCommand('join.txt', text) },
      ],
    });
    const seen: string[] = [];
    const orchestrator = new WorkflowOrchestrator({ stateDir: r.state });
    orchestrator.bus.subscribe('task.started', () => {
      seen.push(...worktreePaths(r.repo));
    });
    const [one, two] = await Promise.all([orchestrator.runWorkflow(spec('one'), { runId: 'one' }), orchestrator.runWorkflow(spec('two'), { runId: 'two' })]);
    expect([one.status, two.status]).toEqual(['completed', 'completed']);
    expect(gitIn(r.repo, 'show', 'agents-sdk/one:x.txt')).toBe('one');
    expect(gitIn(r.repo, 'show', 'agents-sdk/two:x.txt')).toBe('two');
    expect(gitIn(r.repo, 'show', 'agents-sdk-task/two/impl@1:y.txt')).toBe('two');
    const perRun = (id: string) => seen.filter((p) => p.includes(`/${id}/.worktrees/`));
    expect(perRun('one').every((p) => !perRun('two').includes(p))).toBe(true);
  });
});

describe('agents-sdk clean', () => {
  it('removes what a failed run left, its branches with --branches; refuses a live run', async () => {
    repo = makeRepo();
    const r = repo;
    const file = join(r.dir, 'w.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'fails',
        workspace: 'worktree',
        defaults: { cwd: r.repo, retry_count: 1 },
        tasks: [
          { id: 'ok', command: writeFileCommand('ok.txt', 'ok') },
          { id: 'bad', depends_on: ['ok'], command: ['node', '-e', 'require("fs").writeFileSync("half.txt", ""); process.exit(3)'] },
        ],
      }),
    );
    const run = await cli(['run', file, '--run-id', 'f', '--state-dir', r.state]);
    expect(run.code).toBe(1);
    const kept = join(r.state, 'f', '.worktrees', 'bad', 'attempt-1');
    expect(existsSync(join(kept, 'half.txt'))).toBe(true);
    const status = await cli(['status', 'f', '--state-dir', r.state, '--json']);
    expect(JSON.parse(status.stdout).records.find((x: { taskId: string }) => x.taskId === 'bad').worktree).toBe(kept);

    // A live run is refused.
    const backend = new JsonStateBackend(r.state);
    const release = await backend.lockRun('f');
    const refused = await cli(['clean', 'f', '--state-dir', r.state]);
    await release();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('LOCKED');
    expect(existsSync(kept)).toBe(true);

    const cleaned = await cli(['clean', 'f', '--state-dir', r.state]);
    expect([cleaned.code, cleaned.stdout]).toEqual([0, `removed the worktrees of run f in ${r.repo}\n`]);
    expect(existsSync(kept)).toBe(false);
    expect(worktreePaths(r.repo)).toEqual([r.repo]);
    expect(gitIn(r.repo, 'worktree', 'prune', '--dry-run', '--verbose')).toBe('');
    expect(gitIn(r.repo, 'branch', '--list', 'agents-sdk*')).not.toBe('');

    const branches = await cli(['clean', 'f', '--branches', '--json', '--state-dir', r.state]);
    expect(JSON.parse(branches.stdout)).toEqual({ runId: 'f', repositories: [r.repo], branches: ['agents-sdk-task/f/bad', 'agents-sdk-task/f/ok'] });
    expect(gitIn(r.repo, 'branch', '--list', 'agents-sdk*')).toBe('');

    const unknown = await cli(['clean', 'nope', '--state-dir', r.state]);
    expect(unknown.code).toBe(2);
  });

  it('says so for a run without worktree tasks', async () => {
    repo = makeRepo();
    const r = repo;
    const file = join(r.dir, 'w.json');
    writeFileSync(file, JSON.stringify({ id: 'plain', tasks: [{ id: 'a', command: ['node', '-e', ''] }] }));
    expect((await cli(['run', file, '--run-id', 'p', '--state-dir', r.state])).code).toBe(0);
    const cleaned = await cli(['clean', 'p', '--state-dir', r.state]);
    expect(cleaned.stdout).toBe('run p has no worktree tasks: nothing to clean\n');
  });
});
