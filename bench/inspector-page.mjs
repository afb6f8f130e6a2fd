/**
 * The inspector page in Chromium (issue 24): a 500-task run (a planner, then layers of 25
 * agents; the sdlc recordings) replayed by the CLI at `--replay-speed 4` with `--inspect`
 * feeding `agents-sdk inspect`, watched live by a page in headless Chromium (Debian's
 * chromium, puppeteer-core): the page's frame lag (from an entry's time to the frame that
 * draws it) p50 and p95, target p95 ≤ 1 s; then a 2,000-node graph drawn in the same page and
 * panned by dragging: the time per pan frame (target ≤ 50 ms: pannable).
 * Runnable alone: `npm run build && node bench/inspector-page.mjs` (BENCH_PAGE_TASKS,
 * BENCH_PAGE_SPEED change the size and pace).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startInspectorServer } from '../dist/index.js';
import { graphEntry } from '../dist/inspector/run-view.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECORDINGS = join(ROOT, 'examples/recordings/sdlc');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function workflow(dir, tasks) {
  const names = readdirSync(RECORDINGS);
  const spec = [{ id: 'plan', prompt: 'Plan it' }];
  for (let i = 1; i < tasks; i++) spec.push({ id: `t${i}`, prompt: `Do part ${i}`, depends_on: [i > 25 ? `t${i - 25}` : 'plan'] });
  const recordings = join(dir, 'recordings');
  spec.forEach((t, i) => {
    mkdirSync(join(recordings, t.id), { recursive: true });
    copyFileSync(join(RECORDINGS, names[i % names.length], 'raw_output.jsonl'), join(recordings, t.id, 'raw_output.jsonl'));
  });
  const file = join(dir, 'big.yaml');
  // JSON is YAML
  writeFileSync(file, JSON.stringify({ id: 'page-bench', max_parallel: 8, tasks: spec }));
  return { file, recordings };
}

const pct = (xs, p) => (xs.length ? xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] : NaN);

export async function inspectorPageBench({ tasks = Number(process.env.BENCH_PAGE_TASKS ?? 500), speed = Number(process.env.BENCH_PAGE_SPEED ?? 4), nodes = 2000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-page-bench-'));
  const server = await startInspectorServer({ port: 0, stateDir: join(dir, 'state') });
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
  try {
    const { file, recordings } = workflow(dir, tasks);
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 900 });
    await page.goto(server.url);
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'run', file, '--replay', recordings, '--replay-speed', String(speed), '--state-dir', join(dir, 'state'), '--run-id', 'page-bench', '--inspect', server.inspectUrl], { stdio: 'ignore' });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    const runMs = performance.now() - started;
    await page.waitForFunction(`document.getElementById('run-title').textContent.includes('page-bench') && !document.getElementById('run-title').textContent.includes('running')`, { timeout: 600_000 });
    const caughtUpMs = performance.now() - started;
    const lags = await page.evaluate('window.inspectorFrameLags.slice()');

    // A 2,000-node graph (layers of 40), drawn in the page as a run's graph, panned by dragging.
    const spec = Array.from({ length: nodes }, (_, i) => ({ id: `n${i}`, dependsOn: i >= 40 ? [`n${i - 40}`] : [], kind: 'agent', agent: null, model: null }));
    const entry = graphEntry(spec, Date.now());
    await page.evaluate((e) => {
      // eslint-disable-next-line no-undef
      onRun({ runId: 'graph-2000', workflowId: 'graph', key: 'graph-2000', machines: {} }, [e]);
    }, entry);
    await page.waitForFunction(`document.querySelectorAll('#graph .task').length === ${nodes}`, { timeout: 120_000 });
    await page.click('#zoom-in');
    const box = await page.$eval('#graph', (s) => s.getBoundingClientRect().toJSON());
    const x0 = box.left + 20;
    const y0 = box.top + 20;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    const frames = [];
    for (let i = 1; i <= 40; i++) {
      const t = performance.now();
      await page.mouse.move(x0 + i * 8, y0 + i * 5);
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      frames.push(performance.now() - t);
    }
    await page.mouse.up();
    return { tasks, speed, code, runMs, caughtUpMs, frames: lags.length, lagP50: pct(lags, 50), lagP95: pct(lags, 95), nodes, panP50: pct(frames, 50), panP95: pct(frames, 95) };
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printInspectorPageTable(r) {
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`\nThe inspector page in headless Chromium: a ${r.tasks}-task run live at --replay-speed ${r.speed} (exit ${r.code}), then a ${r.nodes}-node graph panned`);
  console.log('| measure | value | target |');
  console.log('| --- | --- | --- |');
  console.log(`| run time / page caught up with the end | ${s(r.runMs)} / ${s(r.caughtUpMs)} | |`);
  console.log(`| frame lag p50 (${r.frames} live frames) | ${s(r.lagP50)} | |`);
  console.log(`| frame lag p95 | ${s(r.lagP95)} | ≤ 1 s: ${r.lagP95 <= 1000 ? 'met' : 'missed'} |`);
  console.log(`| pan frame of a ${r.nodes}-node graph, p50 / p95 | ${r.panP50.toFixed(0)} ms / ${r.panP95.toFixed(0)} ms | p95 ≤ 50 ms: ${r.panP95 <= 50 ? 'met' : 'missed'} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) printInspectorPageTable(await inspectorPageBench());
