/**
 * Structured logs of runs through pino: one log line per lifecycle event of a bus, as JSON
 * (`json`) or as a readable line (`pretty`). What the CLI's `--log-format` writes to stderr.
 *
 * Levels: failures `error`, cancels, reaps and retries `warn`, progress `debug`, the rest
 * `info`; a finished run at the level of its outcome. Every line has `level`, `time`, `msg`,
 * `type`, `runId`, and `taskId`, `sessionId`, `attempt` when the event has them, plus what the
 * event says (status, error code and message, cost, tokens, durations), never a task's output.
 *
 * @module
 */
import { attemptLabel } from '../workflow/attempt-log.js';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { totalTokens, type ClaudeProgressEvent, type TokenUsage } from '../claude/stream-json.js';
import { describeQueued } from '../claude/transcript.js';
import type { SerializedError } from '../errors.js';
import type { BusEvent, EventBus, LifecycleEvent } from '../event-bus.js';
import type { Events } from '../events.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import { count, inTime } from '../wording.js';

/** How lines are written: JSON (one object per line), or a readable line per event. */
export type LogFormat = 'json' | 'pretty';

/** The formats, for option checks. */
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** The least severe level written (`silent`: none). */
export type LogLevel = Level | 'silent';

/** The levels, least severe first, for option checks. */
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Options of {@link createRunLogger}. */
export interface RunLoggerOptions {
  /** Default `json`. */
  format?: LogFormat;
  /** Default `info` (progress, at `debug`, is left out). */
  level?: LogLevel;
  /** Where each line goes (ending in a newline), e.g. stderr. */
  write: (line: string) => void;
}

/** Logs lifecycle events; {@link attach} follows a bus. */
export interface RunLogger {
  /** The pino logger, for lines of your own. */
  readonly logger: Logger;
  /** Logs one event at its level. */
  logEvent(event: LifecycleEvent): void;
  /** Logs every event of `bus` until the returned function is called. */
  attach(bus: EventBus<Events>): () => void;
}

/** Longest error message or text kept in a line, in characters. */
const CLIP = 500;

/** Creates a logger writing through `options.write`. */
export function createRunLogger(options: RunLoggerOptions): RunLogger {
  const format = options.format ?? 'json';
  const destination: DestinationStream =
    format === 'pretty' ? { write: (line: string) => options.write(prettyLine(line)) } : { write: (line: string) => options.write(line) };
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      // Level names rather than numbers: readable, and what log collectors map by default.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  // Session events carry no run id: the run's, once a workflow event said it.
  let runId: string | undefined;
  const logEvent = (event: LifecycleEvent): void => {
    if ('runId' in event) runId = event.runId;
    const level = lifecycleLogLevel(event);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](fieldsOf(event, runId), describeEvent(event));
  };
  return {
    logger,
    logEvent,
    attach: (bus) => bus.subscribe('*', (e: BusEvent) => logEvent(e.payload as LifecycleEvent)),
  };
}

/** The level of an event: failures error; cancels, reaps and retries warn; progress debug; others info. */
export function lifecycleLogLevel(event: LifecycleEvent): Level {
  switch (event.type) {
    case 'task.failed':
    case 'session.failed':
      return 'error';
    case 'task.cancelled':
    case 'task.retrying':
    case 'session.retrying':
    case 'workflow.reaped':
    case 'session.reaped':
      return 'warn';
    case 'task.progress':
    case 'session.progress':
      return 'debug';
    case 'workflow.finished':
      return event.result.status === 'completed' ? 'info' : event.result.status === 'failed' ? 'error' : 'warn';
    default:
      return 'info';
  }
}

