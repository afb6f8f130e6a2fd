/**
 * `resume` drives a run the way it was started: the run stores its `--replay` directory and
 * speed, `--redis`/`--queue`, `--max-parallel`, inputs and state settings, and a plain
 * `resume` (the command the run printed) uses them; a flag given to `resume` wins, and
 * `--live` resumes a replayed run with the real agent. Both backends.
 */
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type RunCheckpoint, type WorkflowResult } from '../src/index.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { okResult } from './helpers/results.js';

const RECORDINGS = 'examples/recordings/plan-build';
const WORKFLOW = 'examples/plan-build.yaml';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** The agent calls the fake `claude` saw (one per prompt it was given). */
const agentCalls = () => world.invocations().filter((c) => typeof c.prompt === 'string');

/** Ctrl-C before anything ran: a cancelled run, as a person leaves it. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
}

async function stored(backend: string, runId: string): Promise<RunCheckpoint> {
  const store = backend === 'sqlite' ? await SqliteStateBackend.open(join(world.stateDir, 'agents.sqlite')) : new JsonStateBackend(world.stateDir);
  try {
    return (await store.loadRun(runId))!;
  } finally {
    await store.close();
  }
}

describe.each(['json', 'sqlite'])('%s backend', (backend) => {
  const state = () => ['--state-dir', world.stateDir, '--backend', backend];

  it('the resume command a replayed run printed replays it again: the real agent is never called', async () => {
    const run = await cli(
      ['run', WORKFLOW, '--replay', RECORDINGS, '--replay-speed', '0', '--max-parallel', '3', '--input', 'feature=a search box', '--run-id', 'r1', ...state()],
      world.env,
      interrupted(),
    );
    expect(run.code).toBe(1);
    const printed = /resume: +agents-sdk (resume .*)\n/.exec(run.stdout)![1]!;
    expect(printed).toBe(`resume r1 --state-dir ${world.stateDir} --backend ${backend}`);
    expect((await stored(backend, 'r1')).launch).toEqual({
      replay: { dir: resolve(RECORDINGS), speed: 0 },
      maxParallel: 3,
      inputs: { feature: 'a search box' },
      stateDir: world.stateDir,
      backend,
    });

    const resumed = await cli([...printed.split(' '), '--json'], world.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming run r1 as it was started: --replay ${resolve(RECORDINGS)} --replay-speed 0 (--live runs the real agent instead)`);
    expect((JSON.parse(resumed.stdout) as WorkflowResult).status).toBe('completed');
    expect(agentCalls()).toEqual([]);
  });

  it('--live resumes a replayed run with the real agent; a flag given to resume wins over the stored one', async () => {
    await cli(['run', WORKFLOW, '--replay', RECORDINGS, '--run-id', 'r2', ...state()], world.env, interrupted());
    const live = await cli(['resume', 'r2', '--live', '--json', ...state()], world.env);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stderr).not.toContain('as it was started');
    expect(agentCalls()).toHaveLength(2);
    expect((await stored(backend, 'r2')).launch).not.toHaveProperty('replay');

    // The stored speed is replaced by the one given (the stored directory is kept).
    await cli(['run', WORKFLOW, '--replay', RECORDINGS, '--replay-speed', '1000000', '--run-id', 'r3', ...state()], world.env, interrupted());
    const faster = await cli(['resume', 'r3', '--replay-speed', '0', ...state()], world.env);
    expect(faster.code, faster.stderr).toBe(0);
    expect(faster.stderr).toContain(`resuming run r3 as it was started: --replay ${resolve(RECORDINGS)} (--live runs the real agent instead)`);
    expect((await stored(backend, 'r3')).launch?.replay).toEqual({ dir: resolve(RECORDINGS), speed: 0 });
    expect(agentCalls()).toHaveLength(2);
  });
});

describe('resume flags', () => {
  it('refuses --live with --replay, and --replay-speed for a run that was not replayed', async () => {
    const both = await cli(['resume', 'x', '--live', '--replay', RECORDINGS, '--state-dir', world.stateDir]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--live and --replay cannot be used together');

    await cli(['run', WORKFLOW, '--run-id', 'plain', '--state-dir', world.stateDir], world.env, interrupted());
    const speed = await cli(['resume', 'plain', '--replay-speed', '0', '--state-dir', world.stateDir], world.env);
    expect(speed.code).toBe(2);
    expect(speed.stderr).toContain('--replay-speed needs --replay <dir> (this run was not replayed)');
    expect(agentCalls()).toEqual([]);
  });
});

describe('the library', () => {
  it('stores the launch given to runWorkflow as is, and keeps it over a resume that gives none', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    const launch = { redis: 'redis://cache:6379', queue: 'team', stateDir: world.stateDir, backend: 'json' as const };
    const first = new WorkflowOrchestrator({ stateBackend: backend, stateDir: world.stateDir, executor: async () => okResult() });
    first.bus.subscribe('task.started', () => void first.cancel());
    expect((await first.runWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'x' }] }, { runId: 'lib', launch })).status).toBe('cancelled');
    expect((await backend.loadRun('lib'))!.launch).toEqual(launch);
    const second = new WorkflowOrchestrator({ stateBackend: backend, stateDir: world.stateDir, executor: async () => okResult() });
    expect((await second.resume('lib')).status).toBe('completed');
    expect((await backend.loadRun('lib'))!.launch).toEqual(launch);
  });
});

describe('with --log-format json', () => {
  it('the note on the settings resume took from the run is a log line too', async () => {
    await cli(['run', WORKFLOW, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', 'logged', '--state-dir', world.stateDir], world.env, interrupted());
    const resumed = await cli(['resume', 'logged', '--log-format', 'json', '--state-dir', world.stateDir], world.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const lines = resumed.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { type?: string; launch?: unknown; msg: string });
    expect(lines.find((l) => l.type === 'cli.resume_launch')).toMatchObject({ launch: { replay: { dir: resolve(RECORDINGS), speed: 0 } } });
    expect(agentCalls()).toEqual([]);
  });
});
