/**
 * What a run sends an inspector: XState inspection events turned into the messages of the
 * `@statelyai/inspect` WebSocket protocol (`@xstate.actor`, `@xstate.event`,
 * `@xstate.snapshot`, one JSON object per WebSocket message), made small.
 *
 * XState hands the inspector every snapshot with the whole context; the orchestrator's holds
 * the spec, the graph and every output, so sent as is a 101-task run is tens of MB. Here:
 * - the orchestrator's context becomes a {@link CompactRunContext}: the spec (tasks and their
 *   dependencies) once, in its actor message, then only the task records that changed, the
 *   counts, tokens, cost and halt reason;
 * - a session's context keeps its name, attempt, tokens, cost and last error, no prompt nor output;
 * - every other value (events, other actors) is bounded: strings cut at
 *   {@link MAX_STRING}, arrays at {@link MAX_ITEMS}, depth {@link MAX_DEPTH}.
 *
 * So the traffic grows with the events, not with tasks × events.
 *
 * @module
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';

/** The `_version` field receivers of the protocol expect (that of `@statelyai/inspect`). */
export const PROTOCOL_VERSION = '0.7.2';
/** Longest string sent (characters); longer ones end in `…[n chars]`. */
export const MAX_STRING = 500;
/** Most array items (or object keys) sent; the rest are counted. */
export const MAX_ITEMS = 40;
/** Deepest nesting sent. */
export const MAX_DEPTH = 6;

/** One task as the orchestrator's compact context carries it. */
export interface CompactTask {
  id: string;
  status: string;
  attempts: number;
  tokens: number;
  costUsd: number;
  startedAt: number | null;
  endedAt: number | null;
  error: { code: string; message: string } | null;
  /** Why it was skipped (a `when:` condition's: the expression and the values it saw). */
  reason?: string;
  /** `when`: skipped by its condition. */
  skippedBy?: string;
  /** It failed with `allow_failure`: the run went on. */
  allowedFailure?: boolean;
  /** Its structured output as indented JSON text, cut at {@link COMPACT_JSON_CHARS} characters. */
  json?: string;
  /** A `workspace: worktree` task: its commit and branch, or a failed attempt's kept worktree. */
  commit?: string;
  branch?: string;
  worktree?: string;
}

/** Characters of a task's structured output sent to the page. */
export const COMPACT_JSON_CHARS = 4_000;

/** A task of the spec, as sent once per run. */
export interface SpecTask {
  id: string;
  dependsOn: string[];
  kind: string;
  agent: string | null;
  model: string | null;
  /** A fan-out (`for_each`) or a loop (`repeat`): its instances or iterations are drawn inside its node as they start. */
  repeats?: 'for_each' | 'repeat';
}

/** The orchestrator's context as sent: marked by `$agentsSdk`. */
export interface CompactRunContext {
  $agentsSdk: 'run';
  runId: string;
  workflowId: string;
  /** The spec's tasks: in the actor message only. */
  spec?: SpecTask[];
  /** The workflow's groups by full id (see `Workflow.groups`): with the spec, when it has groups. */
  groups?: Record<string, string[]>;
  /** Task records: all in the actor message, then only those that changed. */
  tasks: CompactTask[];
  counts: Record<string, number>;
  running: number;
  settled: number;
  tokens: number;
  costUsd: number;
  halt: string | null;
}

/** A session's context as sent. */
export interface CompactSessionContext {
  $agentsSdk: 'session';
  sessionId: string;
  agentName: string;
  runId: string | null;
  attempt: number;
  tokens: number;
  costUsd: number;
  claudeSessionId: string | null;
  lastError: { code: string; message: string } | null;
}

/** A message of the protocol (the fields our receivers read; others pass through). */
export interface InspectionMessage {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  rootId?: string | undefined;
  parentId?: string | undefined;
  sourceId?: string | undefined;
  /** `@xstate.actor`: the actor's id (a task id for sessions) and its logic's name. */
  id?: string | null;
  name?: string;
  /** `@xstate.actor`: the machine config as JSON text (no functions). */
  definition?: string | undefined;
  snapshot?: { status?: string; value?: unknown; context?: unknown; output?: unknown; error?: unknown };
  event?: { type: string; [key: string]: unknown };
  createdAt: string;
  _version: string;
}

/**
 * Bounds any value for sending: strings, arrays, objects and depth (see the module doc);
 * functions become `{ type: name }` as in `@statelyai/inspect`, cycles `[circular]`.
 */
