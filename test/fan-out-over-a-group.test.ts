/**
 * `for_each` on a group: one instance of the whole sub-DAG per item (`impl[0].code`,
 * `impl[0].check`...), each task reading `{{item}}`, `{{item.<field>}}`, `{{index}}` and, in
 * CEL, `item` and `index` (a child's `when: item.kind == "test"`); dependants wait for every
 * instance and read `tasks.impl.outputs`/`json` (the last-declared child's, in item order) or a
 * child's (`tasks.impl.code.outputs`). A failed task fails the fan-out; a cancelled run resumes
 * without running a finished task again. Both backends; in-process executors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, WorkflowOrchestrator, type ExecutionResult, type Executor, type TaskResult, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { okResult, recordingExecutor } from './helpers/results.js';

const ok = (output: string, json?: unknown): ExecutionResult => okResult({ output, numTurns: 1, ...(json !== undefined && { json }) });

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'group-fan-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ITEMS = '[{"name": "a", "kind": "test"}, {"name": "b", "kind": "doc"}, {"name": "c", "kind": "test"}]';

/** plan → impl[k] { code → check (tests only) } → integrate. */
const spec = (extra: Record<string, unknown> = {}) => ({
  id: 'gf',
  max_parallel: 1,
  tasks: [
    { id: 'plan', prompt: 'plan' },
    {
      id: 'impl',
      depends_on: ['plan'],
      for_each: ITEMS,
      ...extra,
      tasks: [
        { id: 'code', prompt: 'code #{{index}} {{item.name}} after {{tasks.plan.output}}', output_schema: { type: 'object' } },
        { id: 'check', depends_on: ['code'], when: 'item.kind == "test" && index >= 0', prompt: 'check {{tasks.code.output}} ({{item}}) {{tasks.impl.code.json.n}}', output_schema: { type: 'object' } },
      ],
    },
    {
      id: 'integrate',
      depends_on: ['impl'],
      when: 'size(tasks.impl.json) == 3 && tasks["impl.code"].json[2].n == 2',
      prompt: 'integrate {{tasks.impl.outputs}} / {{tasks.impl.code.outputs}} / {{tasks.impl.code.json}} / {{tasks.impl.status}}{{tasks.impl.exit_code}} / {{tasks.impl.json}}',
    },
  ],
});

const answer = (prompt: string) => {
  const code = /^code #(\d+) (\w+)/.exec(prompt);
  if (code) return ok(`coded ${code[2]}`, { n: Number(code[1]) });
  if (prompt.startsWith('check')) return ok(`checked ${prompt.split(' ')[2]}`, { ok: true });
  return ok(prompt.split(' ')[0]!);
};

