/**
 * Damage to a SQLite state database is always named, and nothing is changed. A run of 40 tasks
 * with 34 completed (one commit each, as a run does) is saved by a real process, which is then
 * killed with SIGKILL (its state is in `agents.sqlite-wal`, beside the `-shm` index) or closes
 * the database (the log is copied into the file and deleted). Each test damages a copy, then
 * `status`, `list`, `stats` and `resume` refuse with CORRUPT_STATE naming the file, exit 2, and
 * every file of the state directory keeps every byte (hashed before and after).
 *
 * Before, SQLite read a WAL up to the damage and dropped the rest (34 completed tasks read as
 * 14, and `resume` reran them and deleted the log), ignored a log with a damaged header, read a
 * cut main file until `resume` wrote over it, and `list` created `-shm`/`-wal` files.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { scanWal } from '../src/persistence/sqlite-file-check.js';
import { cli, cliProcess } from './helpers/cli.js';
import { failureOf } from './helpers/failure-of.js';

const WRITER = fileURLToPath(new URL('./fixtures/sqlite-run-writer.mjs', import.meta.url));

let saved: string;
beforeAll(async () => {
  saved = mkdtempSync(join(tmpdir(), 'agents-sdk-sqlite-saved-'));
  await Promise.all(
    (['kill', 'close'] as const).map(async (end) => {
      mkdirSync(join(saved, end));
      const child = await execa(process.execPath, [WRITER, join(saved, end, 'agents.sqlite'), 'r1', '40', '34', end], { reject: false });
      expect(child.signal ?? child.exitCode).toBe(end === 'kill' ? 'SIGKILL' : 0);
    }),
  );
  expect(readdirSync(join(saved, 'kill')).sort()).toEqual(['agents.sqlite', 'agents.sqlite-shm', 'agents.sqlite-wal']);
  expect(readdirSync(join(saved, 'close'))).toEqual(['agents.sqlite']);
});
afterAll(() => rmSync(saved, { recursive: true, force: true }));

let root: string;
let stateDir: string;
let file: string;
let wal: string;
let shm: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-sqlite-damage-'));
  stateDir = join(root, 'agents');
  file = join(stateDir, 'agents.sqlite');
  wal = `${file}-wal`;
  shm = `${file}-shm`;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the run as the killed process left it (`kill`) or as a closed database (`close`). */
function savedRun(end: 'kill' | 'close'): void {
  cpSync(join(saved, end), stateDir, { recursive: true });
}

/** Every file of the state directory with the hash of its bytes. */
function hashes(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(stateDir)
      .sort()
      .map((name) => [name, createHash('sha256').update(readFileSync(join(stateDir, name))).digest('hex')]),
  );
}

const state = () => ['--state-dir', stateDir, '--backend', 'sqlite'];

/** Every command refuses with CORRUPT_STATE naming the file, exit 2; no file changes. */
async function expectNamedAndUnchanged(why: RegExp, { builtCli = false } = {}): Promise<void> {
  const before = hashes();
  for (const argv of [['status', 'r1'], ['list'], ['stats'], ['resume', 'r1']]) {
    const run = await cli([...argv, ...state()]);
    expect([argv, run.code, run.stderr]).toEqual([argv, 2, expect.stringContaining('CORRUPT_STATE')]);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toMatch(why);
  }
  if (builtCli) {
    for (const argv of [['list'], ['resume', 'r1']]) {
      const run = await cliProcess([...argv, ...state()]);
      expect([argv, run.exitCode, run.stderr]).toEqual([argv, 2, expect.stringContaining('CORRUPT_STATE')]);
      expect(run.stderr).toContain(file);
    }
  }
  const writer = await failureOf(SqliteStateBackend.open(file));
  expect([writer.code, writer.details]).toEqual(['CORRUPT_STATE', expect.objectContaining({ file })]);
  // read-only, the damage is named when opening or, at the latest, when reading
  const reader = await failureOf(SqliteStateBackend.open(file, { readonly: true }).then(async (b) => b.listRuns().finally(() => b.close())));
  expect([reader.code, reader.details]).toEqual(['CORRUPT_STATE', expect.objectContaining({ file })]);
  expect(hashes()).toEqual(before);
}

async function completedTasks(): Promise<number> {
  const reader = await SqliteStateBackend.open(file, { readonly: true });
  try {
    return (await reader.loadRun('r1'))!.records.filter((r) => r.status === 'completed').length;
  } finally {
    await reader.close();
  }
}