export function bounded(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length} chars]` : value;
  if (typeof value === 'function') return { type: value.name || 'function' };
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[${value.length} items]` : '[object]';
  // Actor references (in events and contexts) are sent as their ids.
  if (isActorRef(value)) return { id: value.id, sessionId: value.sessionId };
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !Array.isArray(value)) {
    return bounded((value as { toJSON(): unknown }).toJSON(), depth, seen);
  }
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ITEMS).map((v) => bounded(v, depth + 1, seen));
      if (value.length > MAX_ITEMS) items.push(`…[${value.length - MAX_ITEMS} more]`);
      return items;
    }
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const key of Object.keys(value)) {
      if (n === MAX_ITEMS) {
        out['…'] = `${Object.keys(value).length - MAX_ITEMS} more keys`;
        break;
      }
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      out[key] = bounded(v, depth + 1, seen);
      n += 1;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function isActorRef(value: object): value is AnyActorRef {
  return typeof (value as AnyActorRef).sessionId === 'string' && typeof (value as AnyActorRef).send === 'function';
}

/** The fields of a task record the inspector shows. */
export interface RecordLike {
  taskId: string;
  status: string;
  attempts: number;
  tokens: Record<string, number>;
  costUsd: number;
  startedAt: number | null;
  endedAt: number | null;
  error: { code?: string; message?: string } | null;
  reason?: string;
  skippedBy?: string;
  allowedFailure?: boolean;
  json?: unknown;
  commit?: string;
  branch?: string;
  worktree?: string;
}

interface RunContextLike {
  run: { runId: string; workflowId: string };
  workflow: { tasks: Array<{ id: string; depends_on?: string[]; kind?: string; agent?: string; model?: string; for_each?: string; repeat?: unknown }>; groups?: Record<string, string[]> };
  /** The orchestrator's records, in chunks (see `RECORD_CHUNK`); a flat list is read too. */
  records: Array<RecordLike | RecordLike[]>;
  running: number;
  settled: number;
  halt: string | null;
  tokens: Record<string, number>;
  costUsd: number;
}

/** Whether a context is the orchestrator's (a run's). */
export function isRunContext(context: unknown): context is RunContextLike {
  const c = context as RunContextLike | null;
  return typeof c === 'object' && c !== null && Array.isArray(c.records) && typeof c.run?.runId === 'string' && Array.isArray(c.workflow?.tasks);
}

interface SessionContextLike {
  sessionId: string;
  agentName: string;
  settings?: { runId?: string };
  attempt: number;
  tokens: Record<string, number>;
  costUsd: number;
  claudeSessionId: string | null;
  lastError: { code?: string; message?: string } | null;
}

/** Whether a context is an agent session's. */
export function isSessionContext(context: unknown): context is SessionContextLike {
  const c = context as SessionContextLike | null;
  return typeof c === 'object' && c !== null && typeof c.agentName === 'string' && typeof c.sessionId === 'string' && typeof c.attempt === 'number';
}

function tokenTotal(tokens: Record<string, number> | undefined): number {
  let sum = 0;
  for (const key in tokens) if (typeof tokens[key] === 'number') sum += tokens[key];
  return sum;
}

function shortError(error: { code?: string; message?: string } | null | undefined): CompactTask['error'] {
  if (!error) return null;
  const message = String(error.message ?? '');
  return { code: String(error.code ?? 'ERROR'), message: message.length > 300 ? `${message.slice(0, 300)}…` : message };
}

/** One record, compact. */
export function compactTask(record: RecordLike): CompactTask {
  const out: CompactTask = {
    id: record.taskId,
    status: record.status,
    attempts: record.attempts,
    tokens: tokenTotal(record.tokens),
    costUsd: record.costUsd,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    error: shortError(record.error),
  };
  if (record.reason !== undefined) out.reason = record.reason;
  if (record.skippedBy !== undefined) out.skippedBy = record.skippedBy;
  if (record.allowedFailure) out.allowedFailure = true;
  if (record.json !== undefined) out.json = jsonText(record.json);
  if (record.commit !== undefined) out.commit = record.commit;
  if (record.branch !== undefined) out.branch = record.branch;
  if (record.worktree !== undefined) out.worktree = record.worktree;
  return out;
}

/** A structured output as indented JSON, cut at {@link COMPACT_JSON_CHARS} characters. */
function jsonText(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  return text.length <= COMPACT_JSON_CHARS ? text : `${text.slice(0, COMPACT_JSON_CHARS)}\n… (${text.length - COMPACT_JSON_CHARS} more characters)`;
}

/** The spec's tasks: ids, dependencies, kind, agent and model. */
export function specOf(context: Pick<RunContextLike, 'workflow'>): SpecTask[] {
  return context.workflow.tasks.map((t) => ({
    id: t.id,
    dependsOn: [...(t.depends_on ?? [])],
    kind: t.kind ?? 'agent',
    agent: t.agent ?? null,
    model: t.model ?? null,
    ...(t.for_each !== undefined ? { repeats: 'for_each' as const } : t.repeat !== undefined ? { repeats: 'repeat' as const } : {}),
  }));
}

/**
 * The run's compact context. `sent` holds what was sent of each task (by index): only records
 * that differ from it are included, and it is updated. With `withSpec` (the actor message) the
 * spec goes along and every record is sent.
 */
export function compactRunContext(context: RunContextLike, sent: unknown[], withSpec: boolean): CompactRunContext {
  const tasks: CompactTask[] = [];
  const counts: Record<string, number> = {};
  // The orchestrator never changes a record or chunk a snapshot holds (it copies on change), so
  // what was sent is known by identity: an unchanged chunk is skipped whole.
  let sentChunks = chunksSent.get(sent);
  if (!sentChunks) chunksSent.set(sent, (sentChunks = []));
  let i = 0;
  context.records.forEach((item, c) => {
    const chunk = Array.isArray(item) ? item : [item];
    const same = !withSpec && Array.isArray(item) && sentChunks[c] === item;
    for (const record of chunk) {
      counts[record.status] = (counts[record.status] ?? 0) + 1;
      if (!same && (withSpec || sent[i] !== record)) {
        sent[i] = record;
        tasks.push(compactTask(record));
      }
      i += 1;
    }
    if (Array.isArray(item)) sentChunks[c] = item;
  });
  return {
    $agentsSdk: 'run',
    runId: context.run.runId,
    workflowId: context.run.workflowId,
    ...(withSpec && { spec: specOf(context) }),
    ...(withSpec && context.workflow.groups && { groups: context.workflow.groups }),
    tasks,
    counts,
    running: context.running,
    settled: context.settled,
    tokens: tokenTotal(context.tokens),
    costUsd: context.costUsd,
    halt: context.halt,
  };
}

/** The chunks of records last sent, per `sent` list. */
const chunksSent = new WeakMap<unknown[], unknown[]>();

/** A session's compact context. */
export function compactSessionContext(context: SessionContextLike): CompactSessionContext {
  return {
    $agentsSdk: 'session',
    sessionId: context.sessionId,
    agentName: context.agentName,
    runId: context.settings?.runId ?? null,
    attempt: context.attempt,
    tokens: tokenTotal(context.tokens),
    costUsd: context.costUsd,
    claudeSessionId: context.claudeSessionId,
    lastError: shortError(context.lastError),
  };
}

/**
 * An event as sent. `xstate.init` loses its input (the actor message has the context made of
 * it); an executor's progress event to a session under an orchestrator is only named (the
 * session passes it to the orchestrator, where it is sent in full); outputs are cut to 200
 * characters (the task records have them).
 */
export function compactEvent(event: { type: string; [key: string]: unknown }, underRun: boolean): { type: string; [key: string]: unknown } {
  if (event.type === 'xstate.init') return { type: event.type };
  if (underRun && event.type === 'EXECUTOR.PROGRESS') return { type: event.type, event: { type: (event.event as { type?: unknown } | undefined)?.type } };
  return bounded(withoutOutputs(event)) as { type: string };
}

/** `value` with every `output` (and a result's `text`) over 200 characters cut, a few levels deep. */
function withoutOutputs(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const v = value[key];
    let next: unknown = v;
    // A result's text is its output.
    const cut = key === 'output' || (key === 'text' && value.type === 'result');
    if (cut && typeof v === 'string' && v.length > 200) next = `${v.slice(0, 200)}…[${v.length} chars]`;
    else if (depth < 3 && v && typeof v === 'object' && !Array.isArray(v)) next = withoutOutputs(v as Record<string, unknown>, depth + 1);
    if (next !== v) (out ??= { ...value })[key] = next;
  }
  return out ?? value;
}