for (const factory of backendFactories()) {
  describe(`for_each on a group (${factory.name})`, () => {
    const orchestrator = async (executor: Executor) =>
      new WorkflowOrchestrator({ stateBackend: await factory.create(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });

    it('runs the group once per item; its tasks read item, index and their siblings; the dependant reads every instance in item order', async () => {
      const executor = recordingExecutor(answer);
      const o = await orchestrator(executor);
      const expanded: unknown[] = [];
      o.bus.subscribe('fanout.expanded', ({ payload: e }) => {
    expanded.push(e);
  });
      const result = await o.runWorkflow(spec(), { runId: 'gf1' });
      expect(result.status).toBe('completed');
      // The event names the group's tasks, so a view can list impl[k].code and impl[k].check.
      expect(expanded).toEqual([expect.objectContaining({ taskId: 'impl', count: 3, tasks: ['code', 'check'] })]);
      expect(executor.prompts).toEqual([
        'plan',
        'code #0 a after plan',
        'check coded a ({"name":"a","kind":"test"}) 0',
        'code #1 b after plan',
        'code #2 c after plan',
        'check coded c ({"name":"c","kind":"test"}) 2',
        'integrate ["checked a","","checked c"] / ["coded a","coded b","coded c"] / [{"n":0},{"n":1},{"n":2}] / completed / [{"ok":true},null,{"ok":true}]',
      ]);
      const tasks = byId(result);
      expect(tasks['impl[1].check']).toMatchObject({ status: 'skipped', skippedBy: 'when' });
      expect(tasks['impl[1].check']!.reason).toContain('item.kind == "test"');
      expect(tasks.impl!.status).toBe('completed');
      const stored = await (await factory.create(dir)).loadRun('gf1');
      expect(stored!.records.find((r) => r.taskId === 'impl')!.items).toHaveLength(3);
    });

    it('max_parallel caps the instances under way (each instance whole, one at a time here)', async () => {
      const executor = recordingExecutor(answer);
      const wide = { ...spec({ max_parallel: 1 }), max_parallel: 4 };
      const result = await (await orchestrator(executor)).runWorkflow(wide, { runId: 'gf2' });
      expect(result.status).toBe('completed');
      // With one instance at a time, an instance's check comes before the next instance's code.
      expect(executor.prompts.slice(1, 4)).toEqual(['code #0 a after plan', 'check coded a ({"name":"a","kind":"test"}) 0', 'code #1 b after plan']);
    });

    it('a failed task fails the fan-out (naming it), resume --retry-failed reruns only it; a task with allow_failure does not fail it', async () => {
      let broken = true;
      const executor = recordingExecutor((prompt) => {
        if (broken && prompt.startsWith('check coded c')) throw new PermanentError('AGENT_ERROR', 'c broke');
        return answer(prompt);
      });
      const failing = spec();
      ((failing.tasks[1] as { tasks: unknown[] }).tasks[1] as Record<string, unknown>).retry_count = 1;
      const failed = await (await orchestrator(executor)).runWorkflow(failing, { runId: 'gf3' });
      expect(failed.status).toBe('failed');
      expect(byId(failed).impl!.error!.message).toBe('Task "impl": 1 of 6 tasks failed (impl[2].check); impl[2].check: c broke');
      expect(byId(failed).integrate!.status).toBe('skipped');
      broken = false;
      executor.prompts.length = 0;
      const retried = await (await orchestrator(executor)).resume('gf3', { retryFailed: true });
      expect(retried.status).toBe('completed');
      expect(executor.prompts.map((p) => p.split(' ')[0])).toEqual(['check', 'integrate']);
      broken = true;

      ((failing.tasks[1] as { tasks: unknown[] }).tasks[1] as Record<string, unknown>).allow_failure = true;
      const allowed = await (await orchestrator(executor)).runWorkflow(failing, { runId: 'gf4' });
      expect(allowed.status).toBe('completed');
      expect(byId(allowed)['impl[2].check']!.status).toBe('failed');
    });

    it('a cancelled run resumes without running a finished task again; the list is not evaluated again', async () => {
      let o: WorkflowOrchestrator | null = null;
      let cancel = true;
      const executor = recordingExecutor(async (prompt, signal) => {
        if (cancel && prompt.startsWith('code #1')) {
          cancel = false;
          void o!.cancel();
          await new Promise((resolve) => (signal!.aborted ? resolve(null) : signal!.addEventListener('abort', resolve)));
        }
        return answer(prompt);
      });
      o = await orchestrator(executor);
      const cancelled = await o.runWorkflow(spec(), { runId: 'gf5' });
      expect(cancelled.status).toBe('cancelled');
      expect(byId(cancelled)['impl[0].check']!.status).toBe('completed');

      executor.prompts.length = 0;
      const resumed = await (await orchestrator(executor)).resume('gf5');
      expect(resumed.status).toBe('completed');
      expect(executor.prompts).toEqual([
        'code #1 b after plan',
        'code #2 c after plan',
        'check coded c ({"name":"c","kind":"test"}) 2',
        'integrate ["checked a","","checked c"] / ["coded a","coded b","coded c"] / [{"n":0},{"n":1},{"n":2}] / completed / [{"ok":true},null,{"ok":true}]',
      ]);
    });

    it('tasks of an instance that share a dependency both wait for it', async () => {
      const executor = recordingExecutor((prompt) => ok(prompt));
      const shared = {
        id: 'gs',
        tasks: [{ id: 'g', for_each: '["x"]', tasks: [{ id: 'a', command: ['a', '{{item}}'] }, { id: 'b', depends_on: ['a'], command: ['b', '{{tasks.a.output}}'] }, { id: 'c', depends_on: ['a'], command: ['c', '{{tasks.a.output}}'] }] }],
      };
      const result = await (await orchestrator(executor)).runWorkflow(shared, { runId: 'gs1' });
      expect(result.status).toBe('completed');
      expect(executor.prompts.sort()).toEqual(['a x', 'b a x', 'c a x']);
    });

    it('a value that is not a list fails the group with EXPRESSION_ERROR before any instance starts', async () => {
      const executor = recordingExecutor(answer);
      const bad = spec({ for_each: 'tasks.plan.output' });
      const result = await (await orchestrator(executor)).runWorkflow(bad, { runId: 'gf6' });
      expect(result.status).toBe('failed');
      expect(byId(result).impl!.error).toMatchObject({ code: 'EXPRESSION_ERROR' });
      expect(byId(result).impl!.error!.message).toContain('gave "plan", not a list');
      expect(executor.prompts).toEqual(['plan']);
    });
  });
}
