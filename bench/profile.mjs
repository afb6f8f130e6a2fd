/**
 * Runs one overhead case of the benchmark on the orchestrator only, for a profiler:
 *
 *   npm run build
 *   node --cpu-prof --cpu-prof-dir=.tmp/prof bench/profile.mjs [independent|chain|layered] [tasks]
 *   node bench/cpuprofile-summary.mjs .tmp/prof/<file>.cpuprofile
 *
 * Writes nothing but the profile (the executor resolves at once and never calls Claude; no
 * state backend unless BENCH_CHECKPOINT=1). BENCH_MAX_PARALLEL sets max_parallel (default 64).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WorkflowOrchestrator } from '../dist/index.js';
import { instantExecutor } from './executors.mjs';
import { chain, independent, layered, toSpec } from './graphs.mjs';

const kind = process.argv[2] ?? 'independent';
const n = Number(process.argv[3] ?? 5_000);
const maxParallel = Number(process.env.BENCH_MAX_PARALLEL ?? 64);
/** BENCH_CHECKPOINT=1 keeps the default state backend (JSON checkpoints in a temp dir). */
const checkpoint = process.env.BENCH_CHECKPOINT === '1';
const graph =
  kind === 'chain' ? chain(n) : kind === 'layered' ? layered(Math.max(1, Math.round(n / 100)), 100, 3) : independent(n);
const spec = toSpec(graph, maxParallel);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-profile-'));
try {
  // one warm-up run, one measured run
  for (const label of ['warm-up', 'measured']) {
    const t0 = performance.now();
    const result = await new WorkflowOrchestrator({ stateDir, executor: instantExecutor, ...(checkpoint ? {} : { stateBackend: null }) }).runWorkflow(spec);
    const ms = performance.now() - t0;
    console.log(`${label}: ${kind} ${graph.length} tasks, ${result.status}, ${((ms * 1000) / graph.length).toFixed(1)} µs/task`);
  }
} finally {
  fs.rmSync(stateDir, { recursive: true, force: true });
}
