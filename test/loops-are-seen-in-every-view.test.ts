/**
 * A stored run whose records have the loop ids (`fix#2`: iteration 2 of looping task `fix`;
 * `fix_tests#2.test`: child `test` of iteration 2 of looping group `fix_tests`), read by
 * `status` (iterations in order under their loop), `report` (iterations as rows under their
 * task, in order) and `stats` (counted as the declared task). Both backends. The records are
 * written as a loop's run writes them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateWorkflow, type RunCheckpoint, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { openStateBackend } from '../src/persistence/open-state-backend.js';
import { buildRunReport } from '../src/report/run-report.js';
import { renderRunReportHtml } from '../src/report/report-html.js';
import { cli } from './helpers/cli.js';
import { record } from './helpers/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loop-views-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function loopRun(): RunCheckpoint {
  const workflow = validateWorkflow({
    id: 'loops',
    tasks: [
      { id: 'build', prompt: 'build' },
      { id: 'fix', depends_on: ['build'], prompt: 'fix', repeat: { until: 'tasks.fix.output == "ok"', max: 10 } },
      {
        id: 'fix_tests',
        depends_on: ['fix'],
        repeat: { until: 'tasks.test.exit_code == 0', max: 3 },
        tasks: [
          { id: 'test', command: ['npm', 'test'] },
          { id: 'resolve', depends_on: ['test'], when: 'tasks.test.status == "failed"', prompt: 'resolve' },
        ],
      },
    ],
  });
  const at = (r: TaskRecord, start: number, status: TaskRecord['status'] = r.status): TaskRecord => ({ ...r, status, startedAt: start, endedAt: start + 10, durationMs: 10 });
  const records: TaskRecord[] = [
    at(record('build'), 0),
    // Stored in the order they were first saved, not in iteration order.
    at(record('fix#10'), 100),
    at(record('fix#2'), 30),
    at(record('fix#1'), 20),
    ...[3, 4, 5, 6, 7, 8, 9].map((k) => at(record(`fix#${k}`), 30 + 10 * k)),
    { ...record('fix'), startedAt: 20, endedAt: 110, durationMs: 90, iteration: 10, exhausted: true },
    at(record('fix_tests#2.test'), 140),
    { ...at(record('fix_tests#2.resolve'), 150, 'skipped'), skippedBy: 'when', reason: 'when: tasks.test.status == "failed" is false (tasks.test.status = "completed")' },
    { ...at(record('fix_tests#1.test'), 120, 'failed'), error: { name: 'Error', code: 'COMMAND_FAILED', message: 'npm test exited with code 1', transient: false } },
    at(record('fix_tests#1.resolve'), 130),
    { ...record('fix_tests'), startedAt: 120, endedAt: 160, durationMs: 40, iteration: 2 },
  ];
  return { schemaVersion: STATE_SCHEMA_VERSION, runId: 'loop1', workflowId: 'loops', status: 'completed', workflow, startedAt: 0, updatedAt: 200, records };
}

describe('loops seen in every view', () => {
  it('the report lists the iterations under their task, in order, and draws them on its row', () => {
    const report = buildRunReport(loopRun(), null);
    const fix = report.tasks.find((t) => t.id === 'fix')!;
    expect(fix.iterations!.map((t) => t.id)).toEqual(['fix#1', 'fix#2', 'fix#3', 'fix#4', 'fix#5', 'fix#6', 'fix#7', 'fix#8', 'fix#9', 'fix#10']);
    const loop = report.tasks.find((t) => t.id === 'fix_tests')!;
    expect(loop.iterations!.map((t) => [t.id, t.status, t.kind])).toEqual([
      ['fix_tests#1.test', 'failed', 'command'],
      ['fix_tests#1.resolve', 'completed', 'agent'],
      ['fix_tests#2.test', 'completed', 'command'],
      ['fix_tests#2.resolve', 'skipped', 'agent'],
    ]);
    expect(report.failures.map((f) => f.taskId)).toEqual(['fix_tests#1.test']);
    const html = renderRunReportHtml(report);
    expect([...html.matchAll(/<tr data-task-id="([^"]+)"[^>]*data-iteration-of="fix"/g)].map((m) => m[1])).toEqual(fix.iterations!.map((t) => t.id));
    // The iteration skipped by its task's when: with its reason, under Conditions.
    expect(html).toMatch(/<li data-task-id="fix_tests#2\.resolve" data-outcome="skipped"><code>fix_tests#2\.resolve<\/code>: skipped: when: tasks\.test\.status == &#34;failed&#34; is false/);
    expect(html).toContain('<rect class="attempt repeat" data-task-id="fix#10"');
  });

  it('folds more than 20 iterations in the report, and a loop row with no attempt of its own says what ran', () => {
    const run = loopRun();
    run.records = [...run.records.filter((r) => !r.taskId.startsWith('fix')), ...Array.from({ length: 25 }, (_, k) => ({ ...record(`fix#${k + 1}`), startedAt: k, endedAt: k + 1 }))];
    const html = renderRunReportHtml(buildRunReport(run, null));
    expect(html).toMatch(/<tr class="fold" data-of="fix"><td colspan="11"[^>]*><details><summary>25 iterations: 25 completed<\/summary>/);
    expect(html).toMatch(/<g class="gantt-row" data-task-id="fix" data-status="pending"[^>]*>.*<text class="no-attempt"[^>]*>25 iterations</);
  });

  it('the report heads a group\'s tasks with what they did, and draws a running iteration to the end of the chart', () => {
    const workflow = validateWorkflow({ id: 'groups', tasks: [{ id: 'g', tasks: [{ id: 'a', prompt: 'a' }, { id: 'b', prompt: 'b' }] }, { id: 'fix', prompt: 'fix', repeat: { until: 'true', max: 3 } }] });
    const run = (a: TaskRecord['status'], b: TaskRecord['status']): RunCheckpoint => ({
      schemaVersion: STATE_SCHEMA_VERSION,
      runId: 'g1',
      workflowId: 'groups',
      status: 'running',
      workflow,
      startedAt: 0,
      updatedAt: 50,
      records: [
        { ...record('g.a', a), startedAt: a === 'pending' ? null : 0 },
        { ...record('g.b', b), startedAt: b === 'pending' ? null : 0 },
        { ...record('fix', 'running'), iteration: 1 },
        { ...record('fix#1', 'running'), startedAt: 10, endedAt: null, durationMs: null, error: null },
      ],
    });
    const groupRow = (a: TaskRecord['status'], b: TaskRecord['status']) => /<tr class="group-row" data-group="g" data-status="(\w+)">/.exec(renderRunReportHtml(buildRunReport(run(a, b), null)))![1];
    expect([groupRow('pending', 'pending'), groupRow('completed', 'running'), groupRow('completed', 'failed'), groupRow('cancelled', 'completed'), groupRow('skipped', 'skipped'), groupRow('completed', 'skipped')]).toEqual(['pending', 'running', 'failed', 'cancelled', 'skipped', 'completed']);
    const html = renderRunReportHtml(buildRunReport(run('completed', 'completed'), null));
    expect(html).toMatch(/<rect class="attempt repeat" data-task-id="fix#1" data-attempt="1" data-outcome="running"[^>]*><title>fix#1, attempt 1: running<\/title>/);
  });

  for (const backend of ['json', 'sqlite'] as const) {
    it(`status lists the iterations in order under their loop and stats counts them as the declared task (${backend})`, async () => {
      const store = await openStateBackend(backend, dir);
      const run = loopRun();
      await store.saveCheckpoint(run.runId, run);
      await store.saveTaskRecords(run.runId, run.records);
      await store.close();
      const state = ['--state-dir', dir, '--backend', backend];

      const status = await cli(['status', 'loop1', ...state]);
      expect(status.code, status.stderr).toBe(0);
      const rows = status.stdout.split('\n\n')[1]!.split('\n').slice(2).filter((l) => l.trim() !== '');
      expect(rows.map((l) => /^ *\S+/.exec(l)![0])).toEqual([
        'build',
        'fix',
        ...Array.from({ length: 10 }, (_, k) => `  fix#${k + 1}`),
        'fix_tests',
        '  fix_tests#1',
        '    fix_tests#1.test',
        '    fix_tests#1.resolve',
        '  fix_tests#2',
        '    fix_tests#2.test',
        '    fix_tests#2.resolve',
      ]);
      expect(rows[1]).toMatch(/^fix\s+completed\s.*loop: iteration 10 \(exhausted: until never held\); 10\/10 done$/);
      expect(rows[12]).toMatch(/^fix_tests\s+completed\s.*loop: iteration 2; 2\/2 done, 1 failed$/);
      expect(rows[13]).toMatch(/^ {2}fix_tests#1\s+failed\s.*iteration: 2\/2 done, 1 failed$/);

      const stats = await cli(['stats', 'loop1', '--by', 'task', ...state]);
      expect(stats.code, stats.stderr).toBe(0);
      expect(stats.stdout).toMatch(/^fix\s+10\s/m);
      expect(stats.stdout).toMatch(/^fix_tests\.test\s+2\s/m);
      expect(stats.stdout).toMatch(/^fix_tests\.resolve\s+2\s/m);
      expect(stats.stdout).not.toMatch(/fix#|fix_tests#/);
    });
  }
});
