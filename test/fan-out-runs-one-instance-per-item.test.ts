/**
 * Fan-out (`for_each`): a planner's structured list becomes one instance per item
 * (`impl[0]`, `impl[1]`...), each reading `{{item}}` and `{{index}}`; the integrator after it
 * reads every instance's output and json, in item order. The list is recorded on the declared
 * task's record before any instance starts; empty, non-list and too-long lists; the task's own
 * `max_parallel`; a failed instance, and `resume --retry-failed` running only it again. Both
 * backends; in-process executors (no timing involved).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, WorkflowOrchestrator, type ExecutionResult, type Executor, type TaskEvent, type TaskResult, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { okResult, recordingExecutor } from './helpers/results.js';

const ok = (output: string, json?: unknown): ExecutionResult => okResult({ output, numTurns: 1, ...(json !== undefined && { json }) });

const agents = recordingExecutor;

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fan-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const PLAN_SCHEMA = { type: 'object', properties: { subtasks: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } } } } }, required: ['subtasks'] };

/** Orchestrator-workers: plan → one implementer per subtask → integrate. */
const workers = (extra: Record<string, unknown> = {}) => ({
  id: 'ow',
  max_parallel: 4,
  tasks: [
    { id: 'plan', prompt: 'plan the work', output_schema: PLAN_SCHEMA },
    { id: 'impl', depends_on: ['plan'], for_each: 'tasks.plan.json.subtasks', prompt: 'implement #{{index}}: {{item.title}} ({{item}})', output_schema: { type: 'object' }, ...extra },
    { id: 'integrate', depends_on: ['impl'], prompt: 'integrate {{tasks.impl.outputs}} / {{tasks.impl.json}}' },
  ],
});

const planned = (titles: string[]) => (prompt: string) => {
  if (prompt === 'plan the work') return ok('planned', { subtasks: titles.map((title) => ({ title })) });
  const m = /^implement #(\d+): (\w+)/.exec(prompt);
  if (m) return ok(`done ${m[2]}`, { n: Number(m[1]) });
  return ok('integrated');
};

