/**
 * `agents-sdk report` at scale: building the report of a stored run and drawing its HTML page
 * for 500, 2,000 and 10,000 tasks (a third of them command tasks, each task depending on one or
 * two of 20 tasks before it, every tenth retried once), from an in-memory checkpoint and event
 * log. Before issue 20 the page placed the task graph with dagre at any size: 45 s of CPU for a
 * 2,000-task run. Targets: 2,000 tasks < 3 s; linear (per-task time at 10,000 ≤ 1.5× that at
 * 2,000). The dagre layout alone is shown at 100 and 200 tasks as the reference of what grew.
 * Runnable alone: `npm run build && node bench/report.mjs`.
 */
import { renderRunReportHtml, validateWorkflow } from '../dist/index.js';
import { buildRunReport } from '../dist/inspector.js';
import { STATE_SCHEMA_VERSION } from '../dist/persistence/state-backend.js';
import { dagreLayout } from '../dist/visual/dag-layout.js';

/** A finished run of `n` tasks, its checkpoint and its event log. */
export function storedRun(n) {
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const deps = i >= 20 ? [...new Set([`t${i - 20}`, `t${i - 20 + ((i * 7) % 20)}`])] : [];
    tasks.push(i % 3 === 0 ? { id: `t${i}`, command: ['true'], depends_on: deps } : { id: `t${i}`, prompt: 'x', agent: `agent${i % 7}`, depends_on: deps });
  }
  const workflow = validateWorkflow({ id: 'big', max_parallel: 32, tasks });
  const t0 = 1_700_000_000_000;
  const events = [{ type: 'workflow.started', runId: 'r', at: t0, taskIds: tasks.map((t) => t.id) }];
  const records = tasks.map((t, i) => {
    const startedAt = t0 + i * 10;
    const endedAt = startedAt + 500;
    events.push({ type: 'task.started', runId: 'r', taskId: t.id, attempt: 1, at: startedAt });
    if (i % 10 === 0) {
      events.push({ type: 'task.retrying', runId: 'r', taskId: t.id, attempt: 1, at: startedAt + 100, error: { code: 'API_OVERLOADED', message: 'Overloaded', transient: true } });
      events.push({ type: 'task.started', runId: 'r', taskId: t.id, attempt: 2, at: startedAt + 200 });
    }
    events.push({ type: 'task.completed', runId: 'r', taskId: t.id, attempt: i % 10 === 0 ? 2 : 1, at: endedAt });
    const tokens = t.command ? { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 } : { input: 10, output: 20, cacheRead: 0, cacheCreation: 0 };
    return { taskId: t.id, status: 'completed', attempts: i % 10 === 0 ? 2 : 1, output: 'o', sessionId: null, tokens, costUsd: t.command ? 0 : 0.01, startedAt, endedAt, durationMs: 500, error: null };
  });
  const run = { schemaVersion: STATE_SCHEMA_VERSION, runId: 'r', workflowId: 'big', status: 'completed', workflow, startedAt: t0, updatedAt: t0 + n * 10 + 500, records, result: { totalTimeMs: n * 10 + 500 } };
  return { run, events };
}

function timed(fn) {
  const started = performance.now();
  const value = fn();
  return { ms: performance.now() - started, value };
}

export function reportBench() {
  const rows = [];
  for (const n of [500, 2_000, 10_000]) {
    const { run, events } = storedRun(n);
    const built = timed(() => buildRunReport(run, events));
    const drawn = timed(() => renderRunReportHtml(built.value));
    rows.push({ n, buildMs: built.ms, htmlMs: drawn.ms, bytes: drawn.value.length });
  }
  const dagre = [100, 200].map((n) => ({
    n,
    ms: timed(() => dagreLayout(storedRun(n).run.workflow.tasks.map((t) => ({ id: t.id, dependsOn: t.depends_on, width: 170, height: 50 })))).ms,
  }));
  return { rows, dagre };
}

/** Prints the table; returns the verdicts (2,000 tasks < 3 s, linear). */
export function printReportTable({ rows, dagre }) {
  console.log('\n## Run report (agents-sdk report): build + HTML of a stored run\n');
  console.log('| tasks | build | HTML | total | per task | page |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const total = r.buildMs + r.htmlMs;
    console.log(`| ${r.n.toLocaleString('en')} | ${r.buildMs.toFixed(0)} ms | ${r.htmlMs.toFixed(0)} ms | ${total.toFixed(0)} ms | ${((total * 1000) / r.n).toFixed(0)} µs | ${(r.bytes / 1e6).toFixed(1)} MB |`);
  }
  console.log(`\nreference, the dagre layout alone (what the report used at any size before): ${dagre.map((d) => `${d.n} tasks ${d.ms.toFixed(0)} ms`).join(', ')}`);
  const perTask = (n) => {
    const r = rows.find((x) => x.n === n);
    return (r.buildMs + r.htmlMs) / n;
  };
  const two = rows.find((r) => r.n === 2_000);
  const underThree = two.buildMs + two.htmlMs < 3000;
  const linear = perTask(10_000) <= 1.5 * perTask(2_000);
  console.log(`2,000 tasks < 3 s: ${underThree ? 'yes' : 'NO'}; per task at 10,000 / at 2,000: ${(perTask(10_000) / perTask(2_000)).toFixed(2)}× (target ≤ 1.5×): ${linear ? 'yes' : 'NO'}`);
  return [underThree, linear];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printReportTable(reportBench());
}
