import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type RunSummary, type WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { backendFactories } from './helpers/backends.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** plan → build → test, and plan → docs; build fails once (a 529) when `flaky`. */
function writeWorkflow(flaky = false): string {
  const file = join(world.root, 'wf.yaml');
  writeFileSync(
    file,
    [
      'id: rerun-demo',
      'tasks:',
      '  - id: plan',
      '    prompt: "plan [[reply:PLAN-OUT]]"',
      '  - id: build',
      // (flaky: a reply, not an echo, or the directive would reach test's prompt through the output)
      flaky ? '    prompt: "build [[reply:BUILT]] [[transient:1]] {{tasks.plan.output}}"' : '    prompt: "build [[echo]] from {{tasks.plan.output}}"',
      '    depends_on: [plan]',
      ...(flaky ? ['    retry_count: 1'] : []),
      '  - id: test',
      '    prompt: "test [[echo]] of {{tasks.build.output}}"',
      '    depends_on: [build]',
      '  - id: docs',
      '    prompt: "docs [[echo]] for {{tasks.plan.output}}"',
      '    depends_on: [plan]',
      '',
    ].join('\n'),
  );
  return file;
}

/** The task each fake claude invocation was for (the first word of its prompt). */
function invokedTasks(): string[] {
  return world.invocations().filter((i) => typeof i.prompt === 'string').map((i) => (i.prompt as string).split(' ')[0]!);
}

const backends = backendFactories().map((b) => (b.name.startsWith('Sqlite') ? 'sqlite' : 'json'));

