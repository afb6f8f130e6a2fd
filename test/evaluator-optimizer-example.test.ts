/**
 * examples/patterns/evaluator-optimizer.yaml replays offline: the writer ↔ reviewer loop runs
 * two iterations (refine#1.*, refine#2.*): the recorded reviewer rejects the first draft with
 * feedback (a structured verdict, through StructuredOutput as the real CLI answers) and
 * approves the second, whose prompt carried the previous draft and that feedback; `publish`
 * reads the last draft. Both backends; `status` lists the iterations under the loop.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskResult, WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';

const EXAMPLE = 'examples/patterns/evaluator-optimizer.yaml';
const RECORDINGS = 'examples/recordings/patterns-evaluator-optimizer';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-eo-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

describe('examples/patterns/evaluator-optimizer.yaml', () => {
  it('validates, and --dry-run shows the loop bound', async () => {
    const validate = await cli(['validate', EXAMPLE]);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
    const dry = await cli(['run', EXAMPLE, '--dry-run']);
    expect(dry.stdout).toContain('wave 1: refine (repeat ≤ 3)');
    expect(dry.stdout).toContain('repeat ≤ 3: until tasks.review.json.approved');
  });

  it('the recorded reviewer answers through StructuredOutput: rejected, then approved', () => {
    const verdict = (k: number) => JSON.parse(readFileSync(join(RECORDINGS, `refine#${k}.review`, 'raw_output.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { structured_output: unknown };
    expect(verdict(1).structured_output).toMatchObject({ approved: false });
    expect(verdict(2).structured_output).toMatchObject({ approved: true });
  });

  it.each(['json', 'sqlite'])('replays offline (%s backend): two iterations, the second reading the first’s draft and feedback, then publish', async (backend) => {
    const state = ['--state-dir', stateDir, '--backend', backend];
    const run = await cli(['run', EXAMPLE, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', 'eo', '--json', ...state]);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('refine: iteration 2 of at most 3')]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const tasks: Record<string, TaskResult> = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(result.status).toBe('completed');
    expect(tasks.refine).toMatchObject({ status: 'completed', iteration: 2 });
    expect(tasks['refine#1.review']).toMatchObject({ status: 'completed', json: { approved: false } });
    expect(tasks['refine#2.review']).toMatchObject({ status: 'completed', json: { approved: true } });
    expect(tasks['refine#3.write']).toBeUndefined();

    const second = await cli(['logs', 'eo', 'refine#2.write', '--prompt', ...state]);
    expect(second.stdout).toContain('This is draft 2.');
    expect(second.stdout).toContain(`Your previous draft (empty for the first):\n${tasks['refine#1.write']!.output}`);
    expect(second.stdout).toContain(`feedback on it, to address: ${(tasks['refine#1.review']!.json as { feedback: string }).feedback}`);
    const first = await cli(['logs', 'eo', 'refine#1.write', '--prompt', ...state]);
    expect(first.stdout).toContain('This is draft 1. Your previous draft (empty for the first):\n\nThe reviewer');

    const publish = await cli(['logs', 'eo', 'publish', '--prompt', ...state]);
    expect(publish.stdout).toContain(tasks['refine#2.write']!.output!);

    const status = await cli(['status', 'eo', ...state]);
    const rows = status.stdout.split('\n\n')[1]!.split('\n').slice(2);
    expect(rows.map((l) => /^ *\S+/.exec(l)![0])).toEqual(['refine', '  refine#1', '    refine#1.write', '    refine#1.review', '  refine#2', '    refine#2.write', '    refine#2.review', 'publish']);
  });
});
