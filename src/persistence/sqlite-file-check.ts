/**
 * Checks a SQLite database's files from outside, before SQLite opens them: the write-ahead log
 * (`-wal`), its shared-memory index (`-shm`) and the length of the main file. SQLite itself reads
 * a WAL up to its first frame whose checksum fails and silently drops the rest (committed
 * transactions included), ignores a WAL whose header is damaged, and, opened for writing, then
 * checkpoints or deletes what it ignored. Here damage is found first, so it can be refused with
 * nothing changed. Format: https://www.sqlite.org/fileformat2.html#walformat
 *
 * What is damage:
 * - a WAL that is not empty but whose 32-byte header is short, has no WAL magic, or fails its checksum;
 * - a WAL frame that breaks the checksum chain, followed by a later frame of the same WAL
 *   generation (same salts) that ends a transaction (a commit frame) and whose checksum holds
 *   chained from the frame before it: a committed transaction lies beyond the damage. (A break
 *   followed by nothing, or by frames of an older generation, is the normal end of the log: a
 *   write cut by a crash, or frames left from before the log was restarted.)
 * - a `-shm` index that says the log holds committed frames not yet copied into the main file,
 *   while the log is missing, empty, of another generation, or holds fewer valid committed frames;
 * - a main file shorter than the pages it must hold (those of the last commit that are not in the log).
 *
 * @module
 */
import { open as openFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;

/** What the WAL holds that SQLite will read. */
export interface WalContents {
  /** Size of the file in bytes. */
  bytes: number;
  /** Salts of the current generation (from the header). */
  salts: [number, number];
  /** Frames up to and including the last commit frame of the valid chain. */
  committedFrames: number;
  /** Database size in pages after the last valid commit, or `null` if the log commits nothing. */
  commitPages: number | null;
  pageSize: number;
  /** For each page in a committed frame, the file offset of its latest page image. */
  pages: Map<number, number>;
}

/** What a look at the files found. */
export interface SqliteFiles {
  /** `null` when the WAL is missing or empty (0 bytes). */
  wal: WalContents | null;
  walExists: boolean;
  shmExists: boolean;
}

/** The damage found, as a sentence naming the file, or `null`. */
export type Damage = string | null;

/** How many times the files are looked at before damage is told or a moving log is given up on. */
const ATTEMPTS = 5;
/** Pause between two looks, in ms. */
const PAUSE_MS = 20;

/**
 * Looks at `<path>-wal`, `<path>-shm` and `path`, and says what damage, if any, it found. A live
 * writer may append to the log, restart it or copy it into the file while it is read: a look
 * counts only if the log's header is the same after it as before (a restart rewrites the header
 * before any frame), and damage is told only when two looks in a row find the same. A log that
 * never holds still for two looks (a writer restarting it over and over) is not called damaged.
 * Throws only on I/O errors other than a missing file.
 */
export async function checkSqliteFiles(path: string): Promise<{ files: SqliteFiles; damage: Damage }> {
  let last: { files: SqliteFiles; damage: Damage } | null = null;
  let previous: Damage = null;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, PAUSE_MS));
    const look = await lookOnce(path);
    if (!look.steady) continue;
    last = { files: look.files, damage: look.damage };
    if (look.damage === null || look.damage === previous) return last;
    previous = look.damage;
  }
  return { files: last?.files ?? (await lookOnce(path)).files, damage: null };
}

/**
 * One look, in this order: the index, the log, the log's header again, the main file (a live
 * writer appends to the log and copies it into the main file, never the other way round).
 */
async function lookOnce(path: string): Promise<{ files: SqliteFiles; damage: Damage; steady: boolean }> {
  const walPath = `${path}-wal`;
  const shmPath = `${path}-shm`;
  // The index first: what it says was committed must be in the log read after it.
  const shm = await readShmHeader(shmPath);
  const walBytes = await readWhole(walPath);
  const headerAfter = walBytes && walBytes.length > 0 ? await readAt(walPath, 0, WAL_HEADER).catch(() => Buffer.alloc(0)) : null;
  const steady = headerAfter === null || headerAfter.equals(walBytes!.subarray(0, WAL_HEADER));
  const files: SqliteFiles = { wal: null, walExists: walBytes !== null, shmExists: shm !== undefined };
  if (walBytes !== null && walBytes.length > 0) {
    const scan = scanWal(walBytes);
    if (typeof scan === 'string') return { files, damage: `its write-ahead log ${walPath} ${scan}`, steady };
    files.wal = scan;
  }
  let damage: Damage = null;
  if (shm && shm.mxFrame > shm.nBackfill) {
    const committed = `${shm.mxFrame - shm.nBackfill} committed frames not yet in the database file`;
    const wal = files.wal;
    if (!files.walExists) damage = `its shared-memory index ${shmPath} says its write-ahead log ${walPath} holds ${committed}, but the log is missing`;
    else if (!wal) damage = `its shared-memory index ${shmPath} says its write-ahead log ${walPath} holds ${committed}, but the log is empty`;
    else if (wal.salts[0] === shm.salts[0] && wal.salts[1] === shm.salts[1] && wal.committedFrames < shm.mxFrame) {
      damage =
        `its write-ahead log ${walPath} holds ${wal.committedFrames} valid committed frames where its shared-memory index ` +
        `${shmPath} recorded ${shm.mxFrame}: the log is damaged or cut`;
    }
  }
  if (damage) return { files, damage, steady };
  const main = await statOrNull(path);
  if (main?.isFile() && main.size > 0) damage = await checkMainLength(path, main, files.wal);
  return { files, damage, steady };
}

