/**
 * `agents-sdk report` shows what control flow decided: the branches a `when:` skipped with their
 * reason (the expression and the values it saw) beside the branch taken, a failure
 * `allow_failure` let pass marked as allowed, and each task's structured output (`json`),
 * folded. Checked in headless Chromium, as a reader sees the page.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderRunReportHtml, validateWorkflow } from '../src/index.js';
import { buildRunReport } from '../src/report/run-report.js';
import { cli } from './helpers/cli.js';
import { checkpoint, record } from './helpers/records.js';
import { launchChromium } from './helpers/chromium.js';

let root: string;
let stateDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-report-cf-'));
  stateDir = join(root, 'state');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function report(runId: string): Promise<Page> {
  const file = join(root, `${runId}.html`);
  const out = await cli(['report', runId, '-o', file, '--state-dir', stateDir]);
  expect(out.code).toBe(0);
  const page = await browser.newPage();
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return page;
}

/** An element as the page's code reads it (the tests compile without the DOM's types). */
type Shown = { innerText: string };

const text = (page: Page, selector: string) => page.$eval(selector, (e) => (e as unknown as Shown).innerText);

describe('report of a routing run', () => {
  it('lists the branch taken and the skipped ones with their reason; the classifier’s json is folded', async () => {
    const run = await cli(['run', 'examples/patterns/routing.yaml', '--replay', 'examples/recordings/patterns-routing', '--replay-speed', '0', '--run-id', 'route', '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    const page = await report('route');
    expect(await text(page, '[data-summary="tasks"] dd')).toBe('3/5 completed, 2 skipped by their condition');

    const outcomes = await page.$$eval('#conditions li', (lis) => lis.map((li) => [li.getAttribute('data-task-id'), li.getAttribute('data-outcome'), (li as unknown as Shown).innerText]));
    expect(outcomes).toEqual([
      ['fix_bug', 'taken', 'fix_bug: ran: when: tasks.classify.json.kind == "bug" held (completed)'],
      ['add_feature', 'skipped', 'add_feature: skipped: when: tasks.classify.json.kind == "feature" is false (tasks.classify.json.kind = "bug")'],
      ['answer', 'skipped', 'answer: skipped: when: tasks.classify.json.kind == "question" is false (tasks.classify.json.kind = "bug")'],
    ]);
    // The task table says the same, and marks the rows.
    expect(await page.$eval('#tasks tr[data-task-id="answer"]', (tr) => [tr.getAttribute('data-skipped-by'), (tr.querySelector('.note-cell') as unknown as Shown).innerText])).toEqual([
      'when',
      'when: tasks.classify.json.kind == "question" is false (tasks.classify.json.kind = "bug")',
    ]);
    expect(await page.$('#tasks tr[data-task-id="fix_bug"][data-skipped-by]')).toBeNull();

    // Structured output: one folded entry, for the classifier; opened, it shows the object.
    expect(await page.$$eval('details.json', (ds) => ds.map((d) => [d.getAttribute('data-task-id'), (d as unknown as { open: boolean }).open]))).toEqual([['classify', false]]);
    await page.click('details.json summary');
    expect(JSON.parse(await text(page, 'details.json pre'))).toEqual({ kind: 'bug', summary: 'Saving settings with an empty display name crashes the settings page', area: 'settings' });
    await page.close();
  });

  it('marks an allowed failure as allowed (table, graph, failures) and a plain one not; no conditions section without when', async () => {
    const flow = join(root, 'flow.yaml');
    writeFileSync(
      flow,
      `id: lint-then-build
tasks:
  - id: lint
    allow_failure: true
    command: [node, -e, "process.stdout.write('2 warnings'); process.exit(1)"]
  - id: build
    depends_on: [lint]
    output: json
    command: [node, -e, "process.stdout.write(JSON.stringify({ok: true, lint: process.argv[1]}))", "{{tasks.lint.status}}"]
`,
    );
    const run = await cli(['run', flow, '--run-id', 'allowed', '--state-dir', stateDir]);
    expect(run.code).toBe(0);
    const page = await report('allowed');
    expect(await page.$eval('#tasks tr[data-task-id="lint"]', (tr) => [tr.getAttribute('data-allowed-failure'), (tr.querySelector('.badge') as unknown as Shown).innerText])).toEqual([
      'true',
      'failed (allowed)',
    ]);
    expect(await page.$eval('#tasks tr[data-task-id="build"]', (tr) => [tr.getAttribute('data-allowed-failure'), (tr.querySelector('.badge') as unknown as Shown).innerText])).toEqual([null, 'completed']);
    expect(await page.$eval('.dag-node[data-task-id="lint"]', (g) => g.textContent)).toContain('failed (allowed)');
    expect(await page.$$eval('article.failure', (as) => as.map((a) => [a.getAttribute('data-task-id'), a.getAttribute('data-allowed'), (a.querySelector('h3') as unknown as Shown).innerText]))).toEqual([
      ['lint', 'true', 'lint, attempt 1: failed (allowed: allow_failure, the run went on) · ' + (await text(page, 'article.failure time'))],
    ]);
    expect(await text(page, '[data-summary="tasks"] dd')).toBe('1/2 completed, 1 allowed to fail');
    expect(await page.$('#conditions')).toBeNull();
    expect(await page.$$eval('details.json', (ds) => ds.map((d) => d.getAttribute('data-task-id')))).toEqual(['build']);
    await page.close();
  });
});

describe('report of a run still going, or stopped before a condition was reached', () => {
  it('a condition not evaluated yet is pending; one whose task was skipped by a failed dependency says so; a long json is cut', () => {
    const run = checkpoint('r', ['probe', 'fix', 'deploy', 'later']);
    run.workflow = validateWorkflow({
      id: 'wf',
      tasks: [
        { id: 'probe', prompt: 'x', output_schema: { type: 'object' } },
        { id: 'fix', prompt: 'x', depends_on: ['probe'], when: 'tasks.probe.status == "completed"' },
        { id: 'deploy', prompt: 'x', depends_on: ['fix'], when: 'tasks.fix.status == "completed"' },
        { id: 'later', prompt: 'x', depends_on: ['probe'], when: 'tasks.probe.status == "completed"' },
      ],
    });
    const big = { lines: Array.from({ length: 400 }, (_, i) => `line ${i} of a long answer`) };
    run.records = [
      { ...record('probe'), json: big },
      { ...record('fix', 'failed'), error: { name: 'PermanentError', code: 'COMMAND_FAILED', message: 'exit 1', transient: false } },
      { ...record('deploy', 'skipped', 0), attempts: 0, startedAt: null, reason: 'dependency "fix" failed' },
      { ...record('later', 'pending', 0), attempts: 0, startedAt: null },
    ];
    const report = buildRunReport(run, null);
    expect(report.tasks.map((t) => [t.id, t.when ?? null, t.skippedBy ?? null, t.json === undefined])).toEqual([
      ['probe', null, null, false],
      ['fix', 'tasks.probe.status == "completed"', null, true],
      ['deploy', 'tasks.fix.status == "completed"', null, true],
      ['later', 'tasks.probe.status == "completed"', null, true],
    ]);
    const html = renderRunReportHtml(report);
    expect(html).toContain('<li data-task-id="fix" data-outcome="taken"><code>fix</code>: ran: <code>when: tasks.probe.status == &#34;completed&#34;</code> held (failed)</li>');
    expect(html).toContain('<li data-task-id="deploy" data-outcome="not reached"><code>deploy</code>: dependency &#34;fix&#34; failed (<code>when: tasks.fix.status == &#34;completed&#34;</code> not evaluated)</li>');
    expect(html).toContain('<li data-task-id="later" data-outcome="pending"><code>later</code>: <code>when: tasks.probe.status == &#34;completed&#34;</code> not evaluated yet</li>');
    expect(html).toMatch(/line 1\d\d of a long answer[^<]*… \(\d+ more characters: agents-sdk status r --json\)<\/pre>/);
    expect(html).not.toContain('line 399 of');
  });
});