describe('a SQLite run killed with 34 of 40 tasks completed', () => {
  it('reads back whole: 34 completed, and reading it changes neither the file nor its log', async () => {
    savedRun('kill');
    // (the -shm index is SQLite's, rebuilt from the log by the first reader: it may change)
    const logs = () => Object.fromEntries(Object.entries(hashes()).filter(([name]) => !name.endsWith('-shm')));
    const before = logs();
    expect(await completedTasks()).toBe(34);
    const list = await cli(['list', ...state()]);
    expect([list.code, list.stdout]).toEqual([0, expect.stringMatching(/r1\s+many\s+interrupted\s+\S+\s+34\/40/)]);
    expect(logs()).toEqual(before);
  });

  it('with 64 bytes flipped in the middle of its WAL: named, and resume neither reruns nor deletes anything', async () => {
    savedRun('kill');
    const bytes = readFileSync(wal);
    const at = Math.floor(bytes.length / 2);
    for (let i = at; i < at + 64; i++) bytes[i]! ^= 0xff;
    writeFileSync(wal, bytes);
    await expectNamedAndUnchanged(/write-ahead log .*agents\.sqlite-wal is damaged at frame \d+ .*committed after it/, { builtCli: true });
  });

  it('with 64 bytes flipped and its -shm index gone: the WAL itself shows the damage', async () => {
    savedRun('kill');
    rmSync(shm);
    const bytes = readFileSync(wal);
    const at = Math.floor(bytes.length / 3);
    for (let i = at; i < at + 64; i++) bytes[i]! ^= 0xff;
    writeFileSync(wal, bytes);
    await expectNamedAndUnchanged(/is damaged at frame/);
    expect(existsSync(shm)).toBe(false);
  });

  it('with its WAL header zeroed: named, the 890 KB log kept', async () => {
    savedRun('kill');
    const bytes = readFileSync(wal);
    bytes.fill(0, 0, 32);
    writeFileSync(wal, bytes);
    await expectNamedAndUnchanged(/does not start with the WAL magic number/);
    expect(readFileSync(wal).length).toBe(bytes.length);
  });

  it('with its WAL deleted (the -shm index kept): named, and no file written', async () => {
    savedRun('kill');
    rmSync(wal);
    await expectNamedAndUnchanged(/shared-memory index .* holds \d+ committed frames .* but the log is missing/);
    expect(existsSync(wal)).toBe(false);
  });

  it('with the tail of its WAL cut off (the -shm index kept): named', async () => {
    savedRun('kill');
    truncateSync(wal, Math.floor(readFileSync(wal).length * 0.6));
    await expectNamedAndUnchanged(/valid committed frames where its shared-memory index .* recorded/);
  });

  it('with its -shm index missing: list and status read it without creating -shm or -wal', async () => {
    savedRun('kill');
    rmSync(shm);
    const before = hashes();
    const list = await cli(['list', ...state()]);
    expect([list.code, list.stdout]).toEqual([0, expect.stringMatching(/r1\s+many\s+interrupted\s+\S+\s+34\/40/)]);
    expect((await cli(['status', 'r1', ...state()])).code).toBe(0);
    expect(await completedTasks()).toBe(34);
    expect(hashes()).toEqual(before);
    expect(existsSync(shm)).toBe(false);
  });
});

