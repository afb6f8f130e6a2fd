/**
 * A full disk stops the run at the first failed write: no new task starts, the run ends with
 * STATE_WRITE_FAILED naming the file and the cause, exit code 3 and the resume command; once
 * space is back, resume reruns only what was not durable.
 *
 * The state directory is a small tmpfs the test mounts (the tests run as root, as CI does),
 * grown with `mount -o remount` to give the space back.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateBackend } from '../src/persistence/open-state-backend.js';
import { cliProcess } from './helpers/cli.js';

let root: string;
let stateDir: string;
let log: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-full-'));
  stateDir = join(root, 'state');
  mkdirSync(stateDir);
  // Needs root (as in CI): a test that cannot make its full disk fails, it does not skip.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', stateDir]);
  log = join(root, 'ran.log');
  writeFileSync(log, '');
});
afterEach(() => {
  execFileSync('umount', ['-l', stateDir]);
  rmSync(root, { recursive: true, force: true });
});

const TASKS = Array.from({ length: 12 }, (_, i) => `t${i + 1}`);

/** A chain of tasks, each noting that it ran (outside the state dir) and printing 40 KB. */
function writeSpec(): string {
  const lines = ['id: fills-the-disk', 'max_parallel: 1', 'tasks:'];
  TASKS.forEach((id, i) => {
    lines.push(`  - id: ${id}`);
    lines.push(`    command: [sh, -c, 'echo "$0" >> "$1"; head -c 40000 /dev/zero | tr "\\0" x', ${id}, ${log}]`);
    if (i > 0) lines.push(`    depends_on: [${TASKS[i - 1]}]`);
  });
  const file = join(root, 'fill.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const ran = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);

async function completedInState(kind: string, runId: string): Promise<string[]> {
  const backend = await openStateBackend(kind, stateDir);
  try {
    const run = await backend.loadRun(runId);
    return run!.records.filter((r) => r.status === 'completed').map((r) => r.taskId);
  } finally {
    await backend.close();
  }
}

describe.each(['json', 'sqlite'])('a full disk (%s backend)', (kind) => {
  it('stops the run with a clear error and exit 3; after space is freed, resume reruns only what was not durable', async () => {
    const spec = writeSpec();
    const first = await cliProcess(['run', spec, '--run-id', 'full', '--state-dir', stateDir, '--backend', kind]);
    expect(first.exitCode, first.stderr).toBe(3);
    expect(first.stderr).toContain('STATE_WRITE_FAILED');
    expect(first.stderr).toContain(kind === 'json' ? 'ENOSPC' : 'SQLITE_FULL');
    expect(first.stderr).toContain(kind === 'json' ? join(stateDir, 'full', 'journal-') : join(stateDir, 'agents.sqlite'));
    // The resume command works as typed: with the state options the run was given.
    expect(first.stderr).toContain(`continue with: agents-sdk resume full --state-dir ${stateDir} --backend ${kind}`);
    // Said once, not twice.
    expect(first.stderr.match(/STATE_WRITE_FAILED/g)).toHaveLength(1);

    const durable = await completedInState(kind, 'full');
    const before = ran();
    expect(durable.length).toBeGreaterThan(0);
    // Nothing started after the failed write: at most the task whose record could not be saved ran beyond what is durable.
    expect(before.length).toBeLessThanOrEqual(durable.length + 1);
    expect(before.length).toBeLessThan(TASKS.length);

    execFileSync('mount', ['-o', 'remount,size=8m', stateDir]);
    const resumed = await cliProcess(['resume', 'full', '--state-dir', stateDir, '--backend', kind]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await completedInState(kind, 'full')).toHaveLength(TASKS.length);

    const counts = new Map<string, number>();
    for (const id of ran()) counts.set(id, (counts.get(id) ?? 0) + 1);
    // Every task ran; none that was durable ran again.
    expect([...counts.keys()].sort()).toEqual([...TASKS].sort());
    for (const id of durable) expect(counts.get(id), id).toBe(1);
    const reruns = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    expect(reruns.length).toBeLessThanOrEqual(1);
  });
});
