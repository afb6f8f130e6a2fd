/**
 * `JsonStateBackend`: the default backend, JSON files under a state directory, written with
 * lowdb (atomic: temp file + rename, so a crash mid-write leaves the previous file whole).
 *
 * Layout, beside the raw outputs of the system this replaces:
 * - `<stateDir>/<key>.json`: `save(key)`
 * - `<stateDir>/<runId>/checkpoint.json`: the run's checkpoint
 * - `<stateDir>/<runId>/journal-<generation>.jsonl`: task records saved since that checkpoint,
 *   one JSON line each, appended and fsync'd (O(1) per task). When the journal has as many
 *   lines as the run has tasks it is folded into a new checkpoint of the next generation, so
 *   the cost per task stays flat however large the run (rewriting the whole file after every
 *   task was measured at 4.7 ms per task at 1,000 tasks and 30 ms at 10,000). The journal is
 *   created before the checkpoint that names its generation, so a checkpoint whose journal
 *   is missing is damage (`CORRUPT_STATE`), not an empty journal.
 * - `<stateDir>/<runId>/journal-<generation>.extent`: how far the journal reaches (complete
 *   lines and bytes), rewritten in place after each fsync'd append: a journal shorter than
 *   that was truncated or replaced (`CORRUPT_STATE`). It is written after the journal's
 *   fsync, so it can lag the journal (a power loss) but never lead it. A reader reads it
 *   before the journal, so a live writer's journal reaches at least as far (a consistent prefix).
 * - Every journal line and the extent end with a CRC-32 of their own text (`sealed-line.ts`):
 *   an edit that keeps a line valid JSON is `CORRUPT_STATE` too. A checkpoint written before
 *   checksums (no `journalSealed`) accepts lines without one.
 * - `<stateDir>/<runId>/run.lock`: who drives the run (see `json-run-lock.ts`).
 *
 * @module
 */
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { closeSync, type Dirent, existsSync, fdatasyncSync, ftruncateSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { AtomicJsonFile, syncDirectory, syncDirectorySync, writeJsonFileSync } from './atomic-json-file.js';
import { PermanentError } from '../errors.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import { liveRunLockHolder, takeRunLock } from './json-run-lock.js';
import type { LockOptions, LockOwner } from './process-lock.js';
import {
  STATE_SCHEMA_VERSION,
  expandCheckpoint,
  foldRecords,
  stateWriteFailed,
  summarizeRun,
  unreadableRun,
  type ReleaseLock,
  type RunCheckpoint,
  type RunSummary,
  type StateBackend,
} from './state-backend.js';
import { assertValidRunId, assertValidValueKey } from './state-keys.js';
import { CRC_FIELD, sealLine, unsealLine } from './sealed-line.js';
import { appendSignalLine, readSignalFile } from './signal-inbox-file.js';
import { readAdwState, updateAdwState, type AdwState } from '../adw/adw-state.js';
import { BROADCAST_SCOPE, type Signal, type SignalStore } from '../signals/signal.js';

/** A stored checkpoint file: the checkpoint plus the journal generation that follows it. */
interface CheckpointFile extends RunCheckpoint {
  journalGeneration: number;
  /** The journal of `journalGeneration` was created before this file: it must exist. */
  journalCreated?: boolean;
  /**
   * Every line of that journal and its extent carry a CRC-32 (see `sealed-line.ts`): a line
   * or an extent without one is damage. Absent in runs written before checksums.
   */
  journalSealed?: boolean;
}

/** How far a journal reaches, as its `.extent` file says. */
interface JournalExtent {
  lines: number;
  bytes: number;
}

/** Reads of a run tried again while it changes under them (see `loadRun`). */
const MAX_READ_TRIES = 8;

/** Size of an `.extent` file: rewritten in place, padded, so that it never needs truncating. */
const EXTENT_BYTES = 64;

/** A value stored by `save`. */
interface ValueFile {
  schema_version: number;
  value: unknown;
}

interface OpenJournal {
  generation: number;
  /** File descriptors of the journal (append mode) and of its extent. */
  fd: number;
  extentFd: number;
  lines: number;
  /** Bytes of complete, durable lines: a failed append is cut back to this before the next one. */
  bytes: number;
  /** An append failed part-way: the file may end in a torn line. */
  torn: boolean;
  /** The folded state, kept while this process writes the run. */
  checkpoint: CheckpointFile;
  pending: Map<string, TaskRecord>;
}

/** Options of {@link JsonStateBackend}. */
export interface JsonStateBackendOptions {
  /** Fold the journal once it has at least this many lines and as many as the run has tasks (default 256). */
  minFoldLines?: number;
}

/** JSON files under a state directory (default `agents`). */
export class JsonStateBackend implements StateBackend, SignalStore {
  /** Absolute path of the state directory. */
  readonly stateDir: string;
  private readonly journals = new Map<string, OpenJournal>();
  private readonly minFoldLines: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir = 'agents', options: JsonStateBackendOptions = {}) {
    this.stateDir = resolve(stateDir);
    this.minFoldLines = options.minFoldLines ?? 256;
  }

  async save(key: string, value: unknown): Promise<void> {
    assertValidValueKey(key);
    const file = join(this.stateDir, `${key}.json`);
    // One write at a time per backend, so that the last save wins (each write is atomic on its own).
    await this.serial(async () => {
      await mkdir(join(file, '..'), { recursive: true });
      const db = new Low<ValueFile>(new AtomicJsonFile<ValueFile>(file), { schema_version: STATE_SCHEMA_VERSION, value: null });
      db.data = { schema_version: STATE_SCHEMA_VERSION, value };
      await db.write();
    });
  }

  async load(key: string): Promise<unknown> {
    assertValidValueKey(key);
    const data = await readJson<ValueFile>(join(this.stateDir, `${key}.json`));
    return data?.value;
  }

  async saveCheckpoint(runId: string, data: RunCheckpoint): Promise<void> {
    assertValidRunId(runId);
    return this.serial(async () => {
      const journal = this.journals.get(runId);
      const previous = journal?.generation ?? (await this.readCheckpoint(runId))?.journalGeneration;
      const generation = (previous ?? 0) + 1;
      await this.createJournal(runId, generation);
      const file: CheckpointFile = { ...data, journalGeneration: generation, journalCreated: true, journalSealed: true };
      await this.writeCheckpoint(runId, file);
      if (journal) {
        closeJournal(journal);
        this.journals.delete(runId);
      }
      // The new checkpoint holds every record: the journal after the old one is spent (also
      // when an earlier process wrote it, as on resume).
      if (previous !== undefined) await this.removeJournal(runId, previous);
      // Opened now, so that the first task record is one append, not a round of reads; a
      // finished run's journal is not (a backend that outlives many runs would keep two
      // descriptors open for each).
      if (data.result === undefined) this.journals.set(runId, this.openNewJournal(runId, file));
    });
  }

  async loadCheckpoint(runId: string): Promise<RunCheckpoint | undefined> {
    assertValidRunId(runId);
    const file = await this.readCheckpoint(runId);
    if (!file) return undefined;
    return stripJournalFields(file);
  }

  async saveTaskRecords(runId: string, records: TaskRecord[]): Promise<void> {
    assertValidRunId(runId);
    if (records.length === 0) return;
    return this.serial(async () => {
      const journal = await this.openJournal(runId);
      const file = this.journalPath(runId, journal.generation);
      const text = Buffer.from(records.map((r) => sealLine(JSON.stringify({ schemaVersion: STATE_SCHEMA_VERSION, ...r }))).join('\n') + '\n');
      // Synchronous on purpose: an append is one write and one fdatasync. Done as promises,
      // each step waits for its own turn of the event loop, and a loop kept busy by hundreds
      // of finishing tasks made one group commit take over a second (measured: 1.6 s for 64
      // records at max_parallel 64); blocking for one fsync keeps the latency at one fsync.
      try {
        // A failed append (a full disk) may have left part of a line: cut back to the last
        // complete record, or the next record would share its line and the journal be unreadable.
        if (journal.torn) {
          ftruncateSync(journal.fd, journal.bytes);
          journal.torn = false;
        }
        journal.torn = true;
        writeAllSync(journal.fd, text);
        fdatasyncSync(journal.fd);
        journal.torn = false;
      } catch (error) {
        throw stateWriteFailed(file, error);
      }
      journal.lines += records.length;
      journal.bytes += text.length;
      for (const r of records) journal.pending.set(r.taskId, r);
      try {
        writeSync(journal.extentFd, formatExtent({ lines: journal.lines, bytes: journal.bytes }), 0, 'utf8');
      } catch {
        // The extent only guards against later damage: the records themselves are durable.
      }
      if (journal.lines >= Math.max(this.minFoldLines, journal.checkpoint.records.length)) this.fold(runId, journal);
    });
  }

  async loadRun(runId: string): Promise<RunCheckpoint | undefined> {
    assertValidRunId(runId);
    await this.queue;
    // A run written by another process may change under the read: a fold replaces the journal,
    // an append moves the extent. A read that fails is tried again; damage fails the same way
    // three times in a row (same checkpoint, same problem), a race does not.
    let previous: string | null = null;
    let repeats = 0;
    const again = (problem: string | null, tries: number): boolean => {
      if (problem === null || tries >= MAX_READ_TRIES) return false;
      repeats = problem === previous ? repeats + 1 : 0;
      previous = problem;
      return repeats < 2;
    };
    for (let tries = 0; ; tries++) {
      const file = await this.readCheckpoint(runId);
      if (!file) {
        const dir = join(this.stateDir, runId);
        // Being created: the process creating it holds its lock. Without a live holder the same
        // files are a checkpoint gone (or a creation a crash cut short): damage, named.
        if ((await isRunBeingCreated(dir)) && (await liveRunLockHolder(dir)) !== null) return undefined;
        if (await isRunDirectory(dir)) {
          const problem = `Run ${runId}: ${this.checkpointPath(runId)} is missing but its journal is in ${dir}; nothing was changed`;
          if (again(problem, tries)) continue;
          throw new PermanentError('CORRUPT_STATE', problem, { details: { runId, file: this.checkpointPath(runId) } });
        }
        return undefined;
      }
      let later: TaskRecord[];
      try {
        later = (await this.readJournal(runId, file)).records;
      } catch (error) {
        const problem = error instanceof PermanentError && error.code === 'CORRUPT_STATE' ? `${file.journalGeneration}:${file.updatedAt}:${error.message}` : null;
        if (again(problem, tries)) continue;
        throw error;
      }
      const checkpoint = stripJournalFields(file);
      return expandCheckpoint(later.length === 0 ? checkpoint : { ...checkpoint, records: foldRecords(checkpoint.records, later) });
    }
  }

  async listRuns(): Promise<RunSummary[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.stateDir, { withFileTypes: true });
    } catch {
      return [];
    }
    const runs: RunSummary[] = [];
    for (const entry of entries) {
      const name = entry.name;
      // Only run directories are runs: not a SQLite file, a stray note, or a folder of values.
      if (!entry.isDirectory() || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) continue;
      if (!(await isRunDirectory(join(this.stateDir, name)))) continue;
      try {
        const run = await this.loadRun(name);
        if (run) runs.push(summarizeRun(run));
      } catch (error) {
        // A damaged run is listed as such, not hidden; anything else is not a run.
        const unreadable = unreadableRun(name, error);
        if (unreadable) runs.push(unreadable);
      }
    }
    return runs.sort((a, b) => b.startedAt - a.startedAt);
  }

  async deleteRun(runId: string): Promise<void> {
    assertValidRunId(runId);
    await this.serial(async () => {
      const journal = this.journals.get(runId);
      if (journal) {
        closeJournal(journal);
        this.journals.delete(runId);
      }
      await rm(join(this.stateDir, runId), { recursive: true, force: true });
    });
  }

  /**
   * ADW's state for `adwId`, read from `<stateDir>/<adwId>/adw_state.json` as ADW wrote it (see
   * `docs/migration.md`: both systems on one state directory), or `undefined`.
   */
  async loadAdwState(adwId: string): Promise<AdwState | undefined> {
    return readAdwState(this.stateDir, adwId);
  }

  /**
   * Sets fields of `<stateDir>/<adwId>/adw_state.json` in place, keeping every other field
   * (those ADW wrote included); see `updateAdwState`.
   */
  async saveAdwState(adwId: string, fields: Record<string, unknown>): Promise<AdwState> {
    return this.serial(async () => updateAdwState(this.stateDir, adwId, fields));
  }

  async appendSignal(scope: string, signal: Signal): Promise<void> {
    appendSignalLine(this.signalPath(scope), signal);
  }

  async readSignals(scope: string, cursor = 0): Promise<{ signals: Signal[]; cursor: number }> {
    return readSignalFile(this.signalPath(scope), cursor);
  }

  /** A run's inbox is `<runId>/signals.jsonl`; the broadcast one, `signals.jsonl` beside the runs. */
  private signalPath(scope: string): string {
    if (scope === BROADCAST_SCOPE) return join(this.stateDir, 'signals.jsonl');
    assertValidRunId(scope);
    return join(this.stateDir, scope, 'signals.jsonl');
  }

  async lockRun(runId: string, options: LockOptions = {}): Promise<ReleaseLock> {
    assertValidRunId(runId);
    return takeRunLock(join(this.stateDir, runId), runId, options);
  }

  async lockHolder(runId: string): Promise<LockOwner | null> {
    assertValidRunId(runId);
    return liveRunLockHolder(join(this.stateDir, runId));
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      for (const journal of this.journals.values()) closeJournal(journal);
      this.journals.clear();
    });
  }

  /** Runs writes one at a time, in order. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private checkpointPath(runId: string): string {
    return join(this.stateDir, runId, 'checkpoint.json');
  }

  private journalPath(runId: string, generation: number): string {
    return join(this.stateDir, runId, `journal-${generation}.jsonl`);
  }

  private async readCheckpoint(runId: string): Promise<CheckpointFile | undefined> {
    return readJson<CheckpointFile>(this.checkpointPath(runId));
  }

  private async writeCheckpoint(runId: string, data: CheckpointFile): Promise<void> {
    await mkdir(join(this.stateDir, runId), { recursive: true });
    const db = new Low<CheckpointFile>(new AtomicJsonFile<CheckpointFile>(this.checkpointPath(runId)), data);
    db.data = data;
    await db.write();
  }

  private extentPath(runId: string, generation: number): string {
    return join(this.stateDir, runId, `journal-${generation}.extent`);
  }

  /** Creates an empty journal (and its extent) before the checkpoint that names it is written. */
  private async createJournal(runId: string, generation: number): Promise<void> {
    const dir = join(this.stateDir, runId);
    const file = this.journalPath(runId, generation);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(file, '');
      await writeFile(this.extentPath(runId, generation), formatExtent({ lines: 0, bytes: 0 }));
      await syncDirectory(dir);
    } catch (error) {
      throw stateWriteFailed(file, error);
    }
  }

  private async removeJournal(runId: string, generation: number): Promise<void> {
    await rm(this.journalPath(runId, generation), { force: true });
    await rm(this.extentPath(runId, generation), { force: true });
  }

  /**
   * The records of the journal that follows a checkpoint. Only a last line without its
   * newline is torn (a crash mid-append); a missing journal, one shorter than its extent, a
   * complete line that is not a record or whose checksum does not match, or an extent that
   * cannot be read is damage: `CORRUPT_STATE` naming the file.
   *
   * The extent is read first: a live writer appends to the journal before it moves the
   * extent, so the journal read after it reaches at least as far (a consistent prefix).
   */
  private async readJournal(runId: string, checkpoint: CheckpointFile): Promise<{ records: TaskRecord[]; bytes: number; torn: boolean }> {
    const generation = checkpoint.journalGeneration;
    const file = this.journalPath(runId, generation);
    const sealed = checkpoint.journalSealed === true;
    const extent = await readExtent(this.extentPath(runId, generation), sealed);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!checkpoint.journalCreated) return { records: [], bytes: 0, torn: false };
        throw new PermanentError(
          'CORRUPT_STATE',
          `Journal ${file} is missing: the checkpoint of run ${runId} says it exists; the task records saved after that checkpoint are gone. Nothing was changed`,
          { details: { file, runId } },
        );
      }
      // Unreadable is not empty: the run's latest records are in there.
      throw new PermanentError('CORRUPT_STATE', `Cannot read journal ${file}: ${(error as Error).message}`, { details: { file } });
    }
    const end = text.lastIndexOf('\n') + 1;
    const torn = end < text.length;
    const records: TaskRecord[] = [];
    let line = 0;
    const damaged = (what: string) =>
      new PermanentError('CORRUPT_STATE', `Corrupt journal ${file}: line ${line} ${what}; nothing was changed`, { details: { file, line } });
    for (let start = 0; start < end; ) {
      const next = text.indexOf('\n', start);
      const content = text.slice(start, next);
      start = next + 1;
      line += 1;
      if (content.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(content);
      } catch {
        // A complete line (it has its newline) was written whole: garbage there is damage, not a crash.
        throw damaged('is not JSON');
      }
      const { schemaVersion, [CRC_FIELD]: crc, ...record } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as TaskRecord & {
        schemaVersion?: number;
        [CRC_FIELD]?: unknown;
      };
      if (typeof schemaVersion === 'number' && schemaVersion > STATE_SCHEMA_VERSION) {
        throw new PermanentError(
          'UNSUPPORTED_SCHEMA',
          `${file} line ${line} was written with state schema version ${schemaVersion}, newer than this agents-sdk understands (${STATE_SCHEMA_VERSION})`,
          { details: { file, schemaVersion } },
        );
      }
      if (Array.isArray(parsed) || typeof record.taskId !== 'string') throw damaged('is not a task record');
      const unsealed = unsealLine(content);
      if (unsealed.kind === 'mismatch') throw damaged('does not match its checksum (it was changed after it was written)');
      if (unsealed.kind === 'plain' && (sealed || crc !== undefined)) throw damaged(crc === undefined ? 'has no checksum' : 'has a damaged checksum');
      records.push(record);
    }
    const bytes = Buffer.byteLength(text.slice(0, end));
    if (extent && (records.length < extent.lines || bytes < extent.bytes)) {
      throw new PermanentError(
        'CORRUPT_STATE',
        `Journal ${file} is shorter than recorded: ${records.length} records (${bytes} bytes) where ${extent.lines} (${extent.bytes} bytes) were saved; it was truncated or replaced. Nothing was changed`,
        { details: { file, runId, records: records.length, expected: extent.lines } },
      );
    }
    return { records, bytes, torn };
  }

  private async openJournal(runId: string): Promise<OpenJournal> {
    const open_ = this.journals.get(runId);
    if (open_) return open_;
    const checkpoint = await this.readCheckpoint(runId);
    if (!checkpoint) {
      throw new PermanentError('NOT_FOUND', `Run ${runId} has no checkpoint yet: save one before its task records`, { details: { runId } });
    }
    const generation = checkpoint.journalGeneration;
    const existing = await this.readJournal(runId, checkpoint);
    const file = this.journalPath(runId, generation);
    let fd: number;
    let extentFd: number;
    try {
      fd = openSync(file, 'a');
      // Created when missing (a journal written by an older version has none).
      extentFd = openSync(this.extentPath(runId, generation), existsSync(this.extentPath(runId, generation)) ? 'r+' : 'w+');
    } catch (error) {
      throw stateWriteFailed(file, error);
    }
    const journal: OpenJournal = {
      generation,
      fd,
      extentFd,
      lines: existing.records.length,
      bytes: existing.bytes,
      // An earlier process's torn last line is cut before the first append.
      torn: existing.torn,
      checkpoint,
      pending: new Map(existing.records.map((r) => [r.taskId, r])),
    };
    this.journals.set(runId, journal);
    return journal;
  }

  /**
   * Folds the journal into a checkpoint of the next generation. Synchronous, like the append:
   * a dozen awaited file steps on a loop kept busy by finishing agents took seconds, and every
   * record noted meanwhile waited for them.
   */
  private fold(runId: string, journal: OpenJournal): void {
    const records = foldRecords(journal.checkpoint.records, journal.pending.values());
    const next: CheckpointFile = {
      ...journal.checkpoint,
      records,
      updatedAt: Date.now(),
      journalGeneration: journal.generation + 1,
      journalCreated: true,
      journalSealed: true,
    };
    const dir = join(this.stateDir, runId);
    const file = this.journalPath(runId, next.journalGeneration);
    try {
      writeFileSync(file, '');
      writeFileSync(this.extentPath(runId, next.journalGeneration), formatExtent({ lines: 0, bytes: 0 }));
      syncDirectorySync(dir);
    } catch (error) {
      throw stateWriteFailed(file, error);
    }
    try {
      writeJsonFileSync(this.checkpointPath(runId), next);
    } catch (error) {
      throw stateWriteFailed(this.checkpointPath(runId), error);
    }
    closeJournal(journal);
    rmSync(this.journalPath(runId, journal.generation), { force: true });
    rmSync(this.extentPath(runId, journal.generation), { force: true });
    this.journals.set(runId, this.openNewJournal(runId, next));
  }

  /** Opens the empty journal {@link createJournal} made for a checkpoint just written. */
  private openNewJournal(runId: string, checkpoint: CheckpointFile): OpenJournal {
    const generation = checkpoint.journalGeneration;
    const fd = openSync(this.journalPath(runId, generation), 'a');
    const extentFd = openSync(this.extentPath(runId, generation), 'r+');
    return { generation, fd, extentFd, lines: 0, bytes: 0, torn: false, checkpoint, pending: new Map() };
  }
}

