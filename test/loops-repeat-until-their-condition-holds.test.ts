/**
 * Loops (`repeat: { until, max }`) on a task and on a group: iteration k runs as `fix#k` (a
 * task) or `refine#k.<child>` (a group), reads `{{iteration}}` and its siblings' `previous`
 * record; `until` is evaluated over the iteration just ended; `max` without it fails the loop
 * with LOOP_EXHAUSTED (or completes it `exhausted`); dependants wait for the loop and read its
 * last iteration. The loop's record holds its current iteration; a cancelled run resumes in the
 * iteration it was in, `--retry-failed` reruns only the failed task. Both backends; in-process
 * executors (no timing involved).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, WorkflowOrchestrator, type ExecutionResult, type Executor, type TaskEvent, type TaskResult, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { okResult, recordingExecutor } from './helpers/results.js';

const ok = (output: string, json?: unknown): ExecutionResult => okResult({ output, numTurns: 1, ...(json !== undefined && { json }) });

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loops-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const VERDICT = { type: 'object', required: ['approved', 'feedback'], properties: { approved: { type: 'boolean' }, feedback: { type: 'string' } } };

/** Evaluator-optimizer: write ↔ review until approved, at most `max` times; then publish. */
const refine = (max = 3, extra: Record<string, unknown> = {}) => ({
  id: 'eo',
  tasks: [
    { id: 'brief', prompt: 'brief' },
    {
      id: 'refine',
      depends_on: ['brief'],
      repeat: { until: 'tasks.review.json.approved', max, ...extra },
      tasks: [
        { id: 'write', prompt: 'write #{{iteration}} of {{tasks.brief.output}}; feedback: {{tasks.review.previous.json.feedback}}; draft was: {{tasks.refine.write.previous.output}}' },
        { id: 'review', depends_on: ['write'], prompt: 'review {{tasks.write.output}}', output_schema: VERDICT },
      ],
    },
    { id: 'publish', depends_on: ['refine'], prompt: 'publish {{tasks.refine.write.output}} ({{tasks.refine.review.json.feedback}}; {{tasks.refine.status}}; last: {{tasks.refine.output}})' },
  ],
});

/** A reviewer that approves the `approveAt`-th draft. */
const reviewer = (approveAt: number) => (prompt: string) => {
  if (prompt === 'brief') return ok('the brief');
  const draft = /^write #(\d+)/.exec(prompt);
  if (draft) return ok(`draft ${draft[1]}`);
  const review = /^review draft (\d+)/.exec(prompt);
  if (review) return ok(`verdict ${review[1]}`, { approved: Number(review[1]) >= approveAt, feedback: `fix part ${review[1]}` });
  return ok(`published`);
};

