/**
 * `JsonMemoryBackend`: a memory store in plain files, `<stateDir>/memory/`, that any number of
 * processes share. A store costs one appended line, whatever the number of entries.
 *
 * Files:
 * - `memory-snapshot.json`: `{ schemaVersion, generation, entries }`, every entry as of the
 *   start of journal `generation`; written whole (temp file, fsync, rename).
 * - `memory-journal-<generation>.jsonl`: one line per change since (`set` with the entry,
 *   `del` with the key), appended with O_APPEND as one write each and fdatasync'd, so lines of
 *   several processes never mix. A `seal` line ends a journal: what follows it belongs to the
 *   next generation's journal.
 * - `run.lock`: held while compacting (the lock of the JSON state backend's runs, see
 *   json-run-lock.ts: a dead holder's lock is taken over).
 *
 * Every process folds the same lines in the same (file) order, its own writes included: a store
 * appends, then reads the journal on from where it last stopped, so each operation sees what
 * other processes wrote before it.
 *
 * Compaction, once the journal has grown past the snapshot (and a minimum size), so that the
 * cost per store stays flat: under the lock, the compacting process creates the next journal,
 * appends a `seal` line to the current one, folds it up to the seal, writes the snapshot of the
 * next generation and deletes the sealed journal. A process that finds its own line after a
 * seal (it appended while the compaction sealed) appends it again to the next journal: no line
 * is lost and none counts twice. A process whose journal was deleted under it reads the new
 * snapshot. Journals are only ever created by the compaction (and the first open), never by an
 * append, so a late append cannot bring back a sealed journal.
 *
 * Each record line is written between two newlines: a line torn by a crash mid-write stays a
 * line of its own (skipped) and never swallows the next one.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { AgentsSdkError, PermanentError } from '../errors.js';
import { syncDirectorySync } from '../persistence/atomic-json-file.js';
import { takeRunLock } from '../persistence/json-run-lock.js';
import type { JsonValue, ListOptions, MemoryBackend, MemoryEntry, SearchOptions, SearchResult, StoreOptions } from './memory-backend.js';
import { assertValidMemoryKey, expiryOf, isExpired, jsonTextOf } from './memory-input.js';
import { MemoryTable } from './memory-table.js';
import type { VectorSearchOptions } from './vector-rank.js';

/** Version of the snapshot and journal lines. */
export const MEMORY_SCHEMA_VERSION = 1;

const SNAPSHOT = 'memory-snapshot.json';
const journalName = (generation: number) => `memory-journal-${generation}.jsonl`;
const JOURNAL = /^memory-journal-(\d+)\.jsonl$/;
const NEWLINE = 0x0a;

/** Options of {@link JsonMemoryBackend}. */
export interface JsonMemoryBackendOptions extends VectorSearchOptions {
  /** The clock, epoch ms (default `Date.now`). */
  now?: () => number;
  /**
   * fdatasync every append (default `true`): a store that resolved survives a power loss.
   * `false` survives a process crash only, and is much faster on some disks.
   */
  sync?: boolean;
  /** The journal is compacted once larger than the snapshot and than this many bytes (default 1 MiB). */
  compactionMinBytes?: number;
}

interface Snapshot {
  schemaVersion: number;
  generation: number;
  entries: MemoryEntry[];
}

type JournalLine =
  | { v: number; op: 'set'; w: string; entry: MemoryEntry }
  | { v: number; op: 'del'; w: string; key: string }
  | { v: number; op: 'seal'; next: number };

/** The journal being read: its generation, descriptor, and how far it was folded. */
interface OpenJournal {
  generation: number;
  fd: number;
  offset: number;
}

/** How a catch-up ended. */
interface CatchUp {
  /** A line of the write `w` was found after a seal: it is lost unless written again. */
  ownAfterSeal: boolean;
  /** Stopped at a seal (with `stopAtSeal`). */
  sealed: boolean;
}

/**
 * A memory store in `<stateDir>/memory/` (see the module comment), shared safely by processes.
 * Open it with `new JsonMemoryBackend(stateDir)`; nothing is read until the first operation.
 */
export class JsonMemoryBackend implements MemoryBackend {
  /** The directory of the store's files: `<stateDir>/memory`. */
  readonly dir: string;
  private readonly now: () => number;
  private readonly sync: boolean;
  private readonly compactionMinBytes: number;
  private readonly vectorOptions: VectorSearchOptions;
  private readonly writerId = randomUUID();
  private writes = 0;
  private table: MemoryTable;
  private journal: OpenJournal | null = null;
  private snapshotBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(stateDir: string, options: JsonMemoryBackendOptions = {}) {
    this.dir = join(resolve(stateDir), 'memory');
    this.now = options.now ?? (() => Date.now());
    this.sync = options.sync ?? true;
    this.compactionMinBytes = options.compactionMinBytes ?? 1024 * 1024;
    this.vectorOptions = options;
    this.table = new MemoryTable(options);
  }

