/**
 * The inspector page's statecharts (headless Chromium): each machine is laid out by ELK
 * (elkjs, served by the inspector itself, no network), edges routed orthogonally inside the
 * view box, every transition labelled with its event and guard (`EVENT [guard]`, a guarded
 * `always` by its guard alone), no label under a state box, and the transition just taken lit.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonStateBackend, type InspectorServer, type WorkflowSpecInput } from '../src/index.js';
import { bigSpec } from './helpers/big-runs.js';
import type { FakeWorld } from './helpers/fake-claude.js';
import { startInspectedWorld, type InspectedWorld } from './helpers/inspected-world.js';

let inspected: InspectedWorld;
let world: FakeWorld;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  inspected = await startInspectedWorld(5);
  ({ world, server, browser } = inspected);
  const backend = new JsonStateBackend(world.stateDir);
  const orchestrator = inspected.orchestrator(backend);
  try {
    await orchestrator.runWorkflow(bigSpec('charts', { tasks: 5 }) as WorkflowSpecInput, { runId: 'charts' });
  } finally {
    await backend.close();
  }
}, 60_000);
afterAll(async () => {
  await inspected?.close();
});

interface Chart {
  outside: string[];
  labelsOutside: number;
  overlaps: string[];
  textOutsideItsLabel: number;
  labels: Record<string, string[]>;
  edges: string[];
  taken: string[];
  active: string[];
}

/**
 * What the drawn chart holds, measured in the page (plain JS, run by Chromium): points and
 * label rects against the view box, label rects against the state boxes, label text against its rect.
 */
const MEASURE = `((svg) => {
  const [vx, vy, vw, vh] = svg.getAttribute('viewBox').split(' ').map(Number);
  const inView = (x, y) => x >= vx && x <= vx + vw && y >= vy && y <= vy + vh;
  const boxes = [...svg.querySelectorAll('.state-box')].map((g) => {
    const m = g.transform.baseVal.consolidate().matrix;
    const r = g.querySelector('rect');
    return { key: g.getAttribute('data-state'), x: m.e, y: m.f, w: Number(r.getAttribute('width')), h: Number(r.getAttribute('height')) };
  });
  const labelBoxes = [...svg.querySelectorAll('.tlabel-box')].map((g) => {
    const r = g.querySelector('rect.tlabel-bg');
    const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((a) => Number(r.getAttribute(a)));
    return { edge: g.getAttribute('data-from') + '>' + g.getAttribute('data-to'), x, y, w, h, text: g.querySelector('text').getBBox(), lines: [...g.querySelectorAll('tspan')].map((s) => s.textContent) };
  });
  const edges = [...svg.querySelectorAll('polyline.transition')];
  const name = (p) => p.getAttribute('data-from') + '>' + p.getAttribute('data-to');
  return {
    outside: edges.flatMap((p) => p.getAttribute('points').split(' ').map((xy) => xy.split(',').map(Number)).filter(([x, y]) => !inView(x, y)).map(([x, y]) => name(p) + ' ' + x + ',' + y)),
    labelsOutside: labelBoxes.filter((l) => !inView(l.x, l.y) || !inView(l.x + l.w, l.y + l.h)).length,
    overlaps: labelBoxes.flatMap((l) => boxes.filter((b) => l.x < b.x + b.w && b.x < l.x + l.w && l.y < b.y + b.h && b.y < l.y + l.h).map((b) => l.edge + ' on ' + b.key)),
    textOutsideItsLabel: labelBoxes.filter((l) => l.text.x < l.x - 0.5 || l.text.y < l.y - 0.5 || l.text.x + l.text.width > l.x + l.w + 0.5 || l.text.y + l.text.height > l.y + l.h + 0.5).length,
    labels: Object.fromEntries(labelBoxes.map((l) => [l.edge, l.lines])),
    edges: edges.map(name),
    taken: [...svg.querySelectorAll('polyline.taken')].map(name),
    active: [...svg.querySelectorAll('.state-box.active')].map((b) => b.getAttribute('data-state')),
  };
})(document.getElementById('chart'))`;

const measure = (page: Page) => page.evaluate(MEASURE) as Promise<Chart>;

async function openRun(): Promise<Page & { errors: string[]; elsewhere: string[] }> {
  const page = (await browser.newPage()) as Page & { errors: string[]; elsewhere: string[] };
  page.errors = [];
  page.elsewhere = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith('ws://')) page.elsewhere.push(request.url());
  });
  await page.setViewport({ width: 1440, height: 900 });
  await page.goto(`${server.url}#run=stored:charts`);
  await page.waitForFunction(`document.getElementById('run-title').textContent.includes('completed')`, { timeout: 60_000 });
  return page;
}

describe('statecharts in the inspector page', () => {
  it('the orchestrator’s chart: laid out by ELK, its edges and labels in view, each guard named, no label under a box', async () => {
    const page = await openRun();
    await page.click('#lower-tabs button[data-tab="chart"]');
    await page.waitForFunction(`document.getElementById('chart').dataset.layout === 'elk' && !!document.querySelector('#chart .state-box[data-state="draining"]')`);
    const chart = await measure(page);
    expect(chart.outside).toEqual([]);
    expect(chart.labelsOutside).toBe(0);
    expect(chart.overlaps).toEqual([]);
    expect(chart.textOutsideItsLabel).toBe(0);
    // 16 transitions, each on its own line with its guard: none is a bare `always`
    const lines = Object.values(chart.labels).flat();
    expect(lines).toHaveLength(16);
    expect(lines.filter((l) => !/^\[.+\]$/.test(l))).toEqual([]);
    expect(chart.labels['waiting>running']).toEqual(['[!onlyWaiting]']);
    expect(chart.labels['running>completed']).toEqual(['[settledAs(completed)]']);
    expect(chart.labels['running>draining']).toEqual(['[halted]']);
    expect(chart.labels['running>waiting']).toEqual(['[onlyWaiting]']);
    expect(chart.labels['draining>failed']).toEqual(['[settledAs(failed)]']);
    expect(chart.active).toEqual(['completed']);
    expect(chart.taken).toEqual(['running>completed']);
    expect(page.elsewhere).toEqual([]);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('a session’s chart: idle → failed inside the view, events with their guards, retries and loops drawn', async () => {
    const page = await openRun();
    await page.click('#graph .task[data-task="t2"]');
    await page.click('#lower-tabs button[data-tab="chart"]');
    await page.waitForFunction(`document.getElementById('chart').dataset.actor === 't2' && document.getElementById('chart').dataset.layout === 'elk'`);
    const chart = await measure(page);
    expect(chart.edges).toContain('idle>failed');
    expect(chart.outside).toEqual([]);
    expect(chart.labelsOutside).toBe(0);
    expect(chart.overlaps).toEqual([]);
    expect(chart.textOutsideItsLabel).toBe(0);
    expect(chart.labels['idle>failed']).toEqual(['EXECUTE [budgetExhausted]']);
    expect(chart.labels['running>retrying']).toEqual(['EXECUTOR.FAILED [canRetry]']);
    expect(chart.labels['idle>running']).toEqual(['EXECUTE', '[hasPendingRequest]']);
    // an event that leads back to its own state is a loop
    expect(chart.labels['failed>failed']).toEqual(['EXECUTE [budgetExhausted]']);
    expect(chart.active).toEqual(['completed']);
    expect(chart.taken).toEqual(['running>completed']);
    expect(page.elsewhere).toEqual([]);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);
});
