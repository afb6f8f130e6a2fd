/**
 * Metrics over stored runs: executions, success rate, retries, tokens, cost and latency
 * percentiles, grouped by agent, model, task, workflow or session.
 *
 * @module
 */
import { declaredTaskOf } from '../workflow/fan-out.js';
import { declaredIdOf } from '../workflow/record-ids.js';
import { totalTokens, type TokenUsage } from '../claude/stream-json.js';
import type { RunCheckpoint } from '../persistence/state-backend.js';
import type { Task } from '../workflow/spec.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import { costOf, DEFAULT_PRICES, priceOf, type PriceTable } from './price-table.js';

/** What {@link MetricsCollector.summary} groups by. */
export type MetricsGroupBy = 'agent' | 'model' | 'task' | 'workflow' | 'session';

/** Options of {@link MetricsCollector}. */
export interface MetricsCollectorOptions {
  /**
   * Prices (USD per million tokens) for records with tokens but `costUsd` 0; replaces
   * {@link DEFAULT_PRICES} (which are examples). `{}` turns estimation off.
   */
  prices?: PriceTable;
}

/** A task record with what it is grouped by. */
export interface MetricsRecord {
  record: TaskRecord;
  runId: string;
  workflowId: string;
  /** `agent` for Claude Code tasks, `command` for shell commands. */
  kind: 'agent' | 'command';
  /** The agent name (`task.agent ?? task.id`); the task id for command tasks. */
  agent: string;
  /** The model; `command` for command tasks. */
  model: string;
}

/** Latency of the executions of a group, in ms (nearest-rank percentiles). */
export interface LatencyStats {
  /** Executions with a known duration. */
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** The metrics of one group. */
export interface MetricsGroup {
  /** The agent, model, task id, workflow id or session id (`-` for none). */
  key: string;
  /** Task records that ran (made at least one attempt). */
  executions: number;
  completed: number;
  failed: number;
  /** `completed / (completed + failed)`; `null` when none finished. Cancelled ones do not count. */
  successRate: number | null;
  /** Attempts in all. */
  attempts: number;
  /** Attempts beyond the first of each execution: sum of `attempts - 1`. */
  retries: number;
  tokens: TokenUsage;
  /** USD: recorded costs plus {@link costEstimatedUsd}. */
  costUsd: number;
  /** The part of {@link costUsd} computed from the price table (records with tokens but cost 0). */
  costEstimatedUsd: number;
  /** Agent executions with tokens, cost 0 and no price for their model: their cost is unknown. */
  unpriced: number;
  latencyMs: LatencyStats;
}

/** The result of {@link MetricsCollector.summary}. */
export interface MetricsSummary {
  by: MetricsGroupBy;
  runs: number;
  /** Largest cost first, then by key. */
  groups: MetricsGroup[];
  /** Every execution together. */
  total: Omit<MetricsGroup, 'key'>;
}

/**
 * The nearest-rank percentile of ascending `sorted` values: the value at rank
 * `ceil(p / 100 * n)` (1-based), so always one of the values (p95 of 20 values is the 19th,
 * p50 of 4 values the 2nd). `null` for no values.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** A record ran when it made an attempt (or was started): pending and skipped tasks did not. */
function ran(record: TaskRecord): boolean {
  return record.attempts > 0 || record.startedAt !== null;
}

/**
 * Collects task records of runs and summarizes them by group.
 *
 * ```ts
 * const metrics = new MetricsCollector();
 * for (const { runId } of await backend.listRuns()) metrics.addRun((await backend.loadRun(runId))!);
 * metrics.summary({ by: 'agent' }).groups;
 * ```
 */
export class MetricsCollector {
  private readonly prices: PriceTable;
  private readonly records: MetricsRecord[] = [];
  private readonly runIds = new Set<string>();

  constructor(options: MetricsCollectorOptions = {}) {
    this.prices = options.prices ?? DEFAULT_PRICES;
  }

