import { describe, expect, it } from 'vitest';
import { MetricsCollector, validateWorkflow, type RunCheckpoint, type TaskRecord } from '../src/index.js';
import { nearestRank } from '../src/metrics/metrics-collector.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { record } from './helpers/records.js';

function rec(taskId: string, fields: Partial<TaskRecord> = {}): TaskRecord {
  return { ...record(taskId), ...fields };
}

function run(runId: string, tasks: Array<Record<string, unknown>>, records: TaskRecord[], workflowId = 'wf'): RunCheckpoint {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    runId,
    workflowId,
    status: 'completed',
    workflow: validateWorkflow({ id: workflowId, tasks }),
    startedAt: 0,
    updatedAt: 0,
    records,
  };
}

const ZERO = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };

describe('nearestRank', () => {
  it('is the value at rank ceil(p/100 * n)', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(nearestRank(twenty, 95)).toBe(190);
    expect(nearestRank(twenty, 50)).toBe(100);
    expect(nearestRank(twenty, 100)).toBe(200);
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2);
    expect(nearestRank([7], 95)).toBe(7);
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('MetricsCollector', () => {
  it('counts executions, success rate, retries, tokens and latency per agent', () => {
    // 20 runs of agent "coder" (tasks a and b both use it), durations 10..200 ms.
    const metrics = new MetricsCollector({ prices: {} });
    for (let i = 0; i < 10; i += 1) {
      metrics.addRun(
        run(
          `r${i}`,
          [
            { id: 'a', prompt: 'x', agent: 'coder' },
            { id: 'b', prompt: 'x', agent: 'coder', depends_on: ['a'] },
            { id: 'plan', prompt: 'x' },
            { id: 'late', prompt: 'x' },
          ],
          [
            rec('a', { durationMs: (i + 1) * 10, attempts: i === 0 ? 3 : 1, costUsd: 0.1 }),
            rec('b', { durationMs: (i + 11) * 10, status: i < 2 ? 'failed' : 'completed', costUsd: 0.2 }),
            rec('plan', { durationMs: 5, costUsd: 0.05, status: i === 0 ? 'cancelled' : 'completed' }),
            rec('late', { status: 'skipped', attempts: 0, startedAt: null, durationMs: null, tokens: ZERO, costUsd: 0 }),
          ],
        ),
      );
    }
    const s = metrics.summary({ by: 'agent' });
    expect(s.runs).toBe(10);
    expect(s.groups.map((g) => g.key)).toEqual(['coder', 'plan']);
    const coder = s.groups[0]!;
    expect(coder).toMatchObject({ executions: 20, completed: 18, failed: 2, successRate: 0.9, attempts: 22, retries: 2 });
    expect(coder.tokens).toEqual({ input: 20, output: 40, cacheRead: 0, cacheCreation: 0 });
    expect(coder.costUsd).toBeCloseTo(3, 10);
    expect(coder.costEstimatedUsd).toBe(0);
    expect(coder.latencyMs).toEqual({ count: 20, mean: 105, p50: 100, p95: 190, max: 200 });
    // A cancelled execution counts as run, not as finished.
    expect(s.groups[1]).toMatchObject({ key: 'plan', executions: 10, completed: 9, failed: 0, successRate: 1 });
    // The skipped task never ran.
    expect(s.total.executions).toBe(30);
    expect(metrics.summary({ by: 'task' }).groups.map((g) => g.key).sort()).toEqual(['a', 'b', 'plan']);
  });

  it('prices records with tokens but no cost from the price table by model; command tasks are model "command"', () => {
    const tokens = { input: 1_000_000, output: 100_000, cacheRead: 2_000_000, cacheCreation: 10_000 };
    const prices = { sonnet: { input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 } };
    const metrics = new MetricsCollector({ prices });
    metrics.addRun(
      run(
        'r1',
        [
          { id: 'cheap', prompt: 'x', model: 'claude-sonnet-4-5' },
          { id: 'paid', prompt: 'x', model: 'sonnet' },
          { id: 'odd', prompt: 'x', model: 'mystery' },
          { id: 'lint', command: ['true'] },
        ],
        [
          rec('cheap', { tokens, costUsd: 0 }),
          rec('paid', { tokens, costUsd: 1.25 }),
          rec('odd', { tokens, costUsd: 0 }),
          rec('lint', { tokens: ZERO, costUsd: 0 }),
        ],
      ),
    );
    // 1M * 3 + 0.1M * 15 + 2M * 0.3 + 0.01M * 3.75 = 3 + 1.5 + 0.6 + 0.0375
    const expected = 5.1375;
    const byModel = metrics.summary({ by: 'model' });
    const group = (key: string) => byModel.groups.find((g) => g.key === key)!;
    expect(group('claude-sonnet-4-5').costUsd).toBeCloseTo(expected, 10);
    expect(group('claude-sonnet-4-5').costEstimatedUsd).toBeCloseTo(expected, 10);
    expect(group('sonnet')).toMatchObject({ costUsd: 1.25, costEstimatedUsd: 0 });
    expect(group('mystery')).toMatchObject({ costUsd: 0, unpriced: 1 });
    expect(group('command')).toMatchObject({ executions: 1, costUsd: 0, unpriced: 0 });
    expect(byModel.total.costUsd).toBeCloseTo(expected + 1.25, 10);
    // The default table knows sonnet too; an empty one estimates nothing.
    expect(new MetricsCollector().addRun(run('r', [{ id: 'cheap', prompt: 'x' }], [rec('cheap', { tokens, costUsd: 0 })])).summary().total.costUsd).toBeCloseTo(expected, 10);
    expect(new MetricsCollector({ prices: {} }).addRun(run('r', [{ id: 'cheap', prompt: 'x' }], [rec('cheap', { tokens, costUsd: 0 })])).summary().total.costUsd).toBe(0);
  });

  it('groups by workflow and session', () => {
    const metrics = new MetricsCollector();
    metrics.addRun(run('r1', [{ id: 'a', prompt: 'x' }], [rec('a', { sessionId: 's1' })], 'one'));
    metrics.addRun(run('r2', [{ id: 'a', prompt: 'x' }], [rec('a', { sessionId: 's2' })], 'two'));
    metrics.addRun(run('r3', [{ id: 'a', prompt: 'x' }], [rec('a', { sessionId: null })], 'two'));
    expect(metrics.summary({ by: 'workflow' }).groups.map((g) => [g.key, g.executions])).toEqual([
      ['two', 2],
      ['one', 1],
    ]);
    expect(metrics.summary({ by: 'session' }).groups.map((g) => g.key).sort()).toEqual(['-', 's1', 's2']);
    expect(new MetricsCollector().summary().total).toMatchObject({ executions: 0, successRate: null, latencyMs: { count: 0, p95: null } });
  });
});
