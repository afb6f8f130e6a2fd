/**
 * Groups: a task entry with its own `tasks:` is a sub-DAG whose tasks run as `<group>.<child>`.
 * The group's `depends_on` gates every child; outside, `{{tasks.<group>.<child>...}}` and CEL
 * `tasks.<group>.<child>...` read a child and `tasks.<group>.output` the last-declared child;
 * a dependant of the group waits for all of it; `when` on a group skips every child with the
 * reason; groups nest; a cancelled run resumes without running a finished child again. Both
 * backends; in-process executors (no timing involved).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, validateWorkflow, type ExecutionResult, type Executor, type TaskResult, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { okResult, recordingExecutor } from './helpers/results.js';

const ok = (output: string, json?: unknown): ExecutionResult => okResult({ output, numTurns: 1, ...(json !== undefined && { json }) });

const agents = recordingExecutor;

const echo = (prompt: string) => ok(`out(${prompt})`, { said: prompt });

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'groups-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** build → fix_tests { test → resolve } → ship, reading a child and the group. */
const FIX = (extra: Record<string, unknown> = {}) => ({
  id: 'fix',
  max_parallel: 1,
  tasks: [
    { id: 'build', prompt: 'build' },
    {
      id: 'fix_tests',
      depends_on: ['build'],
      ...extra,
      tasks: [
        { id: 'test', prompt: 'test after {{tasks.build.output}}' },
        { id: 'resolve', depends_on: ['test'], prompt: 'resolve {{tasks.fix_tests.test.output}}', output_schema: { type: 'object', properties: { said: { type: 'string' } } } },
      ],
    },
    {
      id: 'ship',
      depends_on: ['fix_tests'],
      when: 'tasks.fix_tests.test.status == "completed" || tasks.fix_tests.status == "skipped"',
      prompt: 'ship {{tasks.fix_tests.test.status}} / {{tasks.fix_tests.output}} / {{tasks.fix_tests.resolve.json.said}}',
    },
  ],
});

describe('groups are flattened at validation', () => {
  it('a child is a task `<group>.<child>` depending on its siblings and on the group’s dependencies; a dependant of the group on all its tasks', () => {
    const workflow = validateWorkflow(FIX());
    expect(workflow.tasks.map((t) => [t.id, t.depends_on])).toEqual([
      ['build', []],
      ['fix_tests.test', ['build']],
      ['fix_tests.resolve', ['build', 'fix_tests.test']],
      ['ship', ['fix_tests.test', 'fix_tests.resolve']],
    ]);
    expect(workflow.groups).toEqual({ fix_tests: ['fix_tests.test', 'fix_tests.resolve'] });
    // A validated workflow validates again as it is (runWorkflow does so).
    expect(validateWorkflow(workflow).tasks.map((t) => t.id)).toEqual(workflow.tasks.map((t) => t.id));
  });
});

for (const factory of backendFactories()) {
  describe(`groups (${factory.name})`, () => {
    const orchestrator = async (executor: Executor) =>
      new WorkflowOrchestrator({ stateBackend: await factory.create(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });

    it('runs the group after its dependency, and the task after it reads a child, the group’s output and a child’s json', async () => {
      const executor = agents(echo);
      const result = await (await orchestrator(executor)).runWorkflow(FIX(), { runId: 'g1' });
      expect(result.status).toBe('completed');
      expect(executor.prompts).toEqual([
        'build',
        'test after out(build)',
        'resolve out(test after out(build))',
        'ship completed / out(resolve out(test after out(build))) / resolve out(test after out(build))',
      ]);
      expect(byId(result)['fix_tests.resolve']!.status).toBe('completed');
    });

    it('when on a group skips every task of it with the reason; its dependants run', async () => {
      const executor = agents(echo);
      const result = await (await orchestrator(executor)).runWorkflow(FIX({ when: 'tasks.build.output == "nothing to fix"' }), { runId: 'g-when' });
      expect(result.status).toBe('completed');
      const tasks = byId(result);
      for (const id of ['fix_tests.test', 'fix_tests.resolve']) {
        expect(tasks[id]).toMatchObject({ status: 'skipped', skippedBy: 'when', attempts: 0 });
        expect(tasks[id]!.reason).toContain('tasks.build.output == "nothing to fix"');
      }
      expect(executor.prompts).toEqual(['build', 'ship skipped /  / ']);
    });

    it('groups nest: ids `<outer>.<inner>.<child>`, the outer group’s output is its last task’s', async () => {
      const executor = agents(echo);
      const spec = {
        id: 'nest',
        max_parallel: 1,
        tasks: [
          { id: 'start', prompt: 'start' },
          {
            id: 'outer',
            depends_on: ['start'],
            tasks: [
              { id: 'a', prompt: 'a' },
              { id: 'inner', depends_on: ['a'], tasks: [{ id: 'b', prompt: 'b {{tasks.outer.a.output}}' }, { id: 'c', depends_on: ['b'], prompt: 'c' }] },
            ],
          },
          { id: 'end', depends_on: ['outer'], when: 'tasks.outer.inner.b.status == "completed"', prompt: 'end {{tasks.outer.output}} {{tasks.outer.inner.b.output}}' },
        ],
      };
      const workflow = validateWorkflow(spec);
      expect(workflow.tasks.map((t) => [t.id, t.depends_on])).toEqual([
        ['start', []],
        ['outer.a', ['start']],
        ['outer.inner.b', ['start', 'outer.a']],
        ['outer.inner.c', ['start', 'outer.a', 'outer.inner.b']],
        ['end', ['outer.a', 'outer.inner.b', 'outer.inner.c']],
      ]);
      const result = await (await orchestrator(executor)).runWorkflow(spec, { runId: 'g-nest' });
      expect(result.status).toBe('completed');
      expect(executor.prompts).toEqual(['start', 'a', 'b out(a)', 'c', 'end out(c) out(b out(a))']);
    });

    it('a cancelled run resumes without running a finished child again', async () => {
      let o: WorkflowOrchestrator | null = null;
      let cancel = true;
      const executor = agents(async (prompt, signal) => {
        // The group's second task cancels the run when it starts, and runs until stopped.
        if (cancel && prompt.startsWith('resolve')) {
          cancel = false;
          void o!.cancel();
          await new Promise((resolve) => (signal!.aborted ? resolve(null) : signal!.addEventListener('abort', resolve)));
        }
        return echo(prompt);
      });
      o = await orchestrator(executor);
      const cancelled = await o.runWorkflow(FIX(), { runId: 'g-cancel' });
      expect(cancelled.status).toBe('cancelled');
      expect(byId(cancelled)['fix_tests.test']!.status).toBe('completed');

      executor.prompts.length = 0;
      const resumed = await (await orchestrator(executor)).resume('g-cancel');
      expect(resumed.status).toBe('completed');
      expect(executor.prompts).toEqual([
        'resolve out(test after out(build))',
        'ship completed / out(resolve out(test after out(build))) / resolve out(test after out(build))',
      ]);
    });
  });
}
