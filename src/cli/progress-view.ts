/**
 * What `agents-sdk run` shows while a workflow runs: a live block of one line per task on a
 * TTY, plain lines otherwise, and a summary table at the end.
 *
 * @module
 */
import { runBranchLines, workspaceNote } from '../workspace/workspace-views.js';
import { summarizeToolInput } from '../callbacks/callback-manager.js';
import { totalTokens } from '../claude/stream-json.js';
import { describeApiRetry, describeQueued } from '../claude/transcript.js';
import type { SerializedError } from '../errors.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import { describeOutputCut } from '../execution-result.js';
import type { TaskRecord, WorkflowResult } from '../workflow/workflow-result.js';
import { attemptLabel, attemptLogOf } from '../workflow/attempt-log.js';
import { displayWidth, fitToWidth, oneLine } from './terminal-width.js';
import { count, inTime } from '../wording.js';
import { describeUnits, recordsUnder, recordTree, unitStatus, unitWord, type RecordNode } from '../workflow/record-tree.js';

export { describeApiRetry };

interface Row {
  taskId: string;
  state: string;
  /** The attempt's number in the task's attempt log (`#2` in `status` and `logs`). */
  attempt: number;
  /** Attempts that count against `retry_count` (`maxAttempts`): cancelled ones do not. */
  counted: number;
  maxAttempts: number;
  startedAt: number | null;
  endedAt: number | null;
  tokens: number;
  costUsd: number;
  note: string;
  /** The tool the agent is in (from its tool call to the result), or `null`. */
  tool: string | null;
  /** Tool calls of the current attempt. */
  toolCalls: number;
  /** When the agent's stream last said something (epoch ms), or `null`. */
  lastEventAt: number | null;
  /** When the last plain line about this task was printed (epoch ms), or `null`. */
  lastLineAt: number | null;
}

const ICON: Record<string, string> = {
  pending: '·',
  running: '▶',
  retrying: '↻',
  completed: '✓',
  failed: '✗',
  skipped: '-',
  cancelled: '■',
};

/** Most task lines a live block shows; the rest is summed up in the header. */
const MAX_LIVE_ROWS = 20;

/** Most instances or iterations listed under their fan-out or loop: the running ones and failures first, the rest counted. */
const MAX_UNIT_ROWS = 6;