  async store(key: string, value: JsonValue, options?: StoreOptions): Promise<void> {
    assertValidMemoryKey(key);
    jsonTextOf(key, value);
    const ttlMs = expiryOf(options, 0);
    return this.serially(async () => {
      this.catchUp();
      const now = this.now();
      const previous = this.table.get(key);
      const createdAt = previous && !isExpired(previous.expiresAt, now) ? previous.createdAt : now;
      const w = this.nextWriteId();
      const entry: MemoryEntry = { key, value, createdAt, updatedAt: now, expiresAt: ttlMs === null ? null : now + ttlMs };
      this.append([{ v: MEMORY_SCHEMA_VERSION, op: 'set', w, entry }], w);
      await this.compactIfDue();
    });
  }

  async retrieve(key: string): Promise<JsonValue | undefined> {
    assertValidMemoryKey(key);
    return this.serially(async () => {
      this.catchUp();
      const entry = this.table.get(key);
      return entry && !isExpired(entry.expiresAt, this.now()) ? structuredClone(entry.value) : undefined;
    });
  }

  async delete(key: string): Promise<boolean> {
    assertValidMemoryKey(key);
    return this.serially(async () => {
      this.catchUp();
      const entry = this.table.get(key);
      if (entry === undefined) return false;
      const w = this.nextWriteId();
      this.append([{ v: MEMORY_SCHEMA_VERSION, op: 'del', w, key }], w);
      return !isExpired(entry.expiresAt, this.now());
    });
  }

  async list(options: ListOptions = {}): Promise<MemoryEntry[]> {
    return this.serially(async () => {
      this.catchUp();
      return this.table.list(options, this.now()).map((entry) => structuredClone(entry));
    });
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    return this.serially(async () => {
      this.catchUp();
      return (await this.table.search(query, options, this.now())).map((result) => structuredClone(result));
    });
  }

