/**
 * Inspection traffic and overhead: a 101-task run (a planner, then 100 agents that depend on
 * it, max_parallel 8) replayed at speed 0 from recorded Claude Code streams (examples/
 * recordings/sdlc, 5 to 10 stream events per task) with the CLI's defaults (JSON checkpoints
 * and the event log in a temporary state dir): with no inspector, with the compact forwarder
 * of `--inspect` feeding the local inspector (`agents-sdk inspect`, a separate process, as
 * users run it), and, for reference, with `@statelyai/inspect`'s createWebSocketInspector
 * feeding the same server. Bytes and messages are counted by the server as it receives them.
 * Targets (issue 12): under 2 MB, run time within 1.5× of the run without.
 * Runnable alone: `npm run build && node bench/inspection.mjs`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspector, createReplayExecutor, JsonStateBackend, WorkflowOrchestrator } from '../dist/index.js';

const TASKS = 101;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECORDINGS = join(ROOT, 'examples/recordings/sdlc');

/** A recordings dir with one stream per task, taken in turn from the sdlc recordings. */
function recordings() {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-inspection-rec-'));
  const names = readdirSync(RECORDINGS);
  for (let i = 0; i < TASKS; i++) {
    const id = i === 0 ? 'plan' : `t${i}`;
    mkdirSync(join(dir, id));
    copyFileSync(join(RECORDINGS, names[i % names.length], 'raw_output.jsonl'), join(dir, id, 'raw_output.jsonl'));
  }
  return dir;
}

function spec() {
  const tasks = [{ id: 'plan', prompt: 'Plan it' }];
  for (let i = 1; i < TASKS; i++) tasks.push({ id: `t${i}`, prompt: `Do part ${i} of the plan: {{tasks.plan.output}}`, depends_on: ['plan'] });
  return { id: 'inspection-bench', max_parallel: 8, tasks };
}

async function timedRun(recorded, inspect) {
  const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-inspection-'));
  const backend = new JsonStateBackend(stateDir);
  const orchestrator = new WorkflowOrchestrator(backend, { stateDir, executor: createReplayExecutor(recorded, { speed: 0 }), ...(inspect && { inspect }) });
  global.gc?.();
  const started = performance.now();
  const result = await orchestrator.runWorkflow(spec());
  const ms = performance.now() - started;
  await backend.close();
  rmSync(stateDir, { recursive: true, force: true });
  if (result.status !== 'completed') throw new Error(`inspection bench run ended ${result.status}`);
  return ms;
}

/** `agents-sdk inspect --port 0` as a child process; resolves with its address and a stop. */
async function inspectorProcess() {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'inspect', '--port', '0', '--state-dir', tmpdir()], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /inspector: (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`agents-sdk inspect exited with ${code}`)));
  });
  const received = async () => (await fetch(new URL('/api/received', url))).json();
  return { url, inspectUrl: url.replace('http://', 'ws://').replace(/\/$/, ''), received, stop: () => child.kill('SIGTERM') };
}

async function until(condition, ms = 30_000) {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function inspectionBench({ runs = 5, reference = true } = {}) {
  const recorded = recordings();
  const server = await inspectorProcess();
  try {
    await timedRun(recorded); // warm-up
    const off = [];
    const on = [];
    let traffic = null;
    for (let i = 0; i < runs; i++) {
      off.push(await timedRun(recorded));
      const before = await server.received();
      const inspector = createInspector({ target: server.inspectUrl });
      const started = performance.now();
      await timedRun(recorded, inspector.inspect);
      await inspector.stop();
      on.push(performance.now() - started);
      let now = await server.received();
      for (let wait = 0; now.messages - before.messages < inspector.stats.messages && wait < 200; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        now = await server.received();
      }
      traffic = { bytes: now.bytes - before.bytes, messages: now.messages - before.messages };
    }
    const row = { tasks: TASKS, offMs: median(off), onMs: median(on), ...traffic };
    if (reference) {
      // @statelyai/inspect as the issue measured it: the whole context in every snapshot.
      const before = await server.received();
      const inspector = createWebSocketInspector({ url: server.inspectUrl });
      await until(() => inspector.adapter.status === 'open', 5_000);
      const started = performance.now();
      await timedRun(recorded, inspector.inspect);
      const runMs = performance.now() - started;
      // its messages are sent from idle callbacks after the run: wait until they stop coming
      let last = -1;
      let now = await server.received();
      while (now.messages !== last) {
        last = now.messages;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        now = await server.received();
      }
      inspector.stop();
      row.reference = { runMs, bytes: now.bytes - before.bytes, messages: now.messages - before.messages };
    }
    return row;
  } finally {
    server.stop();
    rmSync(recorded, { recursive: true, force: true });
  }
}

export function printInspectionTable(row) {
  const mb = (b) => `${(b / 1024 / 1024).toFixed(2)} MB`;
  console.log(`\nInspection of a ${row.tasks}-task run (replayed at speed 0, 100 agents after a planner, max_parallel 8, JSON checkpoints and event log; the inspector in its own process)`);
  console.log('| inspector | sent | messages | run time | ÷ no inspector |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| none | | | ${row.offMs.toFixed(0)} ms | 1.00× |`);
  const ratio = row.onMs / row.offMs;
  console.log(`| --inspect (compact) → agents-sdk inspect | ${mb(row.bytes)} (target < 2 MB: ${row.bytes < 2 * 1024 * 1024 ? 'met' : 'missed'}) | ${row.messages} | ${row.onMs.toFixed(0)} ms | ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'missed'}) |`);
  if (row.reference) {
    const r = row.reference;
    console.log(`| @statelyai/inspect createWebSocketInspector (reference) | ${mb(r.bytes)} | ${r.messages} | ${r.runMs.toFixed(0)} ms | ${(r.runMs / row.offMs).toFixed(2)}× |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printInspectionTable(await inspectionBench());
}
