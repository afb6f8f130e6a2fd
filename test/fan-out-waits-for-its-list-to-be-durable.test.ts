/**
 * In a checkpointed run (`awaitDurable`), a fan-out's instances start only once the record
 * holding its list is durable (the `RECORDS.DURABLE` event names it): a crash before that
 * leaves no instance that ran on a list the state does not have. The orchestrator machine
 * driven directly, with an in-process executor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, toPromise } from 'xstate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrchestratorMachine, validateWorkflow, type ExecutionResult, type Executor } from '../src/index.js';
import { recordsOf } from '../src/machines/orchestrator.machine.js';
import { okResult } from './helpers/results.js';

const ok = (output: string): ExecutionResult => okResult({ output, numTurns: 1 });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fan-out-durable-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a fan-out in a checkpointed run', () => {
  it('starts no instance until its recorded list is durable', async () => {
    const prompts: string[] = [];
    const executor: Executor = async (request) => {
      prompts.push(request.kind === 'claude' ? String(request.prompt) : '');
      return ok('done');
    };
    const workflow = validateWorkflow({ id: 'w', tasks: [{ id: 'fan', for_each: '["a", "b"]', prompt: 'do {{item}}' }] });
    const actor = createActor(createOrchestratorMachine(executor), { input: { workflow, runId: 'm1', stateDir: dir, awaitDurable: true } });
    const expanded: string[] = [];
    actor.on('fanout.expanded', (e) => expanded.push(e.taskId));
    actor.start();
    const fan = () => recordsOf(actor.getSnapshot().context).find((r) => r.taskId === 'fan')!;
    expect(expanded).toEqual(['fan']);
    expect(fan()).toMatchObject({ status: 'running', items: ['a', 'b'] });
    // Several turns of the event loop: still nothing started.
    for (let k = 0; k < 5; k++) await new Promise((resolve) => setImmediate(resolve));
    expect(prompts).toEqual([]);
    expect(actor.getSnapshot().value).toBe('running');

    actor.send({ type: 'RECORDS.DURABLE', taskIds: ['fan'] });
    const result = await toPromise(actor);
    expect(result.status).toBe('completed');
    expect(prompts).toEqual(['do a', 'do b']);
    expect(fan().status).toBe('completed');
  });

  it('the same when the list is evaluated after a dependency completes', async () => {
    const prompts: string[] = [];
    const executor: Executor = async (request) => {
      prompts.push(request.kind === 'claude' ? String(request.prompt) : '');
      return ok('done');
    };
    const workflow = validateWorkflow({
      id: 'w',
      tasks: [
        { id: 'first', prompt: 'first' },
        { id: 'fan', depends_on: ['first'], for_each: '[tasks.first.output, "b"]', prompt: 'do {{item}}' },
      ],
    });
    const actor = createActor(createOrchestratorMachine(executor), { input: { workflow, runId: 'm2', stateDir: dir, awaitDurable: true } });
    const expanded: string[] = [];
    actor.on('fanout.expanded', (e) => expanded.push(e.taskId));
    actor.on('task.completed', (e) => {
      // The checkpointer's answer, once the completed record is written.
      if (e.taskId === 'first') setImmediate(() => actor.send({ type: 'RECORDS.DURABLE', taskIds: ['first'] }));
    });
    actor.start();
    while (expanded.length === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let k = 0; k < 5; k++) await new Promise((resolve) => setImmediate(resolve));
    expect(prompts).toEqual(['first']);
    actor.send({ type: 'RECORDS.DURABLE', taskIds: ['fan'] });
    expect((await toPromise(actor)).status).toBe('completed');
    expect(prompts).toEqual(['first', 'do done', 'do b']);
  });
});
