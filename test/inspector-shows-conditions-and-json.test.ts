/**
 * The inspector page's task details (above a clicked task's transcript): a task skipped by its
 * `when:` with the reason, a failure `allow_failure` let pass marked as allowed, and a task's
 * structured output (`json`), folded. Live (`run --inspect`) and from a stored run's event log.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import { type RunSummary as InspectedRunSummary } from '../src/inspector/run-view.js';
import { COMPACT_JSON_CHARS, compactTask } from '../src/inspector/inspection-protocol.js';
import { cli } from './helpers/cli.js';
import { screenshotPath } from './helpers/screenshots.js';
import { record as taskRecord } from './helpers/records.js';
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

async function openRun(key: string, taskCount: number): Promise<Page & { errors: string[] }> {
  const page = (await browser.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  await page.setViewport({ width: 1440, height: 900 });
  await page.goto(`${server.url}#run=${key}`);
  await page.waitForFunction(`document.querySelectorAll('#graph .task').length === ${taskCount} && document.getElementById('run-title').textContent.includes('completed')`, { timeout: 30_000 });
  return page;
}

/** What the details say of a task, once it is clicked. */
async function details(page: Page, taskId: string): Promise<{ rows: string[]; json: string | null; open: boolean | null }> {
  await page.click(`#graph .task[data-task="${taskId}"]`);
  await page.waitForFunction(`document.getElementById('task-details').dataset.task === ${JSON.stringify(taskId)}`);
  return page.$eval('#task-details', (box) => ({
    rows: [...box.querySelectorAll('p')].map((p) => p.textContent ?? ''),
    json: box.querySelector('details.json pre')?.textContent ?? null,
    open: (box.querySelector('details.json') as unknown as { open: boolean } | null)?.open ?? null,
  }));
}

const ROUTING = ['examples/patterns/routing.yaml', '--replay', 'examples/recordings/patterns-routing', '--replay-speed', '0'];

describe('inspector task details', () => {
  it('live: a skipped branch shows its when reason; the classifier its json, folded until opened', async () => {
    const run = await cli(['run', ...ROUTING, '--state-dir', world.stateDir, '--run-id', 'live-route', '--inspect', server.inspectUrl], world.env);
    expect(run.code).toBe(0);
    const runs = (await (await fetch(new URL('/api/runs', server.url))).json()) as InspectedRunSummary[];
    const live = runs.find((r) => r.runId === 'live-route' && r.source === 'live');
    expect(live).toBeDefined();
    const page = await openRun(live!.key, 5);

    expect(await details(page, 'answer')).toEqual({
      rows: ['statusskipped', 'skipped by whenwhen: tasks.classify.json.kind == "question" is false (tasks.classify.json.kind = "bug")'],
      json: null,
      open: null,
    });
    expect(await page.$eval('#graph .task[data-task="answer"] title', (t) => t.textContent)).toBe('answer: skipped: when: tasks.classify.json.kind == "question" is false (tasks.classify.json.kind = "bug")');

    const classify = await details(page, 'classify');
    expect(classify.rows).toEqual(['statuscompleted']);
    expect(classify.open).toBe(false);
    expect(JSON.parse(classify.json!)).toEqual({ kind: 'bug', summary: 'Saving settings with an empty display name crashes the settings page', area: 'settings' });
    await page.click('#task-details details.json summary');
    await page.waitForFunction(`document.querySelector('#task-details details.json').open`);
    await page.screenshot({ path: screenshotPath('inspector-routing.png') });
    expect(page.errors).toEqual([]);
    await page.close();
  });

  it('stored: an allowed failure is marked, in the details and on its node; a plain skip (dependency failed) says why', async () => {
    const flow = join(world.root, 'allowed.yaml');
    writeFileSync(
      flow,
      `id: lint-then-build
on_failure: continue
tasks:
  - id: lint
    allow_failure: true
    command: [node, -e, "process.exit(1)"]
  - id: build
    depends_on: [lint]
    command: [node, -e, "process.exit(2)"]
  - id: ship
    depends_on: [build]
    command: [node, -e, "1"]
`,
    );
    const run = await cli(['run', flow, '--state-dir', world.stateDir, '--run-id', 'allowed'], world.env);
    expect(run.code).not.toBe(0);
    const page = (await browser.newPage()) as Page;
    await page.goto(`${server.url}#run=stored:allowed`);
    await page.waitForFunction(`document.querySelectorAll('#graph .task[data-status="skipped"]').length === 1`, { timeout: 30_000 });
    const lint = await details(page, 'lint');
    expect(lint.rows[0]).toBe('statusfailed (allowed)');
    expect(lint.rows[1]).toMatch(/^error \(allowed\)COMMAND_FAILED: /);
    expect(await page.$eval('#task-details p.status', (p) => p.getAttribute('data-allowed-failure'))).toBe('true');
    expect(await page.$eval('#graph .task[data-task="lint"] .tstatus', (t) => t.textContent)).toMatch(/^failed \(allowed\) · attempt 1/);
    const build = await details(page, 'build');
    expect(build.rows[0]).toBe('statusfailed');
    expect(await page.$eval('#graph .task[data-task="build"] .tstatus', (t) => t.textContent)).toMatch(/^failed · attempt 1/);
    const ship = await details(page, 'ship');
    expect(ship.rows[0]).toBe('statusskipped');
    expect(ship.rows[1]).toMatch(/^reason.*build/);
    await page.close();
  });
});

/** A task record as the inspector reads it (its tokens a plain map). */
const record = (...args: Parameters<typeof taskRecord>) => ({ ...taskRecord(...args), tokens: { ...taskRecord(...args).tokens } as Record<string, number> });

describe('what the page is sent of a task', () => {
  it('its skip reason, allowed failure and json (indented, cut at 4,000 characters); none of them when it has none', () => {
    const plain = compactTask(record('a'));
    expect(Object.keys(plain).sort()).toEqual(['attempts', 'costUsd', 'endedAt', 'error', 'id', 'startedAt', 'status', 'tokens']);
    expect(compactTask({ ...record('b', 'skipped'), reason: 'when: x is false', skippedBy: 'when' })).toMatchObject({ reason: 'when: x is false', skippedBy: 'when' });
    expect(compactTask({ ...record('c', 'failed'), allowedFailure: true }).allowedFailure).toBe(true);
    expect(compactTask({ ...record('d'), json: { ok: true } }).json).toBe('{\n  "ok": true\n}');
    const long = compactTask({ ...record('e'), json: { text: 'x'.repeat(10_000) } }).json!;
    expect(long.length).toBeLessThan(COMPACT_JSON_CHARS + 100);
    expect(long).toMatch(/x\n… \(\d+ more characters\)$/);
  });
});