  async clearExpired(): Promise<number> {
    return this.serially(async () => {
      this.catchUp();
      const expired = this.table.expiredKeys(this.now());
      if (expired.length === 0) return 0;
      const w = this.nextWriteId();
      this.append(
        expired.map((key) => ({ v: MEMORY_SCHEMA_VERSION, op: 'del' as const, w, key })),
        w,
      );
      return expired.length;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serially(async () => {
      if (this.journal) closeSync(this.journal.fd);
      this.journal = null;
      this.closed = true;
    });
  }

  /** Runs one operation after the previous ones of this instance: the files are read and written in order. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new PermanentError('BACKEND_UNAVAILABLE', `The memory store ${this.dir} is closed`);
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextWriteId(): string {
    return `${this.writerId}:${++this.writes}`;
  }

  /**
   * Appends lines (one write, O_APPEND), then folds the journal up to them; lines that landed
   * after a seal are appended again to the journal that follows it.
   */
  private append(lines: JournalLine[], w: string): void {
    const text = lines.map((line) => `\n${JSON.stringify(line)}\n`).join('');
    const bytes = Buffer.from(text);
    for (;;) {
      const journal = this.open();
      let fd: number;
      try {
        // Opened by path for each append: without O_CREAT, so a journal deleted by a compaction
        // (ENOENT) is never brought back; the folded journal's descriptor stays for reading.
        fd = openSync(join(this.dir, journalName(journal.generation)), 'a');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailed(this.dir, error);
        this.reload();
        continue;
      }
      try {
        writeSync(fd, bytes);
        if (this.sync) fdatasyncSync(fd);
      } catch (error) {
        throw writeFailed(this.dir, error);
      } finally {
        closeSync(fd);
      }
      if (!this.catchUp({ w }).ownAfterSeal) return;
    }
  }

  /**
   * Folds what was appended to the journal since the last call (and follows seals to the next
   * journals). `w`: a write of ours to look for after a seal. `stopAtSeal`: stop at a seal,
   * without moving to the next journal (the compaction snapshots exactly that state).
   */
  private catchUp(options: { w?: string; stopAtSeal?: boolean } = {}): CatchUp {
    let ownAfterSeal = false;
    for (;;) {
      const journal = this.open();
      const size = fstatSync(journal.fd).size;
      if (size <= journal.offset) return { ownAfterSeal, sealed: false };
      const buffer = Buffer.allocUnsafe(size - journal.offset);
      const read = readSync(journal.fd, buffer, 0, buffer.length, journal.offset);
      // Only whole lines: a line being written is folded next time.
      const end = buffer.lastIndexOf(NEWLINE, read - 1);
      if (end < 0) return { ownAfterSeal, sealed: false };
      let seal: number | null = null;
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(NEWLINE, start);
        if (newline < 0 || newline > end) break;
        const line = parseLine(buffer.toString('utf8', start, newline));
        start = newline + 1;
        if (line === null) continue;
        if (seal !== null) {
          // Past the seal: not part of this journal. Ours must be written again.
          if (line.op !== 'seal' && line.w === options.w) ownAfterSeal = true;
          continue;
        }
        if (line.op === 'seal') {
          seal = line.next;
          if (options.stopAtSeal) {
            journal.offset += newline + 1;
            return { ownAfterSeal, sealed: true };
          }
        } else if (line.op === 'set') this.table.put(line.entry);
        else this.table.remove(line.key);
      }
      journal.offset += end + 1;
      if (seal === null) continue;
      // Whatever follows the seal, including lines not yet complete, belongs to no one: the
      // processes that wrote them append them again.
      if (options.w !== undefined && !ownAfterSeal) ownAfterSeal = this.ownLineAfter(journal, options.w);
      this.moveTo(seal);
    }
  }

  /** Whether the rest of a sealed journal (written after what was read) holds a line of write `w`. */
  private ownLineAfter(journal: OpenJournal, w: string): boolean {
    const size = fstatSync(journal.fd).size;
    if (size <= journal.offset) return false;
    const buffer = Buffer.allocUnsafe(size - journal.offset);
    readSync(journal.fd, buffer, 0, buffer.length, journal.offset);
    return buffer
      .toString('utf8')
      .split('\n')
      .some((text) => {
        const line = parseLine(text);
        return line !== null && line.op !== 'seal' && line.w === w;
      });
  }

  /** Goes on reading at the start of journal `generation`; reads the snapshot if it is gone already. */
  private moveTo(generation: number): void {
    closeSync(this.journal!.fd);
    this.journal = null;
    try {
      this.journal = { generation, fd: openSync(join(this.dir, journalName(generation)), 'r'), offset: 0 };
      this.snapshotBytes = statSync(join(this.dir, SNAPSHOT)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (this.journal === null) this.reload();
    }
  }

  /** The journal being read, opened (from the snapshot) on first use. */
  private open(): OpenJournal {
    if (this.journal === null) this.reload();
    return this.journal!;
  }

  /** Reads the snapshot and opens its journal (creating both when the store is new). */
  private reload(): void {
    if (this.journal) closeSync(this.journal.fd);
    this.journal = null;
    for (let attempt = 0; ; attempt++) {
      const snapshot = this.readSnapshot() ?? (this.initialize(), this.readSnapshot());
      if (snapshot === null) continue;
      try {
        const fd = openSync(join(this.dir, journalName(snapshot.generation)), 'r');
        this.table = new MemoryTable(this.vectorOptions);
        for (const entry of snapshot.entries) this.table.put(entry);
        this.journal = { generation: snapshot.generation, fd, offset: 0 };
        return;
      } catch (error) {
        // Compacted between reading the snapshot and opening its journal: read the new one.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw corrupt(this.dir, `${journalName(snapshot.generation)} is missing`, error);
      }
    }
  }

  private readSnapshot(): Snapshot | null {
    const file = join(this.dir, SNAPSHOT);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw corrupt(this.dir, `${file} cannot be read`, error);
    }
    let snapshot: Snapshot;
    try {
      snapshot = JSON.parse(text) as Snapshot;
    } catch (error) {
      throw corrupt(this.dir, `${file} is not JSON`, error);
    }
    if (typeof snapshot?.schemaVersion !== 'number' || snapshot.schemaVersion > MEMORY_SCHEMA_VERSION) {
      throw new PermanentError('UNSUPPORTED_SCHEMA', `${file} has schemaVersion ${String(snapshot?.schemaVersion)}; this agents-sdk reads up to ${MEMORY_SCHEMA_VERSION}`, {
        details: { file },
      });
    }
    if (!Number.isInteger(snapshot.generation) || !Array.isArray(snapshot.entries)) throw corrupt(this.dir, `${file} has no generation or entries`);
    this.snapshotBytes = Buffer.byteLength(text);
    return snapshot;
  }

  /**
   * A new store: the first journal, then the snapshot that names it (linked into place, so the
   * first of several processes wins and the others read its snapshot).
   */
  private initialize(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      closeSync(openSync(join(this.dir, journalName(0)), 'a'));
      const temp = writeTemp(this.dir, snapshotText([], 0));
      try {
        linkSync(temp, join(this.dir, SNAPSHOT));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        unlinkSync(temp);
      }
      syncDirectorySync(this.dir);
    } catch (error) {
      throw writeFailed(this.dir, error);
    }
  }

