/**
 * The run's event log: `<stateDir>/<runId>/events.jsonl` holds every bus event of a run, in
 * order, with big outputs referenced rather than copied; a torn last line is tolerated, a
 * garbled complete line reported.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLifecycleEvent } from '../src/event-bus.js';
import { AgentsSdkError, JsonStateBackend, TransientError, WorkflowOrchestrator, type Events, type Executor } from '../src/index.js';
import { EVENT_LOG_INLINE_LIMIT, RunEventLog, readRunEventLog, runEventLogPath } from '../src/persistence/run-event-log.js';
import { failureOf } from './helpers/failure-of.js';
import { okResult } from './helpers/results.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-eventlog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const BIG = 'x'.repeat(200 * 1024);

/** `flaky` fails twice with a 529 then succeeds; `big` outputs 200 KB; the rest echo. */
function executor(): Executor {
  let flakyCalls = 0;
  return async (request) => {
    const id = request.kind === 'command' ? request.command[1]! : request.prompt;
    await new Promise((r) => setImmediate(r));
    if (id === 'flaky' && ++flakyCalls <= 2) {
      throw new TransientError('API_OVERLOADED', 'API Error: 529 {"type":"overloaded_error","message":"Overloaded"}', { apiErrorStatus: 529 });
    }
    return okResult({ output: id === 'big' ? BIG : `out-${id}` });
  };
}

const workflow = {
  id: 'logged',
  max_parallel: 2,
  tasks: [
    { id: 'flaky', command: ['echo', 'flaky'], retry_count: 3 },
    { id: 'big', command: ['echo', 'big'] },
    { id: 'after', command: ['echo', 'after'], depends_on: ['flaky', 'big'] },
  ],
};

describe('the run event log', () => {
  it('holds every event of the run in order, both 529 retries included, and references a 200 KB output', async () => {
    const backend = new JsonStateBackend(dir);
    const orchestrator = new WorkflowOrchestrator(backend, {
      stateDir: dir,
      executor: executor(),
      retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
    });
    const seen: Events[keyof Events][] = [];
    onLifecycleEvent(orchestrator.bus, (event) => {
      seen.push(event);
    });
    const result = await orchestrator.runWorkflow(workflow, { runId: 'run-1' });
    expect(result.status).toBe('completed');

    const file = runEventLogPath(dir, 'run-1');
    expect(file).toBe(join(dir, 'run-1', 'events.jsonl'));
    const { events, torn } = await readRunEventLog(file);
    expect(torn).toBe(false);
    // Every bus event, in the order published.
    expect(events.map((e) => e.type)).toEqual(seen.map((e) => e.type));
    expect(events.map((e) => e.at)).toEqual(seen.map((e) => e.at));
    expect(events[0]!.type).toBe('workflow.started');
    expect(events.at(-1)!.type).toBe('workflow.finished');
    for (const e of events) {
      expect(e.runId).toBe('run-1');
      expect(typeof e.at).toBe('number');
      if (e.type.startsWith('task.')) {
        expect(typeof e.taskId).toBe('string');
        expect(e.sessionId).toBe(e.taskId);
      }
    }

    const retrying = events.filter((e) => e.type === 'task.retrying');
    expect(retrying).toHaveLength(2);
    expect(retrying.map((e) => [e.taskId, e.attempt])).toEqual([
      ['flaky', 1],
      ['flaky', 2],
    ]);
    for (const e of retrying) {
      const error = e.error as { code: string; message: string; transient: boolean };
      expect(error.code).toBe('API_OVERLOADED');
      expect(error.transient).toBe(true);
      expect(error.message).toContain('529');
    }
    const started = events.filter((e) => e.type === 'task.started' && e.taskId === 'flaky');
    expect(started.map((e) => e.attempt)).toEqual([1, 2, 3]);
    const flakyDone = events.find((e) => e.type === 'task.completed' && e.taskId === 'flaky')!;
    expect(flakyDone.record).toMatchObject({ status: 'completed', attempts: 3, output: 'out-flaky' });
    // The retries come before the success.
    expect(events.indexOf(retrying[1]!)).toBeLessThan(events.indexOf(flakyDone));

    // The 200 KB output is referenced, not inlined; the task record holds it.
    const bigDone = events.find((e) => e.type === 'task.completed' && e.taskId === 'big')!;
    expect((bigDone.record as { output: unknown }).output).toEqual({ $ref: 'records', taskId: 'big', bytes: BIG.length });
    const finished = events.at(-1)!.result as { taskResults: { taskId: string; output: unknown }[] };
    expect(finished.taskResults.find((r) => r.taskId === 'big')!.output).toEqual({ $ref: 'records', taskId: 'big', bytes: BIG.length });
    expect(finished.taskResults.find((r) => r.taskId === 'after')!.output).toBe('out-after');
    expect(statSync(file).size).toBeLessThan(EVENT_LOG_INLINE_LIMIT);
    const saved = await backend.loadRun('run-1');
    expect(saved!.records.find((r) => r.taskId === 'big')!.output).toBe(BIG);
    await backend.close();
  });

  it('is on by default with a JSON backend and off with eventLog: false', async () => {
    const on = new WorkflowOrchestrator({ stateDir: dir, executor: executor(), retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } });
    await on.runWorkflow(workflow, { runId: 'on' });
    expect(existsSync(runEventLogPath(dir, 'on'))).toBe(true);
    const off = new WorkflowOrchestrator({ stateDir: dir, executor: executor(), eventLog: false, retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } });
    await off.runWorkflow(workflow, { runId: 'off' });
    expect(existsSync(runEventLogPath(dir, 'off'))).toBe(false);
    await on.stateBackend!.close();
    await off.stateBackend!.close();
  });

  it('tolerates a torn last line, and a log appended to after one drops it', async () => {
    const file = runEventLogPath(dir, 'torn');
    mkdirSync(join(dir, 'torn'));
    const line = (type: string, at: number) => JSON.stringify({ type, runId: 'torn', at }) + '\n';
    writeFileSync(file, line('workflow.started', 1) + line('task.started', 2) + '{"type":"task.compl');
    const read = await readRunEventLog(file);
    expect(read.torn).toBe(true);
    expect(read.events.map((e) => e.type)).toEqual(['workflow.started', 'task.started']);

    const log = new RunEventLog(file, 'torn');
    log.append({ type: 'workflow.reaped', workflowId: 'w', runId: 'torn', at: 3, processes: [] });
    await log.close();
    const after = await readRunEventLog(file);
    expect(after.torn).toBe(false);
    expect(after.events.map((e) => e.type)).toEqual(['workflow.started', 'task.started', 'workflow.reaped']);
  });

  it('reports a garbled complete line naming the file and the line', async () => {
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, '{"type":"workflow.started","runId":"r","at":1}\n{"type":"task.sta#!garbage\n{"type":"task.started","runId":"r","at":2}\n');
    const error = await failureOf(readRunEventLog(file));
    expect(error).toBeInstanceOf(AgentsSdkError);
    expect(error.code).toBe('CORRUPT_STATE');
    expect(error.message).toContain(file);
    expect(error.message).toContain('line 2');
    expect(error.details).toMatchObject({ file, line: 2 });
  });
});