  /**
   * Adds the records of a run (tasks are looked up in `run.workflow` for their agent and model).
   * Records a rerun kept from another run (`keptFrom`) are left out: they count in that run.
   */
  addRun(run: RunCheckpoint): this {
    this.runIds.add(run.runId);
    const tasks: Task[] = run.workflow?.tasks ?? [];
    for (const record of run.records) {
      // A record a rerun kept was executed (and is counted) by the run it was kept from.
      if (record.keptFrom !== undefined) continue;
      // A fan-out runs nothing itself: its instances are counted, as its declared task.
      // A loop too: its iterations are.
      if (record.items !== undefined || record.iteration !== undefined) continue;
      const task = declaredTaskOf(tasks, record.taskId);
      if (task?.kind === 'group') continue;
      if (task?.kind === 'command') {
        this.addRecord({ record, runId: run.runId, workflowId: run.workflowId, kind: 'command', agent: task.id, model: 'command' });
      } else {
        const agent = task?.agent ?? task?.id ?? record.taskId;
        const model = task?.model ?? 'unknown';
        this.addRecord({ record, runId: run.runId, workflowId: run.workflowId, kind: 'agent', agent, model });
      }
    }
    return this;
  }

  /** Adds one record. */
  addRecord(entry: MetricsRecord): this {
    this.runIds.add(entry.runId);
    this.records.push(entry);
    return this;
  }

  /** The cost of a record: its `costUsd`, else (agent tasks with tokens) from the price table. */
  costOf(entry: MetricsRecord): { usd: number; estimated: boolean; unpriced: boolean } {
    const { record } = entry;
    if (record.costUsd > 0 || entry.kind !== 'agent' || totalTokens(record.tokens) === 0) {
      return { usd: record.costUsd, estimated: false, unpriced: false };
    }
    const price = priceOf(entry.model, this.prices);
    if (!price) return { usd: 0, estimated: false, unpriced: true };
    return { usd: costOf(record.tokens, price), estimated: true, unpriced: false };
  }

  /** Metrics per group, over the records that ran. */
  summary(options: { by?: MetricsGroupBy } = {}): MetricsSummary {
    const by = options.by ?? 'agent';
    const groups = new Map<string, MetricsRecord[]>();
    const executed = this.records.filter((e) => ran(e.record));
    for (const entry of executed) {
      const key = keyOf(entry, by);
      const list = groups.get(key);
      if (list) list.push(entry);
      else groups.set(key, [entry]);
    }
    const out = [...groups].map(([key, entries]) => ({ key, ...this.aggregate(entries) }));
    out.sort((a, b) => b.costUsd - a.costUsd || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { by, runs: this.runIds.size, groups: out, total: this.aggregate(executed) };
  }

  private aggregate(entries: MetricsRecord[]): Omit<MetricsGroup, 'key'> {
    const tokens: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
    let completed = 0;
    let failed = 0;
    let attempts = 0;
    let retries = 0;
    let costUsd = 0;
    let costEstimatedUsd = 0;
    let unpriced = 0;
    const durations: number[] = [];
    for (const entry of entries) {
      const r = entry.record;
      if (r.status === 'completed') completed += 1;
      else if (r.status === 'failed') failed += 1;
      attempts += r.attempts;
      retries += Math.max(0, r.attempts - 1);
      tokens.input += r.tokens.input;
      tokens.output += r.tokens.output;
      tokens.cacheRead += r.tokens.cacheRead;
      tokens.cacheCreation += r.tokens.cacheCreation;
      const cost = this.costOf(entry);
      costUsd += cost.usd;
      if (cost.estimated) costEstimatedUsd += cost.usd;
      if (cost.unpriced) unpriced += 1;
      if (r.durationMs !== null) durations.push(r.durationMs);
    }
    durations.sort((a, b) => a - b);
    const finished = completed + failed;
    return {
      executions: entries.length,
      completed,
      failed,
      successRate: finished === 0 ? null : completed / finished,
      attempts,
      retries,
      tokens,
      costUsd,
      costEstimatedUsd,
      unpriced,
      latencyMs: {
        count: durations.length,
        mean: durations.length === 0 ? null : durations.reduce((a, b) => a + b, 0) / durations.length,
        p50: nearestRank(durations, 50),
        p95: nearestRank(durations, 95),
        max: durations.length === 0 ? null : durations[durations.length - 1]!,
      },
    };
  }
}

function keyOf(entry: MetricsRecord, by: MetricsGroupBy): string {
  switch (by) {
    case 'agent':
      return entry.agent;
    case 'model':
      return entry.model;
    case 'task':
      // Instances and iterations (impl[3], fix#2, fix_tests#2.test) under their declared task (impl, fix, fix_tests.test).
      return declaredIdOf(entry.record.taskId);
    case 'workflow':
      return entry.workflowId;
    case 'session':
      return entry.record.sessionId ?? '-';
  }
}
