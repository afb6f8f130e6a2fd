/**
 * What the inspector sends and receives for a big run (issue 24): a 500-task run (a planner,
 * then 499 agents that depend on it, max_parallel 8) replayed from recorded Claude Code
 * streams (examples/recordings/sdlc) at `speed` (default 2, the issue's `--replay-speed 2`),
 * its compact inspection feeding `startInspectorServer` in this process. Printed:
 * - bytes a page that opened the run before it started receives while it runs (live);
 * - bytes a page that opens the run after it ended receives (the whole run at once);
 * - bytes the run sent the inspector, per 100 tasks.
 * Targets: live ≤ 3 MB and ≤ 2× the late page; run → inspector ≤ 2 MB per 100 tasks.
 * Runnable alone: `npm run build && node bench/inspector-traffic.mjs [tasks] [speed]`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createInspector, createReplayExecutor, JsonStateBackend, startInspectorServer, WorkflowOrchestrator } from '../dist/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECORDINGS = join(ROOT, 'examples/recordings/sdlc');
const MB = 1024 * 1024;

function recordings(tasks) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-traffic-rec-'));
  const names = readdirSync(RECORDINGS);
  for (let i = 0; i < tasks; i++) {
    const id = i === 0 ? 'plan' : `t${i}`;
    mkdirSync(join(dir, id));
    copyFileSync(join(RECORDINGS, names[i % names.length], 'raw_output.jsonl'), join(dir, id, 'raw_output.jsonl'));
  }
  return dir;
}

function spec(n) {
  const tasks = [{ id: 'plan', prompt: 'Plan it' }];
  for (let i = 1; i < n; i++) tasks.push({ id: `t${i}`, prompt: `Do part ${i} of the plan`, depends_on: ['plan'] });
  return { id: 'traffic-bench', max_parallel: 8, tasks };
}

/** A page's socket: counts the bytes and frames it receives; opens the first run listed (or `key`). */
async function page(server, { follow }) {
  const socket = new WebSocket(`${server.inspectUrl}/view`);
  const seen = { bytes: 0, frames: 0, ended: false, key: null };
  socket.on('message', (data) => {
    const text = data.toString();
    seen.bytes += Buffer.byteLength(text);
    seen.frames += 1;
    const m = JSON.parse(text);
    if (m.type === 'runs' && follow && !seen.key && m.runs.length > 0) {
      seen.key = m.runs[0].key;
      socket.send(JSON.stringify({ type: 'open', key: seen.key }));
    }
    const entries = m.type === 'run' || m.type === 'entries' ? m.entries : [];
    if (entries.some((e) => e.k === 'end')) seen.ended = true;
  });
  await new Promise((resolve) => socket.once('open', resolve));
  return { seen, open: (key) => socket.send(JSON.stringify({ type: 'open', key })), close: () => socket.close() };
}

async function until(condition, ms = 120_000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('traffic bench: timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function inspectorTrafficBench({ tasks = 500, speed = 2 } = {}) {
  const recorded = recordings(tasks);
  const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-traffic-'));
  const server = await startInspectorServer({ port: 0 });
  try {
    const live = await page(server, { follow: true });
    const inspector = createInspector({ target: server.inspectUrl, onInfo: () => undefined });
    const backend = new JsonStateBackend(stateDir);
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir, executor: createReplayExecutor(recorded, { speed }), inspect: inspector.inspect });
    const result = await orchestrator.runWorkflow(spec(tasks));
    await inspector.stop();
    await backend.close();
    if (result.status !== 'completed') throw new Error(`traffic bench run ended ${result.status}`);
    await until(() => live.seen.ended && server.received.messages >= inspector.stats.messages);
    live.close();
    const late = await page(server, { follow: false });
    late.open(live.seen.key);
    await until(() => late.seen.ended);
    late.close();
    return { tasks, speed, live: live.seen, late: late.seen, received: { ...server.received } };
  } finally {
    await server.close();
    rmSync(recorded, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function printInspectorTrafficTable(row) {
  const mb = (b) => `${(b / MB).toFixed(2)} MB`;
  const per100 = (row.received.bytes * 100) / row.tasks;
  const ratio = row.live.bytes / row.late.bytes;
  console.log(`\nInspector traffic of a ${row.tasks}-task run (replayed at speed ${row.speed}, a planner then ${row.tasks - 1} agents, max_parallel 8)`);
  console.log('| what | bytes | frames / messages | target |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| to a live page (opened before the run) | ${mb(row.live.bytes)} | ${row.live.frames} | ≤ 3 MB: ${row.live.bytes <= 3 * MB ? 'met' : 'missed'}; ${ratio.toFixed(2)}× the late page (≤ 2×: ${ratio <= 2 ? 'met' : 'missed'}) |`);
  console.log(`| to a page opened after the run | ${mb(row.late.bytes)} | ${row.late.frames} | |`);
  console.log(`| run → inspector | ${mb(row.received.bytes)} (${mb(per100)} per 100 tasks) | ${row.received.messages} | ≤ 2 MB per 100 tasks: ${per100 <= 2 * MB ? 'met' : 'missed'} |`);
  return [row.live.bytes <= 3 * MB, ratio <= 2, per100 <= 2 * MB];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printInspectorTrafficTable(await inspectorTrafficBench({ tasks: Number(process.argv[2] ?? 500), speed: Number(process.argv[3] ?? 2) }));
}
