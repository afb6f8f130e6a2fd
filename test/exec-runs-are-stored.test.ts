/**
 * `exec` stores its session as a run (one agent task, named after the agent) in the state
 * backend, under the id whose directory holds the raw output it prints, so that `status`,
 * `logs` and `list` know that id, on both backends. A run still going says `running`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { eventually, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe.each(['json', 'sqlite'])('exec on the %s backend', (backend) => {
  const state = () => ['--state-dir', world.stateDir, '--backend', backend];

  it('prints a run id that status and logs know: the raw output path is the one they show', async () => {
    const run = await cli(['exec', 'Plan it [[reply:the plan]] [[tool-turns:1]]', ...state()], world.env);
    expect(run.code).toBe(0);
    const rawOutput = /\[agent\] raw output: (\S+)\n/.exec(run.stderr)![1]!;
    const runId = /\/([0-9a-z]{12})\/agent\/raw_output\.jsonl$/.exec(rawOutput)![1]!;
    expect(run.stderr).toContain(`[agent] run ${runId}: agents-sdk logs ${runId} --state-dir ${world.stateDir}${backend === 'json' ? '' : ' --backend sqlite'} (or status)\n`);

    const status = await cli(['status', runId, ...state(), '--json']);
    expect(status.code).toBe(0);
    const stored = JSON.parse(status.stdout) as { workflowId: string; status: string; records: Array<Record<string, unknown>> };
    expect(stored).toMatchObject({ workflowId: 'exec', status: 'completed' });
    expect(stored.records).toEqual([
      expect.objectContaining({ taskId: 'agent', status: 'completed', attempts: 1, output: 'the plan', rawOutput, attemptLog: [expect.objectContaining({ attempt: 1, status: 'succeeded', rawFile: rawOutput })] }),
    ]);
    const text = await cli(['status', runId, ...state()]);
    expect(text.stdout).toContain(`agent  #1  succeeded  ${rawOutput}`);

    const logs = await cli(['logs', runId, ...state()]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(`== agent · attempt 1 · started`);
    expect(logs.stdout).toContain('tool Bash: echo step-1');
    expect(logs.stdout).toContain('assistant: the plan');

    const list = await cli(['list', ...state(), '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ runId, workflowId: 'exec', status: 'completed' })]);
  });

  it('a failed exec is a failed run with every attempt, its error, and --json names the run', async () => {
    const run = await cli(['exec', 'down [[api-error:529]]', '--retries', '2', '--agent', 'scout', '--json', ...state()], world.env);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { code: string; runId: string; rawOutput: string };
    expect(out).toMatchObject({ code: 'API_OVERLOADED', runId: expect.stringMatching(/^[0-9a-z]{12}$/) });
    expect(out.rawOutput).toBe(join(world.stateDir, out.runId, 'scout', 'raw_output.attempt-2.jsonl'));
    const status = JSON.parse((await cli(['status', out.runId, ...state(), '--json'])).stdout) as { status: string; records: Array<Record<string, unknown>> };
    expect(status.status).toBe('failed');
    expect(status.records[0]).toMatchObject({
      taskId: 'scout',
      status: 'failed',
      attempts: 2,
      error: { code: 'API_OVERLOADED' },
      attemptLog: [expect.objectContaining({ attempt: 1, status: 'failed' }), expect.objectContaining({ attempt: 2, status: 'failed' })],
    });
    expect(status.records[0]!.error).not.toHaveProperty('result');
    const logs = await cli(['logs', out.runId, 'scout', '--attempt', '2', ...state()]);
    expect(logs.stdout).toContain('== scout · attempt 2 ·');
  });
});

describe('an exec still going', () => {
  it('is a running run; cancelled, it is stored cancelled', async () => {
    const controller = new AbortController();
    const running = cli(['exec', '[[hang]] forever', '--state-dir', world.stateDir], world.env, controller.signal);
    let runId: string | undefined;
    await eventually(() => {
      runId = (world.invocations()[0]?.argv as string[] | undefined) && readdirSync(world.stateDir).find((d) => /^[0-9a-z]{12}$/.test(d));
      return runId !== undefined;
    });
    const list = await cli(['list', '--state-dir', world.stateDir, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ runId, workflowId: 'exec', status: 'running' })]);
    controller.abort();
    expect((await running).code).toBe(1);
    const status = JSON.parse((await cli(['status', runId!, '--state-dir', world.stateDir, '--json'])).stdout) as { status: string };
    expect(status.status).toBe('cancelled');
  });
});

describe('exec refuses an agent name that cannot name its run task', () => {
  it('before anything runs or is stored (exit 2)', async () => {
    const run = await cli(['exec', 'hi', '--agent', '-x', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('exec: --agent "-x" must start with a letter or digit');
    expect(world.invocations()).toHaveLength(0);
  });
});
