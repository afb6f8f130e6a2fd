import { screenshotPath, publishScreenshot } from './helpers/screenshots.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, loadRunReport, renderRunReportHtml, validateWorkflow, type RunCheckpoint, type RunEventLogEntry, type WorkflowResult } from '../src/index.js';
import { buildRunReport } from '../src/report/run-report.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint, record } from './helpers/records.js';
import { diesWithSuite } from './helpers/suite-processes.js';
import { launchChromium } from './helpers/chromium.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
  // Puppeteer starts it in a group of its own: it dies with the suite (see suite-processes.ts).
  diesWithSuite(browser.process()!);
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const state = () => ['--state-dir', world.stateDir];

/** Runs a workflow through the CLI and returns its result. */
async function run(argv: string[], env: Record<string, string> = {}): Promise<WorkflowResult> {
  const out = await cli(['run', ...argv, '--json', ...state()], env);
  return JSON.parse(out.stdout) as WorkflowResult;
}

/** Opens a report in headless Chromium; records every request the page makes and the dialogs it opens. */
async function open(file: string): Promise<{ page: Page; requests: string[]; dialogs: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (r) => void requests.push(r.url()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.setViewport({ width: 1100, height: 900 });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, requests, dialogs };
}

/** What a report page shows, read from its DOM. */
interface PageFacts {
  rows: Array<{ id: string; status: string; critical: string; bars: Array<{ attempt: string; outcome: string; retry: string }>; text: string }>;
  criticalNodes: string[];
  criticalEdges: string[];
  costs: Record<'agent' | 'model', { keys: string[]; sum: number; total: number }>;
  taskTotal: number;
  failures: Array<{ taskId: string; attempt: string; kind: string; code: string; message: string }>;
  scripts: number;
  text: string;
  pwned: unknown;
}

// The page's globals, for the function evaluated in it (the project compiles without the DOM lib).
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  textContent: string | null;
}
declare const document: PageElement & { body: PageElement & { innerText: string } };
declare const window: { pwned?: unknown };

function facts(page: Page): Promise<PageFacts> {
  return page.evaluate(() => {
    const all = (selector: string, root: PageElement = document) => [...root.querySelectorAll(selector)];
    const attr = (el: PageElement, name: string) => el.getAttribute(name) ?? '';
    const costTable = (group: string) => {
      const rows = all(`table[data-group="${group}"] tbody tr`);
      return {
        keys: rows.map((r) => attr(r, 'data-key')),
        sum: rows.reduce((n, r) => n + Number(attr(r.querySelector('[data-cost-usd]')!, 'data-cost-usd')), 0),
        total: Number(attr(document.querySelector(`table[data-group="${group}"] tfoot [data-cost-usd]`)!, 'data-cost-usd')),
      };
    };
    return {
      rows: all('svg.gantt .gantt-row').map((g) => ({
        id: attr(g, 'data-task-id'),
        status: attr(g, 'data-status'),
        critical: attr(g, 'data-critical'),
        bars: all('rect.attempt', g).map((b) => ({ attempt: attr(b, 'data-attempt'), outcome: attr(b, 'data-outcome'), retry: attr(b, 'data-retry') })),
        text: g.textContent ?? '',
      })),
      criticalNodes: all('svg.dag .dag-node[data-critical="true"]').map((n) => attr(n, 'data-task-id')),
      criticalEdges: all('svg.dag .edge[data-critical="true"]').map((e) => `${attr(e, 'data-from')}->${attr(e, 'data-to')}`),
      costs: { agent: costTable('agent'), model: costTable('model') },
      taskTotal: Number(attr(document.querySelector('table.tasks tfoot [data-cost-usd]')!, 'data-cost-usd')),
      failures: all('#failures .failure').map((f) => ({
        taskId: attr(f, 'data-task-id'),
        attempt: attr(f, 'data-attempt'),
        kind: attr(f, 'data-kind'),
        code: f.querySelector('.code')?.textContent ?? '',
        message: f.querySelector('.message')?.textContent ?? '',
      })),
      scripts: all('script').length,
      text: document.body.innerText,
      pwned: window.pwned,
    };
  });
}

