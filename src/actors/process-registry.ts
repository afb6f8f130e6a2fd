/**
 * A run's registry of the agent processes it started, kept on disk so that a later process
 * can clean up after a crashed one.
 *
 * Agents run detached, in process groups of their own, so that their whole tree can be
 * killed; the flip side is that nothing ends them when the orchestrator itself is killed
 * (SIGKILL, OOM). Each supervised process therefore leaves a small file in
 * `<stateDir>/<runId>/.processes/` while it runs. `resume` (which holds the run's lock, so
 * the old driver is gone) reaps what is left: a group still alive is killed before its task
 * runs again, so two agents never work on the same task at once.
 *
 * A pid can be reused by an unrelated process. On Linux the entry records the leader's start
 * time and the boot id, and a group is only killed when its leader still runs with them.
 * A group whose leader is gone, and any group where `/proc` is missing, cannot be verified:
 * it is reported, and left alone.
 *
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** One registered process group. */
export interface ProcessEntry {
  /** The group leader's pid (the process group id). */
  pid: number;
  /** What runs there (the program and its first arguments), for messages. */
  command: string;
  /** Epoch ms of the spawn. */
  startedAt: number;
  /** Linux: the leader's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22). */
  startTicks: number | null;
  /** Linux: `/proc/sys/kernel/random/boot_id`. */
  bootId: string | null;
  /**
   * Who started it, when it says (an `AgentSession` gives its session id): lets a restored
   * session reap its own processes and no one else's. Absent in entries of orchestrated tasks
   * and of older versions.
   */
  owner?: string;
}

/** Options of {@link registerProcess}. */
export interface RegisterProcessOptions {
  /** See {@link ProcessEntry.owner}. */
  owner?: string;
}

/** Options of `reapProcesses`. */
export interface ReapProcessesOptions {
  /** Between SIGTERM and SIGKILL (default 2000 ms). */
  graceMs?: number;
  /** Only the entries of this owner (see {@link ProcessEntry.owner}); the others are left as they are. Default: all. */
  owner?: string;
}

/** What `reapProcesses` did with one entry. */
export interface ReapedProcess {
  pid: number;
  command: string;
  /** `killed`: it was alive and is gone now; `unverified`: alive maybe, but not ours provably, left alone. */
  outcome: 'killed' | 'unverified';
}

/** The registry directory of a run. (`.processes` cannot clash with an agent directory: those never start with a dot.) */
export function processRegistryDir(stateDir: string, runId: string): string {
  return resolve(stateDir, runId, '.processes');
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Linux: the fields of `/proc/<pid>/stat` from the third on (state, ppid, pgrp, ...), so that
 * field N is at index N - 3; `null` when the process is gone or there is no `/proc`.
 */
function statFields(pid: number): string[] | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Linux: a process's start time in clock ticks since boot; `null` when it is gone or there is no `/proc`. */
export function processStartTicks(pid: number): number | null {
  const fields = statFields(pid);
  if (fields === null) return null;
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

/**
 * Linux: whether the process has ended and only waits for its parent to reap it (a zombie,
 * state `Z`, or `X`). Such a pid still answers `kill(pid, 0)`, and where pid 1 reaps late (as
 * in many containers) it may stay so for long. `false` when it is gone or there is no `/proc`.
 */
export function isZombie(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state === 'Z' || state === 'X';
}

/** The boot id, read once: it cannot change while this process lives. */
let knownBootId: string | null | undefined;

function bootId(): string | null {
  if (knownBootId === undefined) knownBootId = readText('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
  return knownBootId;
}

/**
 * How many entries this process has in each registry directory (registered, not yet
 * unregistered): while it has one there, the directory exists (nothing else removes a run's
 * registry while its driver runs, bar a process as lost as it is), so a registration does not
 * create it again, and an unregistration only tries to remove it with the last entry.
 */
const ownEntries = new Map<string, number>();

/** Linux: the pids of the group's members that are not zombies; `null` without `/proc`. */
export function groupMembers(pgid: number): number[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  const members: number[] = [];
  for (const pid of pids) {
    const fields = statFields(Number(pid));
    if (fields === null) continue;
    const [state, , pgrp] = fields;
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(pid));
  }
  return members;
}

/** Whether any process of the group is still running (zombies do not count). */
function groupAlive(pgid: number): boolean {
  const members = groupMembers(pgid);
  if (members !== null) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    // ESRCH: gone; EPERM: someone else's, not ours to touch
    return false;
  }
}

/**
 * Records a process group that was just started. Returns the entry's file, or `null` when it
 * could not be written (a registry is a safety net: failing to write one never fails a run).
 */
export function registerProcess(dir: string, pid: number, command: string, options: RegisterProcessOptions = {}): string | null {
  const entry: ProcessEntry = { pid, command, startedAt: Date.now(), startTicks: processStartTicks(pid), bootId: bootId() };
  if (options.owner !== undefined) entry.owner = options.owner;
  const file = join(dir, `${pid}.json`);
  // Twice: another agent's unregister may remove the (empty) directory between mkdir and write.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (attempt > 0 || !ownEntries.has(dir)) mkdirSync(dir, { recursive: true });
      writeFileSync(file, JSON.stringify(entry) + '\n');
      ownEntries.set(dir, (ownEntries.get(dir) ?? 0) + 1);
      return file;
    } catch {
      // retried once, then given up
    }
  }
  return null;
}

