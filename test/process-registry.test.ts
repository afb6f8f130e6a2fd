/**
 * The process registry: what a crashed orchestrator leaves behind, and what resume reaps.
 * Real detached process groups (node processes that idle), no fakes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processRegistryDir, reapProcesses, registerProcess, unregisterProcess, type ProcessEntry } from '../src/actors/process-registry.js';
import { eventually, isAlive } from './helpers/fake-claude.js';

const IDLE = 'setInterval(() => {}, 1000)';
/** A leader that starts an idle child in its own group, prints the child's pid, and exits. */
const LEAVE_CHILD = `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(IDLE)}], { stdio: 'ignore' }); console.log(c.pid); process.exit(0);`;

let dir: string;
const started: number[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-registry-'));
});
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function group(code = IDLE): ChildProcess {
  const child = spawn(process.execPath, ['-e', code], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(child.pid!);
  return child;
}

const entryOf = (pid: number): ProcessEntry => JSON.parse(readFileSync(join(dir, `${pid}.json`), 'utf8')) as ProcessEntry;

describe('process registry', () => {
  it('lives under the run directory, in a name no agent directory can take', () => {
    expect(processRegistryDir('/state', 'run-1')).toBe('/state/run-1/.processes');
  });

  it('records a running group with what identifies it, and forgets it once it ended', () => {
    const child = group();
    const file = registerProcess(dir, child.pid!, 'node');
    expect(file).toBe(join(dir, `${child.pid}.json`));
    const entry = entryOf(child.pid!);
    expect(entry).toMatchObject({ pid: child.pid, command: 'node' });
    expect(entry.startTicks).toBeGreaterThan(0);
    expect(entry.bootId).toMatch(/^[0-9a-f-]{36}$/);
    unregisterProcess(file);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps the directory while one of its processes runs, and removes it with the last', () => {
    const first = registerProcess(dir, process.pid, 'node');
    const second = registerProcess(dir, process.ppid, 'node');
    unregisterProcess(first);
    expect(readdirSync(dir)).toEqual([`${process.ppid}.json`]);
    unregisterProcess(second);
    expect(existsSync(dir)).toBe(false);
  });

  it('makes the directory again when it was removed while a process ran', () => {
    const first = registerProcess(dir, process.pid, 'node');
    rmSync(dir, { recursive: true, force: true });
    const second = registerProcess(dir, process.ppid, 'node');
    expect(second).toBe(join(dir, `${process.ppid}.json`));
    expect(entryOf(process.ppid).pid).toBe(process.ppid);
    unregisterProcess(first); // already gone with its directory: not an error
    unregisterProcess(second);
    expect(existsSync(dir)).toBe(false);
  });

  it('forgets an entry another process wrote', () => {
    const file = join(dir, '12345.json');
    writeFileSync(file, JSON.stringify({ pid: 12345, command: 'node' }));
    unregisterProcess(file);
    expect(existsSync(dir)).toBe(false);
  });

  it('a registry that cannot be written does not fail the caller', () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    expect(registerProcess(join(blocker, 'sub'), process.pid, 'node')).toBeNull();
  });

  it('reaps a live group (SIGTERM first) and clears the registry', async () => {
    const child = group();
    registerProcess(dir, child.pid!, 'node idle');
    const reaped = await reapProcesses(dir, { graceMs: 5_000 });
    expect(reaped).toEqual([{ pid: child.pid, command: 'node idle', outcome: 'killed' }]);
    expect(await eventually(() => child.exitCode !== null || child.signalCode !== null)).toBe(true);
    expect(child.signalCode).toBe('SIGTERM');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace period is over', async () => {
    const child = group(`process.on('SIGTERM', () => {}); console.log('ready'); ${IDLE}`);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => out.includes('ready'))).toBe(true);
    registerProcess(dir, child.pid!, 'stubborn');
    const reaped = await reapProcesses(dir, { graceMs: 300 });
    expect(reaped.map((r) => r.outcome)).toEqual(['killed']);
    expect(await eventually(() => child.signalCode !== null)).toBe(true);
    expect(child.signalCode).toBe('SIGKILL');
  });

  it('reports, and leaves alone, a group whose leader is gone (it could be an unrelated one that reused the id)', async () => {
    const leader = group(LEAVE_CHILD);
    let out = '';
    leader.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    registerProcess(dir, leader.pid!, 'leader');
    expect(await eventually(() => leader.exitCode !== null)).toBe(true);
    const orphan = Number(out.trim());
    expect(isAlive(orphan)).toBe(true);
    const reaped = await reapProcesses(dir, { graceMs: 5_000 });
    expect(reaped).toEqual([{ pid: leader.pid, command: 'leader', outcome: 'unverified' }]);
    expect(isAlive(orphan)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves alone a pid that now belongs to another process (start time differs)', async () => {
    const child = group();
    registerProcess(dir, child.pid!, 'node');
    const entry = entryOf(child.pid!);
    writeFileSync(join(dir, `${child.pid}.json`), JSON.stringify({ ...entry, startTicks: entry.startTicks! - 1 }));
    expect(await reapProcesses(dir)).toEqual([]);
    expect(isAlive(child.pid!)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves alone, and reports, an entry it cannot verify', async () => {
    const child = group();
    writeFileSync(join(dir, `${child.pid}.json`), JSON.stringify({ pid: child.pid, command: 'x', startedAt: 0, startTicks: null, bootId: null }));
    expect(await reapProcesses(dir)).toEqual([{ pid: child.pid, command: 'x', outcome: 'unverified' }]);
    expect(isAlive(child.pid!)).toBe(true);
  });

  it('drops entries of processes that are gone, from another boot, or torn', async () => {
    const child = group();
    registerProcess(dir, child.pid!, 'node');
    const entry = entryOf(child.pid!);
    writeFileSync(join(dir, `${child.pid}.json`), JSON.stringify({ ...entry, bootId: '00000000-0000-0000-0000-000000000000' }));
    writeFileSync(join(dir, '999999.json'), JSON.stringify({ ...entry, pid: 999999 }));
    writeFileSync(join(dir, '12345.json'), '{"pid": 123');
    writeFileSync(join(dir, '1.json'), JSON.stringify({ ...entry, pid: 1 }));
    expect(await reapProcesses(dir)).toEqual([]);
    expect(isAlive(child.pid!)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a missing registry reaps nothing', async () => {
    expect(await reapProcesses(join(dir, 'nope'))).toEqual([]);
  });
});
