/**
 * The ADW workflows migrated to agents-sdk (examples/adw): ADW's agent names and slash-command
 * prompts, test/review/document in parallel after the build, and recordings that replay offline
 * and whose recorded pace allows the ≥ 1.5× speedup over ADW's one-after-another run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';

interface PlannedTask {
  id: string;
  agent: string;
  dependsOn: string[];
  prompt: string;
  model?: string;
}

const CASES = [
  {
    file: 'examples/adw/plan-build.yaml',
    recordings: 'examples/recordings/adw-plan-build',
    agents: { plan: 'sdlc_planner', build: 'sdlc_implementor' },
  },
  {
    file: 'examples/adw/plan-build-test.yaml',
    recordings: 'examples/recordings/adw-plan-build-test',
    agents: { plan: 'sdlc_planner', build: 'sdlc_implementor', test: 'test_runner', review: 'reviewer', document: 'documenter' },
  },
] as const;

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-adw-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

function recordedMs(recordings: string, taskId: string): number {
  const lines = readFileSync(join(recordings, taskId, 'raw_output.jsonl'), 'utf8').trim().split('\n');
  const result = JSON.parse(lines.at(-1) ?? '{}') as { type?: string; duration_ms?: number };
  expect(result.type).toBe('result');
  return result.duration_ms ?? 0;
}

describe.each(CASES)('$file', ({ file, recordings, agents }) => {
  it('validates, with ADW agent names and slash-command prompts', async () => {
    const validate = await cli(['validate', file]);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
    const dry = await cli(['run', file, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const tasks = (JSON.parse(dry.stdout) as { tasks: PlannedTask[] }).tasks;
    expect(Object.fromEntries(tasks.map((t) => [t.id, t.agent]))).toEqual(agents);
    const byId = Object.fromEntries(tasks.map((t) => [t.id, t]));
    expect(byId.plan?.prompt).toMatch(/^\/feature 42 a1b2c3d4 \{"number":42,/);
    expect(byId.build?.prompt).toBe('/implement <output of plan>');
    expect(byId.build?.dependsOn).toEqual(['plan']);
  });

  it('replays offline at speed 0: every task completes with its recorded output', async () => {
    const run = await cli(['run', file, '--replay', recordings, '--replay-speed', '0', '--json', '--state-dir', stateDir]);
    expect([run.code, run.stderr.includes('completed')]).toEqual([0, true]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    expect(result.status).toBe('completed');
    expect(result.taskResults.map((t) => t.taskId).sort()).toEqual(Object.keys(agents).sort());
    const output = (id: string) => result.taskResults.find((t) => t.taskId === id)?.output;
    expect(output('plan')).toBe('specs/issue-42-adw-a1b2c3d4-sdlc_planner-add-dark-mode-toggle.md');
    expect(output('build')).toContain('Implemented specs/issue-42-adw-a1b2c3d4');
  });
});

describe('examples/adw/plan-build-test.yaml parallelism', () => {
  it('test, review and document depend only on build and get ADW slash commands', async () => {
    const dry = await cli(['run', 'examples/adw/plan-build-test.yaml', '--dry-run', '--json']);
    const plan = JSON.parse(dry.stdout) as { tasks: PlannedTask[]; waves: { taskIds: string[] }[] };
    const byId = Object.fromEntries(plan.tasks.map((t) => [t.id, t]));
    for (const id of ['test', 'review', 'document']) expect(byId[id]?.dependsOn, id).toEqual(['build']);
    expect(byId.test?.prompt).toBe('/test');
    expect(byId.review?.prompt).toMatch(/^\/review a1b2c3d4 /);
    expect(byId.document?.prompt).toMatch(/^\/document a1b2c3d4 /);
    expect(plan.waves.map((w) => [...w.taskIds].sort())).toEqual([['plan'], ['build'], ['document', 'review', 'test']]);
  });

  it('the recorded pace allows ≥ 1.5× over running the phases one after another', () => {
    const dir = 'examples/recordings/adw-plan-build-test';
    const ms = (id: string) => recordedMs(dir, id);
    const sequential = ['plan', 'build', 'test', 'review', 'document'].reduce((sum, id) => sum + ms(id), 0);
    const criticalPath = ms('plan') + ms('build') + Math.max(ms('test'), ms('review'), ms('document'));
    expect(sequential / criticalPath).toBeGreaterThanOrEqual(1.5);
  });
});
