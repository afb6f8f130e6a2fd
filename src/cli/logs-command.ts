/**
 * `agents-sdk logs <runId> [taskId] [--attempt N] [--follow] [--raw] [--json]`: the agents'
 * transcripts of a run as a person reads them, attempt by attempt, from each attempt's raw
 * stream file (see `TaskRecord.attemptLog`). `--follow` tails a live run until it ends.
 *
 * @module
 */
import { declaredTaskOf } from '../workflow/fan-out.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_STATE_DIR, rawOutputFileName } from '../actors/claude-code-runner.js';
import { promptFileBeside } from '../actors/prompt-file.js';
import { totalTokens } from '../claude/stream-json.js';
import { formatTranscriptEntry, transcriptEntriesOf, type TranscriptEntry } from '../claude/transcript.js';
import { AgentsSdkError, PermanentError, ValidationError, type SerializedError } from '../errors.js';
import { describeOutputCut } from '../execution-result.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import type { RunCheckpoint, StateBackend } from '../persistence/state-backend.js';
import { attemptLogOf } from '../workflow/attempt-log.js';
import type { AttemptRecord, TaskRecord } from '../workflow/workflow-result.js';
import { EXIT, intOption, type CliIO } from './cli-support.js';
import { FileLineTail } from './file-tail.js';
import type { StateOptions } from './state-commands.js';
import { count } from '../wording.js';

/** Options of `agents-sdk logs`. */
export interface LogsOptions extends StateOptions {
  /** Only this attempt (its number in the task's attempt log, from 1). */
  attempt?: string;
  /** Tail a live run: print what exists, then what is written, until the run has ended. */
  follow?: boolean;
  /** The stream-json lines as stored, nothing else. */
  raw?: boolean;
  /** One JSON object per transcript entry (JSON lines). */
  json?: boolean;
  /** How often `--follow` looks for more, in ms (default 250). */
  pollMs?: number;
  /** `--wait-timeout <seconds>`: how long `--follow` waits for a run that does not exist yet (default 60; 0: not at all). */
  waitTimeout?: string;
  /** Only the prompt of each attempt, as sent, whole. */
  prompt?: boolean;
}

/** How long `logs --follow` waits for a run that does not exist yet, by default (s). */
export const DEFAULT_FOLLOW_WAIT_S = 60;

/** Characters of a prompt shown in a transcript (the whole of it: `--prompt`, `--json`). */
const PROMPT_SHOWN = 2_000;

/** Entries printed around an attempt's transcript (with `--json`, as `kind: 'attempt'` and `'attempt_end'`). */
type LogEntry =
  | TranscriptEntry
  | { kind: 'attempt'; status: AttemptRecord['status']; startedAt: number; rawFile: string | null }
  /** The attempt's prompt as it was sent (after templates and memory), from its prompt file. */
  | { kind: 'prompt'; text: string; file: string }
  | {
      kind: 'output';
      stream: 'stdout' | 'stderr';
      text: string;
      /** A command's stdout that outgrew its record, read whole from this file (`bytes` long). */
      file?: string;
      bytes?: number;
    }
  | {
      kind: 'attempt_end';
      status: AttemptRecord['status'];
      /** Why it has no end yet, or how it ended without one (`interrupted`). */
      note: string | null;
      durationMs: number | null;
      tokens: AttemptRecord['tokens'];
      costUsd: number;
      error: Pick<SerializedError, 'code' | 'message'> | null;
    };

/** What has been printed of one attempt. */
interface AttemptView {
  key: string;
  taskId: string;
  attempt: number;
  /** A command task: no stream, no spend. */
  command: boolean;
  tail: FileLineTail | null;
  headed: boolean;
  ended: boolean;
  /** The assistant text printed last: a result line repeating it is not printed again. */
  shownText: string;
  /** Its prompt has been printed (or it has none). */
  prompted: boolean;
}

