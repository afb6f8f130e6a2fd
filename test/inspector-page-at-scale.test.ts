/**
 * The inspector page at the size of real runs, in headless Chromium: 500 tasks live (a node
 * stays the same element from frame to frame, a click mid-run selects, the event log and the
 * actor tree make only the rows in view yet hold every event and session, the log keeps the
 * reader's place while the run goes on), the graph's zoom, pan, fit, minimap, search and
 * folded groups on 100 tasks, and 5 tasks, where everything fits in view.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonStateBackend, type InspectorServer, type WorkflowSpecInput } from '../src/index.js';
import type { RunSummary as InspectedRunSummary } from '../src/inspector/run-view.js';
import { bigSpec, type BigRunOptions } from './helpers/big-runs.js';
import type { FakeWorld } from './helpers/fake-claude.js';
import { screenshotPath } from './helpers/screenshots.js';
import { startInspectedWorld, type InspectedWorld } from './helpers/inspected-world.js';

let inspected: InspectedWorld;
let world: FakeWorld;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  inspected = await startInspectedWorld(500);
  ({ world, server, browser } = inspected);
}, 60_000);
afterAll(async () => {
  await inspected?.close();
});

/** Starts a replayed run fed to the inspector; `orchestrator` sends it signals. */
function startRun(runId: string, options: BigRunOptions) {
  const backend = new JsonStateBackend(world.stateDir);
  const orchestrator = inspected.orchestrator(backend);
  const completed = new Set<string>();
  let reached: () => void = () => undefined;
  /** Resolves once every task but the gated one completed (the run then waits for `go`). */
  const waiting = new Promise<void>((resolve) => (reached = resolve));
  orchestrator.bus.subscribe('task.completed', (e) => {
    completed.add(e.payload.record.taskId);
    if (completed.has('checks.docs') && completed.has('checks.lint') && completed.has(`t${options.tasks - 2}`) && [...completed].filter((id) => /^t\d+$/.test(id)).length === options.tasks - 2) reached();
  });
  const done = orchestrator.runWorkflow(bigSpec(runId, options) as WorkflowSpecInput, { runId }).finally(() => backend.close());
  return { orchestrator, done, waiting };
}

