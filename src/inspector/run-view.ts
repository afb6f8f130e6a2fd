/**
 * A run as the inspector page shows it: a list of entries (the task graph, task updates,
 * actors and their states, transcript lines, log lines) that the page applies in order. The
 * same list comes from a live inspection stream ({@link RunView.applyInspection}) or from a
 * finished run's `events.jsonl` ({@link runViewFromEventLog}); the page's time slider replays
 * a prefix of it. Every entry is kept: a viewer that comes late gets the whole run.
 *
 * @module
 */
import type { ClaudeProgressEvent } from '../claude/stream-json.js';
import type { RunEventLogEntry } from '../persistence/run-event-log.js';
import { layoutDag, type DagLayout } from '../visual/dag-layout.js';
import { bounded, compactTask, specOf, type CompactTask, type InspectionMessage, type RecordLike, type SpecTask } from './inspection-protocol.js';
import { activePaths, machineView, type MachineView } from './machine-view.js';
import { count, inTime } from '../wording.js';

/** The task graph, placed. */
export interface GraphEntry {
  k: 'graph';
  at: number;
  tasks: SpecTask[];
  layout: DagLayout;
  /** The groups (by full id, see `Workflow.groups`), each drawn as a box around its tasks: outer groups first. */
  clusters?: GraphCluster[];
}
/** A group's box on the graph, around its tasks' nodes (and its inner groups' boxes). */
export interface GraphCluster {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** The full ids of its tasks (inner groups' included). */
  tasks: string[];
}
/** An actor appeared. `machine` names an entry of {@link RunHeader.machines}. */
export interface ActorEntry {
  k: 'actor';
  at: number;
  id: string;
  parent: string | null;
  /** The actor's own id (a task id for sessions) and its machine's name. */
  actorId: string;
  name: string;
  machine: string | null;
  active: string[];
  status: string;
}
/** An actor's state changed. */
export interface StateEntry {
  k: 'state';
  at: number;
  id: string;
  active: string[];
  status: string;
}
/** A task's record changed. */
export interface TaskEntry {
  k: 'task';
  at: number;
  task: CompactTask;
}
/** The run's totals. */
export interface TotalsEntry {
  k: 'totals';
  at: number;
  tokens: number;
  costUsd: number;
  halt: string | null;
}
/** A line of a task's transcript: what its agent said and did, and our retries. */
export interface ProgressEntry {
  k: 'progress';
  at: number;
  taskId: string;
  attempt: number | null;
  kind: string;
  text: string;
}
/**
 * Where a stored run halted: the event of its first failure (under `on_failure: stop`) or
 * cancellation after which no task started, when the run did not complete; else null.
 */
function haltOf(events: RunEventLogEntry[], onFailure: string): { halt: string; index: number } | null {
  const finished = events.findLast((e) => e.type === 'workflow.finished');
  const status = (finished?.result as { status?: string } | undefined)?.status;
  if (!status || status === 'completed' || (status === 'failed' && onFailure !== 'stop')) return null;
  // Retries go on while a halted run drains: only a task's first start counts.
  let lastStart = -1;
  const started = new Set<unknown>();
  events.forEach((e, i) => {
    if (e.type === 'task.started' && !started.has(e.taskId)) {
      started.add(e.taskId);
      lastStart = i;
    }
  });
  const index = events.findIndex((e, i) => {
    if (i <= lastStart) return false;
    if (status === 'failed') return e.type === 'task.failed' && !(e.record as { allowedFailure?: boolean } | undefined)?.allowedFailure;
    return e.type === 'task.failed' || e.type === 'task.cancelled' || e.type === 'task.completed' || e.type === 'task.skipped';
  });
  return { halt: status, index };
}

/** A line of the event log. `cat`: `run` (task and run events), `progress` (agent stream), `xstate` (the rest). */
export interface LogEntry {
  k: 'log';
  at: number;
  cat: 'run' | 'progress' | 'xstate';
  type: string;
  taskId: string | null;
  text: string;
}
/** The run ended. */
export interface EndEntry {
  k: 'end';
  at: number;
  status: string;
}

/** Everything the page applies. */
export type ViewEntry = GraphEntry | ActorEntry | StateEntry | TaskEntry | TotalsEntry | ProgressEntry | LogEntry | EndEntry;

/** What the run list says of a run. */
export interface RunSummary {
  key: string;
  runId: string;
  workflowId: string;
  source: 'live' | 'stored';
  status: string;
  startedAt: number;
  updatedAt: number;
  tasks: number;
  entries: number;
  /** Why the run stopped starting tasks (`failed`, `cancelled`, `budget_exceeded`, `state_write_failed`), or null. */
  halt: string | null;
  /** The halt in words: what caused it (the failed task and its error). */
  haltReason: string | null;
}

/** A run as sent to a viewer that opens it. */
export interface RunHeader extends RunSummary {
  machines: Record<string, MachineView>;
}

const MAX_LINE = 600;
/** Characters of an agent's stream line in the event log: the task's transcript has it whole. */
export const LOG_PROGRESS_CHARS = 120;

/** A stream line as the event log shows it. */
function logText(text: string): string {
  return text.length > LOG_PROGRESS_CHARS ? `${text.slice(0, LOG_PROGRESS_CHARS)}…` : text;
}

function clip(text: string, max = MAX_LINE): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/**
 * What a stored event's field stands for when the event log kept only its preview (its
 * `<field>Ref`, see `RawOutputRef`): `… (N bytes in the raw stream)`; else nothing.
 */
function refNote(p: ClaudeProgressEvent, field: string): string {
  const ref = (p as unknown as Record<string, unknown>)[`${field}Ref`] as { bytes?: unknown } | undefined;
  return ref && typeof ref.bytes === 'number' ? `… (${ref.bytes} bytes in all, in the attempt's raw stream)` : '';
}

/** One transcript line for a Claude progress event. */
export function describeProgress(p: ClaudeProgressEvent): { kind: string; text: string } {
  switch (p.type) {
    case 'init':
      return { kind: 'init', text: `session ${p.sessionId}${p.model ? `, model ${p.model}` : ''}` };
    case 'assistant_text':
      return { kind: 'text', text: clip(p.text, 2000) + refNote(p, 'text') };
    case 'tool_use':
      return { kind: 'tool', text: `${p.name} ${clip(typeof p.input === 'string' ? p.input : JSON.stringify(p.input ?? {}), 300)}${refNote(p, 'input')}` };
    case 'tool_result':
      return {
        kind: p.isError ? 'tool-error' : 'result',
        text: clip(typeof p.content === 'string' ? p.content : JSON.stringify(p.content ?? ''), 300) + refNote(p, 'content'),
      };
    case 'api_retry':
      return {
        kind: 'api-retry',
        text: `API retry ${p.attempt ?? '?'}/${p.maxRetries ?? '?'} after ${p.errorStatus ?? ''} ${p.error ?? ''}`.replace(/\s+/g, ' ') +
          (p.retryDelayMs !== null ? `, next in ${(p.retryDelayMs / 1000).toFixed(1)}s` : ''),
      };
    case 'result':
      return { kind: p.isError ? 'error' : 'done', text: `${p.subtype}: ${clip(p.text, 600)}${refNote(p, 'text')} ($${p.costUsd.toFixed(4)}, ${count(p.numTurns, 'turn')})` };
    default:
      return { kind: 'other', text: clip(JSON.stringify(bounded(p))) };
  }
}

interface SessionEventLike {
  type: string;
  attempt?: number;
  progress?: ClaudeProgressEvent;
  error?: { code?: string; message?: string };
  delayMs?: number;
  result?: { durationMs?: number; costUsd?: number };
  maxAttempts?: number;
}

/** The transcript line of a session event (started, retrying, completed, failed), or null. */
function sessionLine(e: SessionEventLike): { kind: string; text: string } | null {
  switch (e.type) {
    case 'session.started':
    case 'task.started':
      return { kind: 'attempt', text: `attempt ${e.attempt ?? '?'}${e.maxAttempts ? `/${e.maxAttempts}` : ''} started` };
    case 'session.retrying':
    case 'task.retrying':
      return { kind: 'retry', text: `attempt ${e.attempt ?? '?'} failed (${e.error?.code ?? 'ERROR'}: ${clip(e.error?.message ?? '', 300)}); retrying ${inTime(e.delayMs ?? 0)}` };
    case 'session.failed':
      return { kind: 'error', text: `failed: ${e.error?.code ?? 'ERROR'}: ${clip(e.error?.message ?? '', 300)}` };
    case 'session.completed':
      return { kind: 'done', text: `completed in ${((e.result?.durationMs ?? 0) / 1000).toFixed(1)}s, $${(e.result?.costUsd ?? 0).toFixed(4)}` };
    default:
      return null;
  }
}

/** Height of a task's node; a fan-out's or loop's has room for its instances or iterations under its text. */
const NODE_H = 62;
const REPEAT_H = 26;
/** A group box's margin around what it holds, and the room for its name above. */
const CLUSTER_PAD = 8;
const CLUSTER_LABEL = 16;

/** The task graph entry of a spec; `groups` (see `Workflow.groups`) are drawn as boxes around their tasks. */
export function graphEntry(tasks: SpecTask[], at: number, groups?: Record<string, string[]>): GraphEntry {
  const layout = layoutDag(
    tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn, width: 180, height: NODE_H + (t.repeats ? REPEAT_H : 0) })),
    { direction: 'LR', nodeSep: 16 + (groups ? CLUSTER_PAD * 2 : 0), rankSep: 56 },
  );
  const entry: GraphEntry = { k: 'graph', at, tasks, layout };
  if (groups && Object.keys(groups).length > 0) entry.clusters = clustersOf(layout, groups);
  return entry;
}

