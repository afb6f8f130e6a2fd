/**
 * Makespan on tasks of unequal length: random 40-task DAGs (deterministic seeds) whose tasks
 * sleep 50–600 ms (setTimeout), max_parallel 4. Each seed runs the orchestrator twice on the
 * same in-memory state backend (the first run, of every seed at once, only records the durations;
 * the second, timed, orders its ready queue by them) and the p-limit FIFO baseline once.
 * Efficiency = max(critical path, work / slots) / makespan (wall time of the whole call);
 * both bounds use the nominal durations.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WorkflowOrchestrator } from '../dist/index.js';
import { runBaseline } from './baseline.mjs';
import { OK } from './executors.mjs';
import { toSpec } from './graphs.mjs';

export const HETEROGENEOUS = { tasks: 40, minMs: 50, maxMs: 600, maxParallel: 4 };

/** A small seeded PRNG (mulberry32): the same seed gives the same graph on every machine. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` tasks; task i depends on 0–3 distinct earlier tasks; each sleeps minMs–maxMs. */
export function randomDag(seed, { tasks: n, minMs, maxMs } = HETEROGENEOUS) {
  const random = prng(seed);
  const graph = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    const k = i === 0 ? 0 : Math.floor(random() * 4);
    for (let j = 0; j < k; j++) deps.add(Math.floor(random() * i));
    graph.push({ id: `t${i}`, deps: [...deps].map((d) => `t${d}`), ms: minMs + Math.floor(random() * (maxMs - minMs + 1)) });
  }
  return graph;
}

/** Critical path and total work of a graph (nominal durations). */
export function bounds(graph) {
  const index = new Map(graph.map((t, i) => [t.id, i]));
  const finish = new Array(graph.length).fill(0);
  graph.forEach((t, i) => {
    finish[i] = t.ms + Math.max(0, ...t.deps.map((d) => finish[index.get(d)]));
  });
  return { criticalPathMs: Math.max(...finish), workMs: graph.reduce((s, t) => s + t.ms, 0) };
}

/** Sleeps each task's own duration (found by task id: the request's agent name). */
function durationExecutor(graph) {
  const ms = new Map(graph.map((t) => [t.id, t.ms]));
  return (request) => new Promise((resolve) => setTimeout(resolve, ms.get(request.agentName), OK));
}

/**
 * A state backend kept in memory: it gives the second runs their history without timing the
 * disk of a shared machine (the p-limit baseline writes nothing; checkpointing has its own
 * section). Writes resolve at once, so a completed task's dependants wait one microtask turn.
 */
function memoryBackend() {
  const values = new Map();
  const runs = new Map();
  const clone = (x) => structuredClone(x);
  return {
    async save(key, value) { values.set(key, clone(value)); },
    async load(key) { return clone(values.get(key)); },
    async saveCheckpoint(runId, data) { runs.set(runId, { checkpoint: clone(data), records: new Map() }); },
    async loadCheckpoint(runId) { return clone(runs.get(runId)?.checkpoint); },
    async saveTaskRecords(runId, records) { for (const r of records) runs.get(runId).records.set(r.taskId, clone(r)); },
    async loadRun(runId) {
      const run = runs.get(runId);
      if (!run) return undefined;
      const checkpoint = clone(run.checkpoint);
      checkpoint.records = checkpoint.records.map((r) => clone(run.records.get(r.taskId) ?? r));
      return checkpoint;
    },
    async listRuns() {
      const out = [];
      for (const runId of runs.keys()) {
        const run = await this.loadRun(runId);
        out.push({ runId, workflowId: run.workflowId, status: run.status, startedAt: run.startedAt, updatedAt: run.updatedAt, tasksDone: 0, tasksTotal: run.records.length, costUsd: 0 });
      }
      return out.sort((a, b) => b.startedAt - a.startedAt);
    },
    async deleteRun(runId) { runs.delete(runId); },
    async lockRun() { return async () => {}; },
    async lockHolder() { return null; },
    async close() {},
  };
}

/**
 * Measures `seeds`; `check(name, graph, result)` validates each run. Returns one row per seed:
 * `{ seed, idealMs, orchMs, fifoMs, orchEff, fifoEff }`.
 */
export async function heterogeneousBench(seeds, check) {
  const { maxParallel } = HETEROGENEOUS;
  const graphs = seeds.map((seed) => ({ seed, graph: randomDag(seed) }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-bench-hetero-'));
  const backend = memoryBackend();
  try {
    const orchestrator = (graph) => new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor: durationExecutor(graph) });
    // First runs (all seeds at once: they only record durations for the second runs).
    await Promise.all(graphs.map(({ seed, graph }) => orchestrator(graph).runWorkflow(toSpec(graph, maxParallel, `hetero-${seed}`), { runId: `first-${seed}` })));
    const rows = [];
    for (const { seed, graph } of graphs) {
      const { criticalPathMs, workMs } = bounds(graph);
      const idealMs = Math.max(criticalPathMs, workMs / maxParallel);
      const o = orchestrator(graph);
      let t0 = performance.now();
      const result = await o.runWorkflow(toSpec(graph, maxParallel, `hetero-${seed}`), { runId: `second-${seed}` });
      const orchMs = performance.now() - t0;
      check(`orchestrator, seed ${seed}`, graph, result);
      t0 = performance.now();
      const base = await runBaseline(graph, maxParallel, durationExecutor(graph));
      const fifoMs = performance.now() - t0;
      check(`p-limit, seed ${seed}`, graph, base);
      rows.push({ seed, criticalPathMs, workMs, idealMs, orchMs, fifoMs, orchEff: idealMs / orchMs, fifoEff: idealMs / fifoMs });
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same graph scheduled on paper (no overhead, exact durations): the makespan of FIFO
 * (`priority` null: p-limit's order) or of critical-path-first with the given priorities.
 * Separates what the order gains from what a loaded machine costs.
 */
export function simulateMakespan(graph, slots, priority = null) {
  const n = graph.length;
  const index = new Map(graph.map((t, i) => [t.id, i]));
  const dependants = graph.map(() => []);
  const remaining = graph.map((t) => t.deps.length);
  graph.forEach((t, i) => t.deps.forEach((d) => dependants[index.get(d)].push(i)));
  const ready = [];
  for (let i = 0; i < n; i++) if (remaining[i] === 0) ready.push(i);
  const pick = () => {
    if (priority === null) return ready.shift();
    let best = 0;
    for (let k = 1; k < ready.length; k++) {
      const a = ready[k];
      const b = ready[best];
      if (priority[a] > priority[b] || (priority[a] === priority[b] && a < b)) best = k;
    }
    return ready.splice(best, 1)[0];
  };
  let now = 0;
  let done = 0;
  const running = [];
  while (done < n) {
    while (running.length < slots && ready.length > 0) {
      const i = pick();
      running.push([now + graph[i].ms, i]);
    }
    running.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const [end, i] = running.shift();
    now = end;
    done += 1;
    for (const d of dependants[i]) if (--remaining[d] === 0) ready.push(d);
  }
  return now;
}

/** Remaining critical path of each task, weighted by its nominal duration. */
export function weightedPriority(graph) {
  const index = new Map(graph.map((t, i) => [t.id, i]));
  const dependants = graph.map(() => []);
  graph.forEach((t, i) => t.deps.forEach((d) => dependants[index.get(d)].push(i)));
  const p = new Array(graph.length).fill(0);
  for (let i = graph.length - 1; i >= 0; i--) p[i] = graph[i].ms + Math.max(0, ...dependants[i].map((d) => p[d]));
  return p;
}