/**
 * A run being created (or whose creation a crash cut short): its first journal, still empty,
 * is there, but not yet the checkpoint that names it (see `createJournal`). Nothing of it was
 * saved: it reads as no run, not as damage.
 */
async function isRunBeingCreated(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return false;
  }
  const journals = names.filter((f) => /^journal-\d+\.jsonl$/.test(f));
  if (journals.length !== 1 || journals[0] !== 'journal-1.jsonl' || names.includes('checkpoint.json')) return false;
  try {
    return (await stat(join(dir, 'journal-1.jsonl'))).size === 0;
  } catch {
    return false;
  }
}

/** A directory holds a run when it has a checkpoint or a journal (a run whose checkpoint is gone is damaged, not absent). */
async function isRunDirectory(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((f) => f === 'checkpoint.json' || /^journal-\d+\.jsonl$/.test(f));
  } catch {
    return false;
  }
}

function closeJournal(journal: OpenJournal): void {
  closeSync(journal.fd);
  closeSync(journal.extentFd);
}

function formatExtent(extent: JournalExtent): string {
  return sealLine(JSON.stringify(extent)).padEnd(EXTENT_BYTES - 1, ' ') + '\n';
}

/** A checkpoint as the backend's callers see it: without the journal's bookkeeping. */
function stripJournalFields(file: CheckpointFile): RunCheckpoint {
  const { journalGeneration: _g, journalCreated: _c, journalSealed: _s, ...checkpoint } = file;
  return checkpoint;
}