/** Each group's box: around its tasks' nodes, wider by a margin per level of groups inside it; the layout moved to fit them. */
function clustersOf(layout: DagLayout, groups: Record<string, string[]>): GraphCluster[] {
  const nodes = new Map(layout.nodes.map((n) => [n.id, n]));
  const leaves = (id: string): string[] => (groups[id] ? groups[id]!.flatMap(leaves) : nodes.has(id) ? [id] : []);
  const levels = (id: string): number => (groups[id] ? 1 + Math.max(0, ...groups[id]!.map(levels)) : 0);
  const clusters: Array<GraphCluster & { levels: number }> = [];
  for (const id of Object.keys(groups)) {
    const members = leaves(id).map((m) => nodes.get(m)!);
    if (members.length === 0) continue;
    const depth = levels(id);
    const pad = CLUSTER_PAD * depth;
    const x = Math.min(...members.map((n) => n.x - n.width / 2)) - pad;
    const y = Math.min(...members.map((n) => n.y - n.height / 2)) - pad - CLUSTER_LABEL * depth;
    const right = Math.max(...members.map((n) => n.x + n.width / 2)) + pad;
    const bottom = Math.max(...members.map((n) => n.y + n.height / 2)) + pad;
    clusters.push({ id, x, y, width: right - x, height: bottom - y, tasks: members.map((n) => n.id), levels: depth });
  }
  // Outer groups first (drawn below the inner ones); then everything moved so that no box is cut off.
  clusters.sort((a, b) => b.levels - a.levels);
  const dx = Math.max(0, 4 - Math.min(...clusters.map((c) => c.x)));
  const dy = Math.max(0, 4 - Math.min(...clusters.map((c) => c.y)));
  for (const n of layout.nodes) {
    n.x += dx;
    n.y += dy;
  }
  for (const e of layout.edges) for (const p of e.points) {
    p.x += dx;
    p.y += dy;
  }
  for (const c of clusters) {
    c.x += dx;
    c.y += dy;
  }
  layout.width = Math.max(layout.width + dx, ...clusters.map((c) => c.x + c.width + 4));
  layout.height = Math.max(layout.height + dy, ...clusters.map((c) => c.y + c.height + 4));
  return clusters.map(({ levels: _levels, ...c }) => c);
}

