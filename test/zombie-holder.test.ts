/**
 * A process that has exited but is not reaped yet (a zombie: its parent does not wait for it,
 * or pid 1 reaps late, as in many containers) is dead: its run lock is taken over, and the
 * process registry does not take it for a running agent. Real zombies, made by a parent that
 * never waits: `sh` that execs `sleep` after starting a child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStartTicks, reapProcesses, registerProcess } from '../src/actors/process-registry.js';
import { backendFactories } from './helpers/backends.js';
import { eventually, isAlive } from './helpers/fake-claude.js';
import { checkpoint } from './helpers/records.js';

const parents: ChildProcess[] = [];
const strays: number[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-zombie-'));
});
afterEach(() => {
  for (const pid of [...parents.splice(0).map((p) => p.pid!), ...strays.splice(0)]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return null;
  }
}

/**
 * Starts `child` (a shell command, in a process group of its own) under a parent that never
 * reaps it, and resolves with its pid once it has exited: a zombie group leader.
 */
async function zombie(child = 'exit 0'): Promise<number> {
  // The child waits until its parent has become `sleep`: a shell may still reap a child that
  // exits while it runs (under load, the child's quick exit came first, and no zombie was left).
  const waitForSleep = 'until [ "$(cat /proc/$PPID/comm)" = sleep ]; do sleep 0.01; done';
  const parent = spawn('sh', ['-c', `setsid sh -c '${waitForSleep}; ${child}' & echo $!; exec sleep 60`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  parents.push(parent);
  let out = '';
  parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  expect(await eventually(() => out.includes('\n'))).toBe(true);
  const pid = Number(out.trim());
  strays.push(pid);
  expect(await eventually(() => stateOf(pid) === 'Z')).toBe(true);
  // Still "there" for kill(pid, 0), which is what made it look alive.
  expect(() => process.kill(pid, 0)).not.toThrow();
  return pid;
}

describe.each(backendFactories())('a lock held by a zombie: $name', ({ create, forgeLock }) => {
  it('is a dead holder: lockHolder reports none, and lockRun takes it over', async () => {
    const pid = await zombie();
    const backend = await create(dir);
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    await forgeLock(dir, 'r', { pid, host: hostname(), acquiredAt: Date.now(), startTicks: processStartTicks(pid)! });
    expect(await backend.lockHolder('r')).toBeNull();
    const release = await backend.lockRun('r');
    expect(await backend.lockHolder('r')).toMatchObject({ pid: process.pid });
    await release();
    await backend.close();
  });
});

describe('the process registry and zombies', () => {
  it('an agent group whose only process is a zombie is gone: nothing to kill, its entry is dropped', async () => {
    const pid = await zombie();
    registerProcess(dir, pid, 'claude');
    expect(await reapProcesses(dir, { graceMs: 200 })).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a group whose leader is a zombie but whose child still runs is ours, and is killed', async () => {
    // The leader starts a child in its group (printing its pid to a file) and exits.
    const childPidFile = join(dir, 'child.pid');
    const pid = await zombie(`sleep 60 & echo $! > ${childPidFile}`);
    const child = Number(readFileSync(childPidFile, 'utf8').trim());
    expect(isAlive(child)).toBe(true);
    const registry = join(dir, 'registry');
    registerProcess(registry, pid, 'claude');
    expect(await reapProcesses(registry, { graceMs: 2_000 })).toEqual([{ pid, command: 'claude', outcome: 'killed' }]);
    expect(await eventually(() => !isAlive(child))).toBe(true);
  });
});
