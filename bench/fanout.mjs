/**
 * Fan-out scheduling cost (issue 21, part 10): a 10,000-item fan-out (`for_each` over a list,
 * one instance per item) against 10,000 declared independent tasks, instant executor, no
 * checkpoints, max_parallel 64: µs per task, median of interleaved runs. Target: the fan-out
 * within 1.2× of the declared tasks.
 *
 *   node --expose-gc bench/fanout.mjs      (after npm run build; also a section of bench/run.mjs)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowOrchestrator } from '../dist/index.js';
import { instantExecutor } from './executors.mjs';

const N = 10_000;
const MAX_PARALLEL = 64;
const TARGET = 1.2;

const declared = {
  id: 'declared',
  max_parallel: MAX_PARALLEL,
  tasks: Array.from({ length: N }, (_, i) => ({ id: `t${i}`, prompt: 'x' })),
};
// A planner's structured output gives the list (one task more than the declared case: 10,001).
const fanout = {
  id: 'fanout',
  max_parallel: MAX_PARALLEL,
  tasks: [
    { id: 'plan', prompt: 'plan', output_schema: { type: 'object' } },
    { id: 'impl', depends_on: ['plan'], for_each: 'tasks.plan.json.items', max_items: N, prompt: 'item {{item}}' },
  ],
};
const ITEMS = Array.from({ length: N }, (_, i) => i);
const executor = async (request) => {
  const result = await instantExecutor(request);
  return request.kind === 'claude' && request.prompt === 'plan' ? { ...result, json: { items: ITEMS } } : result;
};

async function once(spec, stateDir) {
  await new Promise((r) => setImmediate(r));
  global.gc?.();
  const t0 = performance.now();
  const result = await new WorkflowOrchestrator({ stateDir, executor, stateBackend: null }).runWorkflow(spec);
  const ms = performance.now() - t0;
  if (result.status !== 'completed') throw new Error(`${spec.id}: ${result.status}`);
  const ran = result.taskResults.filter((t) => t.status === 'completed').length;
  if (ran < N) throw new Error(`${spec.id}: ${ran} tasks completed of ${N}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** µs per task of each, median of `runs` interleaved runs (after one warm-up of each). */
export async function fanoutBench(runs = Number(process.env.BENCH_RUNS ?? 3)) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-fanout-'));
  try {
    await once(declared, stateDir);
    await once(fanout, stateDir);
    const a = [];
    const b = [];
    for (let k = 0; k < runs; k++) {
      a.push(await once(declared, stateDir));
      b.push(await once(fanout, stateDir));
    }
    return { declaredUs: (median(a) * 1000) / N, fanoutUs: (median(b) * 1000) / N, runs };
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

export function printFanoutTable({ declaredUs, fanoutUs, runs }) {
  const ratio = fanoutUs / declaredUs;
  console.log(`\n## Fan-out: scheduling cost per task (instant executor, max_parallel ${MAX_PARALLEL}, median of ${runs})\n`);
  console.log('| case | tasks | µs/task |');
  console.log('| --- | --- | --- |');
  console.log(`| ${N.toLocaleString('en')} declared independent tasks | ${N.toLocaleString('en')} | ${declaredUs.toFixed(1)} |`);
  console.log(`| 1 task, for_each over ${N.toLocaleString('en')} items | ${N.toLocaleString('en')} instances | ${fanoutUs.toFixed(1)} |`);
  const ok = ratio <= TARGET;
  console.log(`\nfan-out / declared: ${ratio.toFixed(2)}× (target ≤ ${TARGET}×): ${ok ? 'yes' : 'NO'}`);
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printFanoutTable(await fanoutBench());
}
