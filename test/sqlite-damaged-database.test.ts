/**
 * A SQLite state database damaged after a crash is reported, never wiped. A process killed with
 * kill -9 leaves its runs in `agents.sqlite-wal` beside a one-page `agents.sqlite`; with the
 * main file emptied, or the log deleted or garbled, `status`, `list` and `resume` refuse with
 * CORRUPT_STATE naming the file, and leave both files byte for byte as they were. `status` and
 * `list` open the database read-only and never create one.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { cli, cliProcess } from './helpers/cli.js';
import { failureOf } from './helpers/failure-of.js';
import { checkpoint, record } from './helpers/records.js';
import { writeLayout1Database } from './helpers/sqlite-layout-1.js';

const KILLED_WRITER = fileURLToPath(new URL('./fixtures/killed-sqlite-writer.mjs', import.meta.url));

let root: string;
let stateDir: string;
let file: string;
let wal: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-damaged-'));
  stateDir = join(root, 'agents');
  mkdirSync(stateDir);
  file = join(stateDir, 'agents.sqlite');
  wal = `${file}-wal`;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/**
 * A real process saves the runs, then is SIGKILLed: they are in the WAL only. Each set of runs is
 * written once, by one killed process, into a directory of its own; every test gets a byte-for-byte
 * copy of what it left (database file, WAL and shared-memory index).
 */
const killedDirs = new Map<string, string>();
let killedRoot: string;
beforeAll(async () => {
  killedRoot = mkdtempSync(join(tmpdir(), 'agents-sdk-killed-'));
  await Promise.all(
    [['r1', 'r2'], ['r1']].map(async (runIds) => {
      const dir = join(killedRoot, runIds.join('-'));
      mkdirSync(dir);
      const killedFile = join(dir, 'agents.sqlite');
      const child = await execa(process.execPath, [KILLED_WRITER, killedFile, ...runIds], { reject: false });
      expect(child.signal).toBe('SIGKILL');
      expect(statSync(killedFile).size).toBe(4096); // the header page: no table, no run in the file itself
      expect(statSync(`${killedFile}-wal`).size).toBeGreaterThan(4096);
      killedDirs.set(runIds.join(' '), dir);
    }),
  );
});
afterAll(() => rmSync(killedRoot, { recursive: true, force: true }));

async function killedWriter(...runIds: string[]): Promise<void> {
  cpSync(killedDirs.get(runIds.join(' '))!, stateDir, { recursive: true });
  expect(statSync(file).size).toBe(4096);
  expect(statSync(wal).size).toBeGreaterThan(4096);
}

/** The bytes of the database file and its log (null: no such file). */
function stateFiles(): { main: Buffer | null; wal: Buffer | null } {
  return { main: existsSync(file) ? readFileSync(file) : null, wal: existsSync(wal) ? readFileSync(wal) : null };
}

const SQLITE = ['--backend', 'sqlite'];
const state = () => ['--state-dir', stateDir, ...SQLITE];

/**
 * status, list and resume all refuse with CORRUPT_STATE and change nothing. They run in this
 * process (`cli()`: the built CLI's own code path, runCli); with `builtCli`, status and list also
 * run through the built CLI as real processes (in one representative damage only: each process
 * costs about a CPU-second).
 */
async function expectRefusedAndUnchanged({ builtCli = false } = {}): Promise<void> {
  const before = stateFiles();
  // the built CLI's two commands run at once (both only read), while the in-process ones run here
  const builtRuns = builtCli ? [['status', 'r1'], ['list']].map((argv) => [argv, cliProcess([...argv, ...state()])] as const) : [];
  for (const argv of [['status', 'r1'], ['list'], ['resume', 'r1']]) {
    const inProcess = await cli([...argv, ...state()]);
    expect([argv, inProcess.code, inProcess.stderr]).toEqual([argv, 2, expect.stringContaining('CORRUPT_STATE')]);
    expect(inProcess.stderr).toContain(file);
    expect(inProcess.stderr).not.toContain('Unknown run id');
  }
  for (const [argv, run] of builtRuns) {
    const built = await run;
    expect([argv, built.exitCode, built.stderr]).toEqual([argv, 2, expect.stringContaining('CORRUPT_STATE')]);
    expect(built.stderr).toContain(file);
  }
  expect((await failureOf(SqliteStateBackend.open(file))).code).toBe('CORRUPT_STATE');
  expect(stateFiles()).toEqual(before);
}