/** Machine configs as JSON text, once per logic. */
const definitions = new WeakMap<object, string | undefined>();

/** The machine config of an actor's logic as JSON text (functions as `{ type: name }`), or undefined. */
export function definitionOf(actorRef: AnyActorRef): string | undefined {
  const logic = (actorRef as { logic?: { config?: unknown } }).logic;
  if (!logic || typeof logic !== 'object') return undefined;
  if (definitions.has(logic)) return definitions.get(logic);
  const config = logic.config;
  // Callback and promise logic have a function as config: not a definition.
  const text = config && typeof config === 'object' ? JSON.stringify(config, (_k, v: unknown) => (typeof v === 'function' ? { type: v.name || 'function' } : v)) : undefined;
  definitions.set(logic, text);
  return text;
}

/** The name receivers show for an actor: its machine's id, else the name it was invoked by, else its own id. */
export function nameOf(actorRef: AnyActorRef): string {
  const config = (actorRef as { logic?: { config?: { id?: unknown } } }).logic?.config;
  if (config && typeof config === 'object' && typeof config.id === 'string') return config.id;
  const src = (actorRef as { src?: unknown }).src;
  return typeof src === 'string' ? src : actorRef.id;
}

/** The root actor's session id. */
export function rootIdOf(event: InspectionEvent): string {
  return event.rootId ?? event.actorRef.sessionId;
}