async function liveKey(runId: string): Promise<string> {
  for (;;) {
    const runs = (await (await fetch(new URL('/api/runs', server.url))).json()) as InspectedRunSummary[];
    const live = runs.find((r) => r.runId === runId && r.source === 'live');
    if (live) return live.key;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openPage(hash: string): Promise<Page & { errors: string[] }> {
  const page = (await browser.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  await page.setViewport({ width: 1440, height: 900 });
  await page.goto(`${server.url}${hash}`);
  return page;
}

/** Rows a virtualised list holds (it makes elements only for those in view). */
const ROWS = (id: string) => `Number(document.getElementById('${id}').dataset.rows)`;
const status = (page: Page, id: string) => page.$eval(`#graph .task[data-task="${id}"]`, (n) => n.getAttribute('data-status'));
const viewport = (page: Page) => page.$eval('#viewport', (g) => g.getAttribute('transform')!);

describe('the inspector page at scale', () => {
  it('500 tasks live: the same elements frame to frame, a click mid-run, every event and session in lists that keep the reader’s place', async () => {
    const run = startRun('big500', { tasks: 500, gate: true, group: true });
    // Opened once everything but the gated task is done: the run waits, live, for the signal.
    await run.waiting;
    const page = await openPage(`#run=${await liveKey('big500')}`);
    await page.waitForFunction(`document.querySelector('#graph .task[data-task="t498"]')?.getAttribute('data-status') === 'completed'`, { timeout: 60_000 });
    expect(await status(page, 'gate')).toBe('waiting');
    await page.evaluate(`window.t1Node = document.querySelector('#graph .task[data-task="t1"]')`);
    expect(await page.$eval('#run-title', (t) => t.textContent)).toContain('running');
    // Over 150 nodes: the group starts folded; a search unfolds it, centres the task and selects it.
    expect(await page.$eval('#graph .cluster[data-group="checks"]', (g) => g.classList.contains('collapsed'))).toBe(true);
    expect(await page.$eval('#graph .task[data-task="checks.lint"]', (g) => (g as unknown as { style: { display: string } }).style.display)).toBe('none');
    await page.type('#graph-search', 't250');
    await page.keyboard.press('Enter');
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === 't250'`);
    // a click on a node mid-run: the node under the pointer is the page's (never a detached copy)
    await page.screenshot({ path: screenshotPath('inspector-500-tasks.png') });
    const below = (await page.evaluate(`(() => { const r = document.querySelector('#graph .task[data-task="t250"]').getBoundingClientRect(); for (let dy = 4; dy < 300; dy += 4) { const n = document.elementFromPoint(r.left + r.width / 2, r.top - dy)?.closest('.task'); if (n) return n.getAttribute('data-task'); } return null; })()`)) as string;
    expect(below).toMatch(/^t\d+$/);
    await page.click(`#graph .task[data-task="${below}"]`);
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === '${below}'`);
    expect(await page.$eval(`#graph .task[data-task="${below}"]`, (g) => g.classList.contains('selected'))).toBe(true);

    // The event log: every event, only the rows in view made; scrolled up, it stays there as events come.
    const logged = (await page.evaluate(ROWS('log'))) as number;
    // it follows the end while the reader is there
    expect(await page.$eval('#log', (l) => l.scrollTop + l.clientHeight >= l.scrollHeight - 20)).toBe(true);
    expect(logged).toBeGreaterThan(1000);
    expect(await page.$$eval('#log li', (items) => items.length)).toBeLessThan(120);
    await page.$eval('#log', (l) => (l.scrollTop = 0));
    await page.waitForFunction(`document.querySelector('#log .spacer').style.height === '0px'`);
    const firstLine = await page.$eval('#log li', (li) => li.textContent);
    // The actor tree: the orchestrator and every session, not the last 200.
    expect(await page.evaluate(ROWS('actors'))).toBeGreaterThan(500);
    await page.type('#actor-search', 't498');
    await page.waitForSelector('#actors li[data-actor="t498"]');
    expect(await page.$$eval('#actors li', (items) => items.map((li) => li.getAttribute('data-actor')))).toEqual(['t498']);

    await run.orchestrator.signal('big500', 'go');
    expect((await run.done).status).toBe('completed');
    await page.waitForFunction(`document.getElementById('run-title').textContent.includes('completed')`, { timeout: 60_000 });
    expect(await page.evaluate(ROWS('log'))).toBeGreaterThan(logged);
    expect(await page.$eval('#log', (l) => l.scrollTop)).toBe(0);
    expect(await page.$eval('#log .spacer', (d) => (d as unknown as { style: { height: string } }).style.height)).toBe('0px');
    expect(await page.$eval('#log li', (li) => li.textContent)).toBe(firstLine);
    // The node made at the start is the one on the page at the end.
    expect(await page.evaluate(`window.t1Node === document.querySelector('#graph .task[data-task="t1"]') && window.t1Node.isConnected`)).toBe(true);
    expect(await status(page, 't499')).toBe('completed');
    expect(page.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('100 tasks: fit, zoom, pan by dragging, a minimap to move by, search, a group folded and unfolded by a click', async () => {
    const run = startRun('big100', { tasks: 100, group: true });
    expect((await run.done).status).toBe('completed');
    const page = await openPage('#run=stored:big100');
    await page.waitForFunction(`document.querySelectorAll('#graph .task').length === 102 && document.getElementById('run-title').textContent.includes('completed')`, { timeout: 60_000 });
    // Fitted: the whole graph inside the panel, so no minimap.
    await page.waitForFunction(`document.getElementById('minimap').classList.contains('off')`);
    const panel = await page.$eval('#graph', (s) => s.getBoundingClientRect().toJSON());
    const nodes = await page.$eval('#viewport', (g) => g.getBoundingClientRect().toJSON());
    expect(nodes.left).toBeGreaterThanOrEqual(panel.left - 1);
    expect(nodes.right).toBeLessThanOrEqual(panel.right + 1);
    expect(nodes.bottom).toBeLessThanOrEqual(panel.bottom + 1);
    const fitted = await viewport(page);
    const scale = (t: string) => Number(/scale\(([\d.e-]+)\)/.exec(t)![1]);
    await page.click('#zoom-in');
    expect(scale(await viewport(page))).toBeCloseTo(scale(fitted) * 1.4, 5);
    await page.click('#zoom-in');
    await page.click('#zoom-in');
    // Zoomed in: the minimap shows where the view is; a drag on the background pans.
    expect(await page.$eval('#minimap', (c) => c.classList.contains('off'))).toBe(false);
    const before = await viewport(page);
    const x0 = panel.left + 5;
    const y0 = panel.top + 5;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + 60, y0 + 40, { steps: 4 });
    await page.mouse.up();
    const translate = (t: string) => /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(t)!.slice(1).map(Number);
    const [bx, by] = translate(before);
    const [ax, ay] = translate(await viewport(page));
    expect(ax! - bx!).toBeCloseTo(60, 0);
    expect(ay! - by!).toBeCloseTo(40, 0);
    // The minimap: a click moves the view there.
    const mini = await page.$eval('#minimap', (c) => c.getBoundingClientRect().toJSON());
    await page.mouse.click(mini.left + mini.width - 3, mini.top + mini.height / 2);
    expect(translate(await viewport(page))[0]).toBeLessThan(ax!);
    // Search: an unknown id says so; a known one is centred and selected.
    await page.type('#graph-search', 'nope');
    await page.keyboard.press('Enter');
    expect(await page.$eval('#search-result', (s) => s.textContent)).toBe('no task nope');
    await page.$eval('#graph-search', (i) => ((i as unknown as { value: string }).value = ''));
    await page.type('#graph-search', 't77');
    await page.keyboard.press('Enter');
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === 't77'`);
    const node = await page.$eval('#graph .task[data-task="t77"]', (g) => g.getBoundingClientRect().toJSON());
    expect(Math.abs(node.left + node.width / 2 - (panel.left + panel.width / 2))).toBeLessThan(2);
    // Under 150 nodes a group is drawn open; a click on its box folds it (its tasks hidden), another unfolds it.
    await page.click('#fit');
    const folded = () => page.evaluate(`[document.querySelector('#graph .cluster[data-group="checks"]').classList.contains('collapsed'), document.querySelector('#graph .task[data-task="checks.lint"]').style.display]`);
    expect(await folded()).toEqual([false, '']);
    const corner = () => page.click('#graph .cluster[data-group="checks"] .cluster-label');
    await corner();
    await page.waitForFunction(`document.querySelector('#graph .cluster[data-group="checks"]').classList.contains('collapsed')`);
    expect(await folded()).toEqual([true, 'none']);
    expect(await page.$eval('#graph .cluster[data-group="checks"] .cluster-label', (t) => t.textContent)).toBe('▸ checks · 2/2 done');
    await corner();
    await page.waitForFunction(`!document.querySelector('#graph .cluster[data-group="checks"]').classList.contains('collapsed')`);
    expect(await folded()).toEqual([false, '']);
    // Zoomed far out, names are not drawn (a big graph stays light to pan).
    for (let i = 0; i < 6; i++) await page.click('#zoom-out');
    expect(await page.$eval('#graph', (s) => s.classList.contains('far'))).toBe(true);
    await page.click('#fit');
    await page.screenshot({ path: screenshotPath('inspector-100-tasks.png') });
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('5 tasks: everything in view, the sequence of events between the orchestrator and its sessions, filtered by task', async () => {
    const run = startRun('small5', { tasks: 5 });
    expect((await run.done).status).toBe('completed');
    const page = await openPage('#run=stored:small5');
    await page.waitForFunction(`document.querySelectorAll('#graph .task[data-status="completed"]').length === 5`, { timeout: 30_000 });
    expect(await page.$eval('#minimap', (c) => c.classList.contains('off'))).toBe(true);
    expect(await page.$eval('#graph', (s) => s.classList.contains('far'))).toBe(false);
    await page.click('#lower-tabs button[data-tab="sequence"]');
    await page.waitForSelector('#sequence li');
    expect(await page.$$eval('#seq-lanes .seq-head', (h) => h.map((x) => x.textContent))).toEqual(['orchestrator', 'sessions']);
    const all = await page.$$eval('#sequence li', (items) => items.map((li) => li.getAttribute('data-task')));
    expect(all.every((t) => ['', 'plan', 't1', 't2', 't3', 't4'].includes(t!))).toBe(true);
    expect(new Set(all).size).toBeGreaterThan(2);
    await page.type('#seq-filter', 't3');
    await page.waitForFunction(`document.getElementById('seq-lanes').textContent === 'orchestratort3' && document.querySelectorAll('#sequence li').length > 0`);
    expect(await page.$$eval('#sequence li', (items) => items.every((li) => li.getAttribute('data-task') === 't3'))).toBe(true);
    expect(await page.$$eval('#seq-lanes .seq-head', (h) => h.map((x) => x.textContent))).toEqual(['orchestrator', 't3']);
    const arrows = await page.$$eval('#sequence li', (items) => items.map((li) => `${li.getAttribute('data-type')} ${li.querySelector('.seq-arrow')!.className}`));
    expect(arrows).toContain('task.started seq-arrow right');
    expect(arrows).toContain('task.completed seq-arrow left');
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);
});
