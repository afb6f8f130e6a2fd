/**
 * The live view of a run with groups, fan-outs and loops: a group is a line with its tasks
 * indented under it, a fan-out a line `impl  for_each  7/12 done, 2 running` with its running
 * and failed instances under it and the rest counted (1,000 instances stay a few lines), a
 * loop a line with its iterations in order.
 */
import { describe, expect, it } from 'vitest';
import { ProgressView, summaryTable } from '../src/cli/progress-view.js';
import { emptyTaskRecord, toTaskResult, type TaskRecord, type WorkflowResult } from '../src/workflow/workflow-result.js';

const base = { workflowId: 'w', runId: 'r' };
let clock = 1_000;
const at = () => (clock += 100);

function view(taskIds: string[], groups?: Record<string, string[]>): ProgressView {
  const v = new ProgressView(() => clock);
  v.apply({ type: 'workflow.started', ...base, at: at(), taskIds, resumed: false, ...(groups && { groups }) });
  return v;
}
const start = (v: ProgressView, taskId: string) => v.apply({ type: 'task.started', ...base, at: at(), taskId, attempt: 1, maxAttempts: 1 });
function finish(v: ProgressView, taskId: string, status: 'completed' | 'failed' | 'skipped' = 'completed', extra: Partial<TaskRecord> = {}) {
  const record: TaskRecord = { ...emptyTaskRecord(taskId), status, startedAt: clock, endedAt: at(), durationMs: 100, attempts: 1, ...extra };
  v.apply({ type: `task.${status}`, ...base, at: clock, taskId, record } as Parameters<ProgressView['apply']>[0]);
}
/** The block's lines after the header, right-trimmed, without the columns after the id (or the unit's word and counts). */
const lines = (v: ProgressView) => v.render().split('\n').slice(1);