/** `agents-sdk logs`: exit 0, or 2 for an unknown run, task or attempt. */
export async function logsCommand(runId: string, taskId: string | undefined, options: LogsOptions, io: CliIO): Promise<number> {
  const attempt = intOption('attempt', options.attempt);
  const waitS = intOption('wait-timeout', options.waitTimeout, 0) ?? DEFAULT_FOLLOW_WAIT_S;
  if (options.raw && options.json) throw new ValidationError('logs: --raw prints the stream as stored and --json the transcript as JSON lines; give one of them');
  if (options.prompt && (options.raw || options.follow)) throw new ValidationError('logs: --prompt prints the prompts of the attempts; it cannot be combined with --raw or --follow');
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const backend = await openStateBackend(options.backend ?? 'json', stateDir, { readonly: true });
  try {
    let run = await backend.loadRun(runId);
    if (!run && options.follow && waitS > 0) {
      const appeared = await waitForRun(backend, runId, waitS, options.pollMs ?? 250, io);
      if (appeared === null) return EXIT.ok; // Ctrl-C while waiting
      run = appeared;
    }
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
    const select = { taskId, attempt, raw: options.raw === true, json: options.json === true, prompt: options.prompt === true };
    const printer = new TranscriptPrinter(stateDir, run, select, io);
    if (!options.follow) {
      const live = run.status === 'running' && (await backend.lockHolder(runId)) !== null;
      printer.check(run, live);
      printer.pump(run, { end: true, live });
      if (printer.printed === 0 && !options.raw && !options.json) io.stderr(`logs: no task of run ${runId} has started yet\n`);
      return EXIT.ok;
    }
    printer.check(run, run.status === 'running');
    printer.pump(run, { end: false, live: true });
    return await follow(backend, runId, printer, options.pollMs ?? 250, io);
  } finally {
    await backend.close();
  }
}

/**
 * `--follow` for a run that does not exist yet (started a moment before its run command):
 * polls until it does; `null` at Ctrl-C.
 *
 * @throws PermanentError `NOT_FOUND` once `waitS` seconds have passed without it.
 */
async function waitForRun(backend: StateBackend, runId: string, waitS: number, pollMs: number, io: CliIO): Promise<RunCheckpoint | null> {
  io.stderr(`logs: run ${runId} does not exist yet; waiting up to ${waitS}s for it to start (--wait-timeout)\n`);
  const until = Date.now() + waitS * 1000;
  for (;;) {
    try {
      await sleep(Math.max(0, Math.min(pollMs, until - Date.now())), undefined, io.signal ? { signal: io.signal } : {});
    } catch {
      return null;
    }
    const run = await backend.loadRun(runId);
    if (run) return run;
    if (Date.now() >= until) {
      throw new PermanentError('NOT_FOUND', `Run "${runId}" did not start within ${waitS}s; give --wait-timeout <seconds> to wait longer`, {
        details: { runId, waitedS: waitS },
      });
    }
  }
}

/** Polls the run and its files until its lock is free: the run finished, or its process died. */
async function follow(backend: StateBackend, runId: string, printer: TranscriptPrinter, pollMs: number, io: CliIO): Promise<number> {
  let misses = 0;
  for (;;) {
    try {
      await sleep(pollMs, undefined, io.signal ? { signal: io.signal } : {});
    } catch {
      return EXIT.ok; // Ctrl-C: stop following
    }
    // The lock first: a run that releases it has written its last state before.
    const holder = await backend.lockHolder(runId);
    let run: RunCheckpoint | undefined;
    try {
      run = await backend.loadRun(runId);
      misses = 0;
    } catch (error) {
      // A read racing a write of the run (a journal being folded) is tried again; damage is reported.
      if (!(error instanceof AgentsSdkError) || ++misses > 20) throw error;
      continue;
    }
    if (!run) throw new PermanentError('NOT_FOUND', `Run "${runId}" was deleted while it was followed`, { details: { runId } });
    const ended = holder === null;
    printer.pump(run, { end: ended, live: !ended });
    if (ended) {
      if (run.status === 'running') io.stderr(`logs: run ${runId} is interrupted: its process is gone (agents-sdk resume ${runId})\n`);
      return EXIT.ok;
    }
  }
}

