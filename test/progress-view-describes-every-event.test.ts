/**
 * The CLI's progress view: a line for every kind of task event, and big runs kept to a readable
 * block.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/index.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { record } from './helpers/records.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('ProgressView', () => {
  const base = { workflowId: 'w', runId: 'r', at: 1_000 };
  it('describes every kind of task event and keeps big runs to a readable block', () => {
    const view = new ProgressView(() => 5_000);
    const ids = Array.from({ length: 25 }, (_, i) => `t${i}`);
    expect(view.apply({ type: 'workflow.started', ...base, taskIds: ids, resumed: true })).toContain('(resumed)');
    expect(
      view.apply({
        type: 'workflow.reaped',
        ...base,
        processes: [
          { pid: 41, command: 'claude', outcome: 'killed' },
          { pid: 42, command: 'npm', outcome: 'unverified' },
        ],
      })?.split('\n'),
    ).toEqual([
      'killed agent process group 41 (claude) left running by the interrupted process',
      'process 42 (npm) of the interrupted process may still run: it could not be verified, so it was left alone',
    ]);
    expect(view.apply({ type: 'task.started', ...base, taskId: 't0', attempt: 1, maxAttempts: 2 })).toBe('t0: started (attempt 1/2)');
    expect(
      view.apply({ type: 'task.retrying', ...base, taskId: 't0', attempt: 1, delayMs: 1500, error: { name: 'TransientError', code: 'RATE_LIMITED', message: 'slow down', transient: true } }),
    ).toBe('t0: attempt 1 failed (RATE_LIMITED: slow down); retrying in 1.5s');
    expect(view.apply({ type: 'task.progress', ...base, taskId: 't0', attempt: 2, progress: { type: 'assistant_text', sessionId: null, text: 'x' } })).toBeNull();
    const skipped: TaskRecord = { ...record('t1', 'skipped'), reason: 'dependency "t0" failed', error: null };
    expect(view.apply({ type: 'task.skipped', ...base, taskId: 't1', record: skipped })).toBe('t1: skipped: dependency "t0" failed');
    const failed: TaskRecord = { ...record('t2', 'failed'), error: { name: 'PermanentError', code: 'AGENT_ERROR', message: 'nope', transient: false } };
    expect(view.apply({ type: 'task.failed', ...base, taskId: 't2', record: failed })).toContain('(AGENT_ERROR: nope)');
    expect(view.apply({ type: 'workflow.finished', ...base, result: {} as never })).toBeNull();
    const block = view.render().split('\n');
    expect(block[0]).toBe('tasks: 1 retrying, 1 skipped, 1 failed, 22 pending');
    expect(block.length).toBeLessThanOrEqual(21);
    expect(block[1]).toMatch(/^↻ t0\s+retrying\s+1\/2\s+4\.0s/);
  });
});
