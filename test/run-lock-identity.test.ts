/**
 * What identifies a JSON run lock: its own id (a release never removes a later lock of the
 * same process), and its file (a takeover left half-done by a dead process does not block
 * the run; an empty lock an older agents-sdk is still writing is not taken for a dead one).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { failureOf } from './helpers/failure-of.js';
import { checkpoint } from './helpers/records.js';

let dir: string;
let backend: JsonStateBackend;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-lock-id-'));
  backend = new JsonStateBackend(dir);
  await backend.saveCheckpoint('r', checkpoint('r', ['a']));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const lockFile = () => join(dir, 'r', 'run.lock');
/** A lock whose holder is gone (no such pid). */
const deadLock = () => JSON.stringify({ pid: 2 ** 22 + 54321, host: hostname(), acquiredAt: Date.now(), lockId: 'dead' });

describe('JSON run lock identity', () => {
  it('a release removes only the lock it took, not a later one of this process taken in the same millisecond', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    const first = await backend.lockRun('r');
    // The run is deleted under its driver (and with it the lock), then locked anew.
    await backend.deleteRun('r');
    const second = await backend.lockRun('r');
    await first();
    expect(await backend.lockHolder('r')).toMatchObject({ pid: process.pid, acquiredAt: 1_700_000_000_000 });
    await second();
    expect(await backend.lockHolder('r')).toBeNull();
  });

  it('every lock carries an id of its own', async () => {
    const release = await backend.lockRun('r');
    const { lockId } = JSON.parse(readFileSync(lockFile(), 'utf8')) as { lockId: string };
    expect(lockId).toMatch(/^[0-9a-f-]{36}$/);
    await release();
    await (await backend.lockRun('r'))();
    // no temp files or claims left behind
    expect(readdirSync(join(dir, 'r')).filter((f) => !f.startsWith('journal-'))).toEqual(['checkpoint.json']);
  });

  it('takes over a dead lock whose takeover was left half-done by a taker that died too', async () => {
    writeFileSync(lockFile(), deadLock());
    // The claim a taker creates before it removes a dead lock: named for that lock (its inode and content).
    const text = readFileSync(lockFile(), 'utf8');
    const id = createHash('sha256').update(`${statSync(lockFile()).ino}\n${text}`).digest('hex').slice(0, 32);
    writeFileSync(`${lockFile()}.${id}.takeover`, deadLock());
    const release = await backend.lockRun('r');
    expect(await backend.lockHolder('r')).toMatchObject({ pid: process.pid });
    await release();
    expect(readdirSync(join(dir, 'r')).filter((f) => !f.startsWith('journal-'))).toEqual(['checkpoint.json']);
  });

  it('waits for a taker that is alive, and refuses with LOCKED once it keeps the claim', async () => {
    writeFileSync(lockFile(), deadLock());
    const text = readFileSync(lockFile(), 'utf8');
    const id = createHash('sha256').update(`${statSync(lockFile()).ino}\n${text}`).digest('hex').slice(0, 32);
    // A live process (our parent) is taking it over, and never finishes.
    writeFileSync(`${lockFile()}.${id}.takeover`, JSON.stringify({ pid: process.ppid, host: hostname(), acquiredAt: Date.now() }));
    const error = await failureOf(backend.lockRun('r'));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toMatch(/another process is taking it over/);
  });

  it('an empty lock file is one an older version is writing: refused while fresh, taken over once old', async () => {
    writeFileSync(lockFile(), '');
    const error = await failureOf(backend.lockRun('r'));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toMatch(/being written/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(), old, old);
    await (await backend.lockRun('r'))();
  });

  it('takes the lock of a run never saved, and leaves no directory behind', async () => {
    const release = await backend.lockRun('fresh');
    expect(await backend.lockHolder('fresh')).toMatchObject({ pid: process.pid });
    await release();
    expect(readdirSync(dir).sort()).toEqual(['r']);
  });
});
