/**
 * `agents-sdk cancel <run>` from another process: the driving process cancels the run (its
 * agents stopped, the run `cancelled`, resumable); a run nothing drives is marked cancelled;
 * `--force` kills a driver that does not answer; `orchestrator.cancel(runId)` does the same
 * from a library.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, cancelRun, validateWorkflow, type SignalStore, type StateBackend, type WorkflowResult } from '../src/index.js';
import { CANCEL_REQUEST_TYPE } from '../src/signals/cancel-request.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { backendFactories } from './helpers/backends.js';
import { failureOf } from './helpers/failure-of.js';
import { cli, cliProcess } from './helpers/cli.js';
import { eventually, fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
const children: Array<ReturnType<typeof cliProcess>> = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && isAlive(child.pid)) {
      process.kill(child.pid, 'SIGCONT');
      child.kill('SIGKILL');
    }
    await child;
  }
  world.cleanup();
});

/**
 * A workflow whose task `slow` writes its pid to `<root>/slow.pid`, then sleeps for 5 minutes
 * unless `<root>/go` exists (then it prints "done"); `after` depends on it.
 */
function writeSpec(): string {
  const file = join(world.root, 'wf.json');
  const script = [
    "const fs = require('fs');",
    'const [pidFile, go] = process.argv.slice(1);',
    "if (fs.existsSync(go)) process.stdout.write('done');",
    'else { fs.writeFileSync(pidFile, String(process.pid)); setTimeout(() => {}, 300000); }',
  ].join(' ');
  const spec = {
    id: 'slowflow',
    tasks: [
      { id: 'slow', command: ['node', '-e', script, join(world.root, 'slow.pid'), join(world.root, 'go')] },
      { id: 'after', depends_on: ['slow'], command: ['node', '-e', "process.stdout.write('after')"] },
    ],
  };
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** Starts `run` in a process of its own and waits until its `slow` task's agent runs. */
async function startLiveRun(runId: string, state: string[]): Promise<{ child: ReturnType<typeof cliProcess>; agentPid: number }> {
  const child = cliProcess(['run', writeSpec(), '--run-id', runId, '--json', ...state]);
  children.push(child);
  const pidFile = join(world.root, 'slow.pid');
  expect(await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 30_000)).toBe(true);
  return { child, agentPid: Number(readFileSync(pidFile, 'utf8')) };
}

async function statusOf(runId: string, state: string[]): Promise<{ status: string; records: Array<{ taskId: string; status: string; attempts: number; error: { message: string } | null }> }> {
  const shown = await cli(['status', runId, '--json', ...state]);
  expect(shown.code, shown.stderr).toBe(0);
  return JSON.parse(shown.stdout) as Awaited<ReturnType<typeof statusOf>>;
}