/** The fields of an event's line: who it is about, then what it says (no outputs). */
function fieldsOf(event: LifecycleEvent, runId: string | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = { type: event.type };
  if (runId !== undefined) fields.runId = runId;
  if ('workflowId' in event) fields.workflowId = event.workflowId;
  if ('taskId' in event) {
    fields.taskId = event.taskId;
    fields.sessionId = event.taskId;
  }
  if ('sessionId' in event) {
    fields.sessionId = event.sessionId;
    fields.agentName = event.agentName;
  }
  if ('attempt' in event) fields.attempt = event.attempt;
  switch (event.type) {
    case 'workflow.started':
      return { ...fields, tasks: event.taskIds.length, resumed: event.resumed };
    case 'workflow.finished': {
      const r = event.result;
      const counts: Record<string, number> = {};
      for (const t of r.taskResults) counts[t.status] = (counts[t.status] ?? 0) + 1;
      return { ...fields, status: r.status, totalTimeMs: r.totalTimeMs, tokens: totalTokens(r.tokens), costUsd: r.costUsd, tasks: counts };
    }
    case 'workflow.reaped':
    case 'session.reaped':
      return { ...fields, processes: event.processes };
    case 'task.started':
    case 'session.started':
      return { ...fields, maxAttempts: event.maxAttempts };
    case 'task.progress':
    case 'session.progress':
      return { ...fields, progress: progressFields(event.progress) };
    case 'task.retrying':
    case 'session.retrying':
      return { ...fields, error: errorFields(event.error), delayMs: event.delayMs };
    case 'session.failed':
      return { ...fields, error: errorFields(event.error) };
    case 'session.completed':
      return { ...fields, ...spend(event.result.tokens, event.result.costUsd), durationMs: event.result.durationMs };
    case 'task.waiting':
      return { ...fields, event: event.event, deadline: event.deadline };
    case 'workflow.signal':
      return { ...fields, origin: event.origin, signal: { id: event.signal.id, type: event.signal.type, source: event.signal.source } };
    case 'fanout.expanded':
      return { ...fields, count: event.count };
    case 'loop.iteration':
      return { ...fields, iteration: event.iteration, max: event.max };
    default:
      return { ...fields, ...recordFields(event.record) };
  }
}

function recordFields(r: TaskRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    attempt: r.attempts,
    status: r.status,
    durationMs: r.durationMs,
    ...spend(r.tokens, r.costUsd),
  };
  if (r.output !== null) fields.outputBytes = Buffer.byteLength(r.output, 'utf8');
  if (r.error) fields.error = errorFields(r.error);
  if (r.reason) fields.reason = r.reason;
  return fields;
}

function spend(tokens: TokenUsage, costUsd: number): Record<string, unknown> {
  return { tokens: totalTokens(tokens), costUsd };
}

function errorFields(error: SerializedError): Record<string, unknown> {
  return { code: error.code, message: clip(error.message), transient: error.transient };
}

/** A progress event without its bulk: tool inputs and results are left out, text clipped. */
function progressFields(p: ClaudeProgressEvent): Record<string, unknown> {
  switch (p.type) {
    case 'assistant_text':
      return { type: p.type, text: clip(p.text) };
    case 'tool_use':
      return { type: p.type, name: p.name };
    case 'tool_result':
      return { type: p.type, isError: p.isError };
    case 'api_retry':
      return { type: p.type, attempt: p.attempt, maxRetries: p.maxRetries, errorStatus: p.errorStatus, error: p.error, retryDelayMs: p.retryDelayMs };
    case 'init':
      return { type: p.type, model: p.model };
    case 'result':
      return { type: p.type, subtype: p.subtype, isError: p.isError, costUsd: p.costUsd, numTurns: p.numTurns };
    case 'queued':
      return { type: p.type, queue: p.queue, tags: p.tags, workers: p.workers, waitedMs: p.waitedMs };
  }
}

