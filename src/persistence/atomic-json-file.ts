/**
 * A lowdb adapter whose writes are atomic across writers: each write goes to a temp file of
 * its own, is flushed to disk, then renamed over the target.
 *
 * lowdb's `JSONFile` (steno) names its temp file after the target alone, so two writers of
 * one file (two backends over one state directory, two processes) rename each other's half
 * written temp files: one fails with ENOENT and a reader can see a torn file.
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

let sequence = 0;

/** JSON file adapter for lowdb: unique temp file, fsync, rename. */
export class AtomicJsonFile<T> implements Adapter<T> {
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(data: T): Promise<void> {
    const temp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.${++sequence}.tmp`);
    try {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(JSON.stringify(data, null, 2));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
      await syncDirectory(dirname(this.file));
    } catch (error) {
      // A full disk or a failed rename leaves no temp file behind.
      await rm(temp, { force: true });
      throw error;
    }
  }
}

/** Makes a rename durable: the directory entry is flushed too (best effort where unsupported). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms and file systems refuse fsync on a directory: the rename still stands.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a JSON file atomically and durably, synchronously: temp file, fsync, rename, fsync of
 * the directory. For the journal fold, which must not wait on a busy event loop between steps.
 */
export function writeJsonFileSync(file: string, data: unknown): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${++sequence}.tmp`);
  try {
    const fd = openSync(temp, 'w');
    try {
      writeFileSync(fd, JSON.stringify(data, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    syncDirectorySync(dirname(file));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** {@link syncDirectory}, synchronously. */
export function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems refuse fsync on a directory: the rename still stands.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
