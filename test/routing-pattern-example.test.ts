/**
 * examples/patterns/routing.yaml replays offline: the classifier's structured output (recorded
 * as the real CLI emits it: a StructuredOutput call and `structured_output` on the result line)
 * picks the bug branch, the feature and question branches are skipped by their `when` with the
 * reason, and the join replies after the branch taken. `stats` does not count the skipped
 * branches, and `diagram` puts each condition on its edge.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricsSummary, TaskResult, WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';

const EXAMPLE = 'examples/patterns/routing.yaml';
const RECORDINGS = 'examples/recordings/patterns-routing';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-routing-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

async function replay(runId: string, backend = 'json'): Promise<{ result: WorkflowResult; tasks: Record<string, TaskResult>; stderr: string }> {
  const run = await cli(['run', EXAMPLE, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', runId, '--json', '--state-dir', stateDir, '--backend', backend]);
  expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('completed')]);
  const result = JSON.parse(run.stdout) as WorkflowResult;
  return { result, tasks: Object.fromEntries(result.taskResults.map((t) => [t.taskId, t])), stderr: run.stderr };
}

describe('examples/patterns/routing.yaml', () => {
  it('validates', async () => {
    const validate = await cli(['validate', EXAMPLE]);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
  });

  it('the recorded classifier answers through StructuredOutput, as the real CLI does', () => {
    const lines = readFileSync(join(RECORDINGS, 'classify', 'raw_output.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const calls = lines.flatMap((l) => ((l.message as { content?: { type: string; name?: string }[] } | undefined)?.content ?? []).filter((c) => c.type === 'tool_use'));
    expect(calls.map((c) => c.name)).toEqual(['StructuredOutput']);
    const result = lines.at(-1)!;
    expect(result).toMatchObject({ type: 'result', subtype: 'success', stop_reason: 'tool_use', structured_output: { kind: 'bug' } });
    expect(JSON.parse(String(result.result))).toEqual(result.structured_output);
  });

  it.each(['json', 'sqlite'])('replays offline (%s backend): the bug branch runs, the others are skipped with their reason, the join replies after it', async (backend) => {
    const { result, tasks, stderr } = await replay('route', backend);
    expect(result.status).toBe('completed');
    expect(tasks.classify).toMatchObject({ status: 'completed', json: { kind: 'bug', area: 'settings' } });
    expect(tasks.fix_bug).toMatchObject({ status: 'completed', attempts: 1 });
    expect(tasks.fix_bug!.output).toContain('Fixed: SettingsPanel');
    for (const [id, kind] of [
      ['add_feature', 'feature'],
      ['answer', 'question'],
    ] as const) {
      const reason = `when: tasks.classify.json.kind == "${kind}" is false (tasks.classify.json.kind = "bug")`;
      expect(tasks[id]).toMatchObject({ status: 'skipped', skippedBy: 'when', attempts: 0, costUsd: 0, reason });
      expect(stderr).toContain(`${id}: skipped: ${reason}`);
    }
    expect(tasks.reply).toMatchObject({ status: 'completed', attempts: 1 });
    // The join ran after the branch taken, and its prompt read that branch's output.
    const order = result.taskResults.map((t) => t.taskId);
    expect(order.indexOf('reply')).toBeGreaterThan(order.indexOf('fix_bug'));
    const prompt = await cli(['logs', 'route', 'reply', '--prompt', '--state-dir', stateDir, '--backend', backend]);
    expect(prompt.stdout).toContain('reply to the reporter of this bug');
    expect(prompt.stdout).toContain('Fixed: SettingsPanel computed initials');
  });

  it('stats counts the branch taken, not the skipped ones (no failures)', async () => {
    await replay('route-stats');
    const stats = await cli(['stats', '--by', 'task', '--json', '--state-dir', stateDir]);
    const summary = JSON.parse(stats.stdout) as MetricsSummary;
    expect(summary.groups.map((g) => g.key).sort()).toEqual(['classify', 'fix_bug', 'reply']);
    expect(summary.total).toMatchObject({ executions: 3, completed: 3, failed: 0, successRate: 1 });
  });

  it('diagram puts each branch condition on its edge; with --run the skipped branches are coloured as skipped', async () => {
    const plain = await cli(['diagram', EXAMPLE]);
    expect(plain.code).toBe(0);
    for (const [id, kind] of [
      ['fix_bug', 'bug'],
      ['add_feature', 'feature'],
      ['answer', 'question'],
    ]) {
      expect(plain.stdout).toContain(`classify -->|"when: tasks.classify.json.kind == #34;${kind}#34;"| ${id}`);
      expect(plain.stdout).toContain(`${id} --> reply`);
    }
    await replay('route-diagram');
    const coloured = await cli(['diagram', EXAMPLE, '--run', 'route-diagram', '--state-dir', stateDir]);
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(/class [^\n]*\badd_feature\b[^\n]* skipped/);
    expect(coloured.stdout).toMatch(/class [^\n]*\bfix_bug\b[^\n]* completed/);
  });
});