describe.each(['json', 'sqlite'])('agents-sdk cancel (%s backend)', (backend) => {
  const state = () => ['--state-dir', world.stateDir, '--backend', backend];

  it('a live run cancelled from another process ends cancelled, its agent stopped; resume continues it', async () => {
    const { child, agentPid } = await startLiveRun('live', state());
    const cancelled = await cliProcess(['cancel', 'live', '--reason', 'wrong branch', '--timeout', '60', ...state()]);
    expect(cancelled.exitCode, String(cancelled.stderr)).toBe(0);
    expect(String(cancelled.stdout)).toMatch(/^run live cancelled: the process driving it \(pid \d+ on .+\) stopped its agents; continue it with: agents-sdk resume live --state-dir .* --backend \w+$/);

    // The driver ended the run itself, with the same result as Ctrl-C: cancelled, exit 1.
    const run = await child;
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(String(run.stdout)) as WorkflowResult;
    expect(result.status).toBe('cancelled');
    expect(String(run.stderr)).toMatch(/cancel requested by cli@.+:\d+: wrong branch: cancelling the run \(agents are being stopped\)\.\.\./);
    expect(isAlive(agentPid)).toBe(false);
    const stored = await statusOf('live', state());
    expect(stored.status).toBe('cancelled');
    const slow = stored.records.find((r) => r.taskId === 'slow')!;
    expect(slow.status).toBe('cancelled');
    expect(slow.error!.message).toMatch(/^The run was cancelled by cli@.+:\d+: wrong branch$/);
    // The attempt the cancel stopped does not count.
    expect(slow.attempts).toBe(0);

    writeFileSync(join(world.root, 'go'), '');
    const resumed = await cli(['resume', 'live', '--json', ...state()]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const finished = JSON.parse(resumed.stdout) as WorkflowResult;
    expect(finished.status).toBe('completed');
    expect(finished.taskResults.map((t) => [t.taskId, t.output])).toEqual([
      ['slow', 'done'],
      ['after', 'after'],
    ]);
  }, 90_000);

  it('a run whose driver was killed is marked cancelled, and the agent it left is ended', async () => {
    const { child, agentPid } = await startLiveRun('orphaned', state());
    child.kill('SIGKILL');
    await child;
    expect((await statusOf('orphaned', state())).status).toBe('interrupted');

    const cancelled = await cli(['cancel', 'orphaned', ...state()]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    // The agent its driver left is ended by the cancel (unless it ended with its driver already).
    expect(cancelled.stdout).toMatch(/^run orphaned was not running \(no process drives it\): marked cancelled(; 1 agent process it left ended)?; continue it with: agents-sdk resume orphaned /);
    expect(await eventually(() => !isAlive(agentPid), 5_000)).toBe(true);
    const stored = await statusOf('orphaned', state());
    expect(stored.status).toBe('cancelled');
    expect(stored.records.find((r) => r.taskId === 'slow')).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect((await cli(['list', ...state()])).stdout).toMatch(/orphaned\s+slowflow\s+cancelled/);

    // Twice: nothing more to do.
    const again = await cli(['cancel', 'orphaned', ...state()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('run orphaned is already cancelled');

    writeFileSync(join(world.root, 'go'), '');
    const resumed = await cli(['resume', 'orphaned', '--json', ...state()]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((JSON.parse(resumed.stdout) as WorkflowResult).status).toBe('completed');

    // A finished run has nothing to cancel.
    const finished = await cli(['cancel', 'orphaned', ...state()]);
    expect(finished.code).toBe(2);
    expect(finished.stderr).toContain('RUN_FINISHED: Run orphaned has finished (completed): there is nothing to cancel');
  }, 90_000);

  it('a driver that does not answer (SIGSTOPped): cancel says so; --force kills it and marks the run cancelled', async () => {
    const { child, agentPid } = await startLiveRun('stuck', state());
    process.kill(child.pid!, 'SIGSTOP');

    const asked = await cli(['cancel', 'stuck', '--timeout', '0.3', ...state()]);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toMatch(/run stuck: cancel requested, but its driver \(pid \d+ on .+\) has not ended the run within 0\.3s; .*agents-sdk cancel stuck --force/);

    const forced = await cli(['cancel', 'stuck', '--force', '--timeout', '0.3', ...state()]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/run stuck: its driver \(pid \d+ on .+\) did not answer within 0\.3s and was killed \(SIGKILL\); the run is marked cancelled(; 1 agent process it left ended)?; continue it with/);
    const run = await child;
    expect(run.signal).toBe('SIGKILL');
    expect(await eventually(() => !isAlive(agentPid), 5_000)).toBe(true);
    expect((await statusOf('stuck', state())).status).toBe('cancelled');

    // The old requests in its inbox do not cancel the run that resumes it.
    writeFileSync(join(world.root, 'go'), '');
    const resumed = await cli(['resume', 'stuck', '--json', ...state()]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((JSON.parse(resumed.stdout) as WorkflowResult).status).toBe('completed');
  }, 90_000);

  it('orchestrator.cancel(runId) cancels a run that another orchestrator drives', async () => {
    const open = (): Promise<StateBackend> =>
      backend === 'sqlite' ? SqliteStateBackend.open(join(world.stateDir, 'agents.sqlite')) : Promise.resolve(new JsonStateBackend(world.stateDir));
    const [driving, asking] = [await open(), await open()];
    try {
      const driver = new WorkflowOrchestrator(driving, { stateDir: world.stateDir });
      const spec = JSON.parse(readFileSync(writeSpec(), 'utf8')) as Parameters<WorkflowOrchestrator['runWorkflow']>[0];
      const running = driver.runWorkflow(spec, { runId: 'lib' });
      expect(await eventually(() => existsSync(join(world.root, 'slow.pid')), 30_000)).toBe(true);
      const other = new WorkflowOrchestrator(asking, { stateDir: world.stateDir });
      const outcome = await other.cancel('lib', { reason: 'from the app', waitMs: 60_000 });
      expect(outcome).toMatchObject({ runId: 'lib', outcome: 'cancelled', status: 'cancelled', driver: { pid: process.pid } });
      const result = await running;
      expect(result.status).toBe('cancelled');
      expect(result.taskResults.find((t) => t.taskId === 'slow')!.error!.message).toMatch(/: from the app$/);
    } finally {
      await driving.close();
      await asking.close();
    }
  }, 60_000);
});

describe.each(backendFactories())('cancelRun of a run driven on another host ($name)', (factory) => {
  it('stores the request, and --force refuses to kill what it cannot reach', async () => {
    const backend = await factory.create(world.stateDir);
    try {
      const workflow = validateWorkflow({ id: 'far', tasks: [{ id: 't', command: ['true'] }] });
      const now = Date.now();
      await backend.saveCheckpoint('far', { schemaVersion: STATE_SCHEMA_VERSION, runId: 'far', workflowId: 'far', status: 'running', workflow, startedAt: now, updatedAt: now, records: [] });
      await factory.forgeLock(world.stateDir, 'far', { pid: 4242, host: 'elsewhere.example', acquiredAt: now });
      const asked = await cancelRun(backend, 'far', { waitMs: 50, pollMs: 10 });
      expect(asked).toMatchObject({ outcome: 'requested', status: 'running', driver: { pid: 4242, host: 'elsewhere.example' } });
      const failure = await failureOf(cancelRun(backend, 'far', { waitMs: 50, pollMs: 10, force: true }));
      expect(failure.code).toBe('LOCKED');
      expect(failure.message).toContain('Run far is driven by pid 4242 on host elsewhere.example, not this host');
      // Both requests wait in the run's inbox for its driver.
      const inbox = await (backend as unknown as SignalStore).readSignals('far', 0);
      expect(inbox.signals.map((s) => s.type)).toEqual([CANCEL_REQUEST_TYPE, CANCEL_REQUEST_TYPE]);
      expect((await backend.loadRun('far'))!.status).toBe('running');
    } finally {
      await backend.close();
    }
  });
});

describe('orchestrator.cancel(runId) of a run it drives itself', () => {
  it('cancels that run at once, with the reason, and resolves once it has ended', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    try {
      const orchestrator = new WorkflowOrchestrator(backend, { stateDir: world.stateDir });
      const spec = JSON.parse(readFileSync(writeSpec(), 'utf8')) as Parameters<WorkflowOrchestrator['runWorkflow']>[0];
      const running = orchestrator.runWorkflow(spec, { runId: 'mine' });
      expect(await eventually(() => existsSync(join(world.root, 'slow.pid')), 30_000)).toBe(true);
      const outcome = await orchestrator.cancel('mine', { reason: 'enough' });
      expect(outcome).toEqual({ runId: 'mine', outcome: 'cancelled', status: 'cancelled', driver: null, reaped: 0 });
      const result = await running;
      expect(result.taskResults.find((t) => t.taskId === 'slow')!.error!.message).toBe('The run was cancelled: enough');
      expect(await orchestrator.cancel('mine')).toMatchObject({ outcome: 'already_cancelled', status: 'cancelled' });
    } finally {
      await backend.close();
    }
  }, 60_000);
});

describe('agents-sdk cancel: bad input', () => {
  it('an unknown run exits 2', async () => {
    const unknown = await cli(['cancel', 'ghost', '--state-dir', world.stateDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NOT_FOUND: Unknown run id "ghost"');
    const badTimeout = await cli(['cancel', 'ghost', '--timeout', 'soon', '--state-dir', world.stateDir]);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain('--timeout must be a number of seconds >= 0, got "soon"');
  });

  it('a cancel request cannot be forged as a signal', async () => {
    const forged = await cli(['signal', 'ghost', CANCEL_REQUEST_TYPE, '--state-dir', world.stateDir]);
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain(`"${CANCEL_REQUEST_TYPE}" is not an event type`);
  });
});