/** Writes a whole buffer at the end of an append-mode file (a write may be partial). */
function writeAllSync(fd: number, buffer: Buffer): void {
  for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset, buffer.length - offset);
}

/**
 * The extent of a journal, or `null` when there is none and none is required (a run written
 * before extents, or before checksums). An extent that is not a valid one, or whose checksum
 * does not match, is damage.
 */
async function readExtent(file: string, sealed: boolean): Promise<JournalExtent | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PermanentError('CORRUPT_STATE', `Cannot read journal extent ${file}: ${(error as Error).message}`, { details: { file } });
    }
    if (!sealed) return null;
    throw new PermanentError('CORRUPT_STATE', `Journal extent ${file} is missing: the checkpoint says it was created. Nothing was changed`, { details: { file } });
  }
  const damaged = (what: string) =>
    new PermanentError('CORRUPT_STATE', `Corrupt journal extent ${file}: ${what}; nothing was changed`, { details: { file } });
  const unsealed = unsealLine(text.trimEnd());
  let extent: Partial<JournalExtent> | null;
  try {
    extent = JSON.parse(text) as Partial<JournalExtent> | null;
  } catch {
    throw damaged('it is not JSON');
  }
  if (unsealed.kind === 'mismatch') throw damaged('it does not match its checksum (it was changed after it was written)');
  if (unsealed.kind === 'plain' && sealed) throw damaged('it has no checksum');
  if (typeof extent?.lines !== 'number' || typeof extent.bytes !== 'number') throw damaged('it names no line and byte count');
  return { lines: extent.lines, bytes: extent.bytes };
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Present but unreadable (EISDIR, EACCES): the state is there and damaged, not missing.
    throw new PermanentError('CORRUPT_STATE', `Cannot read state file ${file}: ${(error as Error).message}`, { details: { file } });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new PermanentError('CORRUPT_STATE', `Corrupt state file ${file}: ${(error as Error).message}; nothing was changed`, {
      details: { file },
    });
  }
}