describe('a closed SQLite database (no WAL)', () => {
  it('is read by list and status without creating -shm or -wal', async () => {
    savedRun('close');
    const before = hashes();
    const list = await cli(['list', ...state()]);
    expect([list.code, list.stdout]).toEqual([0, expect.stringMatching(/r1\s+many\s+\S+\s+\S+\s+34\/40/)]);
    expect((await cli(['stats', ...state()])).code).toBe(0);
    expect(hashes()).toEqual(before);
    expect(readdirSync(stateDir)).toEqual(['agents.sqlite']);
  });

  it('cut to half its length: named (status does not read it as fine, resume does not write over it)', async () => {
    savedRun('close');
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    await expectNamedAndUnchanged(/the file was cut/, { builtCli: true });
  });

  it('with its pages garbled: list and stats say CORRUPT_STATE naming the file, not "database disk image is malformed"', async () => {
    savedRun('close');
    const bytes = readFileSync(file);
    // every page but the first (the schema): the tables' b-trees are garbage
    for (let i = 4096; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(file, bytes);
    await expectNamedAndUnchanged(/SQLite reports|quick_check/);
  });

  it('with one page of task records garbled: resume refuses it before writing (quick_check)', async () => {
    savedRun('close');
    const bytes = readFileSync(file);
    const page = Math.floor(bytes.length / 4096 / 2);
    bytes.fill(0x55, page * 4096 + 8, page * 4096 + 4096);
    writeFileSync(file, bytes);
    const before = hashes();
    const resume = await cli(['resume', 'r1', ...state()]);
    expect([resume.code, resume.stderr]).toEqual([2, expect.stringContaining('CORRUPT_STATE')]);
    expect(resume.stderr).toContain(file);
    expect(hashes()).toEqual(before);
  });
});

describe('a live SQLite run', () => {
  it('is never called damaged by readers and writers opening it while its log grows, restarts and is copied into the file', { timeout: 60_000 }, async () => {
    mkdirSync(stateDir);
    const writer = execa(process.execPath, [WRITER, file, 'r1', '40', '0', 'busy'], { reject: false, stdin: 'ignore' });
    try {
      await new Promise<void>((resolve) => writer.stdout!.on('data', () => resolve()));
      const problems: string[] = [];
      for (let i = 0; i < 40; i++) {
        try {
          const backend = await SqliteStateBackend.open(file, { readonly: i % 4 !== 3 });
          expect((await backend.loadRun('r1'))!.records).toHaveLength(40);
          await backend.close();
        } catch (error) {
          problems.push(String(error));
        }
      }
      expect(problems).toEqual([]);
    } finally {
      writer.kill('SIGKILL');
      await writer;
    }
  });
});

/**
 * A WAL written from the format's description (https://www.sqlite.org/fileformat2.html#walformat),
 * big-endian checksums (magic 0x377f0683, as a big-endian machine writes): `frames` pages of 512
 * bytes, `commits` saying which frames end a transaction.
 */
function bigEndianWal(commits: boolean[]): Buffer {
  const pageSize = 512;
  const sum = (bytes: Buffer, s: [number, number]): [number, number] => {
    let [s0, s1] = s;
    for (let i = 0; i < bytes.length; i += 8) {
      s0 = (s0 + bytes.readUInt32BE(i) + s1) >>> 0;
      s1 = (s1 + bytes.readUInt32BE(i + 4) + s0) >>> 0;
    }
    return [s0, s1];
  };
  const header = Buffer.alloc(32);
  [0x377f0683, 3007000, pageSize, 0, 0x11111111, 0x22222222].forEach((v, i) => header.writeUInt32BE(v, i * 4));
  let s = sum(header.subarray(0, 24), [0, 0]);
  header.writeUInt32BE(s[0], 24);
  header.writeUInt32BE(s[1], 28);
  const frames = commits.map((commit, i) => {
    const frame = Buffer.alloc(24 + pageSize, i + 1);
    frame.writeUInt32BE(i + 1, 0); // page number
    frame.writeUInt32BE(commit ? i + 1 : 0, 4); // database size after a commit
    frame.writeUInt32BE(0x11111111, 8);
    frame.writeUInt32BE(0x22222222, 12);
    s = sum(frame.subarray(24), sum(frame.subarray(0, 8), s));
    frame.writeUInt32BE(s[0], 16);
    frame.writeUInt32BE(s[1], 20);
    return frame;
  });
  return Buffer.concat([header, ...frames]);
}

describe('the WAL check', () => {
  it('follows the checksum chain of a big-endian log, and names a committed transaction past a damaged frame', () => {
    const wal = bigEndianWal([false, true, false, true]);
    const whole = scanWal(wal);
    expect(typeof whole === 'string' ? whole : [whole.committedFrames, whole.commitPages, [...whole.pages.keys()]]).toEqual([4, 4, [1, 2, 3, 4]]);
    // the last transaction cut (a crash mid-write): the log ends at the commit before it
    const cut = scanWal(wal.subarray(0, wal.length - 100));
    expect(typeof cut === 'string' ? cut : cut.committedFrames).toBe(2);
    // a byte flipped in frame 2: frame 4 commits after it
    wal[32 + (24 + 512) + 100]! ^= 1;
    expect(scanWal(wal)).toMatch(/damaged at frame 2 .*\(frame 4\)/);
  });

  it('reads a healthy log whole, and a log cut inside its last frame up to its last commit', () => {
    const bytes = readFileSync(join(saved, 'kill', 'agents.sqlite-wal'));
    const whole = scanWal(bytes);
    if (typeof whole === 'string') throw new Error(whole);
    expect(whole.committedFrames * (24 + whole.pageSize) + 32).toBe(bytes.length);
    // a write cut by a crash: not damage, the log ends at the last commit before it
    const cut = scanWal(bytes.subarray(0, bytes.length - 100));
    if (typeof cut === 'string') throw new Error(cut);
    expect(cut.committedFrames).toBeLessThan(whole.committedFrames);
    expect(cut.committedFrames).toBeGreaterThan(0);
  });
});