describe('the live view', () => {
  it('shows a group as a line with its tasks indented under it', () => {
    const v = view(['plan', 'checks.lint', 'checks.test', 'ship'], { checks: ['checks.lint', 'checks.test'] });
    finish(v, 'plan');
    start(v, 'checks.lint');
    finish(v, 'checks.test', 'skipped', { reason: 'when: inputs.fast == "no" was false (inputs.fast = "yes")' });
    const out = lines(v);
    expect(out).toHaveLength(5);
    expect(out[0]).toMatch(/^✓ plan\s+completed/);
    expect(out[1]).toMatch(/^▶ checks\s+group\s+1\/2 done, 1 running, 1 skipped$/);
    expect(out[2]).toMatch(/^▶ {3}checks\.lint\s+running/);
    expect(out[3]).toMatch(/^- {3}checks\.test\s+skipped .*when: inputs\.fast == "no" was false/);
    expect(out[4]).toMatch(/^· ship\s+pending/);
  });

  it('folds a fan-out of 1,000: its line counts them, the running and failed ones are listed, the rest counted', () => {
    const v = view(['plan', 'impl', 'merge']);
    finish(v, 'plan');
    v.apply({ type: 'fanout.expanded', ...base, at: at(), taskId: 'impl', count: 1000 });
    for (let k = 0; k < 7; k++) {
      start(v, `impl[${k}]`);
      finish(v, `impl[${k}]`, k === 3 ? 'failed' : 'completed', k === 3 ? { error: { name: 'Error', code: 'COMMAND_FAILED', message: 'exit 1', transient: false } } : {});
    }
    start(v, 'impl[7]');
    start(v, 'impl[8]');
    const out = lines(v);
    expect(out.length).toBeLessThan(10);
    expect(out[1]).toMatch(/^▶ impl\s+for_each\s+7\/1000 done, 2 running, 1 failed$/);
    expect(out.slice(2, 5).map((l) => l.trim().split(/\s+/)[1])).toEqual(['impl[3]', 'impl[7]', 'impl[8]']);
    expect(out[5]).toBe('    … 997 more instances: 6 completed, 991 pending');
    expect(out[6]).toMatch(/^· merge\s+pending/);
    expect(v.render().split('\n')[0]).toBe('tasks: 7 completed, 993 pending, 1 failed, 2 running');
  });

  it('lists a small fan-out whole, and a loop\'s iterations in order, the latest one shown when there are many', () => {
    const v = view(['impl', 'fix', 'review']);
    v.apply({ type: 'fanout.expanded', ...base, at: at(), taskId: 'impl', count: 2 });
    finish(v, 'impl[1]');
    finish(v, 'impl[0]');
    for (const k of [1, 2, 3, 4, 5, 6, 7, 8]) finish(v, `fix#${k}`);
    start(v, 'fix#10');
    finish(v, 'fix#9', 'failed');
    const out = lines(v);
    expect(out.map((l) => l.trim().split(/\s+/)[1])).toEqual(['impl', 'impl[0]', 'impl[1]', 'fix', 'fix#9', 'fix#10', '8', 'review']);
    expect(out[0]).toMatch(/^✓ impl\s+for_each\s+2\/2 done$/);
    expect(out[3]).toMatch(/^▶ fix\s+repeat\s+9\/10 done, 1 running, 1 failed$/);
    expect(out[6]).toBe('    … 8 more iterations: 8 completed');
  });

  it('shows a group fan-out and a looping group: each instance or iteration a line with its tasks under it', () => {
    // A looping or fan-out group is one task of the workflow; its units' tasks come as they start.
    const v = view(['impl', 'fix_tests']);
    finish(v, 'impl[0].code');
    start(v, 'impl[0].review');
    finish(v, 'fix_tests#1.test', 'failed');
    start(v, 'fix_tests#2.test');
    const out = lines(v);
    expect(out.map((l) => l.trim().split(/\s+/)[1])).toEqual(['impl', 'impl[0]', 'impl[0].code', 'impl[0].review', 'fix_tests', 'fix_tests#1', 'fix_tests#1.test', 'fix_tests#2', 'fix_tests#2.test']);
    expect(out[1]).toMatch(/^▶ {3}impl\[0\]\s+1\/2 done, 1 running$/);
    expect(out[4]).toMatch(/^▶ fix_tests\s+repeat\s+1\/2 done, 1 running, 1 failed$/);
  });

  it('says on a fan-out\'s line why it failed, and marks a task waiting for a signal', () => {
    const v = view(['impl', 'gate']);
    v.apply({ type: 'fanout.expanded', ...base, at: at(), taskId: 'impl', count: 2 });
    finish(v, 'impl[0]', 'failed');
    finish(v, 'impl[1]');
    finish(v, 'impl', 'failed', { error: { name: 'Error', code: 'COMMAND_FAILED', message: '1 of 2 instances failed', transient: false } });
    v.apply({ type: 'task.waiting', ...base, at: at(), taskId: 'gate', event: 'approval', deadline: null });
    const out = lines(v);
    expect(out[0]).toMatch(/^✗ impl\s+for_each\s+2\/2 done, 1 failed {2}COMMAND_FAILED: 1 of 2 instances failed$/);
    expect(out[3]).toMatch(/^\? gate\s+waiting\s.*waiting for approval$/);
  });

  it('keeps the most lines when there are many tasks: the running ones first, then those that ended last', () => {
    const ids = Array.from({ length: 30 }, (_, k) => `t${k}`);
    const v = view([...ids, 'g.a'], { g: ['g.a'] });
    for (const id of ids.slice(0, 25)) finish(v, id);
    start(v, 'g.a');
    const out = lines(v);
    expect(out).toHaveLength(21);
    expect(out[0]).toMatch(/^▶ g\s+group/);
    expect(out[1]).toMatch(/^▶ {3}g\.a\s+running/);
    expect(out[2]).toMatch(/^✓ t24\s/);
  });
});

describe('the summary at the end of a run', () => {
  it('lists instances and iterations under their task; past 20, the completed ones are one row', () => {
    const done = (taskId: string, status: TaskRecord['status'] = 'completed') => toTaskResult({ ...emptyTaskRecord(taskId), status, attempts: 1, durationMs: 10 });
    const result: WorkflowResult = {
      workflowId: 'w',
      runId: 'r',
      status: 'completed',
      success: true,
      totalTimeMs: 1000,
      tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
      costUsd: 0,
      taskResults: [
        done('plan'),
        done('impl'),
        ...Array.from({ length: 25 }, (_, k) => done(`impl[${k}]`, k === 7 ? 'failed' : 'completed')),
        done('fix#2'),
        done('fix#1', 'failed'),
        done('fix'),
        done('review[0].code'),
        done('review[0].test'),
        done('ship'),
      ],
    };
    // review (a group fan-out whose declared tasks have no result here) is not known: at the end.
    const rows = summaryTable(result).split('\n').slice(2, 14).map((l) => /^ *\S+( \d+ completed)?/.exec(l)![0]);
    expect(rows).toEqual(['plan', 'impl', '  impl[7]', '  … 24 completed', 'fix', '  fix#1', '  fix#2', 'ship', 'review', '  review[0]', '    review[0].code', '    review[0].test']);
    expect(summaryTable(result)).toMatch(/^ {2}review\[0\]\s+completed\s*$/m);
  });
});