  /** Compacts when the journal has outgrown the snapshot; skipped while another process compacts. */
  private async compactIfDue(): Promise<void> {
    const journal = this.journal;
    if (journal === null || journal.offset < Math.max(this.snapshotBytes, this.compactionMinBytes)) return;
    await this.compactNow();
  }

  /**
   * Folds the journal into a new snapshot now (see the module comment); it happens by itself
   * once the journal outgrows the snapshot. Resolves false without doing anything while another
   * process compacts.
   */
  async compact(): Promise<boolean> {
    return this.serially(() => this.compactNow());
  }

  private async compactNow(): Promise<boolean> {
    let release: () => Promise<void>;
    try {
      release = await takeRunLock(this.dir, 'memory compaction');
    } catch (error) {
      if (error instanceof AgentsSdkError && error.code === 'LOCKED') return false;
      throw error;
    }
    try {
      this.catchUp();
      const generation = this.journal!.generation;
      const next = join(this.dir, journalName(generation + 1));
      // It may exist: left by a compaction that died before its seal (nothing was appended to it then).
      closeSync(openSync(next, 'a'));
      syncDirectorySync(this.dir);
      const fd = openSync(join(this.dir, journalName(generation)), 'a');
      try {
        writeSync(fd, `\n${JSON.stringify({ v: MEMORY_SCHEMA_VERSION, op: 'seal', next: generation + 1 })}\n`);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // Everything up to the seal, written by whoever before it.
      for (let tries = 0; !this.catchUp({ stopAtSeal: true }).sealed; tries++) {
        if (tries > 100) throw corrupt(this.dir, `the seal just appended to ${journalName(generation)} cannot be read back`);
      }
      const now = this.now();
      const live = [...this.table.all()].filter((entry) => !isExpired(entry.expiresAt, now));
      const text = snapshotText(live, generation + 1);
      const temp = writeTemp(this.dir, text);
      renameSync(temp, join(this.dir, SNAPSHOT));
      syncDirectorySync(this.dir);
      this.snapshotBytes = Buffer.byteLength(text);
      // Sealed journals (this one, and any a dead compaction left) are folded into the snapshot.
      for (const name of readdirSync(this.dir)) {
        const match = JOURNAL.exec(name);
        if (match && Number(match[1]) <= generation) rmSync(join(this.dir, name), { force: true });
      }
      this.moveTo(generation + 1);
      return true;
    } catch (error) {
      throw writeFailed(this.dir, error);
    } finally {
      await release();
    }
  }
}

function parseLine(text: string): JournalLine | null {
  if (text === '') return null;
  try {
    const line = JSON.parse(text) as JournalLine;
    if (line.op === 'set' && typeof line.entry?.key === 'string') return line;
    if (line.op === 'del' && typeof line.key === 'string') return line;
    if (line.op === 'seal' && Number.isInteger(line.next)) return line;
  } catch {
    // A line torn by a crash mid-write: nothing of it was acknowledged.
  }
  return null;
}

function snapshotText(entries: MemoryEntry[], generation: number): string {
  const snapshot: Snapshot = { schemaVersion: MEMORY_SCHEMA_VERSION, generation, entries };
  return JSON.stringify(snapshot);
}

let temps = 0;

/** Writes a new temp file in `dir` durably; returns its path. */
function writeTemp(dir: string, text: string): string {
  const temp = join(dir, `.${SNAPSHOT}.${process.pid}.${++temps}.${randomUUID().slice(0, 8)}.tmp`);
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  return temp;
}

function writeFailed(dir: string, error: unknown): AgentsSdkError {
  if (error instanceof AgentsSdkError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new PermanentError('STATE_WRITE_FAILED', `The memory store ${dir} could not be written (${code ?? (error as Error).message})`, {
    cause: error,
    details: { dir, code },
  });
}

function corrupt(dir: string, why: string, cause?: unknown): PermanentError {
  return new PermanentError('CORRUPT_STATE', `Damaged memory store ${dir}: ${why}`, { cause, details: { dir } });
}