/** Prints the selected attempts of a run, and what is added to them on each later {@link pump}. */
class TranscriptPrinter {
  private readonly views = new Map<string, AttemptView>();
  /** The attempt printed last (a header is printed when another one goes on). */
  private current: string | null = null;
  /** Lines printed so far. */
  printed = 0;

  constructor(
    private readonly stateDir: string,
    private readonly run: Pick<RunCheckpoint, 'runId' | 'workflow'>,
    private readonly select: { taskId: string | undefined; attempt: number | undefined; raw: boolean; json: boolean; prompt: boolean },
    private readonly io: CliIO,
  ) {}

  /** Refuses a task or attempt the run does not have (an attempt may still come while `pending` is true). */
  check(run: RunCheckpoint, pending: boolean): void {
    const { taskId, attempt } = this.select;
    if (taskId !== undefined && declaredTaskOf(run.workflow.tasks, taskId) === undefined) {
      const known = run.workflow.tasks.map((t) => t.id).join(', ');
      throw new PermanentError('NOT_FOUND', `Run ${run.runId} has no task "${taskId}" (its tasks: ${known})`, { details: { runId: run.runId, taskId } });
    }
    if (attempt === undefined || pending) return;
    const records = run.records.filter((r) => taskId === undefined || r.taskId === taskId);
    if (records.some((r) => attemptLogOf(r).some((a) => a.attempt === attempt))) return;
    const message =
      taskId === undefined
        ? `No task of run ${run.runId} has an attempt ${attempt}`
        : `Task ${taskId} of run ${run.runId} has no attempt ${attempt} (it made ${attemptLogOf(records[0]!).length})`;
    throw new PermanentError('NOT_FOUND', message, { details: { runId: run.runId, taskId, attempt } });
  }

  /**
   * Prints what is new: tasks in the order they started, each one's attempts in order.
   * `end`: nothing more will be written (the run has ended, or this is no `--follow`);
   * `live`: the run's process is still at work.
   */
  pump(run: RunCheckpoint, { end, live }: { end: boolean; live: boolean }): void {
    const records = run.records
      .filter((r) => (this.select.taskId === undefined || r.taskId === this.select.taskId) && attemptLogOf(r).length > 0)
      .sort((a, b) => attemptLogOf(a)[0]!.startedAt - attemptLogOf(b)[0]!.startedAt);
    for (const record of records) {
      for (const entry of attemptLogOf(record)) {
        if (this.select.attempt === undefined || entry.attempt === this.select.attempt) this.pumpAttempt(record, entry, end, live);
      }
    }
  }

  private pumpAttempt(record: TaskRecord, entry: AttemptRecord, end: boolean, live: boolean): void {
    const view = this.viewOf(record, entry);
    if (view.ended) return;
    if (!this.select.raw && !view.headed) {
      view.headed = true;
      this.emit(view, { kind: 'attempt', status: entry.status, startedAt: entry.startedAt, rawFile: view.tail?.file ?? null });
    }
    if (!this.select.raw && !view.prompted) this.prompt(view, entry);
    if (this.select.prompt) {
      view.ended = true;
      return;
    }
    for (const line of view.tail?.read() ?? []) this.line(view, line);
    // An attempt that succeeded or failed has closed its stream; a cancelled one may still be
    // writing while its process is killed, and a running one until it ends.
    const closed = entry.status === 'succeeded' || entry.status === 'failed';
    if (!closed && !end) return;
    if (entry.status === 'running' && live) {
      // Printed without --follow while the run goes on.
      this.end(view, entry, record, `is still running (agents-sdk logs ${this.run.runId} ${record.taskId} --follow)`);
      return;
    }
    const rest = view.tail?.rest();
    if (rest) this.line(view, rest);
    this.end(view, entry, record, NOTES[entry.status] ?? null);
  }

