/**
 * Checkpoint cost per task (JSON and SQLite backends) for 1,000 and 10,000 no-op tasks,
 * measured as the difference with the same run persisted nowhere, and the resume time of a
 * 10,000-task run. Figures are ratios measured in the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonStateBackend, WorkflowOrchestrator } from '../dist/index.js';
import { SqliteStateBackend } from '../dist/sqlite.js';
import { instantExecutor } from './executors.mjs';

function spec(n) {
  return { id: 'ckpt', max_parallel: 64, tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, prompt: 'x' })) };
}

async function timeRun(n, makeBackend) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-bench-'));
  const backend = makeBackend ? await makeBackend(dir) : null;
  const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, executor: instantExecutor });
  global.gc?.();
  const started = performance.now();
  const result = await orchestrator.runWorkflow(spec(n), { runId: 'bench' });
  const ms = performance.now() - started;
  if (result.status !== 'completed') throw new Error(`bench run ended ${result.status}`);
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perTask(n, makeBackend, repeats) {
  const with_ = [];
  const without = [];
  for (let i = 0; i < repeats; i++) {
    without.push(await timeRun(n, null));
    with_.push(await timeRun(n, makeBackend));
  }
  return { baseUs: (median(without) * 1000) / n, withUs: (median(with_) * 1000) / n };
}

/** Resume of a 10,000-task run whose process died with one task left. */
async function resumeTime(makeBackend, n = 10_000) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-bench-'));
  const backend = await makeBackend(dir);
  const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, executor: instantExecutor });
  await orchestrator.runWorkflow(spec(n), { runId: 'big' });
  // Make it look interrupted: the last task was running when the process died.
  const run = await backend.loadRun('big');
  const last = run.records[n - 1];
  await backend.saveCheckpoint('big', { ...run, status: 'running', result: undefined, records: run.records });
  await backend.saveTaskRecords('big', [{ ...last, status: 'running', endedAt: null }]);
  await backend.close();

  const fresh = await makeBackend(dir);
  const resumer = new WorkflowOrchestrator(fresh, { stateDir: dir, executor: instantExecutor });
  global.gc?.();
  const started = performance.now();
  const result = await resumer.resume('big');
  const ms = performance.now() - started;
  await fresh.close();
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 'completed' || result.taskResults.length !== n) throw new Error('resume did not complete the run');
  return ms;
}

export async function checkpointBench({ quick = false } = {}) {
  const backends = [
    ['json', (dir) => new JsonStateBackend(dir)],
    ['sqlite', (dir) => SqliteStateBackend.open(join(dir, 'agents.sqlite'))],
  ];
  const rows = [];
  for (const [name, make] of backends) {
    const small = await perTask(1_000, make, quick ? 1 : 3);
    const large = await perTask(10_000, make, 1);
    const cost1k = Math.max(0, small.withUs - small.baseUs);
    const cost10k = Math.max(0, large.withUs - large.baseUs);
    const resumeMs = await resumeTime(make);
    rows.push({ name, cost1k, cost10k, growth: cost10k / Math.max(cost1k, 1e-9), resumeMs });
  }
  return rows;
}

export function printCheckpointTable(rows) {
  console.log('\n## Checkpoint cost per task (no-op tasks; run time with the backend minus without)\n');
  console.log('| backend | 1,000 tasks | 10,000 tasks | growth 10k/1k (target ≤ 1.5×, flat) | resume of 10,000 tasks (target < 2 s) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const flat = r.growth <= 1.5 ? 'PASS' : 'MISS';
    const fast = r.resumeMs < 2000 ? 'PASS' : 'MISS';
    console.log(
      `| ${r.name} | ${r.cost1k.toFixed(1)} µs | ${r.cost10k.toFixed(1)} µs | ${r.growth.toFixed(2)}× ${flat} | ${(r.resumeMs / 1000).toFixed(2)} s ${fast} |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printCheckpointTable(await checkpointBench());
}
