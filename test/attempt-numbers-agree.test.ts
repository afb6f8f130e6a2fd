/**
 * One numbering of attempts everywhere: the live view, the plain lines and the log lines name
 * an attempt by its place in the task's attempt log, as `status` (`#2`), `logs --attempt 2`
 * and its raw file (`raw_output.attempt-2.jsonl`) do; and a task cancelled while its agent
 * runs says so, not "cancelled before it started".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLifecycleEvent } from '../src/event-bus.js';
import { JsonStateBackend, WorkflowOrchestrator, type ExecutionResult, type Executor, type TaskEvent, type WorkflowEvent } from '../src/index.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { attemptLabel } from '../src/workflow/attempt-log.js';
import { cli } from './helpers/cli.js';
import { okResult } from './helpers/results.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'attempt-numbers-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The first call hangs until it is cancelled; later ones succeed at once. */
function hangFirst(): Executor {
  let calls = 0;
  return (_request, hooks) => {
    calls += 1;
    if (calls > 1) return Promise.resolve(okResult({ output: 'done' }));
    return new Promise<ExecutionResult>((_resolve, reject) => {
      if (hooks.signal.aborted) reject(new Error('aborted'));
      hooks.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  };
}

/** Feeds every event of `o` to a fresh view; the plain lines it prints. */
function watch(o: WorkflowOrchestrator): { lines: string[]; blocks: string[] } {
  const view = new ProgressView(() => 0);
  const lines: string[] = [];
  const blocks: string[] = [];
  onLifecycleEvent(o.bus, (event) => {
    const line = view.apply(event as TaskEvent | WorkflowEvent);
    if (line) lines.push(line);
    blocks.push(view.render());
  });
  return { lines, blocks };
}

const spec = { id: 'w', tasks: [{ id: 'build', prompt: 'x', retry_count: 3 }] };

describe('attempt numbers', () => {
  it('a task cancelled while its agent runs says so, with the attempt it was in', async () => {
    const executor = hangFirst();
    const first = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor });
    const { lines } = watch(first);
    first.bus.subscribe('task.started', () => void first.cancel());
    const cancelled = await first.runWorkflow(spec, { runId: 'r1' });
    expect(cancelled.status).toBe('cancelled');
    expect(lines).toContainEqual(expect.stringMatching(/^build: cancelled during attempt 1 after \d+\.\ds, 0 tokens, \$0\.0000$/));
    expect(lines.join('\n')).not.toContain('before it started');
  });

  it('after a resume, the live line, the plain line, status and logs all say attempt 2', async () => {
    const executor = hangFirst();
    const first = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor });
    first.bus.subscribe('task.started', () => void first.cancel());
    await first.runWorkflow(spec, { runId: 'r2' });

    const second = new WorkflowOrchestrator({ stateBackend: new JsonStateBackend(dir), stateDir: dir, executor });
    const { lines, blocks } = watch(second);
    const started: Array<{ attempt: number; counted?: number }> = [];
    second.bus.subscribe('task.started', ({ payload: e }) => {
    started.push({ attempt: e.attempt, ...(e.counted !== undefined && { counted: e.counted }) });
  });
    const resumed = await second.resume('r2');
    expect(resumed.status).toBe('completed');
    // The cancelled attempt does not count against retry_count, but it is attempt 1.
    expect(started).toEqual([{ attempt: 2, counted: 1 }]);
    expect(lines).toContain('build: started (attempt 2 (1/3 counted))');
    expect(blocks).toContainEqual(expect.stringMatching(/▶ build\s+running\s+#2 1\/3/));

    // What `status` lists per attempt, and `logs --attempt` takes.
    expect(resumed.taskResults[0]!.attemptLog.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'cancelled'],
      [2, 'succeeded'],
    ]);
    const logs = await cli(['logs', 'r2', 'build', '--attempt', '2', '--state-dir', dir]);
    expect(logs.code).toBe(0);
  });

  it('without cancelled attempts the label stays N/M', () => {
    expect(attemptLabel(2, 2, 3)).toBe('2/3');
    expect(attemptLabel(2, undefined, 3)).toBe('2/3');
    expect(attemptLabel(3, 1, 3, true)).toBe('#3 1/3');
  });
});
