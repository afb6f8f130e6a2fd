/**
 * Reads a file that another process is still appending to, line by line, from where the last
 * read stopped (`logs --follow`). A last line without its newline is torn (the writer is in the
 * middle of it): it is held until it is complete.
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;

/** One file being tailed. */
export class FileLineTail {
  private offset = 0;
  /** The bytes of the torn last line so far (split on bytes: a newline never occurs inside a UTF-8 character). */
  private held: Buffer[] = [];

  constructor(readonly file: string) {}

  /** The complete lines appended since the last read; none while the file does not exist. */
  read(): string[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return [];
    }
    const lines: string[] = [];
    try {
      const size = fstatSync(fd).size;
      // Shorter than what was read: the file was written anew.
      if (size < this.offset) {
        this.offset = 0;
        this.held = [];
      }
      while (this.offset < size) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - this.offset));
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        this.take(chunk.subarray(0, n), lines);
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  }

  /** Once the writer is done: the torn last line, if there is one (a writer that died mid-line). */
  rest(): string | null {
    if (this.held.length === 0) return null;
    const line = Buffer.concat(this.held).toString('utf8');
    this.held = [];
    return line;
  }

  private take(chunk: Buffer, lines: string[]): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      lines.push(this.held.length === 0 ? piece.toString('utf8') : Buffer.concat([...this.held, piece]).toString('utf8'));
      this.held = [];
      start = nl + 1;
    }
    // Copied: the chunk's buffer is not kept alive for a short tail.
    if (start < chunk.length) this.held.push(Buffer.from(chunk.subarray(start)));
  }
}