/** The run event a record's status stands for, when only the record says it. */
const RECORD_EVENTS: Record<string, string> = {
  completed: 'task.completed',
  failed: 'task.failed',
  skipped: 'task.skipped',
  cancelled: 'task.cancelled',
  waiting: 'task.waiting',
};

/** Machine views by definition text, shared by every run (definitions repeat per actor). */
const machineCache = new Map<string, { name: string; view: MachineView | undefined }>();

interface ActorInfo {
  id: string;
  name: string;
  actorId: string;
  /** The task a session runs (its actor id under an orchestrator), or its agent name. */
  taskId: string | null;
  isRun: boolean;
  parent: string | null;
}

/** One run's entries, and what is needed to add to them. */
export class RunView {
  readonly entries: ViewEntry[] = [];
  readonly machines: Record<string, MachineView> = {};
  /** Grows each time a machine is added to {@link machines} (viewers send only what is new). */
  machinesVersion = 0;
  runId: string;
  workflowId: string;
  status = 'running';
  startedAt: number;
  updatedAt: number;
  taskCount = 0;
  /** Messages and bytes received (live runs). */
  messages = 0;
  bytes = 0;
  private readonly actors = new Map<string, ActorInfo>();
  halt: string | null = null;
  /** Every task as last seen (the halt reason names the failed one). */
  readonly tasks = new Map<string, CompactTask>();
  /** Per task, the run events logged from its records (so that one said by its session is not said twice). */
  private readonly logged = new Map<string, Set<string>>();
  private readonly listeners = new Set<(entries: ViewEntry[]) => void>();

