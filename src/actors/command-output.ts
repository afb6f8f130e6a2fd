/**
 * A command's stdout: kept whole in memory while it is short; past the limit, the whole of it
 * goes to a file (`raw_stdout.txt`, one per attempt) and only its tail stays in memory, for
 * the task record. Each byte is stored once: a short output only in the record, a long one in
 * the file (the record then holds a bounded tail, marked `truncated`).
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { assertValidRunId } from '../persistence/state-keys.js';
import { LineTail } from './line-tail.js';

/** Characters of stdout a command task's record keeps (the tail, when there are more): 10 MiB. */
export const DEFAULT_MAX_OUTPUT_CHARS = 10 * 1024 * 1024;

/** Lines are written to the file in batches of about this many characters. */
const WRITE_BATCH_CHARS = 256 * 1024;

/**
 * The name of an attempt's whole-stdout file: `raw_stdout.txt` for the first attempt,
 * `raw_stdout.attempt-<n>.txt` for a later one (as an agent's `raw_output[.attempt-<n>].jsonl`).
 */
export function commandOutputFileName(attempt = 1): string {
  return attempt > 1 ? `raw_stdout.attempt-${attempt}.txt` : 'raw_stdout.txt';
}

/**
 * Where a command attempt's whole stdout goes once it outgrows the record:
 * `<stateDir>/<runId>/<taskId>/raw_stdout[.attempt-<n>].txt`, absolute; `null` without a run id.
 */
export function commandOutputFile(request: { stateDir?: string; runId?: string; taskId?: string; attempt?: number }, defaultStateDir: string): string | null {
  if (!request.runId) return null;
  const dir = request.taskId ?? 'command';
  assertValidRunId(request.runId);
  assertValidRunId(dir);
  return resolve(request.stateDir ?? defaultStateDir, request.runId, dir, commandOutputFileName(request.attempt));
}

/** What became of a command's stdout. */
export interface CommandOutput {
  /** The whole stdout (lines joined with `\n`), or its last `maxChars` characters when `truncated`. */
  text: string;
  /** More was printed than `text` holds. */
  truncated: boolean;
  /** The file holding the whole stdout (when truncated and it could be written). */
  file: string | null;
  /** Bytes of the whole stdout in `file`. */
  bytes: number | null;
}

/** Takes a command's stdout line by line; see the module comment. */
export class CommandOutputCollector {
  private readonly tail: LineTail;
  private chars = 0;
  private fd: number | null = null;
  private batch: string[] = [];
  private batchChars = 0;
  private failed = false;
  private spilled = false;

  /**
   * @param maxChars - characters kept in memory (the record's output at most).
   * @param file - where the whole stdout goes past `maxChars`; `null`: nowhere (only the tail is kept).
   */
  constructor(
    private readonly maxChars: number,
    private readonly file: string | null,
  ) {
    this.tail = new LineTail(maxChars);
  }

  /** Takes one line (without its newline). */
  push(line: string): void {
    this.chars += line.length + 1;
    if (!this.spilled) {
      // The lines joined: one newline fewer than lines. Until now the tail has dropped nothing.
      if (this.chars - 1 > this.maxChars) this.spill();
    }
    if (this.spilled) this.write(line);
    this.tail.push(line);
  }

  /** Ends the output: flushes and closes the file. */
  finish(): CommandOutput {
    if (this.fd !== null) {
      this.flush();
      try {
        closeSync(this.fd);
      } catch {
        this.failed = true;
      }
      this.fd = null;
    }
    const text = this.tail.text();
    if (!this.spilled) return { text, truncated: false, file: null, bytes: null };
    const file = this.file !== null && !this.failed ? this.file : null;
    let bytes: number | null = null;
    if (file !== null) {
      try {
        bytes = statSync(file).size;
      } catch {
        bytes = null;
      }
    }
    return { text, truncated: true, file, bytes };
  }

  /** The output outgrew the limit: from now on the file holds it whole. */
  private spill(): void {
    const held = this.tail.kept();
    this.spilled = true;
    if (this.file === null) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'w');
    } catch {
      // Recording is a side job: a full disk or a bad path must not fail the command.
      this.failed = true;
      return;
    }
    for (const line of held) this.write(line);
  }

  private write(line: string): void {
    if (this.fd === null) return;
    this.batch.push(line, '\n');
    this.batchChars += line.length + 1;
    if (this.batchChars >= WRITE_BATCH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.fd === null || this.batch.length === 0) return;
    const text = this.batch.join('');
    this.batch = [];
    this.batchChars = 0;
    try {
      writeSync(this.fd, text);
    } catch {
      this.failed = true;
      try {
        closeSync(this.fd);
      } catch {
        // already failing
      }
      this.fd = null;
    }
  }
}