/** Removes an entry once its process has ended (and the registry directory once it is empty). */
export function unregisterProcess(file: string | null): void {
  if (file === null) return;
  const dir = dirname(file);
  try {
    unlinkSync(file);
  } catch {
    // already gone (a reap, a cleared state dir): a safety net never fails the run
  }
  const left = (ownEntries.get(dir) ?? 1) - 1;
  if (left > 0) return void ownEntries.set(dir, left);
  ownEntries.delete(dir);
  try {
    rmdirSync(dir);
  } catch {
    // ENOTEMPTY: another process's agents still run there; anything else: never fails the run
  }
}

function readEntries(dir: string, owner: string | undefined): Array<{ file: string; entry: ProcessEntry }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const out: Array<{ file: string; entry: ProcessEntry }> = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const entry = JSON.parse(readText(file) ?? '') as ProcessEntry;
      if (owner !== undefined && entry.owner !== owner) continue;
      if (Number.isInteger(entry.pid) && entry.pid > 1) out.push({ file, entry });
      else rmSync(file, { force: true });
    } catch {
      // A torn write of a crashed process: nothing to verify it by (nor to tell whose it is).
      if (owner === undefined) rmSync(file, { force: true });
    }
  }
  return out;
}

/** Whether the group of `entry` is still alive and provably the one that was registered. */
function verdictOf(entry: ProcessEntry): 'ours' | 'gone' | 'unverified' {
  if (!groupAlive(entry.pid)) return 'gone';
  const currentBoot = bootId();
  if (currentBoot === null || entry.bootId === null || entry.startTicks === null) return 'unverified';
  if (currentBoot !== entry.bootId) return 'gone';
  const ticks = processStartTicks(entry.pid);
  // The leader is gone but a group with its id lives on: ours (its leader died, its children
  // did not), or an unrelated group whose leader got the pid later and exited (a daemon's
  // double fork). Nothing tells them apart: report, do not kill.
  if (ticks === null) return 'unverified';
  return ticks === entry.startTicks ? 'ours' : 'gone';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kills what is left of the groups registered in `dir` (SIGTERM, then SIGKILL after
 * `graceMs`) and clears the registry (or, with `owner`, that owner's entries). Only for
 * entries no live process writes: call it while holding the run's lock, or, with `owner`, for
 * an owner whose previous process is gone.
 */
export async function reapProcesses(dir: string, options: ReapProcessesOptions = {}): Promise<ReapedProcess[]> {
  const graceMs = options.graceMs ?? 2_000;
  const reaped: ReapedProcess[] = [];
  const toKill: Array<{ file: string; entry: ProcessEntry }> = [];
  for (const item of readEntries(dir, options.owner)) {
    const verdict = verdictOf(item.entry);
    if (verdict === 'ours') toKill.push(item);
    else {
      if (verdict === 'unverified') reaped.push({ pid: item.entry.pid, command: item.entry.command, outcome: 'unverified' });
      rmSync(item.file, { force: true });
    }
  }
  if (toKill.length === 0) return reaped;
  for (const { entry } of toKill) signal(entry.pid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && toKill.some(({ entry }) => groupAlive(entry.pid)); waited += 50) await sleep(50);
  for (const { file, entry } of toKill) {
    if (groupAlive(entry.pid)) signal(entry.pid, 'SIGKILL');
    rmSync(file, { force: true });
    reaped.push({ pid: entry.pid, command: entry.command, outcome: 'killed' });
  }
  return reaped;
}

function signal(pgid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pgid, name);
  } catch {
    // already gone
  }
}
