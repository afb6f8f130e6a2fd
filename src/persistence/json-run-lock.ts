/**
 * The run lock of `JsonStateBackend`: `<stateDir>/<runId>/run.lock`, a small JSON file that
 * names its holder ({@link LockOwner}).
 *
 * Taken with link(2): the holder's record is first written whole to a file of its own
 * (fsync'd), then linked to `run.lock`, which fails with EEXIST while a lock is there. So no
 * one ever reads a lock half-written. (Creating the file empty and writing it afterwards let a
 * competitor read an empty lock in between, take it for a dead holder's and take it over:
 * measured, up to five processes drove one run at once.)
 *
 * A lock whose holder died is removed by one process only: the one that creates the claim
 * `run.lock.<id of that lock>.takeover` (with link too). Holding the claim, it checks that
 * `run.lock` is still that dead lock, removes it, and drops the claim; then everyone competes
 * for the free lock as usual. Nothing else ever removes another's lock, so what the check saw
 * cannot change before the removal. A claim left by a taker that died is taken over the same
 * way, one level down.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { link, mkdir, open, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../errors.js';
import { currentOwner, holderBlocks, isOwnerAlive, lockedMessage, type LockOptions, type LockOwner } from './process-lock.js';
import type { ReleaseLock } from './state-backend.js';

const LOCK_FILE = 'run.lock';

/**
 * An empty lock file this young is taken for one an older agents-sdk is writing (it created
 * the file first and wrote it after), not for a dead holder's.
 */
const LEGACY_WRITE_GRACE_MS = 2_000;

/** Tries of one `takeRunLock` before it gives up with `LOCKED` (a takeover by another process may be under way). */
const MAX_TRIES = 50;

/** Claims of claims: deeper means several takers died mid-takeover in a row. */
const MAX_CLAIM_DEPTH = 3;

/** A lock (or claim) file as read: its identity (inode and content) and its holder, if it names one. */
interface LockFile {
  ino: number;
  text: string;
  owner: LockOwner | null;
  mtimeMs: number;
}

/**
 * Takes the lock of the run whose directory is `dir`; resolves with its release.
 *
 * @throws PermanentError `LOCKED` when a live process (or one on another host, without
 *   `force`) holds it, or while another process is taking over a dead holder's lock.
 */
export async function takeRunLock(dir: string, runId: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const file = join(dir, LOCK_FILE);
  // Refused at once while a live holder is there: no file written, no fsync.
  const before = await readLockFile(file);
  if (before !== null && blocks(before, options)) throw lockedError(runId, file, before);
  const owner = currentOwner();
  const mine = join(dir, `${LOCK_FILE}.${owner.lockId}.tmp`);
  await writeWhole(dir, mine, JSON.stringify(owner));
  try {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      try {
        await link(mine, file);
        return releaseOf(dir, file, owner);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await readLockFile(file);
      if (held === null) continue; // released meanwhile
      if (blocks(held, options)) throw lockedError(runId, file, held);
      // Its holder is dead: remove it, unless another process is already doing so.
      if (!(await removeDead(file, held, mine, 0))) await pause(5 + Math.random() * 20);
    }
    throw new PermanentError('LOCKED', `Could not take the lock of run ${runId}: another process is taking it over (${file})`, { details: { runId, file } });
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

/** The live holder of the lock of the run whose directory is `dir`, or `null` when it is free or its holder is dead. */
export async function liveRunLockHolder(dir: string): Promise<LockOwner | null> {
  const held = await readLockFile(join(dir, LOCK_FILE)).catch(() => null);
  return held?.owner && isOwnerAlive(held.owner) ? held.owner : null;
}

function releaseOf(dir: string, file: string, owner: LockOwner): ReleaseLock {
  return async () => {
    // Only this very lock (its id): one taken after it, by a competitor or by this process, is not ours to remove.
    const held = await readLockFile(file).catch(() => null);
    if (held?.owner?.lockId === owner.lockId) await unlink(file).catch(() => undefined);
    // A lock taken for a run that was never saved (resume of an unknown id) leaves no empty directory.
    await rmdir(dir).catch(() => undefined);
  };
}

function lockedError(runId: string, file: string, held: LockFile): PermanentError {
  if (held.owner) return new PermanentError('LOCKED', lockedMessage(runId, held.owner, `Lock file: ${file}`), { details: { runId, owner: held.owner, file } });
  return new PermanentError('LOCKED', `Run ${runId} is being locked by another process (its lock file ${file} is being written)`, { details: { runId, file } });
}

/** Whether a lock blocks taking it: its holder is alive, or it is an older agents-sdk's, still being written. */
function blocks(held: LockFile, options: LockOptions): boolean {
  if (held.owner) return holderBlocks(held.owner, options);
  return held.text === '' && Date.now() - held.mtimeMs < LEGACY_WRITE_GRACE_MS;
}

/**
 * Removes `file` if it still is the dead lock `dead`, holding a claim on it (see the module
 * comment). Returns false when another live process holds the claim: it is removing the lock.
 */
async function removeDead(file: string, dead: LockFile, mine: string, depth: number): Promise<boolean> {
  const claim = `${file}.${identityOf(dead)}.takeover`;
  for (;;) {
    try {
      await link(mine, claim);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const claimer = await readLockFile(claim);
    if (claimer === null) continue; // dropped meanwhile
    if (claimer.owner && isOwnerAlive(claimer.owner)) return false;
    // Its taker died mid-takeover.
    if (depth >= MAX_CLAIM_DEPTH || !(await removeDead(claim, claimer, mine, depth + 1))) return false;
  }
  try {
    const now = await readLockFile(file);
    if (now !== null && now.ino === dead.ino && now.text === dead.text) await unlink(file);
  } finally {
    await unlink(claim).catch(() => undefined);
  }
  return true;
}

/** A name for one lock file's content at one inode, safe in a file name whatever the (hostile) content. */
function identityOf(held: LockFile): string {
  return createHash('sha256').update(`${held.ino}\n${held.text}`).digest('hex').slice(0, 32);
}

/** Reads a lock or claim file; `null` when there is none. */
async function readLockFile(file: string): Promise<LockFile | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const text = await handle.readFile('utf8');
    return { ino: stat.ino, text, owner: parseOwner(text), mtimeMs: stat.mtimeMs };
  } finally {
    await handle.close();
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null;
    const valid = typeof owner?.pid === 'number' && typeof owner.host === 'string' && typeof owner.acquiredAt === 'number';
    return valid ? (owner as LockOwner) : null;
  } catch {
    return null;
  }
}

/** Writes a new file whole and durably before anyone can link it into place. */
async function writeWhole(dir: string, file: string, text: string): Promise<void> {
  let handle;
  // Retried: the release of another process removes the run's directory when it is empty (a
  // run never saved), maybe between our mkdir and open.
  for (let attempt = 0; handle === undefined; attempt++) {
    try {
      await mkdir(dir, { recursive: true });
      handle = await open(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
