/**
 * A loop's `until` may be a TypeScript function too (a workflow built in code): it is given the
 * iteration just ended (`tasks.<id>` of the loop's tasks, their `previous`, `iteration`) and
 * evaluated by the same `evaluateCondition` as `when`. True ends the loop; `max` iterations
 * without it fail the loop with LOOP_EXHAUSTED naming the function and what it read; a throw is
 * EXPRESSION_ERROR. Such a run resumes only from its code (`repeat.until` named). Command tasks
 * through the library, both backends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, defineWorkflow, type StateBackend, type TaskResult, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
const backends: StateBackend[] = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  world.cleanup();
});

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/** A reviewer (a command) that approves draft `approveAt` and later ones. */
const review = (approveAt: number) => [
  'node',
  '-e',
  `const k = Number(process.argv[1]); process.stdout.write(JSON.stringify({ approved: k >= ${approveAt}, feedback: 'part ' + k }))`,
  '{{iteration}}',
];

/** Evaluator-optimizer in code: write ↔ review until the function says approved. */
const refine = (approveAt: number, max = 3) =>
  defineWorkflow({
    id: 'eo',
    tasks: [
      {
        id: 'refine',
        repeat: {
          until: function approved({ tasks }) {
            return tasks['refine.review']!.json.approved === true;
          },
          max,
        },
        tasks: [
          { id: 'write', command: ['node', '-e', 'process.stdout.write(process.argv[1])', 'draft {{iteration}} after {{tasks.review.previous.json.feedback}}'] },
          { id: 'review', depends_on: ['write'], command: review(approveAt), output: 'json' },
        ],
      },
      { id: 'publish', depends_on: ['refine'], command: ['node', '-e', 'process.stdout.write(process.argv[1])', 'published {{tasks.refine.write.output}}'] },
    ],
  });

for (const factory of backendFactories()) {
  describe(`until as a function (${factory.name})`, () => {
    const orchestrator = async () => {
      const backend = await factory.create(world.stateDir);
      backends.push(backend);
      return new WorkflowOrchestrator({ stateBackend: backend, stateDir: world.stateDir });
    };

    it('a group loops until its function holds; the checkpoint holds its marker, and resume needs the code', async () => {
      const o = await orchestrator();
      const result = await o.runWorkflow(refine(2), { runId: 'eo1' });
      expect(result.status).toBe('completed');
      const tasks = byId(result);
      expect(tasks['refine#2.write']).toMatchObject({ output: 'draft 2 after part 1' });
      expect(tasks.publish).toMatchObject({ output: 'published draft 2 after part 1' });
      expect(tasks['refine#3.write']).toBeUndefined();

      const stored = (await o.stateBackend!.loadRun('eo1'))!.workflow;
      expect(JSON.parse(JSON.stringify(stored.tasks[0]!.repeat))).toEqual({ until: '<function approved>', max: 3 });
    });

    it('max iterations without it: LOOP_EXHAUSTED names the function and what it read; CODE_REQUIRED names repeat.until', async () => {
      const o = await orchestrator();
      const result = await o.runWorkflow(refine(9, 2), { runId: 'eo2' });
      expect(result.status).toBe('failed');
      expect(byId(result).refine!.error).toMatchObject({
        code: 'LOOP_EXHAUSTED',
        message: 'Task "refine": repeat: until <function approved> was still false after 2 iterations, its max (tasks["refine.review"].json.approved = false, iteration = 2)',
      });
      await expect(o.resume('eo2', { retryFailed: true })).rejects.toMatchObject({
        code: 'CODE_REQUIRED',
        details: { functions: [{ taskId: 'refine', field: 'repeat.until', marker: '<function approved>' }] },
      });
    });
  });
}

describe('until as a function: a task’s loop', () => {
  const counter = ['node', '-e', 'process.stdout.write(String(Number(process.argv[1]) * 10))', '{{iteration}}'];

  it('reads the task’s own iteration and `iteration`; a throw fails the loop with EXPRESSION_ERROR', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const result = await o.runWorkflow(
      defineWorkflow({
        id: 'count',
        on_failure: 'continue',
        tasks: [
          { id: 'count', command: counter, repeat: { until: ({ tasks, iteration }) => Number(tasks.count.output) >= 30 && iteration === 3, max: 5 } },
          {
            id: 'boom',
            command: counter,
            repeat: {
              until: () => {
                throw new Error('no verdict');
              },
              max: 5,
            },
          },
          {
            id: 'child_when',
            repeat: { until: 'iteration == 1', max: 2 },
            tasks: [{ id: 'only', when: ({ iteration }) => iteration === 2, command: counter }],
          },
        ],
      }),
      { runId: 'count' },
    );
    const tasks = byId(result);
    expect(tasks.count).toMatchObject({ status: 'completed' });
    expect(tasks['count#3']).toMatchObject({ output: '30' });
    expect(tasks.boom!.error).toMatchObject({ code: 'EXPRESSION_ERROR', message: 'Task "boom": repeat.until: <function>: threw Error: no verdict (iteration = 1)' });
    expect(tasks['child_when#1.only']).toMatchObject({ status: 'skipped', reason: 'when: <function> is false (iteration = 1)' });
  });
});