describe('agents-sdk report', () => {
  it('a replayed sdlc run: one timeline row per task, the critical path plan → build → the longer of test and review → document, costs that add up', async () => {
    const result = await run(['examples/sdlc.yaml', '--replay', 'examples/recordings/sdlc', '--replay-speed', '0', '--run-id', 'demo']);
    expect(result.status).toBe('completed');

    const out = await cli(['report', 'demo', ...state()]);
    expect([out.code, out.stderr]).toEqual([0, '']);
    const file = resolve(world.stateDir, 'demo', 'report.html');
    expect(out.stdout).toBe(`${file}\n`);

    const { page, requests } = await open(file);
    const shown = await facts(page);
    // Self-contained: the page asks for nothing but itself.
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(shown.rows.map((r) => [r.id, r.status, r.bars.map((b) => [b.attempt, b.outcome, b.retry])])).toEqual(
      ['plan', 'build', 'test', 'review', 'document'].map((id) => [id, 'completed', [['1', 'completed', 'false']]]),
    );

    // Durations tie at replay speed 0 now and then: the task declared first (test) wins a tie.
    const ms = (id: string) => result.taskResults.find((t) => t.taskId === id)!.durationMs!;
    const longer = ms('review') > ms('test') ? 'review' : 'test';
    expect(shown.criticalNodes).toEqual(['plan', 'build', longer, 'document']);
    expect(shown.criticalEdges.sort()).toEqual([`build->${longer}`, `${longer}->document`, 'plan->build'].sort());
    expect(shown.rows.filter((r) => r.critical === 'true').map((r) => r.id)).toEqual(['plan', 'build', longer, 'document']);

    expect(shown.costs.agent.keys.sort()).toEqual(['builder', 'planner', 'reviewer', 'tester', 'writer']);
    expect(shown.costs.model.keys.sort()).toEqual(['haiku', 'opus', 'sonnet']);
    for (const table of [shown.costs.agent, shown.costs.model]) {
      expect(table.sum).toBeCloseTo(result.costUsd, 10);
      expect(table.total).toBeCloseTo(result.costUsd, 10);
    }
    expect(shown.taskTotal).toBeCloseTo(result.costUsd, 10);
    expect(shown.failures).toEqual([]);
    expect(shown.text).toContain('No failures.');
    expect(shown.scripts).toBe(1);
    await page.close();
  });

  it('a task that hit two 529s then succeeded shows three attempt bars, two of them retries, and the 529 text; a failed task shows its error as text', async () => {
    const spec = join(world.root, 'release.yaml');
    writeFileSync(
      spec,
      `id: release
description: Plan, build (the API is overloaded twice), lint, deploy (refused), announce.
tasks:
  - id: plan
    agent: planner
    model: opus
    prompt: "[[delay:400]] Plan the release. [[reply:1. build 2. deploy]]"
  - id: build
    agent: builder
    depends_on: [plan]
    prompt: "[[transient:2]] [[delay:300]] Build it. [[reply:built]]"
    retry_delay: 0.2
  - id: lint
    depends_on: [plan]
    command: [node, -e, "setTimeout(() => console.log('lint ok'), 300)"]
  - id: deploy
    agent: deployer
    model: haiku
    depends_on: [build, lint]
    retry_count: 1
    prompt: '[[delay:200]] Deploy. [[is-error:refused <script>window.pwned = 1</script> & "quoted"]]'
  - id: announce
    agent: writer
    model: haiku
    depends_on: [deploy]
    prompt: Announce the release.
`,
    );
    const result = await run([spec, '--run-id', 'release'], world.env);
    expect(result.status).toBe('failed');

    const file = join(world.root, 'out', 'release.html');
    const out = await cli(['report', 'release', '-o', file, ...state()]);
    expect([out.code, out.stdout]).toEqual([0, `${file}\n`]);

    const { page, requests, dialogs } = await open(file);
    const shown = await facts(page);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(shown.rows.map((r) => [r.id, r.status])).toEqual([
      ['plan', 'completed'],
      ['build', 'completed'],
      ['lint', 'completed'],
      ['deploy', 'failed'],
      ['announce', 'skipped'],
    ]);
    const build = shown.rows.find((r) => r.id === 'build')!;
    expect(build.bars).toEqual([
      { attempt: '1', outcome: 'retried', retry: 'true' },
      { attempt: '2', outcome: 'retried', retry: 'true' },
      { attempt: '3', outcome: 'completed', retry: 'false' },
    ]);
    expect(build.text).toContain('2 retries');
    expect(shown.rows.find((r) => r.id === 'deploy')!.bars).toEqual([{ attempt: '1', outcome: 'failed', retry: 'false' }]);
    expect(shown.rows.find((r) => r.id === 'announce')!.bars).toEqual([]);
    expect(shown.rows.find((r) => r.id === 'announce')!.text).toContain('skipped');

    // Three attempts of 300 ms (and the waits between them) make build the longest branch.
    expect(shown.criticalNodes).toEqual(['plan', 'build', 'deploy']);
    expect(shown.criticalEdges.sort()).toEqual(['build->deploy', 'plan->build']);

    expect(shown.failures.map((f) => [f.taskId, f.attempt, f.kind, f.code])).toEqual([
      ['build', '1', 'retried', 'API_OVERLOADED (HTTP 529)'],
      ['build', '2', 'retried', 'API_OVERLOADED (HTTP 529)'],
      ['deploy', '1', 'failed', 'AGENT_ERROR'],
    ]);
    expect(shown.failures[0]!.message).toContain('API Error: 529 Overloaded');
    // The error's markup is text: shown as written, never run.
    expect(shown.failures[2]!.message).toContain('refused <script>window.pwned = 1</script> & "quoted"');
    expect(shown.scripts).toBe(1);
    expect(shown.pwned).toBeUndefined();
    expect(dialogs).toEqual([]);

    for (const table of [shown.costs.agent, shown.costs.model]) {
      expect(table.sum).toBeCloseTo(result.costUsd, 10);
      expect(table.total).toBeCloseTo(result.costUsd, 10);
    }
    expect(shown.costs.model.keys.sort()).toEqual(['command', 'haiku', 'opus', 'sonnet']);

    // Hovering a task highlights it in the timeline, the graph and the table.
    await page.hover('svg.dag .dag-node[data-task-id="build"]');
    expect(await page.$$eval('.hover[data-task-id="build"]', (els) => els.length)).toBeGreaterThanOrEqual(3);

    // The README's picture of a report (regenerated by this test), with nothing hovered.
    await page.mouse.move(0, 0);
    mkdirSync('docs', { recursive: true });
    await page.screenshot({ path: screenshotPath('report.png'), fullPage: true });
    publishScreenshot('report.png');
    await page.close();
  }, 60_000);

  it('-o - prints the page; an unknown run is exit 2', async () => {
    await run(['examples/plan-build.yaml', '--replay', 'examples/recordings/plan-build', '--replay-speed', '0', '--run-id', 'pb']);
    const out = await cli(['report', 'pb', '-o', '-', ...state()]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^<!doctype html>/);
    expect(out.stdout).toContain('data-run-id="pb"');

    const unknown = await cli(['report', 'nope', ...state()]);
    expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr).toContain('Unknown run id "nope"');
  });
});