describe.each(backends)('agents-sdk rerun --from (%s backend)', (backend) => {
  const state = (): string[] => ['--state-dir', world.stateDir, '--backend', backend];

  it('keeps the tasks not downstream of --from, runs it and its dependants again, and links the new run to the old', async () => {
    const wf = writeWorkflow();
    const first = await cli(['run', wf, '--run-id', 'first', ...state()], world.env);
    expect(first.code, first.stderr).toBe(0);
    expect(invokedTasks().sort()).toEqual(['build', 'docs', 'plan', 'test']);

    const again = await cli(['rerun', 'first', '--from', 'build', '--run-id', 'second', '--json', ...state()], world.env);
    expect(again.code, again.stderr).toBe(0);
    // plan and docs were kept: only build and test ran again
    expect(invokedTasks().slice(4).sort()).toEqual(['build', 'test']);
    const result = JSON.parse(again.stdout) as WorkflowResult;
    expect(result).toMatchObject({ runId: 'second', status: 'completed' });
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    // the rerun task's template saw the kept output of plan
    expect(byId.build!.output).toContain('from PLAN-OUT');
    expect(byId.test!.output).toContain('of build [[echo]] from PLAN-OUT');
    expect(byId.plan).toMatchObject({ status: 'completed', output: 'PLAN-OUT', keptFrom: 'first', costUsd: 0 });
    expect(byId.docs!.keptFrom).toBe('first');
    expect(byId.build!.keptFrom).toBeUndefined();
    expect(again.stderr).toContain('run second (rerun of first from build)');

    const status = await cli(['status', 'second', '--json', ...state()], world.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ runId: 'second', status: 'completed', rerunOf: { runId: 'first', fromTask: 'build' } });
    const text = await cli(['status', 'second', ...state()], world.env);
    expect(text.stdout).toContain('rerun of run first from task build');
    expect(text.stdout).toMatch(/plan\s+completed.*kept from run first/);
    const list = JSON.parse((await cli(['list', '--json', ...state()], world.env)).stdout) as RunSummary[];
    expect(list.find((r) => r.runId === 'second')?.rerunOf).toEqual({ runId: 'first', fromTask: 'build' });
    expect(list.find((r) => r.runId === 'first')?.rerunOf).toBeUndefined();
    // the old run is not changed
    const old = JSON.parse((await cli(['status', 'first', '--json', ...state()], world.env)).stdout) as { records: Array<{ keptFrom?: string }> };
    expect(old.records.every((r) => r.keptFrom === undefined)).toBe(true);
    // kept tasks ran (and are counted) in the old run: no bar in the new run's timeline, no execution in its stats
    const report = await cli(['report', 'second', '-o', '-', ...state()], world.env);
    expect(report.stdout).toContain('kept from run first (not run again)');
    expect(report.stdout).not.toContain('<rect class="attempt" data-task-id="plan"');
    expect(report.stdout).toContain('<rect class="attempt" data-task-id="build"');
    const stats = JSON.parse((await cli(['stats', 'second', '--by', 'task', '--json', ...state()], world.env)).stdout) as { groups: Array<{ key: string }> };
    expect(stats.groups.map((g) => g.key).sort()).toEqual(['build', 'test']);
    // the kept task's transcript is still readable from the new run
    const logs = await cli(['logs', 'second', 'plan', ...state()], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('PLAN-OUT');
  });

  it('--only runs just that task: its dependants keep their records', async () => {
    const wf = writeWorkflow();
    expect((await cli(['run', wf, '--run-id', 'first', ...state()], world.env)).code).toBe(0);
    const again = await cli(['rerun', 'first', '--from', 'build', '--only', '--run-id', 'only', '--json', ...state()], world.env);
    expect(again.code, again.stderr).toBe(0);
    expect(invokedTasks().slice(4)).toEqual(['build']);
    const result = JSON.parse(again.stdout) as WorkflowResult;
    expect(result.taskResults.find((t) => t.taskId === 'test')).toMatchObject({ status: 'completed', keptFrom: 'first' });
    const status = JSON.parse((await cli(['status', 'only', '--json', ...state()], world.env)).stdout) as { rerunOf: unknown };
    expect(status.rerunOf).toEqual({ runId: 'first', fromTask: 'build', only: true });
  });

  it('reruns a failed run from its failed task: the skipped dependants run too', async () => {
    const wf = writeWorkflow(true);
    const first = await cli(['run', wf, '--run-id', 'first', ...state()], world.env);
    expect(first.code).toBe(1);
    expect(invokedTasks().sort()).toEqual(['build', 'docs', 'plan']);
    const again = await cli(['rerun', 'first', '--from', 'build', '--run-id', 'fixed', ...state()], world.env);
    expect(again.code, again.stderr).toBe(0);
    expect(invokedTasks().slice(3).sort()).toEqual(['build', 'test']);
    expect(again.stdout).toMatch(/plan\s+completed \(kept\)\s+1/);
    expect(again.stdout).toMatch(/build\s+completed\s+1/);
    expect(again.stdout).toContain('rerun-demo run fixed: completed');
  });

  it('an unknown task is refused, naming it (exit 2), and nothing runs', async () => {
    const wf = writeWorkflow();
    expect((await cli(['run', wf, '--run-id', 'first', ...state()], world.env)).code).toBe(0);
    const bad = await cli(['rerun', 'first', '--from', 'buidl', ...state()], world.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('has no task "buidl"; did you mean "build"?');
    const missing = await cli(['rerun', 'nope', '--from', 'build', ...state()], world.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('NOT_FOUND');
    const noFrom = await cli(['rerun', 'first', ...state()], world.env);
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toContain('--from <task> is required');
    expect(invokedTasks()).toHaveLength(4);
    const list = JSON.parse((await cli(['list', '--json', ...state()], world.env)).stdout) as RunSummary[];
    expect(list.map((r) => r.runId)).toEqual(['first']);
  });

  it('reruns a replayed run from its recordings, never with the real agent unless --live', async () => {
    // The real agent is nowhere to be found: a rerun that reached for it would fail.
    const noClaude = { ...world.env, CLAUDE_CODE_PATH: join(world.root, 'no-claude-here') };
    const replay = ['--replay', 'examples/recordings/sdlc', '--replay-speed', '0'];
    const first = await cli(['run', 'examples/sdlc.yaml', '--run-id', 'rec', ...replay, ...state()], noClaude);
    expect(first.code, first.stderr).toBe(0);
    const again = await cli(['rerun', 'rec', '--from', 'build', '--run-id', 'rec2', ...state(), '--json'], noClaude);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('rerunning run rec as it was started: --replay');
    expect((JSON.parse(again.stdout) as WorkflowResult).status).toBe('completed');
    const live = await cli(['rerun', 'rec', '--from', 'build', '--run-id', 'rec3', '--live', ...state(), '--json'], noClaude);
    expect(live.code).toBe(1);
    expect(JSON.stringify(JSON.parse(live.stdout))).toContain('BINARY_NOT_FOUND');
  });
});

describe('WorkflowOrchestrator.rerun', () => {
  it('is the library entry point of rerun --from, and a rerun can itself be rerun, cancelled and resumed', async () => {
    const restore = setProcessEnv(world.env);
    try {
      const orchestrator = new WorkflowOrchestrator(new JsonStateBackend(world.stateDir));
      const spec = {
        id: 'lib',
        tasks: [
          { id: 'a', prompt: 'a [[reply:A1]]' },
          { id: 'b', prompt: 'b [[echo]] got {{tasks.a.output}}', depends_on: ['a'] },
        ],
      };
      const first = await orchestrator.runWorkflow(spec, { runId: 'lib1' });
      expect(first.status).toBe('completed');
      const second = await orchestrator.rerun('lib1', { from: 'b', runId: 'lib2' });
      expect(second.taskResults.find((t) => t.taskId === 'b')!.output).toContain('got A1');
      expect(invokedTasks()).toEqual(['a', 'b', 'b']);
      // a rerun of a rerun: the kept record still names the run that produced it
      const third = await orchestrator.rerun('lib2', { from: 'b', runId: 'lib3' });
      expect(third.taskResults.find((t) => t.taskId === 'a')!.keptFrom).toBe('lib1');
      const stored = await orchestrator.stateBackend!.loadRun('lib3');
      expect(stored?.rerunOf).toEqual({ runId: 'lib2', fromTask: 'b' });
      await expect(orchestrator.rerun('lib1', { from: 'zzz' })).rejects.toThrow(/has no task "zzz"/);
      // a run still driven by a live process is not forked
      const release = await orchestrator.stateBackend!.lockRun('lib1');
      await expect(orchestrator.rerun('lib1', { from: 'b' })).rejects.toMatchObject({ code: 'LOCKED' });
      await release();
      // a rerun cancelled before its task ran is resumed as a rerun: still linked, kept tasks still kept
      const cancelled = orchestrator.rerun('lib1', { from: 'b', runId: 'lib4' });
      void orchestrator.cancel();
      expect((await cancelled).status).toBe('cancelled');
      const resumed = await orchestrator.resume('lib4');
      expect(resumed.status).toBe('completed');
      expect(resumed.taskResults.find((t) => t.taskId === 'a')!.keptFrom).toBe('lib1');
      expect((await orchestrator.stateBackend!.loadRun('lib4'))?.rerunOf).toEqual({ runId: 'lib1', fromTask: 'b' });
      await expect(orchestrator.rerun('lib1', { from: 'a', runId: 'lib2' })).rejects.toMatchObject({ code: 'RUN_EXISTS' });
    } finally {
      restore();
    }
  });
});
