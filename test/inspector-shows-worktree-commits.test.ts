/**
 * The inspector shows each worktree task's commit: on its node (the short id, and the whole in
 * `data-commit`) and in its details (with its branch), or the worktree a failed attempt left.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';
import { launchChromium } from './helpers/chromium.js';

let repo: TestRepo;
let server: InspectorServer;
let browser: Browser;
beforeAll(async () => {
  repo = makeRepo();
  server = await startInspectorServer({ port: 0, stateDir: repo.state });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  repo?.cleanup();
});

describe('the inspector and worktrees', () => {
  it('shows the commit on each node and in its details; a failed attempt\'s kept worktree', async () => {
    const flow = join(repo.dir, 'w.json');
    writeFileSync(
      flow,
      JSON.stringify({
        id: 'commits',
        workspace: 'worktree',
        on_failure: 'continue',
        defaults: { cwd: repo.repo, retry_count: 1 },
        tasks: [
          { id: 'made', command: writeFileCommand('made.txt', 'made') },
          { id: 'broke', command: ['node', '-e', 'process.exit(1)'] },
        ],
      }),
    );
    const run = await cli(['run', flow, '--state-dir', repo.state, '--run-id', 'wt']);
    expect(run.code).toBe(1);
    const commit = gitIn(repo.repo, 'rev-parse', 'agents-sdk-task/wt/made');
    const page = (await browser.newPage()) as Page;
    await page.goto(`${server.url}#run=stored:wt`);
    await page.waitForFunction(`document.querySelectorAll('#graph .task[data-status="failed"]').length === 1`, { timeout: 30_000 });
    expect(await page.$eval('#graph .task[data-task="made"]', (g) => g.getAttribute('data-commit'))).toBe(commit);
    expect(await page.$eval('#graph .task[data-task="made"] .tmeta:not(.tstatus)', (t) => t.textContent)).toContain(` · ${commit.slice(0, 7)}`);
    const rows = async (taskId: string) => {
      await page.click(`#graph .task[data-task="${taskId}"]`);
      await page.waitForFunction(`document.getElementById('task-details').dataset.task === ${JSON.stringify(taskId)}`);
      return page.$eval('#task-details', (box) => [...box.querySelectorAll('p')].map((p) => p.textContent ?? ''));
    };
    expect(await rows('made')).toContain(`commit${commit} on agents-sdk-task/wt/made`);
    expect(await rows('broke')).toContain(`worktree kept${join(repo.state, 'wt', '.worktrees', 'broke', 'attempt-1')}`);
    await page.close();
  });
});