for (const factory of backendFactories()) {
  describe(`fan-out (${factory.name})`, () => {
    const orchestrator = async (executor: Executor) =>
      new WorkflowOrchestrator({ stateBackend: await factory.create(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });

    it('runs one instance per item of the planner list, then the integrator with every output in item order', async () => {
      const executor = agents(planned(['alpha', 'beta', 'gamma']));
      const o = await orchestrator(executor);
      const events: TaskEvent[] = [];
      o.bus.subscribe('fanout.expanded', ({ payload: e }) => {
    events.push(e);
  });
      const result = await o.runWorkflow(workers(), { runId: 'ow1' });
      expect(result.status).toBe('completed');
      const tasks = byId(result);
      expect(tasks['impl[0]']).toMatchObject({ status: 'completed', output: 'done alpha', json: { n: 0 } });
      expect(tasks['impl[2]']).toMatchObject({ status: 'completed', output: 'done gamma' });
      expect(tasks.impl!.status).toBe('completed');
      expect(executor.prompts).toContain('implement #1: beta ({"title":"beta"})');
      expect(tasks.integrate!.status).toBe('completed');
      expect(executor.prompts.at(-1)).toBe('integrate ["done alpha","done beta","done gamma"] / [{"n":0},{"n":1},{"n":2}]');
      expect(events).toEqual([expect.objectContaining({ type: 'fanout.expanded', taskId: 'impl', count: 3 })]);
      // The list is on the declared task's record, durably.
      const stored = await (await factory.create(dir)).loadRun('ow1');
      const impl = stored!.records.find((r) => r.taskId === 'impl')!;
      expect(impl.items).toEqual([{ title: 'alpha' }, { title: 'beta' }, { title: 'gamma' }]);
      expect(stored!.records.filter((r) => r.taskId.startsWith('impl[')).map((r) => [r.taskId, r.status])).toEqual([
        ['impl[0]', 'completed'],
        ['impl[1]', 'completed'],
        ['impl[2]', 'completed'],
      ]);
    });

    it('under on_failure: stop, a failed instance halts the run: the instances not started are skipped, and --retry-failed runs them', async () => {
      let broken = true;
      const executor = agents((prompt) => {
        if (broken && prompt.startsWith('implement #0')) throw new PermanentError('AGENT_ERROR', 'alpha broke');
        return planned(['alpha', 'beta', 'gamma'])(prompt);
      });
      const failed = await (await orchestrator(executor)).runWorkflow(workers({ max_parallel: 1 }), { runId: 'ow-stop' });
      expect(failed.status).toBe('failed');
      const tasks = byId(failed);
      expect([0, 1, 2].map((k) => tasks[`impl[${k}]`]!.status)).toEqual(['failed', 'skipped', 'skipped']);
      expect(tasks.impl!.status).toBe('failed');
      expect(tasks.integrate!.status).toBe('skipped');

      broken = false;
      executor.prompts.length = 0;
      const retried = await (await orchestrator(executor)).resume('ow-stop', { retryFailed: true });
      expect(retried.status).toBe('completed');
      expect(executor.prompts.filter((p) => p.startsWith('implement'))).toEqual([
        'implement #0: alpha ({"title":"alpha"})',
        'implement #1: beta ({"title":"beta"})',
        'implement #2: gamma ({"title":"gamma"})',
      ]);
    });

    it('rerun --from the integrator keeps the fan-out and its instances: only the integrator runs', async () => {
      const executor = agents(planned(['alpha', 'beta']));
      expect((await (await orchestrator(executor)).runWorkflow(workers(), { runId: 'ow-r' })).status).toBe('completed');
      executor.prompts.length = 0;
      const again = await (await orchestrator(executor)).rerun('ow-r', { from: 'integrate', runId: 'ow-r2' });
      expect(again.status).toBe('completed');
      expect(executor.prompts).toEqual(['integrate ["done alpha","done beta"] / [{"n":0},{"n":1}]']);
    });

    it('the list is durable before the first instance starts', async () => {
      let seen: unknown;
      const executor = agents(async (prompt) => {
        if (prompt.startsWith('implement #0')) {
          // What another process would read from the state at this moment.
          const stored = await (await factory.create(dir)).loadRun('ow-durable');
          seen = stored!.records.find((r) => r.taskId === 'impl')!.items;
        }
        return planned(['alpha', 'beta'])(prompt);
      });
      expect((await (await orchestrator(executor)).runWorkflow(workers(), { runId: 'ow-durable' })).status).toBe('completed');
      expect(seen).toEqual([{ title: 'alpha' }, { title: 'beta' }]);
    });

    it('an empty list completes the task at once and its dependants run', async () => {
      const executor = agents(planned([]));
      const result = await (await orchestrator(executor)).runWorkflow(workers(), { runId: 'ow-empty' });
      expect(result.status).toBe('completed');
      expect(byId(result).impl).toMatchObject({ status: 'completed' });
      expect(executor.prompts).toEqual(['plan the work', 'integrate [] / []']);
    });

    it('a for_each that gives no list fails the task with EXPRESSION_ERROR naming the expression and the value', async () => {
      const executor = agents((prompt) => (prompt === 'plan the work' ? ok('planned', { subtasks: 'not a list' }) : ok('x')));
      const result = await (await orchestrator(executor)).runWorkflow(workers(), { runId: 'ow-bad' });
      expect(result.status).toBe('failed');
      const impl = byId(result).impl!;
      expect(impl.status).toBe('failed');
      expect(impl.error).toMatchObject({ code: 'EXPRESSION_ERROR' });
      expect(impl.error!.message).toBe('Task "impl": for_each: tasks.plan.json.subtasks: gave "not a list", not a list (tasks.plan.json.subtasks = "not a list")');
      expect(executor.prompts).toEqual(['plan the work']);
    });

    it('more items than max_items fails the task before any instance starts', async () => {
      const executor = agents(planned(['a', 'b', 'c']));
      const result = await (await orchestrator(executor)).runWorkflow(workers({ max_items: 2 }), { runId: 'ow-many' });
      expect(result.status).toBe('failed');
      expect(byId(result).impl!.error).toMatchObject({ code: 'TOO_MANY_ITEMS' });
      expect(byId(result).impl!.error!.message).toContain('gave 3 items, more than its max_items (2)');
      expect(executor.prompts).toEqual(['plan the work']);
      expect(result.taskResults.some((t) => t.taskId.startsWith('impl['))).toBe(false);
    });

    it("never runs more instances at once than the task's max_parallel", async () => {
      let running = 0;
      let most = 0;
      // Instances are held until two run at once: a cap of 1 would never finish, a cap above 2 is seen.
      let held: Array<() => void> = [];
      const executor = agents(async (prompt) => {
        if (prompt.startsWith('implement')) {
          running += 1;
          most = Math.max(most, running);
          await new Promise<void>((resolve) => {
            held.push(resolve);
            if (running >= 2) {
              for (const release of held) release();
              held = [];
            }
          });
          running -= 1;
        }
        return planned(['a', 'b', 'c', 'd', 'e', 'f'])(prompt);
      });
      const result = await (await orchestrator(executor)).runWorkflow(workers({ max_parallel: 2 }), { runId: 'ow-cap' });
      expect(result.status).toBe('completed');
      expect(most).toBe(2);
      expect(executor.prompts.filter((p) => p.startsWith('implement'))).toHaveLength(6);
    });

    it('a false when skips the whole fan-out before its list is evaluated', async () => {
      const executor = agents((prompt) => (prompt === 'plan the work' ? ok('planned', { subtasks: 'not a list' }) : ok('x')));
      const result = await (await orchestrator(executor)).runWorkflow(workers({ when: 'tasks.plan.output == "go"' }), { runId: 'ow-when' });
      expect(result.status).toBe('completed');
      expect(byId(result).impl).toMatchObject({ status: 'skipped', skippedBy: 'when' });
      expect(byId(result).integrate!.status).toBe('completed');
    });

    it('a cancelled fan-out resumes where it was: finished instances are kept, the list is not evaluated again', async () => {
      let o: WorkflowOrchestrator | null = null;
      let cancel = true;
      const executor = agents(async (prompt, signal) => {
        // The third instance's start cancels the run (two have completed, one at a time); it
        // runs until it is stopped.
        if (cancel && prompt.startsWith('implement #2')) {
          cancel = false;
          void o!.cancel();
          await new Promise((resolve) => (signal!.aborted ? resolve(null) : signal!.addEventListener('abort', resolve)));
        }
        return planned(['a', 'b', 'c', 'd'])(prompt);
      });
      o = await orchestrator(executor);
      const cancelled = await o.runWorkflow(workers({ max_parallel: 1 }), { runId: 'ow-cancel' });
      expect(cancelled.status).toBe('cancelled');
      expect(byId(cancelled).impl!.status).toBe('cancelled');
      expect(['impl[0]', 'impl[1]'].map((id) => byId(cancelled)[id]!.status)).toEqual(['completed', 'completed']);

      executor.prompts.length = 0;
      const again = await orchestrator(executor);
      const expanded: TaskEvent[] = [];
      again.bus.subscribe('fanout.expanded', ({ payload: e }) => {
    expanded.push(e);
  });
      const resumed = await again.resume('ow-cancel');
      expect(resumed.status).toBe('completed');
      expect(expanded).toEqual([]);
      expect(executor.prompts).toEqual(['implement #2: c ({"title":"c"})', 'implement #3: d ({"title":"d"})', 'integrate ["done a","done b","done c","done d"] / [{"n":0},{"n":1},{"n":2},{"n":3}]']);
    });

    it('a failed instance fails its task (dependants skipped); resume --retry-failed runs only that instance again', async () => {
      let broken = true;
      const executor = agents((prompt) => {
        if (broken && prompt.startsWith('implement #1')) throw new PermanentError('AGENT_ERROR', 'beta broke');
        return planned(['alpha', 'beta', 'gamma'])(prompt);
      });
      const failed = await (await orchestrator(executor)).runWorkflow({ ...workers(), on_failure: 'continue' }, { runId: 'ow-fail' });
      expect(failed.status).toBe('failed');
      const tasks = byId(failed);
      expect(tasks['impl[1]']!.status).toBe('failed');
      expect(tasks.impl!.status).toBe('failed');
      expect(tasks.impl!.error!.message).toContain('1 of 3 instances failed (impl[1])');
      expect(tasks.integrate!.status).toBe('skipped');

      broken = false;
      executor.prompts.length = 0;
      const retried = await (await orchestrator(executor)).resume('ow-fail', { retryFailed: true });
      expect(retried.status).toBe('completed');
      expect(executor.prompts).toEqual(['implement #1: beta ({"title":"beta"})', 'integrate ["done alpha","done beta","done gamma"] / [{"n":0},{"n":1},{"n":2}]']);
    });
  });
}
