/**
 * Who else holds a pipe: whether a subprocess's stdout can still bring data, or has only to be
 * read to its end.
 *
 * When a program exits, its stdout pipe ends (EOF) as soon as every process holding the pipe's
 * write end has closed it. Until the reader has read that EOF the data already written is in the
 * pipe, and under load it can be read well after the `exit` event: cutting the stream then
 * loses output. A stream may only be cut when some other process (a descendant the program left
 * behind) still holds the pipe open. Linux tells: `/proc/<pid>/fd/*` link to `pipe:[<inode>]`.
 *
 * @module
 */
import { readdir, readlink } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';

/**
 * What file descriptor `fd` of process `pid` refers to (`pipe:[<inode>]`, `socket:[<inode>]`:
 * Node gives a child one end of a socket pair as stdout, and keeps the other); `null` when it
 * cannot be told (no `/proc`, or the process is gone already).
 */
export function pipeIdOf(pid: number, fd: number): string | null {
  try {
    const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    return /^(pipe|socket):/.test(target) ? target : null;
  } catch {
    return null;
  }
}

/**
 * The pids of the processes other than this one that hold any of the pipe ends `ids` (from
 * {@link pipeIdOf}) open; `null` when `/proc` cannot be read. Processes of other users cannot be
 * looked into and are not listed.
 */
export async function pipeHolders(ids: readonly string[]): Promise<number[] | null> {
  if (ids.length === 0) return [];
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
  } catch {
    return null;
  }
  const wanted = new Set(ids);
  const holders: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return; // gone, or not ours to look into
      }
      for (const fd of fds) {
        try {
          if (wanted.has(await readlink(`/proc/${pid}/fd/${fd}`))) {
            holders.push(Number(pid));
            return;
          }
        } catch {
          // closed meanwhile
        }
      }
    }),
  );
  return holders;
}
