/**
 * What `agents-sdk run` shows while a workflow runs: a live block of one line per task on a
 * TTY, plain lines otherwise, and a summary table at the end.
 *
 * @module
 */
import { totalTokens } from '../claude/stream-json.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import type { WorkflowResult } from '../workflow/workflow-result.js';

interface Row {
  taskId: string;
  state: string;
  attempt: number;
  maxAttempts: number;
  startedAt: number | null;
  endedAt: number | null;
  tokens: number;
  costUsd: number;
  note: string;
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

/** Renders task progress. Feed it every event; call `render()` to get the current text. */
export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private order: string[] = [];
  private linesDrawn = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Updates the view from an event; in plain mode returns the line to print, if any. */
  apply(event: TaskEvent | WorkflowEvent): string | null {
    if (event.type === 'workflow.started') {
      this.order = event.taskIds;
      for (const id of event.taskIds) this.rows.set(id, emptyRow(id));
      return `workflow ${event.workflowId} run ${event.runId}${event.resumed ? ' (resumed)' : ''}: ${event.taskIds.length} tasks`;
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
    const row = this.rows.get(event.taskId) ?? emptyRow(event.taskId);
    this.rows.set(event.taskId, row);
    switch (event.type) {
      case 'task.started':
        row.state = 'running';
        row.attempt = event.attempt;
        row.maxAttempts = event.maxAttempts;
        row.startedAt ??= event.at;
        return `${event.taskId}: started (attempt ${event.attempt}/${event.maxAttempts})`;
      case 'task.progress':
        if (event.progress.type === 'tool_use') row.note = `tool ${event.progress.name}`;
        else if (event.progress.type === 'assistant_text') row.note = 'thinking';
        return null;
      case 'task.retrying':
        row.state = 'retrying';
        row.note = `${event.error.code}, retry in ${(event.delayMs / 1000).toFixed(1)}s`;
        return `${event.taskId}: attempt ${event.attempt} failed (${event.error.code}: ${event.error.message}); retrying in ${(event.delayMs / 1000).toFixed(1)}s`;
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
        row.note = r.error ? `${r.error.code}: ${r.error.message}` : (r.reason ?? '');
        const tail = r.status === 'skipped' ? ` (${r.reason ?? ''})` : r.error ? ` (${r.error.code}: ${r.error.message})` : '';
        return `${event.taskId}: ${r.status} in ${seconds(r.durationMs)} after ${r.attempts} attempt(s), ${row.tokens} tokens, $${r.costUsd.toFixed(4)}${tail}`;
      }
    }
  }

  /** The live block: a header and one line per task (running ones first when there are many). */
  render(): string {
    const rows = this.order.map((id) => this.rows.get(id)!).filter(Boolean);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const header = `tasks: ${Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}`;
    let shown = rows;
    if (rows.length > MAX_LIVE_ROWS) {
      const active = rows.filter((r) => r.state === 'running' || r.state === 'retrying');
      const done = rows.filter((r) => r.endedAt !== null).sort((a, b) => b.endedAt! - a.endedAt!);
      shown = [...active, ...done].slice(0, MAX_LIVE_ROWS);
    }
    return [header, ...shown.map((r) => this.line(r))].join('\n');
  }

  /** The live block with the ANSI codes that redraw it in place. */
  redraw(): string {
    const text = this.render();
    const up = this.linesDrawn > 0 ? `\x1b[${this.linesDrawn}A` : '';
    this.linesDrawn = text.split('\n').length;
    return `${up}\x1b[0J${text}\n`;
  }

  private line(r: Row): string {
    const end = r.endedAt ?? this.now();
    const elapsed = r.startedAt === null ? '' : seconds(end - r.startedAt);
    const attempt = r.attempt > 0 ? `${r.attempt}/${r.maxAttempts}` : '';
    return `${ICON[r.state] ?? '?'} ${r.taskId.padEnd(20)} ${r.state.padEnd(9)} ${attempt.padEnd(5)} ${elapsed.padStart(7)} ${String(r.tokens).padStart(8)} tok $${r.costUsd.toFixed(4)}  ${r.note}`.trimEnd();
  }
}

function emptyRow(taskId: string): Row {
  return { taskId, state: 'pending', attempt: 0, maxAttempts: 0, startedAt: null, endedAt: null, tokens: 0, costUsd: 0, note: '' };
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/** The summary table printed at the end of a run. */
export function summaryTable(result: WorkflowResult): string {
  const header = ['task', 'status', 'attempts', 'time', 'tokens', 'cost'];
  const rows = result.taskResults.map((t) => [
    t.taskId,
    t.status,
    String(t.attempts),
    seconds(t.durationMs),
    String(totalTokens(t.tokens)),
    `$${t.costUsd.toFixed(4)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const lines = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  lines.push(
    '',
    `${result.workflowId} run ${result.runId}: ${result.status} in ${seconds(result.totalTimeMs)}, ` +
      `${totalTokens(result.tokens)} tokens, $${result.costUsd.toFixed(4)}`,
  );
  const failed = result.taskResults.filter((t) => t.error && t.status === 'failed');
  for (const t of failed) lines.push(`  ${t.taskId}: ${t.error!.code}: ${t.error!.message}`);
  return lines.join('\n') + '\n';
}
