/**
 * Worktrees (issue 22): what `workspace: worktree` costs.
 *
 *  1. Per task, on a repository of 5,000 files: a worktree made for the task (`git worktree
 *     add` from the base), one file written, committed, and the worktree removed — the work the
 *     workspace layer does around each attempt — beside the same with a `git clone --shared`
 *     (clone, write, commit, delete). Median of BENCH_WORKTREE_RUNS (default 10).
 *  2. Makespan of 8 parallel tasks (500 ms each, a command writing one file; max_parallel 8)
 *     with `workspace: worktree` and with `shared`, one run each (a worktree run writes 40,000
 *     files: it takes a minute on a slow disk).
 *
 *  3. With `workspace.remote` (worktrees on workers): what the commits' trip through a bare
 *     remote adds per task: a worker's clone fetching the task's starting commit (made by
 *     another clone) by id, and pushing the task's branch. Median of the same runs.
 *
 * 1 and 2 are dominated by writing the repository's files (a checkout), which depends on the disk.
 * Target: a worktree costs at most what isolating the task with `git clone --shared` costs (≤ 1.2×).
 *
 *   node bench/worktree.mjs      (after npm run build; also a section of bench/run.mjs)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WorkflowOrchestrator } from '../dist/index.js';
import { addWorktree, commitWorktree, fetchCommits, pushBranch, removeWorktreesUnder } from '../dist/workspace/git-worktree.js';

const FILES = 5_000;
const PARALLEL = 8;
const TASK_MS = 500;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** A repository of `FILES` small files in 50 directories, one commit. */
export function makeRepo(dir) {
  const repo = path.join(dir, 'repo');
  for (let d = 0; d < 50; d++) {
    fs.mkdirSync(path.join(repo, `dir${d}`), { recursive: true });
    for (let f = 0; f < FILES / 50; f++) fs.writeFileSync(path.join(repo, `dir${d}`, `file${f}.ts`), `export const v${d}_${f} = ${d * 1000 + f};\n`);
  }
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'base');
  return repo;
}

async function perTask(repo, dir, runs) {
  const base = git(repo, 'rev-parse', 'HEAD');
  const worktree = [];
  const clone = [];
  for (let k = 0; k < runs; k++) {
    let t0 = performance.now();
    const wt = path.join(dir, 'wt', `t${k}`);
    await addWorktree({ root: repo, dir: wt, branch: `bench/t${k}`, base, from: [], taskId: `t${k}` });
    fs.writeFileSync(path.join(wt, 'dir0', 'file0.ts'), `export const changed = ${k};\n`);
    await commitWorktree(wt, `bench ${k}`);
    await removeWorktreesUnder(repo, wt);
    worktree.push(performance.now() - t0);

    t0 = performance.now();
    const cl = path.join(dir, 'clones', `c${k}`);
    git(dir, 'clone', '--quiet', '--shared', repo, cl);
    fs.writeFileSync(path.join(cl, 'dir0', 'file0.ts'), `export const changed = ${k};\n`);
    git(cl, 'add', '-A');
    git(cl, 'commit', '--quiet', '-m', `bench ${k}`);
    fs.rmSync(cl, { recursive: true, force: true });
    clone.push(performance.now() - t0);
  }
  return { worktreeMs: median(worktree), cloneMs: median(clone) };
}

