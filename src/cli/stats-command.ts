/**
 * `agents-sdk stats`: metrics over stored runs (read-only), per agent, model, task, workflow
 * or session.
 *
 * @module
 */
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { PermanentError, ValidationError } from '../errors.js';
import { MetricsCollector, type MetricsGroup, type MetricsGroupBy } from '../metrics/metrics-collector.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import { EXIT, type CliIO } from './cli-support.js';
import type { StateOptions } from './state-commands.js';

/** Options of `agents-sdk stats`. */
export interface StatsOptions extends StateOptions {
  last?: string;
  by?: string;
  json?: boolean;
}

const GROUPS: readonly MetricsGroupBy[] = ['agent', 'model', 'task', 'workflow', 'session'];

/**
 * `agents-sdk stats [runId...] [--last N] [--by agent|model|task|workflow|session] [--json]`:
 * the given runs, else the `--last` N newest stored runs, else every stored run. Unreadable
 * stored runs are left out (with a note on stderr); an unknown given run id is exit 2.
 */
export async function statsCommand(runIds: string[], options: StatsOptions, io: CliIO): Promise<number> {
  const by = (options.by ?? 'agent') as MetricsGroupBy;
  if (!GROUPS.includes(by)) throw new ValidationError(`--by must be one of ${GROUPS.join(', ')}, got "${options.by}"`);
  const last = options.last === undefined ? undefined : Number(options.last);
  if (last !== undefined && !(Number.isInteger(last) && last > 0)) throw new ValidationError(`--last must be a positive integer, got "${options.last}"`);
  if (last !== undefined && runIds.length > 0) throw new ValidationError('stats: give run ids or --last, not both');

  const backend = await openStateBackend(options.backend ?? 'json', options.stateDir ?? DEFAULT_STATE_DIR, { readonly: true });
  const metrics = new MetricsCollector();
  try {
    let ids = runIds;
    if (ids.length === 0) {
      const stored = await backend.listRuns();
      for (const r of stored) if (r.problem) io.stderr(`stats: left out run ${r.runId}, unreadable (${r.problem.code})\n`);
      ids = stored.filter((r) => !r.problem).map((r) => r.runId);
      if (last !== undefined) ids = ids.slice(0, last);
    }
    for (const runId of ids) {
      const run = await backend.loadRun(runId);
      if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
      metrics.addRun(run);
    }
  } finally {
    await backend.close();
  }

  const summary = metrics.summary({ by });
  if (options.json) {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return EXIT.ok;
  }
  if (summary.groups.length === 0) {
    io.stdout(summary.runs === 0 ? 'no runs\n' : 'no task has run\n');
    return EXIT.ok;
  }
  const row = (key: string, g: Omit<MetricsGroup, 'key'>): string[] => [
    key,
    String(g.executions),
    g.successRate === null ? '-' : `${(g.successRate * 100).toFixed(0)}%`,
    String(g.retries),
    String(g.tokens.input),
    String(g.tokens.output),
    String(g.tokens.cacheRead + g.tokens.cacheCreation),
    `$${g.costUsd.toFixed(4)}${g.costEstimatedUsd > 0 ? '*' : ''}${g.unpriced > 0 ? '?' : ''}`,
    seconds(g.latencyMs.mean),
    seconds(g.latencyMs.p50),
    seconds(g.latencyMs.p95),
    seconds(g.latencyMs.max),
  ];
  io.stdout(`${summary.runs} run${summary.runs === 1 ? '' : 's'}, by ${by}\n\n`);
  io.stdout(
    table(
      [by, 'execs', 'success', 'retries', 'in', 'out', 'cache', 'cost', 'mean', 'p50', 'p95', 'max'],
      [...summary.groups.map((g) => row(g.key, g)), row('total', summary.total)],
    ),
  );
  if (summary.total.costEstimatedUsd > 0) io.stdout('\n* includes costs estimated from the price table (records with tokens but no cost)\n');
  if (summary.total.unpriced > 0) io.stdout('\n? some records have tokens but no cost and no price for their model\n');
  return EXIT.ok;
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n') + '\n';
}