/** The `msg` of an event's line: what happened, in words. */
export function describeEvent(event: LifecycleEvent): string {
  switch (event.type) {
    case 'workflow.started':
      return `run ${event.runId} of workflow ${event.workflowId} ${event.resumed ? 'resumed' : 'started'}: ${count(event.taskIds.length, 'task')}`;
    case 'workflow.finished': {
      const r = event.result;
      return `run ${r.runId} ${r.status} in ${seconds(r.totalTimeMs)}: ${count(r.taskResults.length, 'task')}, ${count(totalTokens(r.tokens), 'token')}, ${usd(r.costUsd)}`;
    }
    case 'workflow.reaped':
    case 'session.reaped':
      return event.processes
        .map((p) =>
          p.outcome === 'killed'
            ? `killed agent process group ${p.pid} (${p.command}) left running by the interrupted process`
            : `process ${p.pid} (${p.command}) of the interrupted process may still run (could not be verified)`,
        )
        .join('; ');
    case 'task.started':
    case 'session.started':
      return `${who(event)}: attempt ${attemptLabel(event.attempt, event.type === 'task.started' ? event.counted : undefined, event.maxAttempts)} started`;
    case 'task.progress':
    case 'session.progress':
      return `${who(event)}: ${describeProgress(event.progress)}`;
    case 'task.retrying':
    case 'session.retrying':
      return `${who(event)}: attempt ${event.attempt} failed (${event.error.code}: ${clip(event.error.message)}); retrying ${inTime(event.delayMs)}`;
    case 'session.completed':
      return `${who(event)}: completed, ${count(totalTokens(event.result.tokens), 'token')}, ${usd(event.result.costUsd)}`;
    case 'session.failed':
      return `${who(event)}: failed (${event.error.code}: ${clip(event.error.message)})`;
    case 'task.waiting':
      return `${who(event)}: waiting for ${event.event}${event.deadline === null ? '' : ` until ${new Date(event.deadline).toISOString()}`}`;
    case 'workflow.signal':
      return `run ${event.runId}: signal ${event.signal.type} ${event.origin === 'published' ? 'published by' : 'received from'} ${event.signal.source}`;
    case 'loop.iteration':
      return `${who(event)}: iteration ${event.iteration} of at most ${event.max}`;
    case 'fanout.expanded':
      return `${who(event)}: fan-out of ${count(event.count, 'item')} (instances ${event.taskId}[0]${event.count > 1 ? `..${event.taskId}[${event.count - 1}]` : ''})`;
    default: {
      const r = event.record;
      if (r.status === 'skipped') return `task ${r.taskId}: skipped${r.reason ? `: ${clip(r.reason)}` : ''}`;
      const why = r.error ? ` (${r.error.code}: ${clip(r.error.message)})` : '';
      return `task ${r.taskId}: ${r.status} in ${seconds(r.durationMs)} after ${count(r.attempts, 'attempt')}, ${count(totalTokens(r.tokens), 'token')}, ${usd(r.costUsd)}${why}`;
    }
  }
}

function who(event: LifecycleEvent): string {
  return 'taskId' in event ? `task ${event.taskId}` : 'sessionId' in event ? `session ${event.sessionId}` : `run ${event.runId}`;
}

function describeProgress(p: ClaudeProgressEvent): string {
  switch (p.type) {
    case 'tool_use':
      return `tool ${p.name}`;
    case 'assistant_text':
      return `text: ${clip(p.text.replace(/\s+/g, ' '), 120)}`;
    case 'api_retry':
      return `API retry${p.attempt === null ? '' : ` ${p.attempt}`}${p.errorStatus === null ? '' : ` after ${p.errorStatus}`}`;
    case 'queued':
      return describeQueued(p);
    default:
      return p.type.replace('_', ' ');
  }
}

/** A pino JSON line as `HH:MM:SS.mmm LEVEL msg`, in local time. */
function prettyLine(line: string): string {
  let entry: { level?: unknown; time?: unknown; msg?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'number' ? clock(new Date(entry.time)) : '';
  const level = String(entry.level ?? '').toUpperCase().padEnd(5);
  return `${time} ${level} ${typeof entry.msg === 'string' ? entry.msg : ''}\n`;
}

function clock(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function clip(text: string, max = CLIP): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

function usd(costUsd: number): string {
  return `$${costUsd.toFixed(4)}`;
}