/** Per task through a remote: fetch the starting commit another clone pushed, push the task's new commit. */
export async function remoteTrip(repo, dir, runs) {
  const bare = path.join(dir, 'remote.git');
  git(dir, 'clone', '--quiet', '--bare', repo, bare);
  const worker = path.join(dir, 'worker');
  git(dir, 'clone', '--quiet', '--no-checkout', bare, worker);
  const fetch = [];
  const push = [];
  for (let k = 0; k < runs; k++) {
    // Another worker's commit (one file changed), on the remote: this worker lacks it.
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, env: ENV, input: `export const remote = ${k};\n`, encoding: 'utf8' }).trim();
    git(repo, 'read-tree', 'HEAD');
    git(repo, 'update-index', '--cacheinfo', `100644,${blob},dir0/file0.ts`);
    const tree = git(repo, 'write-tree');
    git(repo, 'read-tree', 'HEAD');
    const theirs = git(repo, 'commit-tree', tree, '-p', 'HEAD', '-m', `other ${k}`);
    await pushBranch(repo, bare, theirs, `bench/other${k}`);
    let t0 = performance.now();
    await fetchCommits(worker, 'origin', [theirs]);
    fetch.push(performance.now() - t0);
    const mine = git(worker, 'commit-tree', `${theirs}^{tree}`, '-p', theirs, '-m', `task ${k}`);
    t0 = performance.now();
    await pushBranch(worker, 'origin', mine, `bench/task${k}`);
    push.push(performance.now() - t0);
  }
  return { fetchMs: median(fetch), pushMs: median(push) };
}

async function makespan(repo, dir, mode, k) {
  const stateDir = path.join(dir, `state-${mode}-${k}`);
  const spec = {
    id: `parallel-${mode}`,
    max_parallel: PARALLEL,
    workspace: mode,
    defaults: { cwd: repo, retry_count: 1 },
    tasks: Array.from({ length: PARALLEL }, (_, i) => ({
      id: `t${i}`,
      command: ['node', '-e', `setTimeout(() => require('fs').writeFileSync('out-${mode}-${k}-${i}.txt', 'x'), ${TASK_MS})`],
    })),
  };
  const t0 = performance.now();
  const result = await new WorkflowOrchestrator({ stateDir, stateBackend: null }).runWorkflow(spec);
  const ms = performance.now() - t0;
  if (result.status !== 'completed') throw new Error(`${mode}: ${result.status}`);
  return ms;
}

export async function worktreeBench(runs = Number(process.env.BENCH_WORKTREE_RUNS ?? 3)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-worktree-'));
  try {
    const repo = makeRepo(dir);
    const cost = await perTask(repo, dir, runs);
    const trip = await remoteTrip(repo, dir, runs);
    const sharedMs = await makespan(repo, dir, 'shared', 0);
    const worktreeMakespanMs = await makespan(repo, dir, 'worktree', 0);
    return { ...cost, ...trip, runs, sharedMs, worktreeMakespanMs, loadAverage: os.loadavg()[0] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printWorktreeTable({ worktreeMs, cloneMs, fetchMs, pushMs, runs, sharedMs, worktreeMakespanMs, loadAverage }) {
  console.log(`\n## Worktrees: cost per task on a ${FILES.toLocaleString('en')}-file repository (median of ${runs})\n`);
  console.log('| per task | ms |');
  console.log('| --- | --- |');
  console.log(`| git worktree add + write + commit + remove (the workspace layer) | ${worktreeMs.toFixed(0)} |`);
  console.log(`| git clone --shared + write + commit + delete | ${cloneMs.toFixed(0)} |`);
  console.log(`| through a remote (workers): fetch the starting commit | ${fetchMs.toFixed(0)} |`);
  console.log(`| through a remote (workers): push the task's branch | ${pushMs.toFixed(0)} |`);
  console.log(`\n${PARALLEL} parallel tasks of ${TASK_MS} ms, max_parallel ${PARALLEL} (load average ${loadAverage.toFixed(1)}):\n`);
  console.log('| workspace | makespan ms |');
  console.log('| --- | --- |');
  console.log(`| shared | ${sharedMs.toFixed(0)} |`);
  console.log(`| worktree | ${worktreeMakespanMs.toFixed(0)} |`);
  const ratio = worktreeMs / cloneMs;
  const ok = ratio <= 1.2;
  const perTask = (worktreeMakespanMs - sharedMs) / PARALLEL;
  console.log(`\nworktree makespan − shared: ${perTask.toFixed(0)} ms per task (the checkouts share the disk)`);
  console.log(`worktree / clone --shared per task: ${ratio.toFixed(2)}× (target ≤ 1.2×): ${ok ? 'yes' : 'NO'}`);
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printWorktreeTable(await worktreeBench());
}
