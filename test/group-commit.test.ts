/**
 * Task records are written as group commits: one write in flight at a time, every change
 * noted meanwhile joining the next one, so the saved state keeps up with the work under any
 * load. And a completed task's dependants start only once its record is durable.
 *
 * The backend here is a user's own StateBackend (the interface is public): a JSON backend
 * whose record writes take a known time, and that notes what it was asked to write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type CommitStats, type Executor, type TaskRecord } from '../src/index.js';
import { okResult } from './helpers/results.js';

/** A JSON backend whose record writes take `delayMs` and are counted. */
class SlowBackend extends JsonStateBackend {
  writes = 0;
  /** The longest write, from the call to its end (load stretches it: the bound below uses it). */
  maxWriteMs = 0;
  concurrent = 0;
  maxConcurrent = 0;
  /** When each task's completed record became durable (performance.now()). */
  durableAt = new Map<string, number>();

  constructor(dir: string, private readonly delayMs: number) {
    super(dir);
  }

  override async saveTaskRecords(runId: string, records: TaskRecord[]): Promise<void> {
    this.writes += 1;
    this.concurrent += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    const start = performance.now();
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      await super.saveTaskRecords(runId, records);
      const now = performance.now();
      for (const r of records) if (r.status === 'completed' && !this.durableAt.has(r.taskId)) this.durableAt.set(r.taskId, now);
    } finally {
      this.concurrent -= 1;
      this.maxWriteMs = Math.max(this.maxWriteMs, performance.now() - start);
    }
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-commit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Completes every task on the next turn of the event loop, after I/O (as a quick process's
 * exit arrives), noting when each started.
 */
function instantExecutor(startedAt?: Map<string, number>): Executor {
  return async (request) => {
    const id = request.kind === 'command' ? request.command[1]! : request.prompt;
    startedAt?.set(id, performance.now());
    await new Promise((r) => setImmediate(r));
    return okResult({ output: `out-${id}` });
  };
}

describe('group commit of task records', () => {
  it('keeps one write in flight and merges every change noted meanwhile, however many tasks finish', async () => {
    const backend = new SlowBackend(dir, 20);
    const stats: CommitStats = { latenciesMs: [], writes: 0 };
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, executor: instantExecutor(), commitStats: stats });
    const tasks = Array.from({ length: 600 }, (_, i) => ({ id: `t${i}`, command: ['echo', `t${i}`] }));
    const result = await orchestrator.runWorkflow({ id: 'wide', max_parallel: 64, tasks }, { runId: 'wide' });
    expect(result.status).toBe('completed');
    expect(backend.maxConcurrent).toBe(1);
    // 600 tasks make ~1,800 record changes; one write per event-loop tick made hundreds of writes.
    expect(backend.writes).toBeLessThan(120);
    // Durable within two writes of the change (the one in flight, then its own): a queue of
    // writes would put it behind every write queued before it.
    const worst = Math.max(...stats.latenciesMs);
    expect(stats.writes).toBe(backend.writes);
    expect(worst).toBeLessThanOrEqual(2 * backend.maxWriteMs + 100);
    const saved = await backend.loadRun('wide');
    expect(saved!.records.every((r) => r.status === 'completed')).toBe(true);
    await backend.close();
  });

  it('starts a dependant only once the record of the task it depends on is durable', async () => {
    const backend = new SlowBackend(dir, 150);
    const startedAt = new Map<string, number>();
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir: dir, executor: instantExecutor(startedAt) });
    const result = await orchestrator.runWorkflow(
      {
        id: 'chain',
        max_parallel: 4,
        tasks: [
          { id: 'a', command: ['echo', 'a'] },
          { id: 'b', command: ['echo', 'b'], depends_on: ['a'] },
          { id: 'c', command: ['echo', 'c'], depends_on: ['b'] },
        ],
      },
      { runId: 'chain' },
    );
    expect(result.status).toBe('completed');
    expect(startedAt.get('b')!).toBeGreaterThanOrEqual(backend.durableAt.get('a')!);
    expect(startedAt.get('c')!).toBeGreaterThanOrEqual(backend.durableAt.get('b')!);
    await backend.close();
  });

  it('without a state backend nothing waits: dependants start at once', async () => {
    const startedAt = new Map<string, number>();
    const orchestrator = new WorkflowOrchestrator(null, { executor: instantExecutor(startedAt) });
    const before = performance.now();
    const result = await orchestrator.runWorkflow({
      id: 'chain',
      tasks: [
        { id: 'a', command: ['echo', 'a'] },
        { id: 'b', command: ['echo', 'b'], depends_on: ['a'] },
      ],
    });
    expect(result.status).toBe('completed');
    expect(startedAt.get('b')! - before).toBeLessThan(1000);
  });
});