describe('the report of runs without a complete log', () => {
  const at = (type: string, taskId: string | undefined, when: number, rest: Record<string, unknown> = {}): RunEventLogEntry => ({
    type,
    runId: 'r',
    at: when,
    ...(taskId !== undefined && { taskId }),
    ...rest,
  });

  function twoTasks(status: RunCheckpoint['status']): RunCheckpoint {
    const run = checkpoint('r', ['a', 'b'], 1_000);
    run.workflow = validateWorkflow({ id: 'wf', tasks: [{ id: 'a', prompt: 'x', agent: '<b>bold</b> agent' }, { id: 'b', prompt: 'x', depends_on: ['a'] }] });
    run.status = status;
    return run;
  }

  it('without an event log each task that ran is one bar from its record; the attempts before it are unknown', () => {
    const run = twoTasks('failed');
    run.records = [
      { ...record('a'), attempts: 2, startedAt: 1_000, endedAt: 3_000, durationMs: 2_000 },
      { ...record('b', 'failed'), startedAt: 3_000, endedAt: 3_500, durationMs: null, error: { name: 'PermanentError', code: 'CRASHED', message: 'segfault', transient: false, stderrTail: 'core dumped' } },
    ];
    run.updatedAt = 3_500;
    const report = buildRunReport(run, null);
    expect(report.eventLog).toBe('missing');
    expect(report.tasks.map((t) => t.attempts)).toEqual([
      [{ attempt: 2, startedAt: 1_000, endedAt: 3_000, outcome: 'completed', retry: false, error: null }],
      [{ attempt: 1, startedAt: 3_000, endedAt: 3_500, outcome: 'failed', retry: false, error: { code: 'CRASHED', message: 'segfault', stderrTail: 'core dumped' } }],
    ]);
    expect([report.criticalPath, report.criticalPathMs, report.endedAt, report.durationMs]).toEqual([['a', 'b'], 2_500, 3_500, 2_500]);
    expect(report.failures).toEqual([{ taskId: 'b', attempt: 1, kind: 'failed', at: 3_500, error: { code: 'CRASHED', message: 'segfault', stderrTail: 'core dumped' } }]);

    const html = renderRunReportHtml(report);
    expect(html).toContain('no event log');
    expect(html).toContain('&#60;b&#62;bold&#60;/b&#62; agent');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('<summary>stderr</summary><pre class="stderr">core dumped</pre>');
  });

  it('an attempt cut short by a crash is interrupted, and the resumed one follows it; a run still going has a running bar', () => {
    const run = twoTasks('completed');
    run.records = [{ ...record('a'), attempts: 2, startedAt: 1_000, endedAt: 9_000, durationMs: 8_000 }, { ...record('b'), startedAt: 9_000, endedAt: 9_400, durationMs: 400 }];
    const events = [
      at('workflow.started', undefined, 1_000, { resumed: false }),
      at('task.started', 'a', 1_000, { attempt: 1 }),
      at('task.progress', 'a', 2_000),
      at('workflow.started', undefined, 5_000, { resumed: true }),
      at('task.started', 'a', 5_000, { attempt: 1 }),
      at('task.completed', 'a', 9_000),
      at('task.started', 'b', 9_000, { attempt: 1 }),
      at('task.completed', 'b', 9_400),
    ];
    const report = buildRunReport(run, events, { eventLogTorn: true });
    expect(report.eventLog).toBe('torn');
    expect(report.tasks[0]!.attempts.map((a) => [a.attempt, a.startedAt, a.endedAt, a.outcome])).toEqual([
      [1, 1_000, 2_000, 'interrupted'],
      [2, 5_000, 9_000, 'completed'],
    ]);
    expect(renderRunReportHtml(report)).toContain('torn line');

    const going = twoTasks('running');
    going.records = [
      { ...record('a', 'running'), endedAt: null, durationMs: null, startedAt: 1_000 },
      { ...record('b', 'pending', 0), attempts: 0, startedAt: null, endedAt: null, durationMs: null },
    ];
    const live = buildRunReport(going, events.slice(0, 3));
    expect(live.tasks[0]!.attempts).toEqual([{ attempt: 1, startedAt: 1_000, endedAt: null, outcome: 'running', retry: false, error: null }]);
    expect([live.endedAt, live.durationMs, live.criticalPath]).toEqual([null, null, []]);
    expect(renderRunReportHtml(live)).toContain('data-outcome="running"');

    // The same log in a run that has ended: the attempt never finished.
    const ended = buildRunReport(twoTasks('cancelled'), [...events.slice(0, 3), at('task.started', 'b', 2_500), at('task.cancelled', 'b', 2_600)]);
    expect(ended.tasks.map((t) => t.attempts.map((a) => a.outcome))).toEqual([['interrupted'], ['cancelled']]);
  });

  it('loads the run and its log from the state directory; a run whose process is gone shows as interrupted', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    try {
      const run = twoTasks('running');
      run.records = [
        { ...record('a'), startedAt: 1_000, endedAt: 2_000, durationMs: 1_000 },
        { ...record('b', 'pending', 0), attempts: 0, startedAt: null, endedAt: null, durationMs: null },
      ];
      await backend.saveCheckpoint('r', run);
      mkdirSync(join(world.stateDir, 'r'), { recursive: true });
      writeFileSync(
        join(world.stateDir, 'r', 'events.jsonl'),
        [at('task.started', 'a', 1_000), at('task.completed', 'a', 2_000)].map((e) => JSON.stringify(e)).join('\n') + '\n{"type":"task.st',
      );
      const report = await loadRunReport(backend, 'r', { stateDir: world.stateDir, prices: {} });
      expect([report.status, report.eventLog]).toEqual(['interrupted', 'torn']);
      expect(report.tasks[0]!.attempts.map((a) => a.outcome)).toEqual(['completed']);
      expect(report.tasks[1]).toMatchObject({ status: 'pending', attempts: [], critical: false });
      await expect(loadRunReport(backend, 'missing', { stateDir: world.stateDir })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await backend.close();
    }
    expect(readFileSync(join(world.stateDir, 'r', 'events.jsonl'), 'utf8')).toContain('task.completed');
  });
});
