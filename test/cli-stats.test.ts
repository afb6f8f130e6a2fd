import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, validateWorkflow, type MetricsSummary, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { cli } from './helpers/cli.js';
import { record } from './helpers/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stats-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const state = () => ['--state-dir', dir, '--backend', 'json'];

/** Saves a run of tasks plan (agent planner, opus) and build (sonnet) and a command task. */
async function saveRun(runId: string, startedAt: number, build: Partial<TaskRecord>): Promise<void> {
  const backend = new JsonStateBackend(dir);
  try {
    await backend.saveCheckpoint(runId, {
      schemaVersion: STATE_SCHEMA_VERSION,
      runId,
      workflowId: 'wf',
      status: 'completed',
      workflow: validateWorkflow({
        id: 'wf',
        tasks: [
          { id: 'plan', prompt: 'x', agent: 'planner', model: 'opus' },
          { id: 'build', prompt: 'x', depends_on: ['plan'] },
          { id: 'test', command: ['true'], depends_on: ['build'] },
        ],
      }),
      startedAt,
      updatedAt: startedAt,
      records: [],
    });
    await backend.saveTaskRecords(runId, [
      { ...record('plan'), costUsd: 0.5, durationMs: 1000 },
      { ...record('build'), ...build },
      { ...record('test'), tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }, costUsd: 0, durationMs: 200 },
    ]);
  } finally {
    await backend.close();
  }
}

describe('agents-sdk stats', () => {
  beforeEach(async () => {
    await saveRun('old', 1_000, { status: 'failed', attempts: 3, costUsd: 0.25, durationMs: 4000 });
    // No cost recorded: priced from the default table (sonnet: $3 per million input tokens).
    await saveRun('new', 2_000, { attempts: 1, costUsd: 0, tokens: { input: 1_000_000, output: 0, cacheRead: 0, cacheCreation: 0 }, durationMs: 2000 });
  });

  it('prints a table per agent over every stored run', async () => {
    const out = await cli(['stats', ...state()]);
    expect([out.code, out.stderr]).toEqual([0, '']);
    expect(out.stdout).toContain('2 runs, by agent');
    expect(out.stdout).toMatch(/^agent\s+execs\s+success\s+retries\s+in\s+out\s+cache\s+cost\s+mean\s+p50\s+p95\s+max$/m);
    expect(out.stdout).toMatch(/^build\s+2\s+50%\s+2\s+1000001\s+2\s+0\s+\$3\.2500\*\s+3\.0s\s+2\.0s\s+4\.0s\s+4\.0s$/m);
    expect(out.stdout).toMatch(/^planner\s+2\s+100%\s+0\s+.*\$1\.0000\s+1\.0s/m);
    expect(out.stdout).toMatch(/^test\s+2\s+100%/m);
    expect(out.stdout).toMatch(/^total\s+6\s+83%\s+2\s/m);
    expect(out.stdout).toContain('estimated from the price table');
  });

  it('--json --by model, --last and explicit run ids select the runs', async () => {
    const json = JSON.parse((await cli(['stats', '--json', '--by', 'model', ...state()])).stdout) as MetricsSummary;
    expect(json.by).toBe('model');
    expect(json.runs).toBe(2);
    expect(json.groups.map((g) => [g.key, g.executions])).toEqual([
      ['sonnet', 2],
      ['opus', 2],
      ['command', 2],
    ]);
    expect(json.groups[0]!.costUsd).toBeCloseTo(3.25, 10);
    expect(json.groups[0]!.costEstimatedUsd).toBeCloseTo(3, 10);

    const last = JSON.parse((await cli(['stats', '--last', '1', '--json', '--by', 'task', ...state()])).stdout) as MetricsSummary;
    expect(last.runs).toBe(1);
    expect(last.groups.find((g) => g.key === 'build')).toMatchObject({ executions: 1, completed: 1, retries: 0 });

    const old = JSON.parse((await cli(['stats', 'old', '--json', '--by', 'workflow', ...state()])).stdout) as MetricsSummary;
    expect(old.groups).toHaveLength(1);
    expect(old.groups[0]).toMatchObject({ key: 'wf', executions: 3, completed: 2, failed: 1, retries: 2 });
    expect(old.groups[0]!.costUsd).toBeCloseTo(0.75, 10);
  });

  it('unknown run ids and bad options are exit 2; an empty store says no runs', async () => {
    expect((await cli(['stats', 'nope', ...state()])).code).toBe(2);
    expect((await cli(['stats', '--by', 'colour', ...state()])).code).toBe(2);
    expect((await cli(['stats', '--last', '0', ...state()])).code).toBe(2);
    expect((await cli(['stats', 'old', '--last', '1', ...state()])).code).toBe(2);
    const empty = await cli(['stats', '--state-dir', join(dir, 'empty')]);
    expect([empty.code, empty.stdout]).toEqual([0, 'no runs\n']);
  });
});