describe('a SQLite database left by a killed process', () => {
  it('is read back from its WAL by status and list, read-only: neither file changes', async () => {
    await killedWriter('r1', 'r2');
    const before = stateFiles();
    const list = await cliProcess(['list', ...state()]);
    expect(list.exitCode).toBe(0);
    // no live process holds their locks: interrupted, to be resumed
    expect(list.stdout).toMatch(/r1\s+plan-build\s+interrupted\s+\S+\s+1\/2/);
    expect(list.stdout).toMatch(/r2\s+plan-build\s+interrupted/);
    const status = await cli(['status', 'r2', ...state()]);
    expect([status.code, status.stdout]).toEqual([0, expect.stringMatching(/plan\s+completed/)]);

    const reader = await SqliteStateBackend.open(file, { readonly: true });
    try {
      expect((await reader.loadRun('r1'))!.records.map((r) => r.status)).toEqual(['completed', 'pending']);
      expect((await reader.loadCheckpoint('r1'))!.records.map((r) => r.status)).toEqual(['pending', 'pending']);
      for (const write of [
        reader.save('k', 1),
        reader.saveCheckpoint('r3', checkpoint('r3', ['a'])),
        reader.saveTaskRecords('r1', [record('build')]),
        reader.deleteRun('r1'),
        reader.lockRun('r1'),
      ]) {
        const error = await failureOf(write);
        expect([error.code, error.message]).toEqual(['BACKEND_UNAVAILABLE', expect.stringContaining(`${file} is opened read-only`)]);
      }
    } finally {
      await reader.close();
    }
    expect(stateFiles()).toEqual(before);
  });

  it('with its database file emptied (0 bytes): status, list and resume refuse with CORRUPT_STATE, the WAL is kept', async () => {
    await killedWriter('r1', 'r2');
    truncateSync(file, 0);
    await expectRefusedAndUnchanged({ builtCli: true });
    expect(statSync(file).size).toBe(0);
    const error = await failureOf(SqliteStateBackend.open(file, { readonly: true }));
    expect(error.message).toContain(`its write-ahead log ${wal} holds`);
  });

  it('with its WAL deleted: refused, and no empty log or schema written in its place', async () => {
    await killedWriter('r1');
    rmSync(wal);
    await expectRefusedAndUnchanged();
    expect(existsSync(wal)).toBe(false);
    expect((await failureOf(SqliteStateBackend.open(file, { readonly: true }))).message).toContain('which is missing');
  });

  it.each([
    ['garbled', () => writeFileSync(wal, Buffer.concat([Buffer.from('garbage '.repeat(8)), readFileSync(wal).subarray(64)]))],
    ['truncated inside its header', () => truncateSync(wal, 20)],
    ['emptied', () => truncateSync(wal, 0)],
  ])('with its WAL %s: refused, both files kept as they are', async (_how, damage) => {
    await killedWriter('r1');
    damage();
    await expectRefusedAndUnchanged();
  });

  it('with its database file deleted: the WAL alone is refused, not read as no runs', async () => {
    await killedWriter('r1');
    rmSync(file);
    await expectRefusedAndUnchanged();
    expect(existsSync(file)).toBe(false);
  });

  it('with its database file overwritten by something that is not a database, and no WAL: refused, kept', async () => {
    // (while the WAL still holds every page, SQLite reads the runs from it: nothing is lost)
    await killedWriter('r1');
    rmSync(wal);
    writeFileSync(file, 'not a database, just text. '.repeat(200));
    await expectRefusedAndUnchanged();
  });
});

describe('an empty SQLite state', () => {
  it('list and status on a directory without a database create nothing', async () => {
    const missing = join(root, 'never-created');
    expect(await cli(['list', '--state-dir', missing, ...SQLITE])).toMatchObject({ code: 0, stdout: 'no runs\n' });
    expect(existsSync(missing)).toBe(false);
    expect(await cli(['list', ...state()])).toMatchObject({ code: 0, stdout: 'no runs\n' });
    const status = await cli(['status', 'r1', ...state()]);
    expect([status.code, status.stderr]).toEqual([2, expect.stringContaining('Unknown run id "r1"')]);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('an empty database file is no runs, unless runs left their directories beside it', async () => {
    writeFileSync(file, '');
    expect(await cli(['list', ...state()])).toMatchObject({ code: 0, stdout: 'no runs\n' });
    expect(readdirSync(stateDir)).toEqual(['agents.sqlite']);
    expect(statSync(file).size).toBe(0);

    mkdirSync(join(stateDir, 'r1', 'plan'), { recursive: true });
    for (const argv of [['list'], ['status', 'r1'], ['resume', 'r1']]) {
      const run = await cli([...argv, ...state()]);
      expect([argv, run.code, run.stderr]).toEqual([argv, 2, expect.stringContaining('CORRUPT_STATE')]);
      expect(run.stderr).toContain(file);
      expect(run.stderr).toContain('directories of runs whose state was in it (r1)');
    }
    expect(statSync(file).size).toBe(0);

    // without the directories it is started as a new database
    rmSync(join(stateDir, 'r1'), { recursive: true });
    const backend = await SqliteStateBackend.open(file);
    await backend.saveCheckpoint('r1', checkpoint('r1', ['a']));
    await backend.close();
    expect((await cli(['list', ...state()])).stdout).toMatch(/r1\s+wf\s+interrupted/);
  });

  it('a database file with no tables beside runs directories is refused the same way', async () => {
    const blank = new Database(file); // a SQLite database (not in WAL mode) whose tables were dropped
    blank.exec('CREATE TABLE t (x); DROP TABLE t;');
    blank.close();
    expect(statSync(file).size).toBeGreaterThan(0);
    expect((await cli(['list', ...state()])).stdout).toBe('no runs\n');
    mkdirSync(join(stateDir, 'r1'));
    const list = await cli(['list', ...state()]);
    expect([list.code, list.stderr]).toEqual([2, expect.stringContaining('it has no tables, but')]);
  });
});

describe('a database of the older table layout', () => {
  it('opened read-only is read as it is, not migrated', async () => {
    writeLayout1Database(file);
    const before = readFileSync(file);
    const reader = await SqliteStateBackend.open(file, { readonly: true });
    try {
      expect((await reader.loadRun('old'))!.records.map((r) => [r.taskId, r.status])).toEqual([
        ['a', 'completed'],
        ['b', 'pending'],
        ['late', 'running'],
      ]);
      expect((await reader.loadCheckpoint('old'))!.records.map((r) => r.status)).toEqual(['pending', 'pending']);
      expect(await reader.load('cfg')).toEqual({ a: 1 });
    } finally {
      await reader.close();
    }
    expect(readFileSync(file)).toEqual(before);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    check.close();
  });
});
