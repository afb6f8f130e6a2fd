/**
 * The ready queue orders by the remaining critical path weighted by expected durations: a
 * task's `estimate`, else its median duration in earlier runs (then its agent's), else the
 * median of the others; counted in tasks when nothing is known.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { okResult } from './helpers/results.js';
import { JsonStateBackend, validateWorkflow, type ValidationError, WorkflowOrchestrator, type Executor, type WorkflowSpecInput } from '../src/index.js';
import { buildTaskGraph } from '../src/workflow/ready-queue.js';
import { durationHistoryKey, expectedDurationsMs, readDurationHistory, HISTORY_SAMPLES } from '../src/workflow/task-durations.js';

const OK = okResult({ output: '', numTurns: 1 });

/**
 * The clock the runs measure durations by: it stands still (at the moment the test began)
 * except that `long` moves it on by a minute as it runs. So `long` takes exactly a minute and
 * every other task exactly 0 ms, however loaded the machine: the durations are injected, not
 * measured.
 */
let skew = 0;
const LONG_MS = 60_000;
const executor: Executor = async (request) => {
  if (request.kind === 'claude' && request.agentName === 'long') skew += LONG_MS;
  return OK;
};

// One slot: the start order is the queue's order. Count-based, the 2-task chain comes first;
// weighted by duration, `long` (a minute against two instant tasks) does.
const spec: WorkflowSpecInput = {
  id: 'w',
  max_parallel: 1,
  tasks: [
    { id: 'x1', prompt: 'x' },
    { id: 'x2', prompt: 'x', depends_on: ['x1'] },
    { id: 'long', prompt: 'x' },
  ],
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weighted-path-'));
  skew = 0;
  const start = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => start + skew);
});
afterEach(() => {
  vi.mocked(Date.now).mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

async function startOrder(o: WorkflowOrchestrator, s: WorkflowSpecInput, runId?: string): Promise<string[]> {
  const order: string[] = [];
  o.bus.subscribe('task.started', ({ payload: e }) => {
    order.push(e.taskId);
  });
  const result = await o.runWorkflow(s, runId ? { runId } : {});
  expect(result.status).toBe('completed');
  return order;
}

describe('critical path weighted by expected duration', () => {
  it('buildTaskGraph: a long task outranks a longer chain of short ones', () => {
    const tasks = validateWorkflow(spec).tasks;
    expect(buildTaskGraph(tasks).priority).toEqual([2, 1, 1]);
    expect(buildTaskGraph(tasks, [10, 10, 600]).priority).toEqual([20, 10, 600]);
  });

  it('expectedDurationsMs: estimate, then the task history, then the agent history, then the median of the known', () => {
    const tasks = validateWorkflow({
      id: 'w',
      tasks: [
        { id: 'a', prompt: 'x', estimate: 2 },
        { id: 'b', prompt: 'x' },
        { id: 'c', prompt: 'x', agent: 'builder' },
        { id: 'd', prompt: 'x' },
        { id: 'constructor', prompt: 'x' },
      ],
    }).tasks;
    expect(expectedDurationsMs(tasks)).toEqual([2000, 2000, 2000, 2000, 2000]);
    expect(expectedDurationsMs(validateWorkflow(spec).tasks)).toBeUndefined();
    const history = { schemaVersion: 1, byTask: { a: [1], b: [30, 10, 20] }, byAgent: { builder: [400, 600] } };
    expect(expectedDurationsMs(tasks, history)).toEqual([2000, 20, 500, 500, 500]);
  });

  it('with an estimate in the spec, even without a state backend', async () => {
    const o = new WorkflowOrchestrator({ stateBackend: null, stateDir: dir, executor });
    expect(await startOrder(o, spec)).toEqual(['x1', 'x2', 'long']);
    // (A task without an estimate would be expected to take the median of the others.)
    const estimated: WorkflowSpecInput = {
      ...spec,
      tasks: [
        { id: 'x1', prompt: 'x', estimate: 0.01 },
        { id: 'x2', prompt: 'x', depends_on: ['x1'], estimate: 0.01 },
        { id: 'long', prompt: 'x', estimate: 0.2 },
      ],
    };
    expect(await startOrder(o, estimated)).toEqual(['long', 'x1', 'x2']);
  });

  it('the second run orders by the durations the first one measured', async () => {
    const backend = new JsonStateBackend(dir);
    expect(await startOrder(new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor }), spec, 'r1')).toEqual(['x1', 'x2', 'long']);
    const history = (await backend.load(durationHistoryKey('w'))) as { byTask: Record<string, number[]> };
    expect(history.byTask).toEqual({ x1: [0], x2: [0], long: [LONG_MS] });
    expect(await startOrder(new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor }), spec, 'r2')).toEqual(['long', 'x1', 'x2']);
    // Each run adds its samples; only the latest few are kept.
    for (let i = 3; i <= HISTORY_SAMPLES + 2; i++) await startOrder(new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor }), spec, `r${i}`);
    const kept = (await backend.load(durationHistoryKey('w'))) as { byTask: Record<string, number[]> };
    expect(kept.byTask.long).toHaveLength(HISTORY_SAMPLES);
  });

  it('a resumed run adds only what it ran itself', async () => {
    const backend = new JsonStateBackend(dir);
    const o = new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor });
    o.bus.subscribe('task.completed', ({ payload: e }) => {
      if (e.taskId === 'x1') void o.cancel();
    });
    expect((await o.runWorkflow(spec, { runId: 'r1' })).status).toBe('cancelled');
    // The resume comes a moment later (the clock stands still otherwise).
    skew += 1;
    const resumed = await new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor }).resume('r1');
    expect(resumed.status).toBe('completed');
    const history = (await backend.load(durationHistoryKey('w'))) as { byTask: Record<string, number[]> };
    expect(history.byTask.x1).toHaveLength(1);
    expect(history.byTask.x2).toHaveLength(1);
  });

  it('without a stored history, the latest finished runs of the workflow are read once', async () => {
    const backend = new JsonStateBackend(dir);
    await startOrder(new WorkflowOrchestrator({ stateBackend: backend, stateDir: dir, executor }), spec, 'r1');
    rmSync(join(dir, `${durationHistoryKey('w')}.json`));
    const history = await readDurationHistory(backend, 'w', 'r2');
    expect(history.byTask.long).toEqual([LONG_MS]);
    expect(Object.keys(history.byTask).sort()).toEqual(['long', 'x1', 'x2']);
    // The run being started is not its own history; other workflows are not read.
    expect((await readDurationHistory(backend, 'w', 'r1')).byTask).toEqual({});
    expect((await readDurationHistory(backend, 'other', 'r2')).byTask).toEqual({});
  });

  it('the estimate field is validated (seconds, positive)', () => {
    const issues = (estimate: unknown) => {
      try {
        validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'x', estimate }] });
        return [];
      } catch (error) {
        return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`).join('\n');
      }
    };
    expect(issues(0)).toMatch(/estimate/);
    expect(issues(1e9)).toMatch(/estimate.*seconds/);
    expect(issues(90)).toEqual([]);
  });
});