  private viewOf(record: TaskRecord, entry: AttemptRecord): AttemptView {
    const key = `${record.taskId}\u0000${entry.attempt}`;
    let view = this.views.get(key);
    if (!view) {
      const agent = declaredTaskOf(this.run.workflow.tasks, record.taskId)?.kind === 'agent';
      view = { key, taskId: record.taskId, attempt: entry.attempt, command: !agent, tail: null, headed: false, ended: false, shownText: '', prompted: !agent };
      const file = agent ? rawFileOf(this.stateDir, this.run.runId, record.taskId, entry) : null;
      if (file !== null) view.tail = new FileLineTail(file);
      this.views.set(key, view);
    }
    return view;
  }

  /** The attempt's prompt, once its file is there (it is written before the agent starts). */
  private prompt(view: AttemptView, entry: AttemptRecord): void {
    if (view.tail === null) return;
    const file = promptFileBeside(view.tail.file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Not written yet (a live attempt about to start), or from before prompts were kept.
      if (entry.status !== 'running') view.prompted = true;
      return;
    }
    view.prompted = true;
    this.emit(view, { kind: 'prompt', text, file });
  }

  private line(view: AttemptView, line: string): void {
    if (this.select.raw) {
      this.write(`${line}\n`);
      return;
    }
    for (const entry of transcriptEntriesOf(line)) this.emit(view, entry);
  }

  /** The attempt's end: how it went, and for a command task what it printed. */
  private end(view: AttemptView, entry: AttemptRecord, record: TaskRecord, note: string | null): void {
    view.ended = true;
    if (view.command) {
      const stdout = this.commandStdout(record, entry);
      if (this.select.raw) {
        // The stdout as printed: the whole of it, from its file when it outgrew the record.
        if (stdout.text) this.write(stdout.text.endsWith('\n') ? stdout.text : `${stdout.text}\n`);
        return;
      }
      if (stdout.text) this.emit(view, { kind: 'output', stream: 'stdout', ...stdout });
      if (stdout.missing) this.emit(view, { kind: 'output', stream: 'stderr', text: stdout.missing });
    }
    if (this.select.raw) return;
    if (view.command) {
      // `output: json`: what the record kept of the attempt that gave it (the last, succeeded).
      if (attemptLogOf(record).at(-1) === entry && entry.status === 'succeeded' && record.json !== undefined) this.emit(view, { kind: 'json', value: record.json });
      if (attemptLogOf(record).at(-1) === entry && record.outputCut) this.emit(view, { kind: 'output', stream: 'stderr', text: `(${describeOutputCut(record.outputCut)})` });
      const stderr = entry.error?.stderrTail ?? '';
      if (stderr) this.emit(view, { kind: 'output', stream: 'stderr', text: stderr });
    } else if (view.tail !== null && !existsSync(view.tail.file)) {
      this.emit(view, { kind: 'output', stream: 'stderr', text: `(no raw stream was recorded at ${view.tail.file})` });
    }
    const error = entry.error === null ? null : { code: entry.error.code, message: entry.error.message };
    this.emit(view, { kind: 'attempt_end', status: entry.status, note, durationMs: entry.durationMs, tokens: entry.tokens, costUsd: entry.costUsd, error });
  }

  /**
   * What a command attempt printed: the whole stdout from the attempt's file when it outgrew the
   * record (`TaskRecord.truncated`), else the record's output (the last attempt's only).
   */
  private commandStdout(record: TaskRecord, entry: AttemptRecord): { text: string; file?: string; bytes?: number; missing?: string } {
    const last = attemptLogOf(record).at(-1) === entry;
    const kept = last ? (record.output ?? record.error?.result?.output ?? '') : '';
    if (entry.rawFile === null) return { text: kept };
    const file = rawFileOf(this.stateDir, this.run.runId, record.taskId, entry);
    try {
      const text = readFileSync(file, 'utf8');
      return { text, file, bytes: Buffer.byteLength(text) };
    } catch {
      const what = kept ? `; above: its last ${kept.length} characters, as the record keeps them` : '';
      return { text: kept, missing: `(the whole stdout was written to ${file}, which cannot be read now${what})` };
    }
  }