/** Renders task progress. Feed it every event; call `render()` to get the current text. */
export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private order: string[] = [];
  /** The workflow's task ids, in declared order, and its groups (from `workflow.started`). */
  private declared: string[] = [];
  private groups: Record<string, string[]> = {};
  /** Each fan-out's list length (from `fanout.expanded`). */
  private readonly items = new Map<string, number>();
  /** Display widths of the lines of the block on screen, to know how many rows it takes. */
  private drawn: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Updates the view from an event; in plain mode returns the line to print, if any. */
  apply(event: TaskEvent | WorkflowEvent): string | null {
    const line = this.applyEvent(event);
    if (line !== null && 'taskId' in event) {
      const row = this.rows.get(event.taskId);
      if (row) row.lastLineAt = this.now();
    }
    return line;
  }

  /**
   * The heartbeat of plain mode (no TTY: CI logs): one line for each running task about which
   * nothing has been printed for `silentMs`, saying how long it has run, its tool calls, the
   * tool it is in and when its stream last said something. Call it every fraction of `silentMs`.
   */
  heartbeat(silentMs: number): string[] {
    const now = this.now();
    const lines: string[] = [];
    for (const id of this.order) {
      const row = this.rows.get(id);
      if (!row || (row.state !== 'running' && row.state !== 'retrying') || row.startedAt === null) continue;
      if (now - (row.lastLineAt ?? row.startedAt) < silentMs) continue;
      row.lastLineAt = now;
      if (row.state === 'retrying') {
        lines.push(`${id}: waiting to retry (${row.note})`);
        continue;
      }
      const parts = [`attempt ${row.attempt}/${row.maxAttempts}`, `${row.toolCalls} tool call${row.toolCalls === 1 ? '' : 's'}`];
      if (row.tool !== null) parts.push(`in tool ${row.tool}`);
      parts.push(row.lastEventAt === null ? 'no output yet' : `last output ${seconds(now - row.lastEventAt)} ago`);
      lines.push(`${id}: still running after ${seconds(now - row.startedAt)} (${parts.join(', ')})`);
    }
    return lines;
  }

  private applyEvent(event: TaskEvent | WorkflowEvent): string | null {
    if (event.type === 'workflow.started') {
      this.order = [...event.taskIds];
      this.declared = [...event.taskIds];
      this.groups = event.groups ?? {};
      for (const id of event.taskIds) this.rows.set(id, emptyRow(id));
      const rerun = event.rerunOf ? ` (rerun of ${event.rerunOf.runId} from ${event.rerunOf.fromTask}${event.rerunOf.only ? ', only it' : ''})` : '';
      return `workflow ${event.workflowId} run ${event.runId}${event.resumed ? ' (resumed)' : ''}${rerun}: ${count(event.taskIds.length, 'task')}`;
    }
    if (event.type === 'workflow.finished') return null;
    if (event.type === 'workflow.reaped') {
      return event.processes
        .map((p) =>
          p.outcome === 'killed'
            ? `killed agent process group ${p.pid} (${p.command}) left running by the interrupted process`
            : `process ${p.pid} (${p.command}) of the interrupted process may still run: it could not be verified, so it was left alone`,
        )
        .join('\n');
    }
    if (event.type === 'workflow.signal') {
      const s = event.signal;
      return event.origin === 'published' ? `${s.source}: published ${s.type}` : `signal ${s.type} received (from ${s.source})`;
    }
    if (event.type === 'fanout.expanded') {
      // The instances are listed under their task, in item order.
      const at = this.order.indexOf(event.taskId);
      const ids = Array.from({ length: event.count }, (_, k) => `${event.taskId}[${k}]`).flatMap((id) => (event.tasks ? event.tasks.map((t) => `${id}.${t}`) : [id]));
      this.items.set(event.taskId, event.count);
      for (const id of ids) if (!this.rows.has(id)) this.rows.set(id, emptyRow(id));
      this.order = [...this.order.slice(0, at + 1), ...ids, ...this.order.slice(at + 1)];
      return `${event.taskId}: fan-out of ${count(event.count, 'item')}`;
    }
    // The iteration's tasks are listed as they start (`fix#2`, `fix_tests#2.test`).
    if (event.type === 'loop.iteration') return `${event.taskId}: iteration ${event.iteration} of at most ${event.max}`;
    let row = this.rows.get(event.taskId);
    if (!row) {
      // A task not announced (an instance of a fan-out whose list a resumed run kept): listed too.
      row = emptyRow(event.taskId);
      this.rows.set(event.taskId, row);
      this.order.push(event.taskId);
    }
    switch (event.type) {
      case 'task.waiting': {
        row.state = 'waiting';
        const until = event.deadline === null ? '' : `, until ${new Date(event.deadline).toISOString()}`;
        row.note = `waiting for ${event.event}`;
        return `${event.taskId}: waiting for ${event.event}${until} (agents-sdk signal ${event.runId} ${event.event})`;
      }
      case 'task.started':
        row.state = 'running';
        row.attempt = event.attempt;
        row.counted = event.counted ?? event.attempt;
        row.maxAttempts = event.maxAttempts;
        row.startedAt ??= event.at;
        row.tool = null;
        row.toolCalls = 0;
        row.lastEventAt = null;
        return `${event.taskId}: started (attempt ${attemptLabel(event.attempt, event.counted, event.maxAttempts)})`;
      case 'task.progress':
        row.lastEventAt = event.at;
        if (event.progress.type === 'tool_use') {
          row.note = `tool ${event.progress.name}`;
          row.tool = event.progress.name;
          row.toolCalls += 1;
          // Plain mode: a line per tool call, so that a long agent task is never silent.
          const input = event.progress.input === null ? '' : summarizeToolInput(event.progress.input);
          return `${event.taskId}: tool ${event.progress.name}${input ? `: ${oneLine(input)}` : ''}`;
        }
        if (event.progress.type === 'tool_result') row.tool = null;
        else if (event.progress.type === 'assistant_text') {
          row.note = 'thinking';
          row.tool = null;
        }
        else if (event.progress.type === 'queued') {
          row.note = describeQueued(event.progress);
          return `${event.taskId}: ${row.note}`;
        } else if (event.progress.type === 'api_retry') {
          // Claude Code retrying the API itself: without this a task sits at "started" for minutes.
          row.note = describeApiRetry(event.progress);
          return `${event.taskId}: ${row.note}`;
        }
        return null;
      case 'task.retrying':
        row.state = 'retrying';
        row.note = `${event.error.code}, retry ${inTime(event.delayMs)}`;
        return `${event.taskId}: attempt ${event.attempt} failed (${event.error.code}: ${oneLine(event.error.message)}); retrying ${inTime(event.delayMs)}`;
      case 'task.completed':
      case 'task.failed':
      case 'task.skipped':
      case 'task.cancelled': {
        const r = event.record;
        row.state = r.status;
        row.endedAt = r.endedAt ?? event.at;
        row.startedAt = r.startedAt;
        row.tokens = totalTokens(r.tokens);
        row.costUsd = r.costUsd;
        row.note = r.error ? `${r.error.code}: ${r.error.message}` : (r.reason ?? (r.cached ? 'cached: no agent call' : workspaceNote(r)));
        return finishedLine(r);
      }
    }
  }

  /**
   * The live block: a header and one line per task (running ones first when there are many).
   * Groups are a line with their tasks indented under it; a fan-out (`for_each`) or a loop
   * (`repeat`) a line counting its instances or iterations, with those that run or failed
   * listed under it and the rest counted (a fan-out of 1,000 stays a few lines).
   */
  render(): string {
    const rows = this.order.map((id) => this.rows.get(id)!).filter(Boolean);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const header = `tasks: ${Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}`;
    const tree = recordTree(rows, {
      idOf: (r) => r.taskId,
      declaredIds: this.declared,
      groups: this.groups,
    });
    let roots = tree;
    if (roots.length > MAX_LIVE_ROWS) {
      const state = (n: RecordNode<Row>) => unitStatus(n, stateOf);
      const active = roots.filter((n) => ['running', 'retrying', 'waiting'].includes(state(n)));
      const done = roots.filter((n) => endOf(n) !== null).sort((a, b) => endOf(b)! - endOf(a)!);
      roots = [...active, ...done].slice(0, MAX_LIVE_ROWS);
    }
    const shown: Array<{ depth: number; row?: Row; node?: RecordNode<Row>; text?: string }> = [];
    const walk = (node: RecordNode<Row>, depth: number): void => {
      if (node.children.length === 0) {
        shown.push({ depth, row: node.record! });
        return;
      }
      shown.push({ depth, node });
      const repeated = node.kind === 'fanout' || node.kind === 'loop';
      if (!repeated || node.children.length <= MAX_UNIT_ROWS) {
        for (const child of node.children) walk(child, depth + 1);
        return;
      }
      // Many instances or iterations: those running, then failed ones, then the latest iteration; the rest counted.
      const state = (n: RecordNode<Row>) => unitStatus(n, stateOf);
      const running = node.children.filter((c) => state(c) === 'running');
      const failed = node.children.filter((c) => state(c) === 'failed');
      const latest = node.kind === 'loop' ? [node.children.at(-1)!] : [];
      const picked = new Set([...running, ...failed, ...latest].slice(0, MAX_UNIT_ROWS));
      for (const child of node.children) if (picked.has(child)) walk(child, depth + 1);
      const rest = new Map<string, number>();
      for (const child of node.children) if (!picked.has(child)) rest.set(state(child), (rest.get(state(child)) ?? 0) + 1);
      const more = [...rest].map(([s, n]) => `${n} ${s}`).join(', ');
      shown.push({ depth: depth + 1, text: `… ${node.children.length - picked.size} more ${node.kind === 'loop' ? 'iterations' : 'instances'}: ${more}` });
    };
    for (const root of roots) walk(root, 0);
    // The id column is as wide as the longest id (at most 20): narrow terminals keep the notes.
    const idWidth = Math.min(20, Math.max(4, ...shown.map((s) => 2 * s.depth + displayWidth(s.row?.taskId ?? s.node?.id ?? ''))));
    const lines = shown.map((s) => {
      const indent = '  '.repeat(s.depth);
      if (s.row) return this.line(s.row, idWidth, indent);
      if (s.text !== undefined) return `  ${indent}${s.text}`;
      return this.unitLine(s.node!, idWidth, indent);
    });
    return [header, ...lines].join('\n');
  }

  /** A group's, fan-out's or loop's line: `▶ impl  for_each  7/12 done, 2 running`. */
  private unitLine(node: RecordNode<Row>, idWidth: number, indent: string): string {
    const state = unitStatus(node, stateOf);
    const word = node.kind === 'instance' || node.kind === 'iteration' ? '' : unitWord(node.kind);
    const own = node.record?.note ? `  ${node.record.note}` : '';
    return `${iconOf(state)} ${(indent + node.id).padEnd(idWidth)} ${word.padEnd(9)} ${describeUnits(node, stateOf, this.items.get(node.id))}${own}`.trimEnd();
  }

  /**
   * The live block with the ANSI codes that redraw it in place. Given the terminal's width,
   * every line is cut to fit, so that no line wraps (moving up one row per line would then
   * leave stale copies behind); after a resize the previous block is erased by the rows its
   * lines take at the new width (terminals that reflow wrap them).
   */
  redraw(columns?: number): string {
    const width = columns !== undefined && columns >= 2 ? columns : undefined;
    // One cell short of the edge: terminals differ on a line that fills the row exactly.
    const lines = this.render()
      .split('\n')
      .map((l) => (width === undefined ? oneLine(l) : fitToWidth(oneLine(l), width - 1)));
    const up = this.clear(width);
    this.drawn = lines.map(displayWidth);
    return `${up}${lines.join('\n')}\n`;
  }

  /** The ANSI codes that erase the block drawn last (so that a message can be printed in its place). */
  clear(columns?: number): string {
    const rows = this.drawn.reduce((n, w) => n + (columns === undefined || columns < 2 ? 1 : Math.max(1, Math.ceil(w / columns))), 0);
    this.drawn = [];
    return `${rows > 0 ? `\x1b[${rows}A` : ''}\r\x1b[0J`;
  }

  private line(r: Row, idWidth: number, indent = ''): string {
    const end = r.endedAt ?? this.now();
    const elapsed = r.startedAt === null ? '' : seconds(end - r.startedAt);
    const attempt = r.attempt > 0 ? attemptLabel(r.attempt, r.counted, r.maxAttempts, true) : '';
    return `${iconOf(r.state)} ${(indent + r.taskId).padEnd(idWidth)} ${r.state.padEnd(9)} ${attempt.padEnd(5)} ${elapsed.padStart(7)} ${String(r.tokens).padStart(8)} tok $${r.costUsd.toFixed(4)}  ${r.note}`.trimEnd();
  }
}

