/**
 * Signals: a task that waits for an event (`wait_for`), a person or an app sending it
 * (`agents-sdk signal`, `orchestrator.signal()`), a task publishing its output (`publish:`),
 * another run waiting for it, and all of it surviving kill -9.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { JsonStateBackend, ValidationError, WorkflowOrchestrator, validateWorkflow, type Events, type StateBackend, type WorkflowResult, type WorkflowSpecInput } from '../src/index.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { cli, cliProcess } from './helpers/cli.js';
import { eventually, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
const backends: StateBackend[] = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  world.cleanup();
});

/** A command task that prints its argument (templates rendered). */
const echo = (text: string) => ['node', '-e', 'process.stdout.write(process.argv[1])', text];

function orchestrator(backend: StateBackend | null = new JsonStateBackend(world.stateDir), options: ConstructorParameters<typeof WorkflowOrchestrator>[1] = {}) {
  if (backend) backends.push(backend);
  return new WorkflowOrchestrator(backend, { stateDir: world.stateDir, ...options });
}

function gate(extra: Record<string, unknown> = {}): WorkflowSpecInput {
  return {
    id: 'gate',
    tasks: [
      { id: 'plan', command: echo('the plan') },
      {
        id: 'build',
        depends_on: ['plan'],
        wait_for: { event: 'approval.granted', timeout: 3600 },
        command: echo('building {{tasks.plan.output}}, approved by {{events.approval.granted.payload.by}}'),
        ...extra,
      },
    ],
  };
}

/** Resolves with the first event of this type. */
function next<K extends keyof Events>(o: WorkflowOrchestrator, type: K): Promise<Events[K]> {
  return new Promise((resolve) => {
    const stop = o.bus.subscribe(type, (e) => {
      stop();
      resolve(e.payload as Events[K]);
    });
  });
}

