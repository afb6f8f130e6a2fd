/**
 * Durability latency: the time from a task's change (a completion) to its record being durable,
 * under load, for both backends: p50, p99 and max at 1,000 and 10,000 tasks (max_parallel 64),
 * with tasks that finish on the next turn of the event loop (as a quick process's exit
 * arrives) and with real `true` processes. Group commit bounds it by about two writes
 * whatever the load; the design it replaced queued one write per event-loop tick and fell
 * seconds behind (239 ms mean, 9.2 s max at 10,000 tasks).
 *
 * Runnable alone: `npm run build && node bench/durability.mjs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonStateBackend, WorkflowOrchestrator } from '../dist/index.js';
import { SqliteStateBackend } from '../dist/sqlite.js';
import { OK } from './executors.mjs';

/** Resolves on the next turn of the event loop, after pending I/O. */
const nextTurnExecutor = () => new Promise((resolve) => setImmediate(resolve, OK));

const BACKENDS = [
  ['json', (dir) => new JsonStateBackend(dir)],
  ['sqlite', (dir) => SqliteStateBackend.open(join(dir, 'agents.sqlite'))],
];

function spec(n, real) {
  const task = (i) => (real ? { id: `t${i}`, command: ['true'] } : { id: `t${i}`, prompt: 'x' });
  return { id: 'durability', max_parallel: 64, tasks: Array.from({ length: n }, (_, i) => task(i)) };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function measure(make, n, real) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-durability-'));
  const backend = await make(dir);
  const stats = { latenciesMs: [], writes: 0 };
  const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, commitStats: stats, ...(real ? {} : { executor: nextTurnExecutor }) });
  const started = performance.now();
  const result = await orchestrator.runWorkflow(spec(n, real), { runId: 'bench' });
  const runMs = performance.now() - started;
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 'completed') throw new Error(`durability bench run ended ${result.status}`);
  const sorted = stats.latenciesMs.slice().sort((a, b) => a - b);
  return { n, real, runMs, writes: stats.writes, records: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) };
}

export async function durabilityBench({ quick = false } = {}) {
  const rows = [];
  for (const [name, make] of BACKENDS) {
    for (const n of [1_000, 10_000]) rows.push({ backend: name, ...(await measure(make, n, false)) });
    rows.push({ backend: name, ...(await measure(make, quick ? 200 : 1_000, true)) });
  }
  return rows;
}

export function printDurabilityTable(rows) {
  console.log('\n## Durability: time from a task change to its record being durable (group commit, max_parallel 64)\n');
  console.log('| backend | tasks | record writes | changes per write | p50 | p99 | max | run time |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const what = r.real ? `${r.n.toLocaleString('en')} \`true\` processes` : `${r.n.toLocaleString('en')} next-tick tasks`;
    console.log(
      `| ${r.backend} | ${what} | ${r.writes} | ${(r.records / Math.max(1, r.writes)).toFixed(1)} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${(r.runMs / 1000).toFixed(2)} s |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printDurabilityTable(await durabilityBench());
}