/** One line for a finished task, with the tail of a failed command's stderr below it. */
function finishedLine(r: TaskRecord): string {
  if (r.status === 'skipped') return `${r.taskId}: skipped${r.reason ? `: ${oneLine(r.reason)}` : ''}`;
  if (r.status === 'cancelled') {
    // The attempt a cancel stopped does not count in `attempts`: the attempt log says whether one ran.
    const log = attemptLogOf(r);
    if (log.length === 0) return `${r.taskId}: cancelled before it started`;
    return `${r.taskId}: cancelled during attempt ${log.at(-1)!.attempt} after ${seconds(r.durationMs)}, ${totalTokens(r.tokens)} tokens, $${r.costUsd.toFixed(4)}`;
  }
  if (r.cached) return `${r.taskId}: completed, cached (from memory, no agent call), $${r.costUsd.toFixed(4)}`;
  const why = r.error ? ` (${r.error.code}: ${oneLine(r.error.message)})` : r.outputCut ? ` (${describeOutputCut(r.outputCut)})` : '';
  const line = `${r.taskId}: ${r.status} in ${seconds(r.durationMs)} after ${count(r.attempts, 'attempt')}, ${count(totalTokens(r.tokens), 'token')}, $${r.costUsd.toFixed(4)}${why}`;
  const workspace = workspaceNote(r);
  return [line, ...(workspace ? [`  ${workspace}`] : []), ...(r.status === 'failed' ? stderrTail(r.error, '  ') : [])].join('\n');
}

