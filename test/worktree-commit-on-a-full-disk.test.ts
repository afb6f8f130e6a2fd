/**
 * A full disk while a worktree task's changes are committed stops the run as a failed write of
 * its state does: STATE_WRITE_FAILED naming the cause, exit 3 and the resume command; once
 * space is back, `resume` finishes the run (the task whose commit failed runs again, in a
 * fresh worktree), and no completed task runs twice.
 *
 * The repository (where git writes the commit's objects) is a small tmpfs the test mounts (the
 * tests run as root, as CI does); the state directory is on the ordinary disk.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateBackend } from '../src/persistence/open-state-backend.js';
import { RunCheckpointer } from '../src/persistence/run-checkpointer.js';
import { JsonStateBackend, validateWorkflow } from '../src/index.js';
import { cliProcess } from './helpers/cli.js';
import { gitIn } from './helpers/git-repo.js';

let root: string;
let repo: string;
let stateDir: string;
let log: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-ws-full-'));
  repo = join(root, 'repo');
  stateDir = join(root, 'state');
  mkdirSync(repo);
  // Needs root (as in CI): a test that cannot make its full disk fails, it does not skip.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=192k', 'tmpfs', repo]);
  gitIn(repo, 'init', '--quiet', '--template=', '--initial-branch=main');
  writeFileSync(join(repo, 'README.md'), '# full\n');
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '--quiet', '-m', 'initial');
  log = join(root, 'ran.log');
  writeFileSync(log, '');
});
afterEach(() => {
  execFileSync('umount', ['-l', repo]);
  rmSync(root, { recursive: true, force: true });
});

/** plan (a small file), then big (300 KB that do not compress: more than the repository's disk holds), then ship. */
function writeSpec(): string {
  const note = (id: string) => `echo ${id} >> ${log}`;
  const spec = [
    'id: commits-fill-the-disk',
    'workspace: worktree',
    'defaults:',
    `  cwd: ${repo}`,
    'tasks:',
    '  - id: plan',
    `    command: [sh, -c, '${note('plan')}; echo plan > plan.md']`,
    '  - id: big',
    '    depends_on: [plan]',
    `    command: [sh, -c, '${note('big')}; head -c 300000 /dev/urandom > big.bin']`,
    '  - id: ship',
    '    depends_on: [big]',
    `    command: [sh, -c, '${note('ship')}; ls']`,
  ];
  const file = join(root, 'full.yaml');
  writeFileSync(file, spec.join('\n') + '\n');
  return file;
}

const ran = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);

async function statuses(kind: string): Promise<Record<string, string>> {
  const backend = await openStateBackend(kind, stateDir);
  try {
    const run = await backend.loadRun('full');
    return Object.fromEntries(run!.records.map((r) => [r.taskId, r.status]));
  } finally {
    await backend.close();
  }
}

describe.each(['json', 'sqlite'])('a full disk while committing (%s backend)', (kind) => {
  it('stops the run with exit 3 and the resume command; resume finishes it once space is back', async () => {
    const spec = writeSpec();
    const first = await cliProcess(['run', spec, '--run-id', 'full', '--state-dir', stateDir, '--backend', kind]);
    expect(first.exitCode, first.stderr).toBe(3);
    expect(first.stderr).toContain('STATE_WRITE_FAILED');
    expect(first.stderr).toContain('ENOSPC');
    expect(first.stderr).toContain(`continue with: agents-sdk resume full --state-dir ${stateDir} --backend ${kind}`);
    expect(first.stderr).not.toContain('GIT_FAILED');
    expect(ran()).toEqual(['plan', 'big']);
    // The task whose commit failed did not fail: it is left to resume.
    const stopped = await statuses(kind);
    expect(stopped.plan).toBe('completed');
    expect(stopped.big).not.toBe('failed');
    expect(stopped.big).not.toBe('completed');

    execFileSync('mount', ['-o', 'remount,size=8m', repo]);
    const resumed = await cliProcess(['resume', 'full', '--state-dir', stateDir, '--backend', kind]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await statuses(kind)).toEqual({ plan: 'completed', big: 'completed', ship: 'completed' });
    expect(ran()).toEqual(['plan', 'big', 'big', 'ship']);
    // The run's branch holds the big file, and the user's checkout is as it was.
    expect(gitIn(repo, 'ls-tree', '--name-only', 'agents-sdk/full')).toBe('README.md\nbig.bin\nplan.md');
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
  });
});

describe('a write the run needs outside its state (a commit) that failed', () => {
  it('stops the run once, with the first failure; finishing says it', async () => {
    const backend = new JsonStateBackend(stateDir);
    const workflow = validateWorkflow({ id: 'w', tasks: [{ id: 't', command: ['true'] }] });
    const told: string[] = [];
    const checkpointer = new RunCheckpointer(backend, 'once', workflow, 0, { records: () => [], recordOf: () => undefined, snapshot: () => ({}) as never }, {
      onFailure: (error) => told.push(error.message),
    });
    await checkpointer.begin();
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    checkpointer.fail(full);
    checkpointer.fail(new Error('a second one'));
    expect(told).toEqual(['Could not save the state of run once: ENOSPC: no space left on device, write']);
    expect(checkpointer.writeFailure?.code).toBe('STATE_WRITE_FAILED');
    await expect(checkpointer.finish({ status: 'failed' } as never)).rejects.toThrow(/ENOSPC/);
    await backend.close();
  });
});