  private emit(view: AttemptView, entry: LogEntry): void {
    if (this.select.json) {
      this.write(`${JSON.stringify({ runId: this.run.runId, taskId: view.taskId, attempt: view.attempt, ...entry })}\n`);
      return;
    }
    if (this.current !== view.key) {
      // A blank line between attempts; a header again when the output of attempts running at once interleaves.
      if (this.printed > 0) this.write('\n');
      if (entry.kind !== 'attempt') this.write(`== ${view.taskId} · attempt ${view.attempt} (continued)\n`);
    }
    this.current = view.key;
    this.write(`${this.format(view, entry)}\n`);
    if (entry.kind === 'text') view.shownText = entry.text;
    if (entry.kind === 'error') view.shownText = entry.text;
    // The result line's text is the same object as JSON text: not printed again.
    if (entry.kind === 'json') view.shownText = JSON.stringify(entry.value) ?? '';
  }

  private format(view: AttemptView, entry: LogEntry): string {
    switch (entry.kind) {
      case 'attempt':
        return `== ${view.taskId} · attempt ${view.attempt} · started ${iso(entry.startedAt)}${entry.rawFile ? ` · ${entry.rawFile}` : ''}`;
      case 'output': {
        // A stdout that outgrew the record is printed whole, from its file.
        const from = entry.file === undefined ? '' : ` (whole, ${entry.bytes ?? '?'} bytes, from ${entry.file}; the task record keeps its end only)`;
        return `${entry.stream}${from}:\n  ${entry.text.replace(/\n$/, '').replace(/\n/g, '\n  ')}`;
      }
      case 'prompt': {
        // --prompt: the text itself, whole, under the attempt's header.
        if (this.select.prompt) return entry.text.replace(/\n$/, '');
        const whole = entry.text.length <= PROMPT_SHOWN;
        const text = whole ? entry.text : `${entry.text.slice(0, PROMPT_SHOWN)}\n… (${entry.text.length - PROMPT_SHOWN} more characters: ${entry.file}, or logs --prompt)`;
        return `prompt:\n  ${text.replace(/\n$/, '').replace(/\n/g, '\n  ')}`;
      }
      case 'attempt_end': {
        if (entry.note !== null) return `-- attempt ${view.attempt} ${entry.note}`;
        const spend = view.command ? '' : `, ${count(totalTokens(entry.tokens), 'token')}, $${entry.costUsd.toFixed(4)}`;
        const time = entry.durationMs === null ? '' : ` after ${seconds(entry.durationMs)}`;
        const why = entry.error ? `: ${entry.error.code}: ${entry.error.message}` : '';
        return `-- attempt ${view.attempt} ${entry.status}${time}${spend}${why}`;
      }
      default:
        return formatTranscriptEntry(entry, view.shownText);
    }
  }

  private write(text: string): void {
    this.printed += 1;
    this.io.stdout(text);
  }
}

/**
 * Where an agent task's attempt recorded its stream: the file its log entry names, or the same
 * name under `stateDir` when the state directory was moved since. A record from before attempt
 * logs names none: its stream is `raw_output.jsonl`.
 */
export function rawFileOf(stateDir: string, runId: string, taskId: string, entry: AttemptRecord): string {
  const here = resolve(stateDir, runId, taskId, entry.rawFile === null ? rawOutputFileName(1) : basename(entry.rawFile));
  return entry.rawFile === null || (!existsSync(entry.rawFile) && existsSync(here)) ? here : entry.rawFile;
}

/** How an attempt that did not run to its end ended. */
const NOTES: Partial<Record<AttemptRecord['status'], string>> = {
  running: "did not finish: the run's process is gone",
  interrupted: 'was interrupted: the process driving the run died during it',
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}
