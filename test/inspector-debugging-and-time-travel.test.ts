/**
 * Debugging a failed run in the inspector page (headless Chromium): the header says how the
 * run ended and why, a click there goes to the failed task, whose panel shows its error and,
 * from the server's task API, its exit code, stderr and attempts (or says, in one line, that
 * this inspector does not serve them). Time travel: ← → keys and ◀ ▶ buttons step event by
 * event; the Context tab shows the orchestrator's context as of that event and offers "rerun
 * from here". The statechart keeps every arrow in view and lights the transition just taken.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonStateBackend, type InspectorServer, type WorkflowSpecInput } from '../src/index.js';
import { bigSpec, type BigRunOptions } from './helpers/big-runs.js';
import type { FakeWorld } from './helpers/fake-claude.js';
import { publishScreenshot, screenshotPath } from './helpers/screenshots.js';
import { startInspectedWorld, type InspectedWorld } from './helpers/inspected-world.js';

let inspected: InspectedWorld;
let world: FakeWorld;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  inspected = await startInspectedWorld(100);
  ({ world, server, browser } = inspected);
}, 60_000);
afterAll(async () => {
  await inspected?.close();
});

async function run(runId: string, options: BigRunOptions) {
  const backend = new JsonStateBackend(world.stateDir);
  const orchestrator = inspected.orchestrator(backend);
  try {
    return await orchestrator.runWorkflow(bigSpec(runId, options) as WorkflowSpecInput, { runId });
  } finally {
    await backend.close();
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

const sliderValue = (page: Page) => page.$eval('#slider', (s) => Number((s as unknown as { value: string }).value));
/** Waits until the timeline shows event `n` (the page draws on its next frame). */
const atEvent = (page: Page, n: number) => page.waitForFunction(`document.getElementById('slider').value === '${n}'`);

