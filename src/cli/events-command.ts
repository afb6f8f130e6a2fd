/**
 * `agents-sdk events <runId> [--follow] [--type T] [--task ID] [--json]`: a run's history from
 * its event log (`events.jsonl`, or the SQLite `events` table), one readable line per event,
 * like `temporal workflow show`.
 *
 * @module
 */
import { PermanentError, ValidationError } from '../errors.js';
import { readRunEvents } from '../persistence/run-event-sink.js';
import type { RunEventLogEntry } from '../persistence/run-event-log.js';
import type { StateBackend } from '../persistence/state-backend.js';
import { EXIT, type CliIO } from './cli-support.js';
import { sqliteHint, withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk events`. */
export interface EventsOptions extends StateOptions {
  follow?: boolean;
  /** Event types: exact (`task.failed`) or a prefix ending in `.` or `.*` (`task.`, `workflow.*`); repeatable. */
  type?: string[];
  /** Task ids; repeatable. */
  task?: string[];
  json?: boolean;
}

/** How often `--follow` reads the log again (ms). */
export const EVENTS_FOLLOW_POLL_MS = 250;

/** How long `--follow` waits for a run that does not exist yet (ms). */
export const EVENTS_WAIT_MS = 30_000;

/** `agents-sdk events <runId>`. */
export async function eventsCommand(runId: string, options: EventsOptions, io: CliIO): Promise<number> {
  const keep = eventFilter(options);
  if (options.follow) await waitForRun(runId, options, io);
  return withBackend(options, 'read', async (backend, stateDir) => {
    const run = await backend.loadRun(runId);
    if (!run) {
      const hint = sqliteHint(options, stateDir);
      throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"${hint ? `; ${hint}` : ''}`, { details: { runId } });
    }
    let seen = 0;
    const print = (events: RunEventLogEntry[]): void => {
      for (const event of events.slice(seen)) {
        if (!keep(event)) continue;
        io.stdout(options.json ? `${JSON.stringify(event)}\n` : `${formatEvent(event)}\n`);
      }
      seen = Math.max(seen, events.length);
    };
    const read = async (): Promise<number> => {
      const started = performance.now();
      print((await readRunEvents(runId, { backend, stateDir })).events);
      return performance.now() - started;
    };
    let readMs = await read();
    if (!options.follow) return EXIT.ok;
    while (!io.signal?.aborted && (await driven(backend, runId))) {
      // The log is read whole each time: a big run's is read less often (at most a third of the time spent reading).
      await new Promise((r) => setTimeout(r, Math.max(EVENTS_FOLLOW_POLL_MS, 2 * readMs)));
      readMs = await read();
    }
    // The run has ended (or its driver is gone): what it wrote last.
    print((await readRunEvents(runId, { backend, stateDir })).events);
    return EXIT.ok;
  });
}

/**
 * `--follow` of a run that does not exist yet (`run` begun a moment ago in another terminal):
 * waits for it a while, opening the state afresh each time (a SQLite file may not exist yet).
 */
async function waitForRun(runId: string, options: StateOptions, io: CliIO): Promise<void> {
  const exists = () => withBackend(options, 'read', async (backend) => (await backend.loadRun(runId)) !== undefined);
  if (await exists()) return;
  io.stderr(`waiting for run ${runId} to start (up to ${EVENTS_WAIT_MS / 1000}s)...\n`);
  for (const until = Date.now() + EVENTS_WAIT_MS; Date.now() < until && !io.signal?.aborted; ) {
    await new Promise((r) => setTimeout(r, EVENTS_FOLLOW_POLL_MS));
    if (await exists()) return;
  }
  throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}": no such run started within ${EVENTS_WAIT_MS / 1000}s`, { details: { runId } });
}

/** Whether a process still drives the run (it is running and its lock is held). */
async function driven(backend: StateBackend, runId: string): Promise<boolean> {
  return (await backend.lockHolder(runId)) !== null;
}

/** The `--type` / `--task` filter: `task.failed` exact; `task`, `task.` or `task.*` every task event. */
function eventFilter(options: EventsOptions): (event: RunEventLogEntry) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const type of options.type ?? []) {
    if (!/^[a-z_]+(\.[a-z_]*|\.\*)?$/.test(type)) {
      throw new ValidationError(`--type must be an event type such as task.failed, or a kind such as task or workflow.*, got "${type}"`);
    }
    const base = type.replace(/\.\*?$/, '');
    if (base.includes('.')) exact.add(base);
    else prefixes.push(`${base}.`);
  }
  const any = exact.size === 0 && prefixes.length === 0;
  const tasks = new Set(options.task ?? []);
  return (event) =>
    (any || exact.has(event.type) || prefixes.some((p) => event.type.startsWith(p))) &&
    (tasks.size === 0 || (event.taskId !== undefined && tasks.has(event.taskId)));
}