/** Lines of stderr shown for a failure, and the most characters of each. */
const STDERR_TAIL = { lines: 5, chars: 200 };

/**
 * The last lines of a failure's stderr, clipped and indented, headed `stderr:`; none when it
 * wrote nothing. Escape sequences are dropped: they would repaint the user's terminal.
 */
export function stderrTail(error: SerializedError | null | undefined, indent = ''): string[] {
  const lines = (error?.stderrTail ?? '')
    .split(/\r?\n/)
    .map((l) => oneLine(l).trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-STDERR_TAIL.lines);
  if (lines.length === 0) return [];
  return [`${indent}stderr:`, ...lines.map((l) => `${indent}  ${l.length > STDERR_TAIL.chars ? `${l.slice(0, STDERR_TAIL.chars)}…` : l}`)];
}

const stateOf = (r: Row): string => r.state;

/** When the last record under a node ended (epoch ms), `null` while none has. */
function endOf(node: RecordNode<Row>): number | null {
  const ends = recordsUnder(node).flatMap((r) => (r.endedAt === null ? [] : [r.endedAt]));
  return ends.length === 0 ? null : Math.max(...ends);
}

/** A state's icon; `?` for one it does not know (`waiting`). */
function iconOf(state: string): string {
  return ICON[state] ?? '?';
}