describe('approval gate (wait_for)', () => {
  it('waits for the event without taking a slot, then starts with its payload in the prompt', async () => {
    const states: unknown[] = [];
    const o = orchestrator(undefined, {
      inspect: (e: InspectionEvent) => {
        const snapshot = e.type === '@xstate.snapshot' ? (e.snapshot as { value?: unknown; context?: { run?: { runId?: string } } }) : undefined;
        if (snapshot?.context?.run?.runId === 'gate-run') states.push(snapshot.value);
      },
    });
    const waiting = next(o, 'task.waiting');
    // One slot: the waiting task does not hold it, so `other` runs meanwhile.
    const spec = { ...gate(), max_parallel: 1 };
    spec.tasks.push({ id: 'other', command: echo('ran while build waited') });
    const otherDone = next(o, 'task.completed');
    const done = o.runWorkflow(spec, { runId: 'gate-run' });
    const w = await waiting;
    expect(w).toMatchObject({ taskId: 'build', event: 'approval.granted' });
    expect(w.deadline! - w.at).toBeGreaterThan(3_599_000);
    // The orchestrator's statechart shows it: nothing runs, a task waits.
    await eventually(() => states.includes('waiting'));
    expect(states).toContain('waiting');
    const stored = await o.stateBackend!.loadRun('gate-run');
    expect(stored!.records.find((r) => r.taskId === 'build')).toMatchObject({ status: 'waiting', attempts: 0 });

    await eventually(() => states.includes('waiting'));
    expect((await o.stateBackend!.loadRun('gate-run'))!.records.find((r) => r.taskId === 'other')).toMatchObject({ status: 'completed' });
    void otherDone;
    const signal = await o.signal('gate-run', 'approval.granted', { by: 'ana' });
    const result = await done;
    expect(result.status).toBe('completed');
    const build = result.taskResults.find((t) => t.taskId === 'build')!;
    expect(build.output).toBe('building the plan, approved by ana');
    const record = (await o.stateBackend!.loadRun('gate-run'))!.records.find((r) => r.taskId === 'build')!;
    expect(record.signal).toMatchObject({ id: signal.id, type: 'approval.granted', payload: { by: 'ana' }, source: 'api' });
    expect(states.at(-1)).toBe('completed');
  });

  it('a signal that came before the task was ready lets it start at once', async () => {
    const o = orchestrator();
    const spec = gate();
    spec.tasks[0] = { id: 'plan', command: ['node', '-e', 'setTimeout(() => process.stdout.write("slow plan"), 300)'] };
    let waited = false;
    o.bus.subscribe('task.waiting', () => {
      waited = true;
    });
    const started = next(o, 'workflow.started');
    const done = o.runWorkflow(spec, { runId: 'early' });
    await started;
    await o.signal('early', 'approval.granted', { by: 'bo' });
    const result = await done;
    expect(result.status).toBe('completed');
    expect(waited).toBe(false);
    expect(result.taskResults.find((t) => t.taskId === 'build')!.output).toBe('building slow plan, approved by bo');
  });

  it('fails the task with WAIT_TIMEOUT when the event does not come in time; the failure policy applies', async () => {
    const o = orchestrator(null);
    const spec: WorkflowSpecInput = {
      id: 'timeout',
      on_failure: 'continue',
      tasks: [
        { id: 'gate', wait_for: { event: 'approval.granted', timeout: 0.2 }, command: echo('go') },
        { id: 'after', depends_on: ['gate'], command: echo('after') },
        { id: 'other', command: echo('independent') },
      ],
    };
    const result = await o.runWorkflow(spec, { runId: 'late' });
    expect(result.status).toBe('failed');
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.gate).toMatchObject({ status: 'failed', attempts: 0 });
    expect(byId.gate!.error).toMatchObject({ code: 'WAIT_TIMEOUT', transient: false });
    expect(byId.gate!.error!.message).toContain('waited 0.2 s for event "approval.granted"');
    expect(byId.gate!.error!.message).toContain('agents-sdk signal late approval.granted');
    expect(byId.after).toMatchObject({ status: 'skipped', reason: 'dependency "gate" failed' });
    expect(byId.other).toMatchObject({ status: 'completed', output: 'independent' });
  });

  it('cancel skips a waiting task; resume waits again and the stored signal lets it go on', async () => {
    const o = orchestrator();
    const waiting = next(o, 'task.waiting');
    const done = o.runWorkflow(gate(), { runId: 'cancelled' });
    await waiting;
    await o.cancel();
    const cancelled = await done;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.taskResults.find((t) => t.taskId === 'build')).toMatchObject({ status: 'skipped', reason: 'the run was cancelled' });
    // Sent while nothing runs the run: stored, delivered on resume.
    await o.signal('cancelled', 'approval.granted', { by: 'cy' });
    const resumed = await o.resume('cancelled');
    expect(resumed.status).toBe('completed');
    expect(resumed.taskResults.find((t) => t.taskId === 'build')!.output).toBe('building the plan, approved by cy');
  });

  it('signals to an unknown or completed run, and bad types, are refused with a clear error', async () => {
    const o = orchestrator();
    await expect(o.signal('nope', 'approval.granted')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const spec: WorkflowSpecInput = { id: 'plain', tasks: [{ id: 'a', command: echo('a') }] };
    await o.runWorkflow(spec, { runId: 'done' });
    await expect(o.signal('done', 'approval.granted')).rejects.toMatchObject({ code: 'RUN_FINISHED' });
    await expect(o.signal('done', 'bad type!')).rejects.toThrow(ValidationError);
    await expect(o.signal('done', 'x', { f: () => 1, n: 1n })).rejects.toThrow(/not JSON/);
    // Without a state backend only an active run can be signalled.
    await expect(orchestrator(null).signal('nope', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('publish on completion', () => {
  it("another branch of the run waits for a task's published output", async () => {
    const o = orchestrator();
    const published: Array<Events['workflow.signal']> = [];
    o.bus.subscribe('workflow.signal', ({ payload: e }) => {
    published.push(e);
  });
    const result = await o.runWorkflow(
      {
        id: 'pub',
        tasks: [
          { id: 'announce', wait_for: 'build.done', command: echo('announcing: {{events.build.done.payload}}') },
          { id: 'build', command: ['node', '-e', 'setTimeout(() => process.stdout.write("v1.2.3"), 200)'], publish: 'build.done' },
        ],
      },
      { runId: 'pub-run' },
    );
    expect(result.status).toBe('completed');
    expect(result.taskResults.map((t) => t.taskId)).toEqual(['build', 'announce']);
    expect(result.taskResults[1]!.output).toBe('announcing: v1.2.3');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ origin: 'published', signal: { type: 'build.done', payload: 'v1.2.3', source: 'pub-run/build' } });
  });
});

describe.each([
  ['json', () => new JsonStateBackend(world.stateDir)],
  ['sqlite', () => SqliteStateBackend.open(join(world.stateDir, 'agents.sqlite'))],
] as const)('cross-run trigger (%s backend)', (name, open) => {
  it('a run waits for an event another run in the same state dir publishes', async () => {
    const waiter = orchestrator(await open());
    const waiting = next(waiter, 'task.waiting');
    const deploy = waiter.runWorkflow(
      { id: 'deploy', tasks: [{ id: 'deploy', wait_for: { event: 'build.done', timeout: 60 }, command: echo('deploying {{events.build.done.payload}}') }] },
      { runId: `deploy-${name}` },
    );
    await waiting;
    // Another orchestrator with its own connection to the state, as another process has.
    const builder = orchestrator(await open());
    const built = await builder.runWorkflow({ id: 'build', tasks: [{ id: 'build', command: echo('build 42'), publish: 'build.done' }] }, { runId: `build-${name}` });
    expect(built.status).toBe('completed');
    const result: WorkflowResult = await deploy;
    expect(result.status).toBe('completed');
    expect(result.taskResults[0]!.output).toBe('deploying build 42');
    // The waiting run did not see its own inbox twice, nor a stale event: one signal in its record.
    const record = (await waiter.stateBackend!.loadRun(`deploy-${name}`))!.records[0]!;
    expect(record.signal).toMatchObject({ type: 'build.done', source: `build-${name}/build`, payload: 'build 42' });
  });
});

describe('validation', () => {
  it('names the task and field of a bad wait_for, publish or {{events...}} placeholder', () => {
    const spec: WorkflowSpecInput = {
      id: 'bad',
      tasks: [
        { id: 'a', command: echo('{{events.approval.granted.payload}}') },
        { id: 'b', wait_for: { event: 'ok', timeout: -1 }, command: echo('b') },
        { id: 'c', wait_for: 'has space', publish: 'x.payload', command: echo('c') },
        { id: 'd', wait_for: { event: 'ok', timout: 3 }, command: echo('d') },
      ],
    };
    let error: ValidationError | undefined;
    try {
      validateWorkflow(spec);
    } catch (e) {
      error = e as ValidationError;
    }
    const issues = error!.issues.map((i) => `${i.path}: ${i.message}`);
    expect(issues).toContainEqual(expect.stringMatching(/^tasks\.a\.command\[3\]: \{\{events\.approval\.granted\.payload\}\}: neither this task nor a task it depends on waits for "approval\.granted"/));
    expect(issues).toContainEqual(expect.stringMatching(/^tasks\.b\.wait_for(\.timeout)?: /));
    expect(issues).toContainEqual(expect.stringMatching(/^tasks\.c\.wait_for: /));
    expect(issues).toContainEqual(expect.stringMatching(/^tasks\.c\.publish: .*payload/));
    expect(issues).toContainEqual('tasks.d.wait_for.timout: unknown field: did you mean `timeout`?');
  });

  it('accepts the payload of an event a dependency waited for', () => {
    const workflow = validateWorkflow({
      id: 'ok',
      tasks: [
        { id: 'gate', wait_for: 'approval.granted', command: echo('ok') },
        { id: 'use', depends_on: ['gate'], command: echo('{{events.approval.granted.payload}}') },
      ],
    });
    expect(workflow.tasks[0]!.wait_for).toEqual({ event: 'approval.granted' });
  });
});

describe('durable waiting, through the CLI', () => {
  function writeSpec(counter: string): string {
    const file = join(world.root, 'gate.yaml');
    const spec = [
      'id: gate',
      'tasks:',
      '  - id: plan',
      `    command: [node, -e, "require('fs').appendFileSync(process.argv[1], 'ran\\\\n'); process.stdout.write('the plan')", "${counter}"]`,
      '  - id: build',
      '    depends_on: [plan]',
      '    wait_for: { event: approval.granted, timeout: 3600 }',
      '    command: [node, -e, "process.stdout.write(process.argv[1])", "built {{tasks.plan.output}} for {{events.approval.granted.payload.by}}"]',
    ];
    writeFileSync(file, spec.join('\n') + '\n');
    return file;
  }

  /** Polls `agents-sdk status` until the build task waits (generous: the machine may be loaded). */
  async function waitUntilWaiting(runId: string, backend: string): Promise<void> {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const status = await cli(['status', runId, '--json', '--state-dir', world.stateDir, '--backend', backend]);
      if (status.code === 0 && status.stdout.includes('"status": "waiting"')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`run ${runId} never showed a waiting task`);
  }

  it.each(['json', 'sqlite'])('%s: kill -9 while a task waits, signal the stopped run, resume: it proceeds and nothing reruns', async (backend) => {
    const counter = join(world.root, 'plan-runs.txt');
    const file = writeSpec(counter);
    const state = ['--state-dir', world.stateDir, '--backend', backend];
    const child = cliProcess(['run', file, '--run-id', 'durable', ...state]);
    await waitUntilWaiting('durable', backend);
    const shown = await cli(['status', 'durable', ...state]);
    expect(shown.stdout).toMatch(/build\s+waiting\s+0 .*waiting for approval\.granted, until 20\d\d-/);
    child.kill('SIGKILL');
    await child;

    const sent = await cli(['signal', 'durable', 'approval.granted', '--data', '{"by":"dee"}', ...state]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain(`the run is not running: it gets the signal when resumed (agents-sdk resume durable ${state.join(' ')})`);

    const resumed = await cli(['resume', 'durable', '--json', ...state]);
    expect(resumed.code).toBe(0);
    const result = JSON.parse(resumed.stdout) as WorkflowResult;
    expect(result.status).toBe('completed');
    expect(result.taskResults.find((t) => t.taskId === 'build')!.output).toBe('built the plan for dee');
    expect(readFileSync(counter, 'utf8')).toBe('ran\n');
    expect((await cli(['status', 'durable', ...state])).stdout).toMatch(/build\s+completed .*started on approval\.granted from cli/);
  }, 60_000);

  it('a signal sent from another process reaches the running run', async () => {
    const counter = join(world.root, 'plan-runs.txt');
    const file = writeSpec(counter);
    const child = cliProcess(['run', file, '--run-id', 'live', '--json', '--state-dir', world.stateDir]);
    await waitUntilWaiting('live', 'json');
    const sent = await cliProcess(['signal', 'live', 'approval.granted', '--data', '{"by":"eve"}', '--json', '--state-dir', world.stateDir]);
    expect(sent.exitCode).toBe(0);
    expect(JSON.parse(String(sent.stdout))).toMatchObject({ runId: 'live', delivery: 'live', signal: { type: 'approval.granted', source: 'cli' } });
    const run = await child;
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(String(run.stdout)) as WorkflowResult;
    expect(result.taskResults.find((t) => t.taskId === 'build')!.output).toBe('built the plan for eve');
    expect(readFileSync(counter, 'utf8')).toBe('ran\n');
  }, 60_000);

  it('signal refuses bad input with exit code 2', async () => {
    const state = ['--state-dir', world.stateDir];
    const unknown = await cli(['signal', 'ghost', 'approval.granted', ...state]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NOT_FOUND: Unknown run id "ghost"');
    const badData = await cli(['signal', 'ghost', 'approval.granted', '--data', '{by:', ...state]);
    expect(badData.code).toBe(2);
    expect(badData.stderr).toContain('--data must be JSON');
    const badType = await cli(['signal', 'ghost', 'no way', ...state]);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('"no way" is not an event type');
  });

  it.each(['json', 'sqlite'])('%s: signal refuses a type no task waits for (a typo: did you mean), stores nothing; --force stores it', async (backend) => {
    const state = ['--state-dir', world.stateDir, '--backend', backend];
    const stopped = new AbortController();
    stopped.abort();
    // Cancelled before it started: a stored run whose build task waits for approval.granted.
    expect((await cli(['run', writeSpec(join(world.root, 'plan-runs.txt')), '--run-id', 'gated', ...state], {}, stopped.signal)).code).toBe(1);

    const typo = await cli(['signal', 'gated', 'approval.grant', ...state]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      'UNKNOWN_EVENT: No task of run gated waits for "approval.grant": its tasks wait for "approval.granted": did you mean "approval.granted"? Nothing was stored',
    );
    expect(typo.stdout).toBe('');
    const undotted = await cli(['signal', 'gated', 'approvalgranted', ...state]);
    expect(undotted.code).toBe(2);
    expect(undotted.stderr).toContain('did you mean "approval.granted"?');
    const unrelated = await cli(['signal', 'gated', 'deploy.done', ...state]);
    expect(unrelated.code).toBe(2);
    expect(unrelated.stderr).toContain('its tasks wait for "approval.granted". Nothing was stored');

    const inbox = async (): Promise<string[]> => {
      const store = backend === 'sqlite' ? await SqliteStateBackend.open(join(world.stateDir, 'agents.sqlite')) : new JsonStateBackend(world.stateDir);
      try {
        return (await store.readSignals('gated')).signals.map((s) => s.type);
      } finally {
        await store.close();
      }
    };
    expect(await inbox()).toEqual([]);
    const forced = await cli(['signal', 'gated', 'approval.grant', '--force', ...state]);
    expect(forced.code).toBe(0);
    expect((await cli(['signal', 'gated', 'approval.granted', ...state])).code).toBe(0);
    expect(await inbox()).toEqual(['approval.grant', 'approval.granted']);
  });
});

describe('a signal nothing waits for', () => {
  it('orchestrator.signal refuses it too, with or without a state backend; force: true sends it', async () => {
    const spec: WorkflowSpecInput = { id: 'gate', tasks: [{ id: 'build', wait_for: 'approval.granted', command: echo('built') }] };
    for (const backend of [new JsonStateBackend(world.stateDir), null]) {
      const o = orchestrator(backend);
      const runId = backend ? 'lib-stored' : 'lib-memory';
      const answers: unknown[] = [];
      o.bus.subscribe('task.waiting', () => {
        void (async () => {
          answers.push(await o.signal(runId, 'approval.grant').catch((error: unknown) => error));
          answers.push(await o.signal(runId, 'approval.grant', null, { force: true }));
          await o.signal(runId, 'approval.granted');
        })();
      });
      const result = await o.runWorkflow(spec, { runId });
      expect(result.status).toBe('completed');
      expect(answers).toMatchObject([{ code: 'UNKNOWN_EVENT', details: { suggestion: 'approval.granted', awaited: ['approval.granted'] } }, { type: 'approval.grant' }]);
    }
  });
});

describe('the examples', () => {
  const REPLAY = ['--replay', 'examples/recordings/plan-build', '--replay-speed', '0'];

  async function untilWaiting(runId: string): Promise<void> {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const status = await cli(['status', runId, '--json', '--state-dir', world.stateDir]);
      if (status.stdout.includes('"status": "waiting"')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${runId} never showed a waiting task`);
  }

  it('approval-gate.yaml: plan, wait for the approval, build with its payload', async () => {
    const run = cli(['run', 'examples/approval-gate.yaml', ...REPLAY, '--run-id', 'ex-gate', '--json', '--state-dir', world.stateDir]);
    await untilWaiting('ex-gate');
    const sent = await cli(['signal', 'ex-gate', 'approval.granted', '--data', '{"by":"ana","note":"keep it small"}', '--state-dir', world.stateDir]);
    expect(sent.stdout).toContain('stored for run ex-gate; the process driving the run applies it within a second');
    const done = await run;
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout) as WorkflowResult;
    expect(result.taskResults.map((t) => [t.taskId, t.status])).toEqual([
      ['plan', 'completed'],
      ['build', 'completed'],
    ]);
    const status = JSON.parse((await cli(['status', 'ex-gate', '--json', '--state-dir', world.stateDir])).stdout) as { records: Array<{ taskId: string; signal?: unknown }> };
    expect(status.records[1]!.signal).toMatchObject({ type: 'approval.granted', payload: { by: 'ana', note: 'keep it small' }, source: 'cli' });
  }, 60_000);

  it('cross-run-deploy.yaml waits for build.done from publish-on-completion.yaml', async () => {
    const deploy = cli(['run', 'examples/cross-run-deploy.yaml', '--run-id', 'ex-deploy', '--json', '--state-dir', world.stateDir]);
    await untilWaiting('ex-deploy');
    const build = await cli(['run', 'examples/publish-on-completion.yaml', ...REPLAY, '--run-id', 'ex-build', '--json', '--state-dir', world.stateDir]);
    expect(build.code).toBe(0);
    const built = JSON.parse(build.stdout) as WorkflowResult;
    const buildOutput = built.taskResults.find((t) => t.taskId === 'build')!.output!;
    expect(built.taskResults.find((t) => t.taskId === 'announce')!.output!.trimEnd()).toBe(`build finished: ${buildOutput.split('\n')[0]}`);
    const deployed = await deploy;
    expect(deployed.code).toBe(0);
    expect((JSON.parse(deployed.stdout) as WorkflowResult).taskResults[0]!.output!.trimEnd()).toBe(
      `deploying the build: ${buildOutput.length} characters of build report`,
    );
  }, 60_000);
});