/** One readable line: time, type, task and what happened. */
export function formatEvent(event: RunEventLogEntry): string {
  const time = new Date(event.at).toISOString();
  const task = event.taskId ?? '';
  return `${time}  ${event.type.padEnd(18)} ${task.padEnd(task === '' ? 0 : 12)}${task === '' ? '' : ' '}${describe(event)}`.trimEnd();
}

function describe(e: RunEventLogEntry): string {
  const f = e as Record<string, unknown> & RunEventLogEntry;
  const record = f.record as { attempts?: number; durationMs?: number | null; error?: { code?: string; message?: string } | null; reason?: string; costUsd?: number } | undefined;
  const error = (f.error ?? record?.error) as { code?: string; message?: string } | null | undefined;
  const why = error ? `${error.code ?? 'ERROR'}: ${oneLine(error.message ?? '')}` : '';
  switch (e.type) {
    case 'workflow.started':
      return `workflow ${String(f.workflowId)}, ${(f.taskIds as unknown[] | undefined)?.length ?? 0} tasks${f.resumed ? ' (resumed)' : ''}`;
    case 'workflow.finished': {
      const result = f.result as { status?: string; totalTimeMs?: number; costUsd?: number } | undefined;
      return `${result?.status ?? '?'} after ${secs(result?.totalTimeMs)}, $${(result?.costUsd ?? 0).toFixed(4)}`;
    }
    case 'workflow.reaped':
      return `${(f.processes as unknown[] | undefined)?.length ?? 0} process(es) left by an earlier driver ended`;
    case 'workflow.signal': {
      const signal = f.signal as { type?: string; source?: string } | undefined;
      return `${String(f.origin)} ${signal?.type ?? '?'} from ${signal?.source ?? '?'}`;
    }
    case 'task.waiting':
      return `waits for ${String(f.event)}${typeof f.deadline === 'number' ? ` until ${new Date(f.deadline).toISOString()}` : ''}`;
    case 'task.started':
      return `attempt ${String(f.attempt)}/${String(f.maxAttempts)}`;
    case 'task.retrying':
      return `attempt ${String(f.attempt)} failed, retrying in ${secs(f.delayMs as number)}: ${why}`;
    case 'task.completed':
      return `after ${secs(record?.durationMs)}${record?.costUsd ? `, $${record.costUsd.toFixed(4)}` : ''}`;
    case 'task.failed':
    case 'task.cancelled':
      return why;
    case 'task.skipped':
      return record?.reason ?? '';
    case 'task.progress':
      return progressLine(f.progress as Record<string, unknown> | undefined, f.attempt);
    case 'loop.iteration':
      return `iteration ${Number(f.iteration)} of at most ${Number(f.max)}`;
    case 'fanout.expanded': {
      const n = Number(f.count);
      return `list recorded: ${n} item${n === 1 ? '' : 's'}${n > 0 ? ` (${String(e.taskId)}[0]${n > 1 ? `..${String(e.taskId)}[${n - 1}]` : ''})` : ''}`;
    }
    default:
      return why;
  }
}

function progressLine(p: Record<string, unknown> | undefined, attempt: unknown): string {
  if (!p) return '';
  const n = typeof attempt === 'number' ? `#${attempt} ` : '';
  switch (p.type) {
    case 'init':
      return `${n}session ${String(p.sessionId)}${p.model ? ` (${String(p.model)})` : ''}`;
    case 'assistant_text':
      return `${n}text: ${clip(oneLine(String(p.text ?? '')))}`;
    case 'tool_use':
      return `${n}tool ${String(p.name)}: ${clip(oneLine(JSON.stringify(p.input) ?? ''))}`;
    case 'tool_result':
      return `${n}tool result${p.isError ? ' (error)' : ''}`;
    case 'api_retry':
      return `${n}API retry ${String(p.attempt ?? '?')}/${String(p.maxRetries ?? '?')}${p.errorStatus ? ` (${String(p.errorStatus)})` : ''}`;
    case 'result':
      return `${n}result ${String(p.subtype ?? '')}${p.isError ? ' (error)' : ''}`;
    default:
      return `${n}${String(p.type)}`;
  }
}

function secs(ms: number | null | undefined): string {
  return typeof ms === 'number' ? `${(ms / 1000).toFixed(1)}s` : '-';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