  constructor(
    readonly key: string,
    readonly source: 'live' | 'stored',
    runId: string,
    at = Date.now(),
  ) {
    this.runId = runId;
    this.workflowId = '';
    this.startedAt = at;
    this.updatedAt = at;
  }

  /** Adds (or replaces, when its definition differs) a machine's view; returns whether it changed. */
  addMachine(view: MachineView): boolean {
    const had = this.machines[view.id];
    if (had === view) return false;
    this.machines[view.id] = view;
    // The same drawing from another copy of the definition: nothing new for viewers.
    if (had && JSON.stringify(had) === JSON.stringify(view)) return false;
    this.machinesVersion += 1;
    return true;
  }

  /** What the run list shows. */
  summary(): RunSummary {
    return {
      key: this.key,
      runId: this.runId,
      workflowId: this.workflowId,
      source: this.source,
      status: this.status,
      startedAt: this.startedAt,
      updatedAt: this.updatedAt,
      tasks: this.taskCount,
      entries: this.entries.length,
      halt: this.halt,
      haltReason: this.haltReason(),
    };
  }

  /** The halt in words, or null. */
  haltReason(): string | null {
    if (this.halt === null) return null;
    const failed = [...this.tasks.values()].find((t) => t.status === 'failed' && !t.allowedFailure);
    switch (this.halt) {
      case 'failed':
        return failed ? `task ${failed.id} failed${failed.error ? ` (${failed.error.code}: ${failed.error.message})` : ''}: nothing new started` : 'a task failed: nothing new started';
      case 'cancelled':
        return 'the run was cancelled';
      case 'budget_exceeded':
        return "the run's budget was spent: nothing new started";
      case 'state_write_failed':
        return "the run's state could not be saved";
      default:
        return this.halt;
    }
  }

  /** Logs a run event (`task.*`, `workflow.*`) as the stored view names it. */
  logRun(out: ViewEntry[], at: number, type: string, taskId: string | null, text: string): void {
    if (taskId !== null) {
      let types = this.logged.get(taskId);
      if (!types) this.logged.set(taskId, (types = new Set()));
      types.add(type);
    }
    out.push({ k: 'log', at, cat: 'run', type, taskId, text });
  }

  /**
   * A task record seen: kept, and what only its record says (skipped, waiting, cancelled; an
   * end its session did not tell) logged as the stored event log has it.
   */
  private seeTask(task: CompactTask, at: number, out: ViewEntry[]): void {
    this.tasks.set(task.id, task);
    const type = RECORD_EVENTS[task.status];
    if (!type || this.logged.get(task.id)?.has(type)) return;
    this.logRun(out, at, type, task.id, `${task.status}${task.error ? `: ${task.error.code}: ${clip(task.error.message, 200)}` : ''}${task.reason ? `: ${task.reason}` : ''}`);
  }

