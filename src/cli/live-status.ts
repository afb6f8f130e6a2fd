/**
 * The part of `agents-sdk status` about a live run's running tasks: for each, the tool its
 * agent is in, its turn, tokens and cost so far, and how long since its stream last said
 * something, read from the attempt's raw stream file (see `readLiveAttempt`).
 *
 * @module
 */
import { totalTokens, type TokenUsage } from '../claude/stream-json.js';
import { readLiveAttempt } from '../claude/live-attempt.js';
import type { RunCheckpoint } from '../persistence/state-backend.js';
import { attemptLogOf } from '../workflow/attempt-log.js';
import { declaredTaskOf } from '../workflow/fan-out.js';
import { rawFileOf } from './logs-command.js';

/** One running task of a live run, as `status` shows it (and `status --json` as `live`). */
export interface LiveTask {
  taskId: string;
  kind: 'agent' | 'command';
  /** The running attempt's number. */
  attempt: number;
  /** Epoch ms. */
  startedAt: number;
  /** The tool its agent is in, or `null`. */
  tool: string | null;
  toolInput: string | null;
  /** Model turns so far (agents). */
  turn: number;
  tokens: TokenUsage;
  /** USD so far; `costEstimated`: from the price table (the attempt has no result line yet). */
  costUsd: number;
  costEstimated: boolean;
  /** When its stream last said something (epoch ms), `null` before its first line (and for commands). */
  lastLineAt: number | null;
  /** `now - lastLineAt` (ms), `null` without a line. */
  sinceLastLineMs: number | null;
}

/** The running tasks of a run, each with what its attempt has done so far. */
export function liveTasks(run: RunCheckpoint, stateDir: string, now: number): LiveTask[] {
  const out: LiveTask[] = [];
  for (const record of run.records) {
    if (record.status !== 'running') continue;
    const entry = attemptLogOf(record).at(-1);
    if (!entry || entry.status !== 'running') continue;
    // (The task that runs: an iteration's or a group instance's too. A loop's own record has no attempt.)
    const kind = declaredTaskOf(run.workflow.tasks, record.taskId)?.kind === 'command' ? 'command' : 'agent';
    const live = kind === 'agent' ? readLiveAttempt(rawFileOf(stateDir, run.runId, record.taskId, entry)) : null;
    out.push({
      taskId: record.taskId,
      kind,
      attempt: entry.attempt,
      startedAt: entry.startedAt,
      tool: live?.tool ?? null,
      toolInput: live?.toolInput ?? null,
      turn: live?.turn ?? 0,
      tokens: live?.tokens ?? { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
      costUsd: live?.costUsd ?? 0,
      costEstimated: live?.costEstimated ?? false,
      lastLineAt: live && live.lines > 0 ? live.lastLineAt : null,
      sinceLastLineMs: live && live.lines > 0 ? Math.max(0, now - live.lastLineAt) : null,
    });
  }
  return out;
}

/** The lines `status` prints for the running tasks of a live run. */
export function formatLiveTasks(tasks: LiveTask[], now: number): string {
  if (tasks.length === 0) return '';
  const rows = tasks.map((t) => [
    t.taskId,
    `#${t.attempt}`,
    seconds(now - t.startedAt),
    t.kind === 'command' ? '(command)' : t.tool === null ? (t.turn === 0 ? '-' : 'thinking') : `${t.tool}${t.toolInput ? `: ${t.toolInput}` : ''}`,
    t.kind === 'command' ? '-' : String(t.turn),
    t.kind === 'command' ? '-' : String(totalTokens(t.tokens)),
    t.kind === 'command' ? '-' : `${t.costEstimated ? '~' : ''}$${t.costUsd.toFixed(4)}`,
    t.sinceLastLineMs === null ? (t.kind === 'command' ? '-' : 'no line yet') : `${seconds(t.sinceLastLineMs)} ago`,
  ]);
  const header = ['task', 'attempt', 'running', 'tool', 'turn', 'tokens', 'cost', 'last line'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [
    '',
    'running now (from each attempt\'s stream; ~ = cost estimated from the price table until its result):',
    fmt(header),
    ...rows.map(fmt),
    '',
  ].join('\n');
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}
