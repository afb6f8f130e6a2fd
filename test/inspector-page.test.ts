/**
 * The inspector's page in headless Chromium (Debian's `chromium`; `.ci/run` installs it where
 * missing), against `agents-sdk inspect` fed by a replayed run: assertions on the page's DOM
 * mid-run and at the end, a task's transcript, the replay slider of a finished run. The last
 * screenshot is the README's (docs/inspector.png, with UPDATE_DOCS_SCREENSHOTS=1).
 */
import { screenshotPath, publishScreenshot } from './helpers/screenshots.js';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { launchChromium } from './helpers/chromium.js';

let world: FakeWorld;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  world = fakeWorld();
  server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  world?.cleanup();
});

async function openPage(hash = ''): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${server.url}${hash}`);
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

/** Every task node of the graph says completed (a page expression: these run in the browser). */
const ALL_COMPLETED = `[...document.querySelectorAll('#graph .task')].every((n) => n.getAttribute('data-status') === 'completed')`;
const statuses = (page: Page) => page.$$eval('#graph .task', (nodes) => Object.fromEntries(nodes.map((n) => [n.getAttribute('data-task'), n.getAttribute('data-status')])));

describe('the inspector page', () => {
  it('shows a run live: tasks running mid-run, all completed at the end, a task’s transcript, actors and statecharts', async () => {
    const page = await openPage();
    const shots = join(tmpdir(), `agents-sdk-inspector-${process.pid}`);
    mkdirSync(shots, { recursive: true });
    // the recorded pace, 4× faster: about 3 s, long enough to see tasks running
    const run = cli(
      ['run', 'examples/sdlc.yaml', '--replay', 'examples/recordings/sdlc', '--replay-speed', '4', '--state-dir', world.stateDir, '--run-id', 'demo', '--inspect', server.inspectUrl],
      world.env,
    );
    await page.waitForSelector('#graph .task[data-status="running"]', { timeout: 30_000 });
    const mid = await statuses(page);
    expect(Object.values(mid)).toContain('running');
    expect(Object.values(mid)).not.toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
    expect(await page.$eval('#runs li[data-run]', (li) => li.textContent)).toContain('demo');
    await page.screenshot({ path: join(shots, 'mid-run.png') });

    expect((await run).code).toBe(0);
    await page.waitForFunction(ALL_COMPLETED, { timeout: 30_000 });
    expect(await statuses(page)).toEqual({ plan: 'completed', build: 'completed', test: 'completed', review: 'completed', document: 'completed' });
    // each node: attempt, time, tokens, cost
    expect(await page.$eval('#graph .task[data-task="build"]', (n) => n.textContent)).toMatch(/completed · attempt 1 · [\d.]+s.*k tok · \$0\.0419/);
    await page.waitForFunction(`document.getElementById('run-title').textContent.includes('completed')`);

    // a click on a task: its transcript, and its session's statechart with the state lit
    await page.click('#graph .task[data-task="build"]');
    await page.waitForFunction(`document.querySelectorAll('#transcript .line').length > 5`);
    const lines = await page.$$eval('#transcript .line', (items) => items.map((li) => `${li.getAttribute('data-kind')}: ${li.textContent}`));
    expect(lines.some((l) => l.startsWith('tool:') && l.includes('Bash'))).toBe(true);
    expect(lines.some((l) => l.startsWith('text:'))).toBe(true);
    expect(await page.$eval('#chart', (svg) => svg.getAttribute('data-actor'))).toBe('build');
    const states = await page.$$eval('#chart .state-box', (boxes) => boxes.map((b) => `${b.getAttribute('data-state')}${b.classList.contains('active') ? '*' : ''}`));
    expect(states).toContain('idle');
    expect(states.filter((s) => s.endsWith('*'))).toHaveLength(1);
    // the actor tree: the orchestrator above the five sessions
    const actors = await page.$$eval('#actors li[data-actor]', (items) => items.map((li) => li.getAttribute('data-actor')));
    expect(actors).toEqual(expect.arrayContaining(['plan', 'build', 'test', 'review', 'document']));
    // the event log, filtered
    await page.type('#log-search', 'review');
    // The log is virtualised (rows drawn on the next frame): wait for rows, all of them matching.
    await page.waitForFunction(`(() => { const rows = [...document.querySelectorAll('#log li')]; return rows.length > 0 && rows.every((li) => li.textContent.toLowerCase().includes('review')); })()`);
    expect(await page.$$eval('#log li', (items) => items.length)).toBeGreaterThan(0);
    await page.evaluate(`{ const search = document.getElementById('log-search'); search.value = ''; search.dispatchEvent(new Event('input')); }`);
    await page.screenshot({ path: screenshotPath('inspector.png') });
    publishScreenshot('inspector.png');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('opens the finished run from its stored event log, and the slider replays it', async () => {
    const page = await openPage('#run=stored:demo');
    await page.waitForFunction(`document.querySelectorAll('#graph .task').length === 5 && ${ALL_COMPLETED}`, { timeout: 30_000 });
    const max = Number(await page.$eval('#slider', (s) => s.getAttribute('max')));
    expect(max).toBeGreaterThan(50);
    const slide = (value: number) => page.evaluate(`{ const slider = document.getElementById('slider'); slider.value = '${value}'; slider.dispatchEvent(new Event('input')); }`);
    await slide(1);
    await page.waitForFunction(`[...document.querySelectorAll('#graph .task')].every((n) => n.getAttribute('data-status') === 'pending')`);
    // part way: plan done, document not started
    let mid = 2;
    for (; mid < max; mid += 1) {
      await slide(mid);
      const s = await statuses(page);
      if (s.plan === 'completed') break;
    }
    const part = await statuses(page);
    expect(part.plan).toBe('completed');
    expect(part.document).toBe('pending');
    await slide(max);
    await page.waitForFunction(ALL_COMPLETED);
    await page.close();
  });
});