  /** The header a viewer gets with the entries. */
  header(): RunHeader {
    return { ...this.summary(), machines: this.machines };
  }

  /** Calls `listener` with every batch of new entries; returns the unsubscribe. */
  subscribe(listener: (entries: ViewEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Appends entries and tells the listeners. */
  push(...entries: ViewEntry[]): void {
    if (entries.length === 0) return;
    this.entries.push(...entries);
    this.updatedAt = entries[entries.length - 1]!.at;
    for (const listener of this.listeners) listener(entries);
  }

  /**
   * Applies one message of the inspection protocol, from connection `conn` (session ids are
   * unique per process only). Full, uncompacted contexts (`createWebSocketInspector`) work too.
   */
  applyInspection(message: InspectionMessage, conn: string, size = 0): void {
    this.messages += 1;
    this.bytes += size;
    const at = Number(message.createdAt) || Date.now();
    const id = `${conn}:${message.sessionId}`;
    const out: ViewEntry[] = [];
    if (message.type === '@xstate.actor') {
      const parent = message.parentId ? `${conn}:${message.parentId}` : null;
      let machine: string | null = null;
      if (typeof message.definition === 'string') {
        let cached = machineCache.get(message.definition);
        if (!cached) machineCache.set(message.definition, (cached = { name: message.name ?? '', view: machineView(message.definition) }));
        if (cached.view) {
          machine = cached.view.id;
          this.addMachine(cached.view);
        }
      } else if (message.name && this.machines[message.name]) {
        // Sent with the machine's first actor only.
        machine = message.name;
      }
      const context = message.snapshot?.context as Record<string, unknown> | undefined;
      const isRun = isRunLike(context);
      const parentInfo = parent ? this.actors.get(parent) : undefined;
      // The root orchestrator goes by its run's id (XState names it `x:0`).
      const runIdOf = isRun ? (context.$agentsSdk === 'run' ? context.runId : (context.run as { runId?: unknown } | undefined)?.runId) : undefined;
      const actorId = typeof runIdOf === 'string' && !parent ? runIdOf : typeof message.id === 'string' ? message.id : message.sessionId;
      const taskId = parentInfo?.isRun ? actorId : typeof context?.agentName === 'string' && !parent ? context.agentName : parentInfo?.taskId ?? null;
      this.actors.set(id, { id, name: message.name ?? actorId, actorId, taskId, isRun, parent });
      out.push({ k: 'actor', at, id, parent, actorId, name: message.name ?? actorId, machine, active: activePaths(message.snapshot?.value), status: message.snapshot?.status ?? 'active' });
      if (isRun) this.applyRunContext(context, at, out);
      else if (parentInfo?.isRun && typeof (message.snapshot?.context as { attempt?: unknown } | undefined)?.attempt === 'number') {
        // A task's session starts its first attempt as it is spawned (it tells the orchestrator of retries only).
        const attempt = (message.snapshot!.context as { attempt: number }).attempt;
        const line = sessionLine({ type: 'session.started', attempt });
        out.push({ k: 'progress', at, taskId: actorId, attempt, ...line! });
        this.logRun(out, at, 'task.started', actorId, line!.text);
      }
    } else if (message.type === '@xstate.snapshot') {
      const snapshot = message.snapshot ?? {};
      out.push({ k: 'state', at, id, active: activePaths(snapshot.value), status: snapshot.status ?? 'active' });
      const info = this.actors.get(id);
      if (info?.isRun) {
        this.applyRunContext(snapshot.context as Record<string, unknown> | undefined, at, out);
        if (snapshot.status && snapshot.status !== 'active') {
          const output = snapshot.output as { status?: string } | undefined;
          this.status = typeof output?.status === 'string' ? output.status : snapshot.status;
          this.logRun(out, at, 'workflow.finished', null, `run ${this.status}`);
          out.push({ k: 'end', at, status: this.status });
        }
      } else if (info && !info.parent && snapshot.status && snapshot.status !== 'active') {
        // A session on its own (exec): the run is that session.
        this.status = snapshot.status === 'done' ? 'completed' : snapshot.status;
        out.push({ k: 'end', at, status: this.status });
      }
    } else if (message.type === '@xstate.event') {
      this.applyEvent(message, id, at, out);
    }
    this.push(...out);
  }

  private applyEvent(message: InspectionMessage, id: string, at: number, out: ViewEntry[]): void {
    const event = message.event ?? { type: '?' };
    const info = this.actors.get(id);
    if (event.type === 'SESSION.EVENT' && info?.isRun) {
      const taskId = String(event.childId ?? '');
      const inner = (event.event ?? {}) as SessionEventLike;
      const line = inner.type === 'session.progress' && inner.progress ? describeProgress(inner.progress) : sessionLine(inner);
      if (line) out.push({ k: 'progress', at, taskId, attempt: inner.attempt ?? null, ...line });
      // Named as the stored event log names them: `session.completed` is `task.completed`.
      const type = inner.type.replace(/^session\./, 'task.');
      if (inner.type === 'session.progress') out.push({ k: 'log', at, cat: 'progress', type, taskId, text: logText(line?.text ?? '') });
      else this.logRun(out, at, type, taskId, line?.text ?? '');
      return;
    }
    // A session with no orchestrator above it (exec): its executor's stream is the transcript.
    if (info && !info.parent && !info.isRun && event.type === 'EXECUTOR.PROGRESS' && info.taskId) {
      const line = describeProgress(event.event as ClaudeProgressEvent);
      out.push({ k: 'progress', at, taskId: info.taskId, attempt: null, ...line });
      out.push({ k: 'log', at, cat: 'progress', type: 'session.progress', taskId: info.taskId, text: logText(line.text) });
      return;
    }
    // An executor's stream event to a task's session: the orchestrator logs it (SESSION.EVENT above).
    if (event.type === 'EXECUTOR.PROGRESS' && info?.parent && this.actors.get(info.parent)?.isRun) return;
    const target = info ? (info.isRun ? info.name : `${info.name} ${info.taskId ?? info.actorId}`) : message.sessionId;
    out.push({ k: 'log', at, cat: 'xstate', type: event.type, taskId: info?.taskId ?? null, text: `→ ${target}${describeFields(event)}` });
  }

  private applyRunContext(context: Record<string, unknown> | undefined, at: number, out: ViewEntry[]): void {
    if (!isRunLike(context)) return;
    if (context.$agentsSdk === 'run') {
      const c = context as unknown as { runId: string; workflowId: string; spec?: SpecTask[]; groups?: Record<string, string[]>; tasks: CompactTask[]; tokens: number; costUsd: number; halt: string | null };
      this.runId = c.runId;
      this.workflowId = c.workflowId;
      if (c.spec) {
        this.taskCount = c.spec.length;
        out.push(graphEntry(c.spec, at, c.groups));
        this.logRun(out, at, 'workflow.started', null, `workflow ${c.workflowId}: ${count(c.spec.length, 'task')}`);
      }
      this.halt = c.halt;
      for (const task of c.tasks) {
        out.push({ k: 'task', at, task });
        this.seeTask(task, at, out);
      }
      out.push({ k: 'totals', at, tokens: c.tokens, costUsd: c.costUsd, halt: c.halt });
      return;
    }
    // A full context (an inspector that does not compact): the spec once, every record each time.
    const c = context as unknown as {
      run: { runId: string; workflowId: string };
      workflow: { tasks: Array<{ id: string; depends_on?: string[]; kind?: string; agent?: string; model?: string; for_each?: string; repeat?: unknown }>; groups?: Record<string, string[]> };
      /** In chunks (the orchestrator's), or flat. */
      records: Array<Parameters<typeof compactTask>[0] | Parameters<typeof compactTask>[0][]>;
      costUsd: number;
      tokens: Record<string, number>;
      halt: string | null;
    };
    this.runId = c.run.runId;
    this.workflowId = c.run.workflowId;
    if (this.taskCount === 0) {
      this.taskCount = c.workflow.tasks.length;
      out.push(graphEntry(specOf(c), at, c.workflow.groups));
      this.logRun(out, at, 'workflow.started', null, `workflow ${c.run.workflowId}: ${count(c.workflow.tasks.length, 'task')}`);
    }
    this.halt = c.halt ?? null;
    for (const record of c.records.flat()) {
      const task = compactTask(record);
      out.push({ k: 'task', at, task });
      this.seeTask(task, at, out);
    }
    const tokens = Object.values(c.tokens ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    out.push({ k: 'totals', at, tokens, costUsd: c.costUsd, halt: c.halt ?? null });
  }
}

function isRunLike(context: Record<string, unknown> | undefined): context is Record<string, unknown> {
  if (!context || typeof context !== 'object') return false;
  if (context.$agentsSdk === 'run') return true;
  return Array.isArray(context.records) && typeof (context.run as { runId?: unknown } | undefined)?.runId === 'string';
}

/** ` key=value` for the first few scalar fields of an event. */
function describeFields(event: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type' || parts.length >= 4) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') parts.push(`${key}=${clip(String(value), 60)}`);
    else if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') parts.push(`${key}=${(value as { type: string }).type}`);
  }
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}


/**
 * A finished (or interrupted) run from its event log. `spec` gives the dependencies (from the
 * run's checkpoint); without it the tasks of `workflow.started` are drawn unconnected.
 * Actors are drawn from `machines` (the orchestrator's and the sessions' definitions): the
 * orchestrator from its initial state to its final one, each task's session in the state
 * named like the task's status, when its machine has one.
 */
export function runViewFromEventLog(
  key: string,
  runId: string,
  events: RunEventLogEntry[],
  options: { spec?: SpecTask[]; groups?: Record<string, string[]>; machines?: { run?: object; session?: object }; onFailure?: string; running?: boolean } = {},
): RunView {
  const first = events[0]?.at ?? Date.now();
  const view = new RunView(key, 'stored', runId, first);
  const runMachine = options.machines?.run ? machineView(options.machines.run) : undefined;
  const sessionMachine = options.machines?.session ? machineView(options.machines.session) : undefined;
  if (runMachine) view.addMachine(runMachine);
  if (sessionMachine) view.addMachine(sessionMachine);
  const sessionStates = new Set(sessionMachine?.states.map((s) => s.key) ?? []);
  const runActor = `stored:${runId}`;
  const tasks = view.tasks;
  const taskOf = (id: string): CompactTask => {
    let t = tasks.get(id);
    if (!t) tasks.set(id, (t = { id, status: 'pending', attempts: 0, tokens: 0, costUsd: 0, startedAt: null, endedAt: null, error: null }));
    return t;
  };
  const spawned = new Set<string>();
  let tokens = 0;
  let costUsd = 0;
  const halting = haltOf(events, options.onFailure ?? 'stop');
  view.halt = halting?.halt ?? null;
  const runStates = new Set(runMachine?.states.map((s) => s.key) ?? []);
  let phase = runMachine?.states.find((s) => s.initial)?.key ?? null;
  const active = new Set<string>();
  const waiting = new Set<string>();
  let halted = false;
  for (const [index, e] of events.entries()) {
    const at = e.at;
    const out: ViewEntry[] = [];
    const taskId = typeof e.taskId === 'string' ? e.taskId : null;
    if (e.type === 'workflow.started') {
      view.workflowId = String(e.workflowId ?? '');
      const ids = Array.isArray(e.taskIds) ? (e.taskIds as string[]) : [];
      const spec = options.spec ?? ids.map((id) => ({ id, dependsOn: [], kind: 'agent', agent: null, model: null }));
      if (view.taskCount === 0) {
        view.taskCount = spec.length;
        const groups = options.groups ?? (e.groups as Record<string, string[]> | undefined);
        out.push(graphEntry(spec, at, groups));
        for (const t of spec) out.push({ k: 'task', at, task: { ...taskOf(t.id) } });
        const initial = runMachine?.states.find((s) => s.initial)?.key;
        out.push({ k: 'actor', at, id: runActor, parent: null, actorId: runId, name: runMachine?.id ?? 'orchestrator', machine: runMachine?.id ?? null, active: initial ? [initial] : [], status: 'active' });
      }
    } else if (taskId && e.type.startsWith('task.')) {
      const t = taskOf(taskId);
      const record = e.record as RecordLike | undefined;
      if (record) {
        Object.assign(t, compactTask(record));
        const spent = compactTask(record);
        tokens += spent.tokens;
        costUsd += spent.costUsd;
      } else if (e.type === 'task.started') {
        t.status = 'running';
        t.attempts = typeof e.attempt === 'number' ? e.attempt : t.attempts + 1;
        t.startedAt ??= at;
      } else if (e.type === 'task.retrying') t.status = 'retrying';
      else if (e.type === 'task.waiting') t.status = 'waiting';
      if (e.type !== 'task.progress') out.push({ k: 'task', at, task: { ...t } });
      // The orchestrator's phase, as its `always` transitions take it: running while tasks run,
      // waiting when only waiting ones are left, draining once halted with tasks still running.
      if (t.status === 'running' || t.status === 'retrying') active.add(taskId);
      else active.delete(taskId);
      if (t.status === 'waiting') waiting.add(taskId);
      else waiting.delete(taskId);
      if (halting?.index === index) halted = true;
      const next = halted ? (active.size > 0 ? 'draining' : phase) : active.size === 0 && waiting.size > 0 ? 'waiting' : active.size > 0 ? 'running' : phase;
      if (next !== phase && next !== null && runStates.has(next)) {
        phase = next;
        out.push({ k: 'state', at, id: runActor, active: [next], status: 'active' });
      }
      if (record) out.push({ k: 'totals', at, tokens, costUsd, halt: null });
      const line = e.type === 'task.progress' ? describeProgress(e.progress as ClaudeProgressEvent) : sessionLine(e as unknown as SessionEventLike);
      if (line) out.push({ k: 'progress', at, taskId, attempt: typeof e.attempt === 'number' ? e.attempt : null, ...line });
      if (sessionMachine && e.type !== 'task.progress') {
        const id = `${runActor}:${taskId}`;
        const active = sessionStates.has(t.status) ? [t.status] : [];
        const status = t.status === 'running' || t.status === 'retrying' || t.status === 'waiting' ? 'active' : 'done';
        if (!spawned.has(id) && (t.status === 'running' || t.status === 'waiting')) {
          spawned.add(id);
          out.push({ k: 'actor', at, id, parent: runActor, actorId: taskId, name: sessionMachine.id, machine: sessionMachine.id, active, status });
        } else if (spawned.has(id)) out.push({ k: 'state', at, id, active, status });
      }
    } else if (e.type === 'workflow.finished') {
      const result = e.result as { status?: string } | undefined;
      view.status = result?.status ?? 'finished';
      const final = runMachine?.states.filter((s) => s.type === 'final') ?? [];
      const end = final.find((s) => s.key === view.status) ?? (final.length === 1 ? final[0] : undefined);
      out.push({ k: 'state', at, id: runActor, active: end ? [end.key] : [], status: 'done' });
      out.push({ k: 'end', at, status: view.status });
    }
    const progress = e.type === 'task.progress';
    const text = progress ? logText(describeProgress(e.progress as ClaudeProgressEvent).text) : storedEventText(e);
    out.push({ k: 'log', at, cat: progress ? 'progress' : 'run', type: e.type, taskId, text });
    view.push(...out);
  }
  // A log that ends without workflow.finished: the run was interrupted, unless its checkpoint says it still runs.
  if (view.status === 'running' && !options.running) view.status = 'interrupted';
  return view;
}

function storedEventText(e: RunEventLogEntry): string {
  const line = sessionLine(e as unknown as SessionEventLike);
  if (line) return line.text;
  const record = e.record as RecordLike & { reason?: string } | undefined;
  if (record) return `${record.status}${record.error ? `: ${record.error.code}: ${clip(record.error.message ?? '', 200)}` : ''}${record.reason ? `: ${record.reason}` : ''}`;
  if (e.type === 'workflow.finished') return `run ${(e.result as { status?: string } | undefined)?.status ?? 'finished'}`;
  if (e.type === 'task.waiting') return `waiting for ${String(e.event)}`;
  return describeFields(e).trim();
}