for (const factory of backendFactories()) {
  describe(`loops (${factory.name})`, () => {
    const orchestrator = async (executor: Executor) =>
      new WorkflowOrchestrator({ stateBackend: await factory.create(dir), stateDir: dir, executor, retry: { baseDelayMs: 1, jitter: 'none' } });

    it('a group loops until its reviewer approves: each iteration reads the one before, the dependant the last', async () => {
      const executor = recordingExecutor(reviewer(2));
      const o = await orchestrator(executor);
      const events: TaskEvent[] = [];
      o.bus.subscribe('loop.iteration', ({ payload: e }) => {
    events.push(e);
  });
      const result = await o.runWorkflow(refine(), { runId: 'eo1' });
      expect(result.status).toBe('completed');
      expect(executor.prompts).toEqual([
        'brief',
        // Iteration 1 has no previous: its fields read as empty.
        'write #1 of the brief; feedback: ; draft was: ',
        'review draft 1',
        'write #2 of the brief; feedback: fix part 1; draft was: draft 1',
        'review draft 2',
        'publish draft 2 (fix part 2; completed; last: verdict 2)',
      ]);
      expect(events.map((e) => [e.taskId, (e as { iteration: number }).iteration, (e as { max: number }).max])).toEqual([
        ['refine', 1, 3],
        ['refine', 2, 3],
      ]);
      const tasks = byId(result);
      expect(tasks['refine#1.review']).toMatchObject({ status: 'completed', json: { approved: false } });
      expect(tasks['refine#2.write']).toMatchObject({ status: 'completed', output: 'draft 2' });
      expect(tasks.refine).toMatchObject({ status: 'completed', iteration: 2 });
      expect(tasks.refine!.exhausted).toBeUndefined();
      // The loop's record and its iterations' are in the run's state.
      const stored = await (await factory.create(dir)).loadRun('eo1');
      expect(stored!.records.find((r) => r.taskId === 'refine')).toMatchObject({ status: 'completed', iteration: 2 });
      expect(stored!.records.map((r) => r.taskId).filter((id) => id.startsWith('refine#')).sort()).toEqual(['refine#1.review', 'refine#1.write', 'refine#2.review', 'refine#2.write']);
    });

    it('max reached without the condition: LOOP_EXHAUSTED names the expression and the last values; the dependant is skipped', async () => {
      const executor = recordingExecutor(reviewer(99));
      const result = await (await orchestrator(executor)).runWorkflow(refine(2), { runId: 'eo2' });
      expect(result.status).toBe('failed');
      const tasks = byId(result);
      expect(tasks.refine!.status).toBe('failed');
      expect(tasks.refine!.error).toMatchObject({ code: 'LOOP_EXHAUSTED' });
      expect(tasks.refine!.error!.message).toBe(
        'Task "refine": repeat: until tasks.review.json.approved was still false after 2 iterations, its max (tasks.review.json.approved = false, iteration = 2)',
      );
      expect(tasks.publish!.status).toBe('skipped');
      expect(executor.prompts.filter((p) => p.startsWith('review'))).toEqual(['review draft 1', 'review draft 2']);
    });

    it('an exhausted loop with allow_failure fails without failing the run', async () => {
      const spec = { id: 'af', tasks: [{ id: 'fix', command: ['fix'], allow_failure: true, repeat: { until: 'false', max: 1 } }, { id: 'after', depends_on: ['fix'], command: ['after', '{{tasks.fix.status}}'] }] };
      const executor = recordingExecutor((prompt) => ok(prompt));
      const result = await (await orchestrator(executor)).runWorkflow(spec, { runId: 'af1' });
      expect(result.status).toBe('completed');
      expect(byId(result).fix).toMatchObject({ status: 'failed', allowedFailure: true, error: { code: 'LOOP_EXHAUSTED' } });
      expect(byId(result).fix!.error!.message).toBe('Task "fix": repeat: until false was still false after 1 iteration, its max (iteration = 1)');
      expect(executor.prompts).toEqual(['fix', 'after failed']);
    });

    it('a run that halts (another task failed) ends its loops: skipped, never starting another iteration', async () => {
      let failedSeen: () => void = () => {};
      const seen = new Promise<void>((resolve) => (failedSeen = resolve));
      let started = 0;
      let bothStarted: () => void = () => {};
      const running = new Promise<void>((resolve) => (bothStarted = resolve));
      const executor = recordingExecutor(async (prompt) => {
        // boom fails once both loops' first tasks run; those end only once the run knows it failed.
        if (prompt === 'boom') {
          await running;
          throw new PermanentError('COMMAND_FAILED', 'boom');
        }
        if (prompt === 'fix' || prompt === 'a' || prompt === 'fan 1') {
          if (++started === 3) bothStarted();
          await seen;
        }
        return ok(prompt);
      });
      const o = await orchestrator(executor);
      o.bus.subscribe('task.failed', ({ payload: e }) => {
        if (e.taskId === 'boom') failedSeen();
      });
      const spec = {
        id: 'halt',
        max_parallel: 4,
        tasks: [
          { id: 'boom', command: ['boom'], retry_count: 1 },
          { id: 'fan', for_each: '[1, 2]', max_parallel: 1, command: ['fan', '{{item}}'] },
          { id: 'fix', command: ['fix'], repeat: { until: 'false', max: 3 } },
          { id: 'g', repeat: { until: 'false', max: 3 }, tasks: [{ id: 'a', command: ['a'] }, { id: 'b', depends_on: ['a'], command: ['b'] }] },
        ],
      };
      const result = await o.runWorkflow(spec, { runId: 'halt1' });
      expect(result.status).toBe('failed');
      const tasks = byId(result);
      expect(tasks.fix).toMatchObject({ status: 'skipped', reason: 'the run halted before its next iteration', iteration: 1 });
      expect(tasks['g#1.b']).toMatchObject({ status: 'skipped', reason: 'task "boom" failed and on_failure is stop' });
      expect(tasks.g).toMatchObject({ status: 'skipped', reason: 'task "boom" failed and on_failure is stop' });
      expect(tasks['fan[1]']).toMatchObject({ status: 'skipped', reason: 'task "boom" failed and on_failure is stop' });
      expect(tasks.fan).toMatchObject({ status: 'skipped', reason: 'task "boom" failed and on_failure is stop' });
      expect(executor.prompts.sort()).toEqual(['a', 'boom', 'fan 1', 'fix']);
    });

    it('a finished loop is kept as it is when the run is resumed with --retry-failed (only the failed task runs)', async () => {
      let broken = true;
      const answer = reviewer(2);
      const executor = recordingExecutor((prompt) => {
        if (broken && prompt.startsWith('publish')) throw new PermanentError('AGENT_ERROR', 'publisher broke');
        return answer(prompt);
      });
      const spec = refine();
      (spec.tasks[2] as Record<string, unknown>).retry_count = 1;
      expect((await (await orchestrator(executor)).runWorkflow(spec, { runId: 'eo-k' })).status).toBe('failed');
      broken = false;
      executor.prompts.length = 0;
      const retried = await (await orchestrator(executor)).resume('eo-k', { retryFailed: true });
      expect(retried.status).toBe('completed');
      expect(executor.prompts).toEqual(['publish draft 2 (fix part 2; completed; last: verdict 2)']);
      expect(byId(retried).refine).toMatchObject({ status: 'completed', iteration: 2 });
    });

    it('rerun --from the dependant keeps the loop and its iterations: only the dependant runs, reading the last iteration', async () => {
      const executor = recordingExecutor(reviewer(2));
      expect((await (await orchestrator(executor)).runWorkflow(refine(), { runId: 'eo-r' })).status).toBe('completed');
      executor.prompts.length = 0;
      const again = await (await orchestrator(executor)).rerun('eo-r', { from: 'publish', runId: 'eo-r2' });
      expect(again.status).toBe('completed');
      expect(executor.prompts).toEqual(['publish draft 2 (fix part 2; completed; last: verdict 2)']);
    });

    it('on_exhausted: continue completes the loop with exhausted: true, and its dependant runs', async () => {
      const executor = recordingExecutor(reviewer(99));
      const result = await (await orchestrator(executor)).runWorkflow(refine(2, { on_exhausted: 'continue' }), { runId: 'eo3' });
      expect(result.status).toBe('completed');
      expect(byId(result).refine).toMatchObject({ status: 'completed', exhausted: true, iteration: 2 });
      expect(executor.prompts.at(-1)).toBe('publish draft 2 (fix part 2; completed; last: verdict 2)');
    });

    it('a task loops by itself: fix#1, fix#2... read {{iteration}} and their own previous output', async () => {
      const spec = {
        id: 'tl',
        tasks: [
          { id: 'setup', command: ['setup'] },
          { id: 'fix', depends_on: ['setup'], command: ['fix', '{{iteration}}', '{{tasks.fix.previous.output}}{{tasks.setup.output}}'], repeat: { until: 'tasks.fix.output == "fixed 3" && iteration == 3', max: 5 } },
          { id: 'after', depends_on: ['fix'], when: 'tasks.fix.status == "completed"', command: ['after', '{{tasks.fix.output}}', '{{tasks.fix.status}}'] },
        ],
      };
      const executor = recordingExecutor((prompt) => ok(prompt.startsWith('fix') ? `fixed ${prompt.split(' ')[1]}` : prompt === 'setup' ? '' : prompt));
      const result = await (await orchestrator(executor)).runWorkflow(spec, { runId: 'tl1' });
      expect(result.status).toBe('completed');
      expect(executor.prompts).toEqual(['setup', 'fix 1 ', 'fix 2 fixed 1', 'fix 3 fixed 2', 'after fixed 3 completed']);
      expect(Object.keys(byId(result)).filter((id) => id.startsWith('fix'))).toEqual(['fix#1', 'fix#2', 'fix#3', 'fix']);
    });

    it('a failed task of an iteration fails the loop (its own task with allow_failure does not); a when reads iteration and previous', async () => {
      const spec = (allow: boolean) => ({
        id: 'tr',
        tasks: [
          {
            id: 'fix_tests',
            repeat: { until: 'tasks.fix_tests.test.status == "completed"', max: 4 },
            tasks: [
              { id: 'test', command: ['test', '{{iteration}}'], retry_count: 1, allow_failure: allow },
              { id: 'resolve', depends_on: ['test'], when: 'tasks.test.status == "failed" && (iteration == 1 || tasks.resolve.previous.status == "completed")', command: ['resolve', '{{tasks.test.output}}'] },
            ],
          },
        ],
      });
      const executor = recordingExecutor((prompt) => {
        if (prompt === 'test 1' || prompt === 'test 2') throw new PermanentError('COMMAND_FAILED', `tests failed at ${prompt}`);
        return ok(prompt);
      });
      const allowed = await (await orchestrator(executor)).runWorkflow(spec(true), { runId: 'tr1' });
      expect(allowed.status).toBe('completed');
      expect(executor.prompts).toEqual(['test 1', 'resolve ', 'test 2', 'resolve ', 'test 3']);
      const tasks = byId(allowed);
      expect(tasks['fix_tests#3.resolve']).toMatchObject({ status: 'skipped', skippedBy: 'when' });
      expect(tasks.fix_tests).toMatchObject({ status: 'completed', iteration: 3 });

      executor.prompts.length = 0;
      const failed = await (await orchestrator(executor)).runWorkflow(spec(false), { runId: 'tr2' });
      expect(failed.status).toBe('failed');
      expect(byId(failed).fix_tests!.error!.message).toBe('Task "fix_tests": iteration 1: fix_tests#1.test failed: tests failed at test 1');
      expect(executor.prompts).toEqual(['test 1']);
    });

    it('an until that cannot be evaluated fails the loop with EXPRESSION_ERROR, naming it and the iteration', async () => {
      const spec = { id: 'ue', tasks: [{ id: 'fix', command: ['fix'], output: 'json', repeat: { until: 'tasks.fix.json.done', max: 3 } }] };
      const result = await (await orchestrator(recordingExecutor(() => ok('{}', {})))).runWorkflow(spec, { runId: 'ue1' });
      expect(result.status).toBe('failed');
      expect(byId(result).fix!.error).toMatchObject({ code: 'EXPRESSION_ERROR' });
      expect(byId(result).fix!.error!.message).toMatch(/^Task "fix": repeat\.until: tasks\.fix\.json\.done: .*\(tasks\.fix\.json\.done = \(missing\), iteration = 1\)$/);
      const notBool = { id: 'ue', tasks: [{ id: 'fix', command: ['fix'], repeat: { until: 'iteration', max: 3 } }] };
      const again = await (await orchestrator(recordingExecutor(() => ok('x')))).runWorkflow(notBool, { runId: 'ue2' });
      expect(byId(again).fix!.error!.message).toBe('Task "fix": repeat.until: iteration: gave 1, not a boolean (iteration = 1)');
    });

    it('a cancelled run resumes in the iteration it was in: no finished iteration task runs again', async () => {
      let o: WorkflowOrchestrator | null = null;
      let cancel = true;
      const answer = reviewer(3);
      const executor = recordingExecutor(async (prompt, signal) => {
        // Iteration 2's review cancels the run when it starts, and runs until stopped.
        if (cancel && prompt === 'review draft 2') {
          cancel = false;
          void o!.cancel();
          await new Promise((resolve) => (signal!.aborted ? resolve(null) : signal!.addEventListener('abort', resolve)));
        }
        return answer(prompt);
      });
      o = await orchestrator(executor);
      const cancelled = await o.runWorkflow(refine(), { runId: 'eo-c' });
      expect(cancelled.status).toBe('cancelled');
      expect(byId(cancelled).refine).toMatchObject({ status: 'cancelled', iteration: 2 });

      executor.prompts.length = 0;
      const resumed = await (await orchestrator(executor)).resume('eo-c');
      expect(resumed.status).toBe('completed');
      expect(executor.prompts).toEqual(['review draft 2', 'write #3 of the brief; feedback: fix part 2; draft was: draft 2', 'review draft 3', 'publish draft 3 (fix part 3; completed; last: verdict 3)']);
      expect(byId(resumed).refine).toMatchObject({ status: 'completed', iteration: 3 });
    });

    it('resume --retry-failed reruns only the failed task of the iteration, and the loop goes on', async () => {
      let broken = true;
      const answer = reviewer(2);
      const executor = recordingExecutor((prompt) => {
        if (broken && prompt === 'review draft 2') throw new PermanentError('AGENT_ERROR', 'reviewer broke');
        return answer(prompt);
      });
      const spec = refine();
      ((spec.tasks[1] as { tasks: unknown[] }).tasks[1] as Record<string, unknown>).retry_count = 1;
      const failed = await (await orchestrator(executor)).runWorkflow(spec, { runId: 'eo-f' });
      expect(failed.status).toBe('failed');
      expect(byId(failed).refine).toMatchObject({ status: 'failed', iteration: 2 });

      broken = false;
      executor.prompts.length = 0;
      const retried = await (await orchestrator(executor)).resume('eo-f', { retryFailed: true });
      expect(retried.status).toBe('completed');
      expect(executor.prompts).toEqual(['review draft 2', 'publish draft 2 (fix part 2; completed; last: verdict 2)']);
    });
  });
}

