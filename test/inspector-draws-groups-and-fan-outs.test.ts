/**
 * The inspector page (headless Chromium) of a run with a group and a fan-out of 60, from its
 * stored event log: the group is a box around its tasks with what they did; the fan-out's node
 * fills in with a chip per instance as they start (replayed with the slider: a click on a chip
 * shows that instance), and past what fits, a bar by status. Live, the group's box is there
 * too (`run --inspect`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import { type RunSummary as InspectedRunSummary } from '../src/inspector/run-view.js';
import { graphEntry } from '../src/inspector/run-view.js';
import { cli } from './helpers/cli.js';
import { screenshotPath } from './helpers/screenshots.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { launchChromium } from './helpers/chromium.js';

let world: FakeWorld;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  world = fakeWorld();
  // The server reads stored runs' checkpoints (their groups and dependencies) from a state directory there at its start.
  mkdirSync(world.stateDir, { recursive: true });
  server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  world?.cleanup();
});

const WORKFLOW = `
id: clusters
max_parallel: 8
tasks:
  - id: plan
    command: [node, -e, "process.stdout.write(JSON.stringify(Array.from({length: 60}, (_, k) => k)))"]
    output: json
  - id: impl
    depends_on: [plan]
    for_each: tasks.plan.json
    allow_failure: true
    command: [node, -e, "process.exit(process.argv[1] === '2' ? 3 : 0)", "{{item}}"]
  - id: checks
    depends_on: [plan]
    tasks:
      - id: lint
        prompt: lint it
      - id: docs
        when: size(tasks.plan.json) > 100
        prompt: write docs
  - id: ship
    depends_on: [impl, checks]
    command: [node, -e, "1"]
`;

const box = (page: Page, selector: string) =>
  page.$eval(selector, (e) => {
    const b = e.getBoundingClientRect();
    return { x: b.left, y: b.top, right: b.right, bottom: b.bottom };
  });
const slide = (page: Page, value: number) => page.evaluate(`{ const slider = document.getElementById('slider'); slider.value = '${value}'; slider.dispatchEvent(new Event('input')); }`);

describe('the inspector draws groups and fan-outs', () => {
  it('a group as a box around its tasks, a fan-out filling in with its instances as they start', async () => {
    const flow = join(world.root, 'clusters.yaml');
    writeFileSync(flow, WORKFLOW);
    const run = await cli(['run', flow, '--state-dir', world.stateDir, '--run-id', 'clusters', '--inspect', server.inspectUrl], world.env);
    expect(run.code, run.stderr).toBe(0);

    // Live: the group's box came with the spec.
    const runs = (await (await fetch(new URL('/api/runs', server.url))).json()) as InspectedRunSummary[];
    const live = runs.find((r) => r.runId === 'clusters' && r.source === 'live')!;
    const livePage = await browser.newPage();
    await livePage.goto(`${server.url}#run=${live.key}`);
    await livePage.waitForSelector('#graph .cluster[data-group="checks"]', { timeout: 30_000 });
    await livePage.close();

    const page = (await browser.newPage()) as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    await page.setViewport({ width: 1440, height: 900 });
    await page.goto(`${server.url}#run=stored:clusters`);
    await page.waitForFunction(`document.querySelectorAll('#graph .task').length === 5 && document.getElementById('run-title').textContent.includes('completed')`, { timeout: 30_000 });

    // The group: a box around its two tasks, saying what they did.
    const cluster = await box(page, '#graph .cluster[data-group="checks"] rect');
    for (const id of ['checks.lint', 'checks.docs']) {
      const node = await box(page, `#graph .task[data-task="${id}"] > rect`);
      expect(node.x).toBeGreaterThan(cluster.x);
      expect(node.y).toBeGreaterThan(cluster.y);
      expect(node.right).toBeLessThan(cluster.right);
      expect(node.bottom).toBeLessThan(cluster.bottom);
    }
    expect(await page.$eval('#graph .cluster[data-group="checks"]', (g) => [g.getAttribute('data-status'), g.textContent])).toEqual(['completed', 'checks · 2/2 done, 1 skipped']);
    const impl = await box(page, '#graph .task[data-task="impl"] > rect');
    expect(impl.right <= cluster.x || impl.x >= cluster.right || impl.bottom <= cluster.y || impl.y >= cluster.bottom).toBe(true);

    // At the end: 60 instances are more than fit, a bar by status.
    expect(await page.$eval('#graph .task[data-task="impl"] .repeats', (g) => g.getAttribute('data-count'))).toBe('60');
    expect(await page.$$eval('#graph .task[data-task="impl"] .chip-bar', (bars) => bars.map((b) => b.getAttribute('data-status')))).toEqual(['completed', 'failed']);
    expect(await page.$eval('#graph .task[data-task="impl"] .tmeta.repeat-count', (t) => t.textContent)).toBe('60/60 done, 1 failed');

    // Replayed from the start: the node fills in, a chip per instance that started, in item order.
    const max = Number(await page.$eval('#slider', (s) => s.getAttribute('max')));
    const chips = () => page.$$eval('#graph .task[data-task="impl"] rect.chip', (cs) => cs.map((c) => `${c.getAttribute('data-task')} ${c.getAttribute('data-status')}`));
    let early: string[] = [];
    for (let at = 1; at < max && early.length < 5; at += 5) {
      await slide(page, at);
      early = await chips();
    }
    expect(early.length).toBeGreaterThanOrEqual(5);
    expect(early.length).toBeLessThan(48);
    expect(early[0]).toMatch(/^impl\[0\] /);
    // The fan-out's own record is pending until its last instance ends: its node runs meanwhile.
    expect(await page.$eval('#graph .task[data-task="impl"]', (g) => g.getAttribute('data-status'))).toBe('running');
    expect(early.map((c) => Number(/\[(\d+)\]/.exec(c)![1]))).toEqual([...early.keys()]);
    let later = early;
    for (let at = Number(await page.$eval('#slider', (s) => (s as unknown as { value: string }).value)); at < max && later.length < 30; at += 5) {
      await slide(page, at);
      later = await chips();
    }
    expect(later.length).toBeGreaterThan(early.length);
    expect(later).toContain('impl[2] failed');
    await page.click('#graph .task[data-task="impl"] rect.chip[data-task="impl[2]"]');
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === 'impl[2]'`);
    expect(await page.$eval('#task-details', (d) => d.textContent)).toContain('COMMAND_FAILED');
    await page.screenshot({ path: screenshotPath('inspector-groups-and-fan-outs.png') });
    expect(page.errors).toEqual([]);
    await page.close();
  });

  it('a looping group: a chip per iteration inside its node, in order, a click shows its tasks', async () => {
    const flow = join(world.root, 'loop.yaml');
    writeFileSync(
      flow,
      `id: fix-loop
tasks:
  - id: fix_tests
    repeat: { until: tasks.test.exit_code == 0, max: 3 }
    tasks:
      - id: test
        command: [node, -e, "process.exit(Number(process.argv[1]) >= 2 ? 0 : 1)", "{{iteration}}"]
        allow_failure: true
        retry_count: 1
      - id: resolve
        depends_on: [test]
        when: tasks.test.status == "failed"
        prompt: "resolve iteration {{iteration}}"
  - id: ship
    depends_on: [fix_tests]
    command: [node, -e, "1"]
`,
    );
    const run = await cli(['run', flow, '--state-dir', world.stateDir, '--run-id', 'loop'], world.env);
    expect(run.code, run.stderr).toBe(0);
    const page = (await browser.newPage()) as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    await page.setViewport({ width: 1440, height: 900 });
    await page.goto(`${server.url}#run=stored:loop`);
    await page.waitForFunction(`document.querySelectorAll('#graph .task[data-task="fix_tests"] rect.chip').length === 2`, { timeout: 30_000 });
    const chips = await page.$$eval('#graph .task[data-task="fix_tests"] rect.chip', (cs) => cs.map((c) => [c.getAttribute('data-task'), c.getAttribute('data-status'), c.getAttribute('data-select')]));
    expect(chips).toEqual([
      ['fix_tests#1', 'failed', 'fix_tests#1.resolve'],
      ['fix_tests#2', 'completed', 'fix_tests#2.resolve'],
    ]);
    expect(await page.$eval('#graph .task[data-task="fix_tests"] .repeats', (g) => g.getAttribute('data-word'))).toBe('iterations');
    await page.click('#graph .task[data-task="fix_tests"] rect.chip[data-task="fix_tests#2"]');
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === 'fix_tests#2.resolve'`);
    expect(await page.$eval('#task-details', (d) => d.textContent)).toContain('tasks.test.status == "failed" is false');
    await page.screenshot({ path: screenshotPath('inspector-loop.png') });
    expect(page.errors).toEqual([]);
    await page.close();
  });

  it('places nested groups inside each other, and a graph without groups has no boxes', () => {
    const spec = (id: string, dependsOn: string[] = []) => ({ id, dependsOn, kind: 'agent', agent: null, model: null });
    const entry = graphEntry([spec('a'), spec('g.x', ['a']), spec('g.inner.y', ['a']), spec('z', ['g.x', 'g.inner.y'])], 0, { g: ['g.x', 'g.inner'], 'g.inner': ['g.inner.y'] });
    const [outer, inner] = entry.clusters!;
    expect([outer!.id, inner!.id]).toEqual(['g', 'g.inner']);
    expect(outer!.tasks).toEqual(['g.x', 'g.inner.y']);
    expect(inner!.x).toBeGreaterThan(outer!.x);
    expect(inner!.y).toBeGreaterThan(outer!.y);
    expect(inner!.x + inner!.width).toBeLessThan(outer!.x + outer!.width);
    expect(Math.min(...entry.clusters!.map((c) => c.y))).toBeGreaterThanOrEqual(4);
    expect(entry.layout.height).toBeGreaterThanOrEqual(outer!.y + outer!.height);
    // A group's name that is no task of the graph draws nothing.
    expect(graphEntry([spec('a')], 0, { g: ['ghost'] }).clusters).toEqual([]);
    expect(graphEntry([spec('a')], 0).clusters).toBeUndefined();
    expect(graphEntry([spec('a')], 0, { empty: [] }).clusters).toEqual([]);
  });
});