describe('debugging a failed run in the inspector page', () => {
  it('a failed 100-task run: the header says why, a click goes to the failed task, its panel says what the server knows', async () => {
    const result = await run('failed100', { tasks: 100, fail: true });
    expect(result.status).toBe('failed');
    const page = await openPage('#run=stored:failed100');
    await page.waitForFunction(`document.getElementById('run-title').textContent.includes('failed')`, { timeout: 60_000 });
    const why = await page.$eval('#halt', (h) => h.textContent!);
    expect(why).toMatch(/broken/);
    await page.click('#halt');
    await page.waitForFunction(`document.getElementById('task-details').dataset.task === 'broken'`);
    expect(await page.$eval('#task-details .error', (p) => p.textContent)).toMatch(/COMMAND_FAILED/);
    expect(await page.$eval('#graph .task[data-task="broken"]', (g) => [g.getAttribute('data-status'), g.classList.contains('selected')])).toEqual(['failed', true]);
    // The task API (GET /api/runs/:key/tasks/:id): its stderr and attempts, or one line saying it is not served.
    await page.waitForFunction(`document.getElementById('task-debug').dataset.loaded === 'broken'`);
    const debug = await page.$eval('#task-debug', (d) => ({ unavailable: d.querySelector('.unavailable')?.textContent ?? null, stderr: d.querySelector('pre.stderr')?.textContent ?? null, attempts: d.querySelectorAll('details.attempt').length }));
    if (debug.unavailable !== null) expect(debug.unavailable).toMatch(/^task details: not available from this inspector/);
    else {
      expect(debug.stderr).toContain('boom: disk on fire');
      expect(debug.attempts).toBeGreaterThanOrEqual(1);
    }
    await page.screenshot({ path: screenshotPath('inspector-debugging.png') });
    publishScreenshot('inspector-debugging.png');
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('steps event by event with ← → and ◀ ▶, shows the context as of that event, offers a rerun from the selected task', async () => {
    expect((await run('steps5', { tasks: 5 })).status).toBe('completed');
    const page = await openPage('#run=stored:steps5');
    await page.waitForFunction(`document.querySelectorAll('#graph .task[data-status="completed"]').length === 5`, { timeout: 30_000 });
    const max = Number(await page.$eval('#slider', (s) => s.getAttribute('max')));
    await page.keyboard.press('ArrowLeft');
    await atEvent(page, max - 1);
    expect(await page.$eval('#live', (b) => b.classList.contains('on'))).toBe(false);
    await page.click('#step-back');
    await atEvent(page, max - 2);
    await page.click('#step-fwd');
    await page.keyboard.press('ArrowRight');
    await atEvent(page, max);
    expect(await page.$eval('#live', (b) => b.classList.contains('on'))).toBe(true);
    // Back to the start, then forward event by event: plan starts before any other task.
    await page.evaluate(`{ const s = document.getElementById('slider'); s.value = '1'; s.dispatchEvent(new Event('input')); }`);
    await page.waitForFunction(`[...document.querySelectorAll('#graph .task')].every((n) => n.getAttribute('data-status') === 'pending')`);
    let steps = 0;
    while ((await page.$eval('#graph .task[data-task="plan"]', (g) => g.getAttribute('data-status'))) === 'pending' && steps < max) {
      await page.keyboard.press('ArrowRight');
      steps++;
      await atEvent(page, 1 + steps);
    }
    await atEvent(page, 1 + steps);
    expect(await page.$eval('#graph .task[data-task="t1"]', (g) => g.getAttribute('data-status'))).toBe('pending');
    // a key typed in a field is the field's
    await page.click('#log-search');
    await page.keyboard.press('ArrowRight');
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    expect(await sliderValue(page)).toBe(1 + steps);

    // The Context tab: as of this event, from GET /api/runs/:key/snapshots?upTo=N (or one line saying it is not served).
    await page.click('#graph .task[data-task="plan"]');
    await page.click('#lower-tabs button[data-tab="context"]');
    await page.waitForFunction(`document.getElementById('context-title').textContent.startsWith('as of event ${1 + steps}/${max}')`);
    await page.waitForFunction(`document.getElementById('context').textContent !== ''`);
    const context = await page.$eval('#context', (c) => c.textContent!);
    if (context.includes('snapshots:')) expect(context).toMatch(/^snapshots: not available from this inspector/);
    else expect(JSON.parse(context)).toHaveProperty('context');
    expect(await page.$eval('#rerun', (b) => b.textContent)).toBe('rerun from plan');
    await page.click('#rerun');
    await page.waitForFunction(`document.getElementById('rerun-result').textContent !== ''`);
    expect(await page.$eval('#rerun-result', (r) => r.textContent)).toMatch(/^( started run \S+|rerun: not available from this inspector.*)$/);

    // The statechart of a session: every arrow inside the view box, the transition just taken lit.
    await page.click('#live');
    await page.click('#graph .task[data-task="t2"]');
    await page.click('#lower-tabs button[data-tab="chart"]');
    await page.waitForFunction(`document.getElementById('chart').dataset.actor === 't2'`);
    const chart = await page.$eval('#chart', (svg) => {
      const [x, y, w, h] = svg.getAttribute('viewBox')!.split(' ').map(Number);
      const points = [...svg.querySelectorAll('polyline')].flatMap((p) => p.getAttribute('points')!.split(' ').map((xy: string) => xy.split(',').map(Number)));
      return {
        outside: points.filter(([px, py]) => px! < x! || px! > x! + w! || py! < y! || py! > y! + h!).length,
        taken: [...svg.querySelectorAll('polyline.taken')].map((p) => `${p.getAttribute('data-from')}→${p.getAttribute('data-to')}`),
        active: [...svg.querySelectorAll('.state-box.active')].map((b) => b.getAttribute('data-state')),
      };
    });
    expect(chart.outside).toBe(0);
    expect(chart.active).toEqual(['completed']);
    expect(chart.taken).toEqual(['running→completed']);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('draws what the task API answers (as the HTTP API between the server and the page describes it): stderr, the signal button, each attempt’s prompt, paged output and transcript', async () => {
    expect((await run('answers5', { tasks: 5, fail: true })).status).toBe('failed');
    const page = (await browser.newPage()) as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    await page.setViewport({ width: 1440, height: 900 });
    // The answers the server's task API gives, at the network boundary of the page.
    const posted: unknown[] = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = new URL(request.url());
      const reply = (status: number, body: unknown) => request.respond({ status, contentType: 'application/json', body: JSON.stringify(body) });
      const path = decodeURIComponent(url.pathname);
      if (!path.startsWith('/api/runs/stored:answers5/')) return request.continue();
      const rest = path.slice('/api/runs/stored:answers5'.length);
      if (rest === '/tasks/broken')
        return reply(200, {
          task: { id: 'broken', status: 'failed' },
          error: { code: 'COMMAND_FAILED', message: 'exited with code 3' },
          exitCode: 3,
          stderrTail: 'boom: disk on fire',
          reason: null,
          waitingFor: { signal: 'approval.granted', since: 1_700_000_000_000 },
          attempts: [{ n: 1, status: 'failed', startedAt: 1_700_000_000_000, endedAt: 1_700_000_001_500, error: { code: 'COMMAND_FAILED', message: 'exited with code 3' }, prompt: 'Break it, gently', outputBytes: 21 }],
        });
      if (rest === '/tasks/broken/output') return reply(200, url.searchParams.get('offset') === '0' ? { text: 'first page', offset: 0, nextOffset: 10, totalBytes: 21 } : { text: 'second page', offset: 10, nextOffset: null, totalBytes: 21 });
      if (rest === '/tasks/broken/transcript') return reply(200, { lines: [{ type: 'system', subtype: 'init' }, { type: 'result', is_error: true }] });
      if (rest === '/signal' && request.method() === 'POST') {
        posted.push(JSON.parse(request.postData()!));
        return reply(202, { ok: true });
      }
      return reply(404, { error: 'no such thing' });
    });
    await page.goto(`${server.url}#run=stored:answers5`);
    await page.waitForFunction(`document.getElementById('run-title').textContent.includes('failed')`, { timeout: 30_000 });
    await page.click('#graph .task[data-task="broken"]');
    await page.waitForFunction(`document.getElementById('task-debug').dataset.loaded === 'broken'`);
    expect(await page.$eval('#task-debug .exit-code', (p) => p.textContent)).toBe('exit code3');
    expect(await page.$eval('#task-debug pre.stderr', (p) => p.textContent)).toBe('boom: disk on fire');
    // The signal it waits for, sent from the page.
    await page.type('#task-debug .signal-payload', '{"by":"ana"}');
    await page.click('#task-debug .send-signal');
    await page.waitForFunction(`document.querySelector('#task-debug .signal-result').textContent === 'sent'`);
    expect(posted).toEqual([{ name: 'approval.granted', payload: { by: 'ana' } }]);
    // An attempt, unfolded: its prompt, its output a page at a time, its transcript.
    await page.click('#task-debug details.attempt[data-attempt="1"] > summary');
    await page.waitForSelector('#task-debug .output-page');
    expect(await page.$eval('#task-debug details.attempt > summary', (s) => s.textContent)).toBe('attempt 1: failed · 1.5s · 21 B output · COMMAND_FAILED: exited with code 3');
    expect(await page.$eval('#task-debug details.prompt pre', (p) => p.textContent)).toBe('Break it, gently');
    await page.click('#task-debug .more-output');
    await page.waitForFunction(`document.querySelectorAll('#task-debug .output-page').length === 2`);
    expect(await page.$$eval('#task-debug .output-page', (ps) => ps.map((p) => p.textContent))).toEqual(['first page', 'second page']);
    expect(await page.$$eval('#task-debug .more-output', (b) => b.length)).toBe(0);
    await page.waitForFunction(`document.querySelectorAll('#task-debug .attempt-transcript li').length === 2`);
    expect(await page.$$eval('#task-debug .attempt-transcript li', (items) => items.map((li) => li.getAttribute('data-kind')))).toEqual(['system', 'result']);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);
});