describe('loops without a state backend', () => {
  it('run the same (each iteration starts at once), and a looping group nested in a plain group is read through it', async () => {
    const executor = recordingExecutor(reviewer(2));
    const spec = {
      id: 'nb',
      tasks: [
        { id: 'brief', prompt: 'brief' },
        {
          id: 'outer',
          depends_on: ['brief'],
          tasks: [
            {
              id: 'refine',
              repeat: { until: 'tasks.review.json.approved', max: 3 },
              tasks: [
                { id: 'write', prompt: 'write #{{iteration}} of {{tasks.brief.output}}; feedback: {{tasks.review.previous.json.feedback}}; draft was: {{tasks.outer.refine.write.previous.output}}' },
                { id: 'review', depends_on: ['write'], prompt: 'review {{tasks.write.output}}', output_schema: VERDICT },
              ],
            },
          ],
        },
        { id: 'publish', depends_on: ['outer'], prompt: 'publish {{tasks.outer.refine.write.output}} / {{tasks.outer.refine.output}}' },
      ],
    };
    const result = await new WorkflowOrchestrator({ executor, stateBackend: null }).runWorkflow(spec, { runId: "nb1" });
    expect(result.status).toBe('completed');
    expect(executor.prompts.at(-1)).toBe('publish draft 2 / verdict 2');
    expect(byId(result)['outer.refine#2.review']).toMatchObject({ status: 'completed', json: { approved: true } });
  });
});