/** The valid contents of a WAL, or why it is damaged. */
export function scanWal(bytes: Buffer): WalContents | string {
  if (bytes.length < WAL_HEADER) return `is ${bytes.length} bytes long, shorter than its ${WAL_HEADER}-byte header`;
  const magic = bytes.readUInt32BE(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return 'does not start with the WAL magic number: its header is damaged';
  const bigEndian = magic === WAL_MAGIC_BE;
  const pageSize = bytes.readUInt32BE(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return `has a page size of ${pageSize} in its header: the header is damaged`;
  let [s0, s1] = checksum(bytes, 0, 24, 0, 0, bigEndian);
  if (s0 !== bytes.readUInt32BE(24) || s1 !== bytes.readUInt32BE(28)) return 'fails the checksum of its header: the header is damaged';
  const salts: [number, number] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  const frameSize = FRAME_HEADER + pageSize;
  const frames = Math.floor((bytes.length - WAL_HEADER) / frameSize);
  const pending: Array<[number, number]> = [];
  const pages = new Map<number, number>();
  let committedFrames = 0;
  let commitPages: number | null = null;
  let frame = 0;
  for (; frame < frames; frame++) {
    const at = WAL_HEADER + frame * frameSize;
    if (!sameSalts(bytes, at, salts)) break;
    [s0, s1] = frameChecksum(bytes, at, pageSize, s0, s1, bigEndian);
    if (s0 !== bytes.readUInt32BE(at + 16) || s1 !== bytes.readUInt32BE(at + 20)) break;
    pending.push([bytes.readUInt32BE(at), at + FRAME_HEADER]);
    const commit = bytes.readUInt32BE(at + 4);
    if (commit !== 0) {
      for (const [page, offset] of pending) pages.set(page, offset);
      pending.length = 0;
      committedFrames = frame + 1;
      commitPages = commit;
    }
  }
  // The chain broke at `frame`: past it, a commit frame of this generation whose checksum holds
  // (chained from the checksum stored in the frame before it) is a committed transaction lost.
  for (let later = frame + 1; later < frames; later++) {
    const at = WAL_HEADER + later * frameSize;
    if (!sameSalts(bytes, at, salts) || bytes.readUInt32BE(at + 4) === 0) continue;
    const prev = at - frameSize;
    const [c0, c1] = frameChecksum(bytes, at, pageSize, bytes.readUInt32BE(prev + 16), bytes.readUInt32BE(prev + 20), bigEndian);
    if (c0 === bytes.readUInt32BE(at + 16) && c1 === bytes.readUInt32BE(at + 20)) {
      return (
        `is damaged at frame ${frame + 1} (byte ${WAL_HEADER + frame * frameSize}): a transaction committed after it ` +
        `(frame ${later + 1}) would be dropped`
      );
    }
  }
  return { bytes: bytes.length, salts, committedFrames, commitPages, pageSize, pages };
}

/**
 * The main file must hold every page of the database that the log does not: those up to the
 * size of the last commit (in the log, else in the file's header).
 */
async function checkMainLength(path: string, main: Stats, wal: WalContents | null): Promise<Damage> {
  const header = await readAt(path, 0, 100);
  if (header.length < 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\0') return null; // SQLite names it
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  // The size in the header is valid only when its change counter matches "version valid for".
  const headerPages = header.readUInt32BE(24) === header.readUInt32BE(92) ? header.readUInt32BE(28) : 0;
  const pages = wal?.commitPages ?? headerPages;
  if (pages === 0 || pageSize < 512) return null;
  const whole = Math.floor(main.size / pageSize);
  for (let page = whole + 1; page <= pages; page++) {
    if (!wal?.pages.has(page)) {
      return `the file is ${main.size} bytes long, but the database has ${pages} pages of ${pageSize} bytes (${pages * pageSize} bytes): page ${page} is missing, the file was cut`;
    }
  }
  return null;
}

/**
 * The database as SQLite would read it, in memory: the main file with the log's committed pages
 * laid over it, cut to the last commit's size, in rollback-journal mode (for `sqlite3_deserialize`).
 * Nothing is written: used to read a database whose `-shm` index is missing, which SQLite would create.
 */
export async function databaseImage(path: string, wal: WalContents | null): Promise<Buffer> {
  const walBytes = wal ? await readWhole(`${path}-wal`) : null;
  let image = (await readWhole(path)) ?? Buffer.alloc(0);
  if (wal && walBytes && wal.commitPages !== null) {
    const size = wal.commitPages * wal.pageSize;
    if (image.length !== size) {
      const resized = Buffer.alloc(size);
      image.copy(resized, 0, 0, Math.min(size, image.length));
      image = resized;
    }
    for (const [page, offset] of wal.pages) {
      if (page <= wal.commitPages) walBytes.copy(image, (page - 1) * wal.pageSize, offset, offset + wal.pageSize);
    }
  }
  if (image.length >= 20) {
    image[18] = 1;
    image[19] = 1;
  }
  return image;
}

interface ShmHeader {
  mxFrame: number;
  nBackfill: number;
  salts: [number, number];
}

/**
 * The WAL index header of `-shm` (in native byte order), or `undefined` when the file is missing,
 * or `null` when it holds no valid header (not initialized, torn copies: nothing to compare with).
 */
async function readShmHeader(shmPath: string): Promise<ShmHeader | null | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readAt(shmPath, 0, 136);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length < 136 || !bytes.subarray(0, 48).equals(bytes.subarray(48, 96))) return null;
  const le = isLittleEndianHost();
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  if (u32(0) !== 3007000 || bytes[12] !== 1) return null;
  const [c0, c1] = checksum(bytes, 0, 40, 0, 0, !le);
  if (c0 !== u32(40) || c1 !== u32(44)) return null;
  // WalCkptInfo follows the two copies of the header: nBackfill first.
  return { mxFrame: u32(16), nBackfill: u32(96), salts: [bytes.readUInt32BE(32), bytes.readUInt32BE(36)] };
}

function sameSalts(bytes: Buffer, at: number, salts: [number, number]): boolean {
  return bytes.readUInt32BE(at + 8) === salts[0] && bytes.readUInt32BE(at + 12) === salts[1];
}

/** A frame's checksum: over the first 8 bytes of its header and its page, chained from (s0, s1). */
function frameChecksum(bytes: Buffer, at: number, pageSize: number, s0: number, s1: number, bigEndian: boolean): [number, number] {
  [s0, s1] = checksum(bytes, at, 8, s0, s1, bigEndian);
  return checksum(bytes, at + FRAME_HEADER, pageSize, s0, s1, bigEndian);
}

/** SQLite's WAL checksum over `length` bytes (a multiple of 8) from `at`. */
function checksum(bytes: Buffer, at: number, length: number, s0: number, s1: number, bigEndian: boolean): [number, number] {
  const end = at + length;
  if (bigEndian) {
    for (let i = at; i < end; i += 8) {
      s0 = (s0 + bytes.readUInt32BE(i) + s1) >>> 0;
      s1 = (s1 + bytes.readUInt32BE(i + 4) + s0) >>> 0;
    }
  } else if ((bytes.byteOffset + at) % 4 === 0 && isLittleEndianHost()) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + at, length / 4);
    for (let i = 0; i < words.length; i += 2) {
      s0 = (s0 + words[i]! + s1) >>> 0;
      s1 = (s1 + words[i + 1]! + s0) >>> 0;
    }
  } else {
    for (let i = at; i < end; i += 8) {
      s0 = (s0 + bytes.readUInt32LE(i) + s1) >>> 0;
      s1 = (s1 + bytes.readUInt32LE(i + 4) + s0) >>> 0;
    }
  }
  return [s0, s1];
}

let littleEndian: boolean | undefined;
function isLittleEndianHost(): boolean {
  littleEndian ??= new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  return littleEndian;
}

/** The whole file, or `null` when it is missing. */
async function readWhole(path: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await openFile(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    // Read to the end (a live writer may append meanwhile: what was read is a prefix).
    const { size } = await handle.stat();
    const buffer = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(buffer, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.subarray(0, read);
  } finally {
    await handle.close();
  }
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
