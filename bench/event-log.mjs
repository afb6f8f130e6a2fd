/**
 * The orchestrator's per-task cost with the run's event log (events.jsonl) on and off, with
 * the JSON backend, at 1,000 and 10,000 instant tasks: the log must cost the same per task
 * at any size. Runnable alone: `npm run build && node bench/event-log.mjs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonStateBackend, WorkflowOrchestrator } from '../dist/index.js';
import { OK } from './executors.mjs';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve, OK));

async function perTaskUs(n, eventLog) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-eventlog-'));
  const backend = new JsonStateBackend(dir);
  const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, executor: nextTurn, eventLog });
  const spec = { id: 'log', max_parallel: 64, tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, prompt: 'x' })) };
  global.gc?.();
  const started = performance.now();
  const result = await orchestrator.runWorkflow(spec, { runId: 'bench' });
  const us = ((performance.now() - started) * 1000) / n;
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 'completed') throw new Error(`event-log bench run ended ${result.status}`);
  return us;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function eventLogBench() {
  const rows = [];
  for (const n of [1_000, 10_000]) {
    const off = [];
    const on = [];
    for (let i = 0; i < (n === 1_000 ? 3 : 1); i++) {
      off.push(await perTaskUs(n, false));
      on.push(await perTaskUs(n, true));
    }
    rows.push({ n, offUs: median(off), onUs: median(on) });
  }
  return rows;
}

export function printEventLogTable(rows) {
  console.log('\n## Event log (events.jsonl): per-task cost with it on and off (JSON backend, max_parallel 64)\n');
  console.log('| tasks | log off | log on | on / off |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.n.toLocaleString('en')} | ${r.offUs.toFixed(0)} µs | ${r.onUs.toFixed(0)} µs | ${(r.onUs / r.offUs).toFixed(2)}× |`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printEventLogTable(await eventLogBench());
}
