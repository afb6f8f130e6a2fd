/**
 * A signal inbox as a JSON-lines file (the JSON backend's): one signal per line, appended with
 * one `write` and an `fdatasync`, read from a byte offset so a watcher reads only what is new.
 *
 * @module
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseSignalLines, type Signal } from '../signals/signal.js';
import { stateWriteFailed } from './state-backend.js';

/** Appends one signal to the inbox file, durably (the line is on disk when this returns). */
export function appendSignalLine(file: string, signal: Signal): void {
  const line = Buffer.from(JSON.stringify(signal) + '\n');
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(file, 'a');
    try {
      // One write of a whole line in append mode: concurrent senders never interleave within it.
      writeSync(fd, line);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw stateWriteFailed(file, error);
  }
}

/** The signals after byte `cursor`, up to the last complete line, and the byte offset after it. */
export async function readSignalFile(file: string, cursor = 0): Promise<{ signals: Signal[]; cursor: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { signals: [], cursor };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= cursor) return { signals: [], cursor };
    const buffer = Buffer.alloc(size - cursor);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, cursor);
    const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
    if (end === 0) return { signals: [], cursor };
    return { signals: parseSignalLines(buffer.subarray(0, end).toString('utf8')), cursor: cursor + end };
  } finally {
    await handle.close();
  }
}
