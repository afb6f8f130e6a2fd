/**
 * Issue 24: the live view of a run and the stored view of the same run say the same: the same
 * run events (attempt 1's start, skips, the workflow's start and end), the same orchestrator
 * phases (draining after a halt), the root actor named by the run id, and why the run halted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import type { RunEventLogEntry } from '../src/persistence/run-event-log.js';
import type { RunHeader, RunSummary, ViewEntry } from '../src/inspector/run-view.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let server: InspectorServer | null = null;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  await server?.close();
  server = null;
  world.cleanup();
});

async function runOf(s: InspectorServer, key: string): Promise<{ run: RunHeader; entries: ViewEntry[] }> {
  return (await (await fetch(new URL(`/api/runs/${key}`, s.url))).json()) as { run: RunHeader; entries: ViewEntry[] };
}

/** The live run `runId`, once it has ended. */
async function liveRun(s: InspectorServer, runId: string): Promise<{ run: RunHeader; entries: ViewEntry[] }> {
  for (let i = 0; i < 600; i++) {
    const live = (await s.runs()).find((r: RunSummary) => r.runId === runId && r.source === 'live');
    if (live) {
      const body = await runOf(s, live.key);
      if (body.entries.some((e) => e.k === 'log' && e.type === 'workflow.finished')) return body;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no live run ${runId}`);
}

/** The run events of the log, as `type task` lines, sorted (a live view learns some of them in another order). */
function runEvents(entries: ViewEntry[]): string[] {
  return entries.filter((e) => e.k === 'log' && e.cat !== 'xstate').map((e) => (e.k === 'log' ? `${e.type} ${e.taskId ?? '-'}` : '')).sort();
}

function phases(entries: ViewEntry[], actor: string): string[] {
  const out: string[] = [];
  for (const e of entries) if ((e.k === 'state' || e.k === 'actor') && e.id === actor && e.active[0] && out.at(-1) !== e.active[0]) out.push(e.active[0]);
  return out;
}

describe('live and stored views agree', () => {
  it('the same run events: first attempts, retries, failures, skips, the workflow start and end', async () => {
    const spec = join(world.root, 'mixed.yaml');
    writeFileSync(
      spec,
      [
        'id: mixed',
        'on_failure: continue',
        'tasks:',
        '  - id: plan',
        '    prompt: plan it',
        '  - id: flaky',
        '    prompt: "[[transient:1]] try"',
        '    retry_count: 3',
        '    depends_on: [plan]',
        '  - id: broken',
        '    prompt: "[[is-error:no luck]] break"',
        '    depends_on: [plan]',
        '  - id: after_broken',
        '    prompt: never',
        '    depends_on: [broken]',
        '  - id: unwanted',
        '    prompt: never',
        '    when: "false"',
        '',
      ].join('\n'),
    );
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const run = await cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 'mixed1', '--inspect', server.inspectUrl], { ...world.env, AGENTS_SDK_RETRY_BASE_MS: '1' });
    expect(run.code, run.stderr).toBe(1);
    const live = await liveRun(server, 'mixed1');
    const stored = await runOf(server, 'stored:mixed1');
    const events = runEvents(live.entries);
    expect(events).toEqual(runEvents(stored.entries));
    for (const line of ['workflow.started -', 'workflow.finished -', 'task.started plan', 'task.started broken', 'task.skipped after_broken', 'task.skipped unwanted', 'task.retrying flaky', 'task.failed broken']) {
      expect(events).toContain(line);
    }
    expect(events.filter((e) => e === 'task.started flaky')).toHaveLength(2);
    // attempt 1 is in the task's transcript live too
    expect(live.entries.some((e) => e.k === 'progress' && e.taskId === 'plan' && e.kind === 'attempt')).toBe(true);
    // the root actor goes by the run id
    const root = live.entries.find((e) => e.k === 'actor' && e.parent === null);
    expect(root).toMatchObject({ actorId: 'mixed1', name: 'orchestrator' });
    // on_failure: continue: failed, but never halted
    expect(live.run).toMatchObject({ status: 'failed', halt: null, haltReason: null });
    expect(stored.run).toMatchObject({ status: 'failed', halt: null });
  });

  it('a halted run: draining while the others finish, in both views, and the header says why', async () => {
    const spec = join(world.root, 'halt.yaml');
    writeFileSync(
      spec,
      ['id: halting', 'tasks:', '  - id: slow', '    prompt: "[[delay:3000]] slow"', '  - id: bad', '    prompt: "[[is-error:broken build]] bad"', '  - id: later', '    prompt: later', '    depends_on: [slow]', ''].join('\n'),
    );
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const run = await cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 'halt1', '--inspect', server.inspectUrl], world.env);
    expect(run.code, run.stderr).toBe(1);
    const live = await liveRun(server, 'halt1');
    const stored = await runOf(server, 'stored:halt1');
    const liveRoot = live.entries.find((e) => e.k === 'actor' && e.parent === null)!;
    const storedRoot = stored.entries.find((e) => e.k === 'actor' && e.parent === null)!;
    expect(phases(live.entries, liveRoot.k === 'actor' ? liveRoot.id : '')).toEqual(['running', 'draining', 'failed']);
    expect(phases(stored.entries, storedRoot.k === 'actor' ? storedRoot.id : '')).toEqual(['running', 'draining', 'failed']);
    expect(live.run).toMatchObject({ halt: 'failed' });
    expect(live.run.haltReason).toMatch(/^task bad failed \(.*broken build.*\): nothing new started$/);
    expect(stored.run).toMatchObject({ halt: 'failed', haltReason: live.run.haltReason });
    expect(runEvents(live.entries)).toEqual(runEvents(stored.entries));
    expect(runEvents(stored.entries)).toContain('task.skipped later');
  });
});

describe('the halt in words', () => {
  it('names the failed task, else says what stopped the run', async () => {
    const { RunView } = await import('../src/inspector/run-view.js');
    const view = new RunView('live-1', 'live', 'r1');
    expect(view.haltReason()).toBeNull();
    const reasons = ['failed', 'cancelled', 'budget_exceeded', 'state_write_failed', 'something_new'].map((halt) => {
      view.halt = halt;
      return view.haltReason();
    });
    expect(reasons).toEqual([
      'a task failed: nothing new started',
      'the run was cancelled',
      "the run's budget was spent: nothing new started",
      "the run's state could not be saved",
      'something_new',
    ]);
    view.halt = 'failed';
    view.tasks.set('t', { id: 't', status: 'failed', attempts: 1, tokens: 0, costUsd: 0, startedAt: 1, endedAt: 2, error: null });
    expect(view.haltReason()).toBe('task t failed: nothing new started');
  });
});

describe('a stored run replays the orchestrator phases', () => {
  const machines = async () => {
    const { orchestratorMachine } = await import('../src/machines/orchestrator.machine.js');
    const { agentSessionMachine } = await import('../src/machines/agent-session.machine.js');
    return { run: orchestratorMachine.config, session: agentSessionMachine.config };
  };
  const rootPhases = (entries: ViewEntry[]) => phases(entries, 'stored:r');
  /** Event log lines as written (their run id left out). */
  const log = (events: object[]) => events as unknown as RunEventLogEntry[];

  it('waiting while only a task that waits for an event is left, running again once it starts', async () => {
    const { runViewFromEventLog } = await import('../src/inspector/run-view.js');
    const view = runViewFromEventLog('stored:r', 'r', log([
      { type: 'workflow.started', at: 1, workflowId: 'w', taskIds: ['build', 'deploy'] },
      { type: 'task.started', at: 2, taskId: 'build', attempt: 1 },
      { type: 'task.completed', at: 3, taskId: 'build', record: { taskId: 'build', status: 'completed', attempts: 1, tokens: {}, costUsd: 0, startedAt: 2, endedAt: 3, error: null } },
      { type: 'task.waiting', at: 4, taskId: 'deploy', event: 'go' },
      { type: 'task.started', at: 5, taskId: 'deploy', attempt: 1 },
      { type: 'task.completed', at: 6, taskId: 'deploy', record: { taskId: 'deploy', status: 'completed', attempts: 1, tokens: {}, costUsd: 0, startedAt: 5, endedAt: 6, error: null } },
      { type: 'workflow.finished', at: 7, result: { status: 'completed' } },
    ]), { machines: await machines() });
    expect(rootPhases(view.entries)).toEqual(['running', 'waiting', 'running', 'completed']);
    expect(view.halt).toBeNull();
  });

  it('a cancelled run drains its running tasks; a failed one under on_failure: continue never halts', async () => {
    const { runViewFromEventLog } = await import('../src/inspector/run-view.js');
    const record = (taskId: string, status: string, extra: Record<string, unknown> = {}) => ({ taskId, status, attempts: 1, tokens: {}, costUsd: 0, startedAt: 1, endedAt: 2, error: null, ...extra });
    const cancelled = runViewFromEventLog('stored:r', 'r', log([
      { type: 'workflow.started', at: 1, workflowId: 'w', taskIds: ['a', 'b'] },
      { type: 'task.started', at: 2, taskId: 'a', attempt: 1 },
      { type: 'task.started', at: 2, taskId: 'b', attempt: 1 },
      { type: 'task.cancelled', at: 3, taskId: 'a', record: record('a', 'cancelled') },
      { type: 'task.cancelled', at: 4, taskId: 'b', record: record('b', 'cancelled') },
      { type: 'workflow.finished', at: 5, result: { status: 'cancelled' } },
    ]), { machines: await machines() });
    expect(rootPhases(cancelled.entries)).toEqual(['running', 'draining', 'cancelled']);
    expect(cancelled.summary()).toMatchObject({ halt: 'cancelled', haltReason: 'the run was cancelled' });

    const events = [
      { type: 'workflow.started', at: 1, workflowId: 'w', taskIds: ['a', 'b'] },
      { type: 'task.started', at: 2, taskId: 'a', attempt: 1 },
      { type: 'task.started', at: 2, taskId: 'b', attempt: 1 },
      { type: 'task.failed', at: 3, taskId: 'a', record: record('a', 'failed', { allowedFailure: true }) },
      { type: 'task.failed', at: 4, taskId: 'b', record: record('b', 'failed') },
      { type: 'workflow.finished', at: 5, result: { status: 'failed' } },
    ];
    const continued = runViewFromEventLog('stored:r', 'r', log(events), { machines: await machines(), onFailure: 'continue' });
    expect(rootPhases(continued.entries)).toEqual(['running', 'failed']);
    expect(continued.halt).toBeNull();
    // under stop, the allowed failure does not halt it; b's failure does, with nothing left running
    const stopped = runViewFromEventLog('stored:r', 'r', log(events), { machines: await machines() });
    expect(rootPhases(stopped.entries)).toEqual(['running', 'failed']);
    expect(stopped.summary()).toMatchObject({ halt: 'failed', haltReason: 'task b failed: nothing new started' });
  });
});