function emptyRow(taskId: string): Row {
  return { taskId, state: 'pending', attempt: 0, counted: 0, maxAttempts: 0, startedAt: null, endedAt: null, tokens: 0, costUsd: 0, note: '', tool: null, toolCalls: 0, lastEventAt: null, lastLineAt: null };
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/** `, 3 tasks cached` when tasks completed from memory. */
function cachedNote(result: WorkflowResult): string {
  const cached = result.taskResults.filter((t) => t.cached).length;
  return cached === 0 ? '' : `, ${cached} task${cached === 1 ? '' : 's'} cached`;
}

/** Instances or iterations of one fan-out or loop listed in the summary before the completed ones are only counted. */
const SUMMARY_UNIT_ROWS = 20;

type TaskResultOf = WorkflowResult['taskResults'][number];

/**
 * The summary's rows: instances and iterations indented under their task, in order (past
 * {@link SUMMARY_UNIT_ROWS}, the completed ones counted in one row: `agents-sdk status` lists them).
 */
function summaryRows(result: WorkflowResult): string[][] {
  const declared = result.taskResults.map((t) => t.taskId).filter((id) => !/[[#]/.test(id));
  const rows: string[][] = [];
  const row = (t: TaskResultOf, indent: string): string[] => [
    indent + t.taskId,
    t.cached ? `${t.status} (cached)` : t.keptFrom ? `${t.status} (kept)` : t.allowedFailure ? `${t.status} (allowed)` : t.status,
    String(t.attempts),
    seconds(t.durationMs),
    String(totalTokens(t.tokens)),
    `$${t.costUsd.toFixed(4)}`,
  ];
  const status = (t: TaskResultOf): string => t.status;
  const walk = (node: RecordNode<TaskResultOf>, depth: number): void => {
    const indent = '  '.repeat(depth);
    if (node.record) rows.push(row(node.record, indent));
    else rows.push([indent + node.id, unitStatus(node, status), '', '', '', '']);
    const many = node.children.length > SUMMARY_UNIT_ROWS;
    let completed = 0;
    for (const child of node.children) {
      if (many && unitStatus(child, status) === 'completed') completed++;
      else walk(child, depth + 1);
    }
    if (completed > 0) rows.push([`${indent}  … ${completed} completed`, '', '', '', '', '']);
  };
  for (const root of recordTree(result.taskResults, { idOf: (t) => t.taskId, declaredIds: declared })) walk(root, 0);
  return rows;
}

/** The summary table printed at the end of a run. */
export function summaryTable(result: WorkflowResult): string {
  const header = ['task', 'status', 'attempts', 'time', 'tokens', 'cost'];
  const rows = summaryRows(result);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  lines.push(
    '',
    `${result.workflowId} run ${result.runId}: ${result.status} in ${seconds(result.totalTimeMs)}, ` +
      `${count(totalTokens(result.tokens), 'token')}, $${result.costUsd.toFixed(4)}${cachedNote(result)}`,
  );
  for (const t of result.taskResults) {
    if (t.status === 'failed' && t.error) {
      const allowed = t.allowedFailure ? ' (allow_failure: the run went on)' : '';
      lines.push(`  ${t.taskId}: ${t.error.code}: ${oneLine(t.error.message)}${allowed}`, ...stderrTail(t.error, '    '));
    }
    if (t.status === 'skipped') lines.push(`  ${t.taskId}: skipped${t.reason ? `: ${oneLine(t.reason)}` : ''}`);
    if (t.outputCut) lines.push(`  ${t.taskId}: ${describeOutputCut(t.outputCut)}`);
  }
  lines.push(...runBranchLines(result.workspace));
  return lines.join('\n') + '\n';
}
