/**
 * Less travelled paths: command task failures, replay cancellation and failures, progress
 * lines of every kind, resuming a run that already had a failure, and session options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, JsonStateBackend, WorkflowOrchestrator, createReplayExecutor, runCommand, validateWorkflow, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { record } from './helpers/records.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** Kills a process a test command left running (its pid is the output). */
function killEscaped(output: string | undefined): void {
  const pid = Number(output?.trim());
  expect(pid).toBeGreaterThan(1);
  process.kill(pid, 'SIGKILL');
}

describe('runCommand', () => {
  it('reports a timeout (transient), a cancel, a missing program and a signal', async () => {
    const hang = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
    const timeout = await failureOf(runCommand({ command: hang, timeoutMs: 300, killGraceMs: 200 }));
    expect([timeout.code, timeout.transient]).toEqual(['TIMEOUT', true]);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await failureOf(runCommand({ command: hang, killGraceMs: 200 }, { signal: controller.signal }));
    expect(cancelled.code).toBe('CANCELLED');

    const missing = await failureOf(runCommand({ command: [join(world.root, 'no-such-program')] }));
    expect(missing.code).toBe('COMMAND_FAILED');
    expect(missing.message).toContain('Could not start');

    const killed = await failureOf(runCommand({ command: [process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")'] }));
    expect(killed.message).toContain('SIGKILL');
    expect((await failureOf(runCommand({ command: [] }))).code).toBe('INVALID_ARGUMENTS');
  });

  it('ends at its timeout even when a descendant that left the process group holds stdout', async () => {
    const started = Date.now();
    const failure = await failureOf(runCommand({ command: ['sh', '-c', 'setsid sleep 30 & echo $!; sleep 100'], timeoutMs: 500, killGraceMs: 200 }));
    expect(failure.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    killEscaped(failure.result?.output);
  });

  it('keeps a last line without a newline, CRLF endings stripped, even when the stream is cut', async () => {
    expect((await runCommand({ command: ['sh', '-c', 'printf "a\\r\\nb\\nc"'] })).output).toBe('a\nb\nc');
    const cut = await runCommand({ command: ['sh', '-c', 'printf "line1\\nlast-no-newline"; sleep 30 & echo $! >&2'] });
    expect(cut.output).toBe('line1\nlast-no-newline');
    process.kill(Number(cut.stderrTail.trim()), 'SIGKILL');
  });

  it('finishes when the command exits, not when a background child it left closes stdout', async () => {
    const started = Date.now();
    const result = await runCommand({ command: ['sh', '-c', 'sleep 30 & echo $!'] });
    expect(Date.now() - started).toBeLessThan(10_000);
    killEscaped(result.output);
  });

  it('a limit beyond what a timer holds (~24.8 days) is no limit, not an instant timeout', async () => {
    const result = await runCommand({ command: [process.execPath, '-e', 'setTimeout(() => console.log("done"), 200)'], timeoutMs: 3_600_000_000 });
    expect(result.output).toBe('done');
  });

  it('keeps a command that cannot start readable in the message, however long its arguments', async () => {
    const huge = 'x'.repeat(300_000); // over the kernel's limit for one argument: E2BIG
    const failure = await failureOf(runCommand({ command: [process.execPath, '-e', '', huge] }));
    expect(failure.code).toBe('COMMAND_FAILED');
    expect(failure.message).toContain('Could not start command');
    expect(failure.message.length).toBeLessThan(1_000);
  });
});

describe('replay', () => {
  function recording(agent: string, lines: object[]): string {
    const dir = join(world.root, 'rec');
    mkdirSync(join(dir, agent), { recursive: true });
    writeFileSync(join(dir, agent, 'raw_output.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return dir;
  }
  const init = { type: 'system', subtype: 'init', session_id: 's-1', model: 'm', cwd: '/', tools: [] };

  it('replays a recorded failure as the same typed error', async () => {
    const dir = recording('a', [init, { type: 'result', subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: 529', session_id: 's-1', duration_ms: 10 }]);
    const replay = createReplayExecutor(dir, { speed: 0 });
    const error = await failureOf(replay({ kind: 'claude', prompt: 'x', agentName: 'a' }, { signal: new AbortController().signal, onEvent: () => {} }));
    expect([error.code, error.transient]).toEqual(['API_OVERLOADED', true]);
  });

  it('paces lines at the recorded speed and can be cancelled mid-way', async () => {
    const dir = recording('slow', [init, { type: 'assistant', message: { content: [{ type: 'text', text: 'hi' }] }, session_id: 's-1' }, { type: 'result', subtype: 'success', is_error: false, result: 'done', session_id: 's-1', duration_ms: 3000 }]);
    const controller = new AbortController();
    const seen: string[] = [];
    const run = createReplayExecutor(dir)({ kind: 'claude', prompt: 'x', agentName: 'slow' }, {
      signal: controller.signal,
      onEvent: (e) => seen.push(e.type),
    });
    setTimeout(() => controller.abort(), 1200);
    const started = Date.now();
    expect((await failureOf(run)).code).toBe('CANCELLED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(seen).toEqual(['init']);
  });
});

describe('ProgressView', () => {
  const base = { workflowId: 'w', runId: 'r', at: 1_000 };
  it('describes every kind of task event and keeps big runs to a readable block', () => {
    const view = new ProgressView(() => 5_000);
    const ids = Array.from({ length: 25 }, (_, i) => `t${i}`);
    expect(view.apply({ type: 'workflow.started', ...base, taskIds: ids, resumed: true })).toContain('(resumed)');
    expect(
      view.apply({
        type: 'workflow.reaped',
        ...base,
        processes: [
          { pid: 41, command: 'claude', outcome: 'killed' },
          { pid: 42, command: 'npm', outcome: 'unverified' },
        ],
      })?.split('\n'),
    ).toEqual([
      'killed agent process group 41 (claude) left running by the interrupted process',
      'process 42 (npm) of the interrupted process may still run: it could not be verified, so it was left alone',
    ]);
    expect(view.apply({ type: 'task.started', ...base, taskId: 't0', attempt: 1, maxAttempts: 2 })).toBe('t0: started (attempt 1/2)');
    expect(
      view.apply({ type: 'task.retrying', ...base, taskId: 't0', attempt: 1, delayMs: 1500, error: { name: 'TransientError', code: 'RATE_LIMITED', message: 'slow down', transient: true } }),
    ).toBe('t0: attempt 1 failed (RATE_LIMITED: slow down); retrying in 1.5s');
    expect(view.apply({ type: 'task.progress', ...base, taskId: 't0', attempt: 2, progress: { type: 'assistant_text', sessionId: null, text: 'x' } })).toBeNull();
    const skipped: TaskRecord = { ...record('t1', 'skipped'), reason: 'dependency "t0" failed', error: null };
    expect(view.apply({ type: 'task.skipped', ...base, taskId: 't1', record: skipped })).toBe('t1: skipped: dependency "t0" failed');
    const failed: TaskRecord = { ...record('t2', 'failed'), error: { name: 'PermanentError', code: 'AGENT_ERROR', message: 'nope', transient: false } };
    expect(view.apply({ type: 'task.failed', ...base, taskId: 't2', record: failed })).toContain('(AGENT_ERROR: nope)');
    expect(view.apply({ type: 'workflow.finished', ...base, result: {} as never })).toBeNull();
    const block = view.render().split('\n');
    expect(block[0]).toBe('tasks: 1 retrying, 1 skipped, 1 failed, 22 pending');
    expect(block.length).toBeLessThanOrEqual(21);
    expect(block[1]).toMatch(/^↻ t0\s+retrying\s+1\/2\s+4\.0s/);
  });
});

describe('resume of a run that already had a failure', () => {
  it.each([
    ['continue', { b: 'skipped', c: 'completed' }, 'failed'],
    ['stop', { b: 'skipped', c: 'skipped' }, 'failed'],
  ] as const)('on_failure %s applies again to what the first process finished', async (policy, expected, status) => {
    const backend = new JsonStateBackend(world.stateDir);
    const workflow = validateWorkflow({
      id: 'w',
      on_failure: policy,
      tasks: [
        { id: 'a', prompt: 'a' },
        { id: 'b', prompt: 'b', depends_on: ['a'] },
        { id: 'c', prompt: 'c [[reply:c done]]' },
      ],
    });
    const failed: TaskRecord = { ...record('a', 'failed'), error: { name: 'PermanentError', code: 'AGENT_ERROR', message: 'x', transient: false } };
    await backend.saveCheckpoint('r1', {
      schemaVersion: STATE_SCHEMA_VERSION,
      runId: 'r1',
      workflowId: 'w',
      status: 'running',
      workflow,
      startedAt: 1,
      updatedAt: 1,
      records: [failed, record('b', 'pending'), record('c', 'running')],
    });
    const restoreEnv = setProcessEnv(world.env);
    try {
      const result = await new WorkflowOrchestrator(backend, { stateDir: world.stateDir }).resume('r1');
      expect(result.status).toBe(status);
      const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t.status]));
      expect({ b: byId.b, c: byId.c }).toEqual(expected);
      expect(byId.a).toBe('failed');
      expect((await backend.loadRun('r1'))!.status).toBe('failed');
    } finally {
      restoreEnv();
      await backend.close();
    }
  });

  it('an orchestrator without a backend persists nothing and cannot resume', async () => {
    const o = new WorkflowOrchestrator(null, { executor: createReplayExecutor('examples/recordings/plan-build', { speed: 0 }), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'plan-build', tasks: [{ id: 'plan', prompt: 'p' }] });
    expect(result.status).toBe('completed');
    expect(o.stateBackend).toBeNull();
    expect((await failureOf(o.resume(result.runId))).code).toBe('NOT_FOUND');
  });
});

describe('AgentSession options', () => {
  it('passes backoff options through and cancels without a reason', async () => {
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir } });
    const delays: number[] = [];
    s.on('session.retrying', (e) => delays.push(e.delayMs));
    await s.executeWithRetry('[[transient:2]] again', { maxRetries: 3, baseDelayMs: 30, maxDelayMs: 40, backoffFactor: 5, jitter: 'none' });
    expect(delays).toEqual([30, 40]);
    const running = s.execute('[[hang]] wait');
    setTimeout(() => s.cancel(), 300);
    expect((await failureOf(running)).message).toBe('Session was cancelled');
    s.stop();
  });
});

describe('inspection', () => {
  it('hands every actor of a run to an XState inspector (what @statelyai/inspect plugs into)', async () => {
    const actors = new Set<string>();
    const events: string[] = [];
    const o = new WorkflowOrchestrator(null, {
      executor: createReplayExecutor('examples/recordings/plan-build', { speed: 0 }),
      stateDir: world.stateDir,
      inspect: (e) => {
        if (e.type === '@xstate.actor') actors.add((e.actorRef as unknown as { id: string }).id);
        if (e.type === '@xstate.event') events.push(e.event.type);
      },
    });
    await o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] });
    expect([...actors]).toEqual(expect.arrayContaining(['plan', 'build']));
    expect(events).toEqual(expect.arrayContaining(['SESSION.EVENT', 'EXECUTOR.DONE']));

    const seen: string[] = [];
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir }, inspect: (e) => seen.push(e.type) });
    await s.execute('hi');
    expect(seen).toContain('@xstate.snapshot');
  });
});

describe('cancel, then resume', () => {
  it('continues a cancelled run: finished tasks are kept, cancelled and skipped ones run', async () => {
    const restoreEnv = setProcessEnv(world.env);
    try {
      const spec = {
        id: 'w',
        tasks: [
          { id: 'quick', prompt: 'quick [[reply:q]]' },
          { id: 'slow', prompt: 'slow [[delay:1500]] [[reply:s]]', depends_on: ['quick'] },
          { id: 'last', prompt: 'last [[reply:l]]', depends_on: ['slow'] },
        ],
      };
      const first = new WorkflowOrchestrator({ stateDir: world.stateDir });
      first.bus.subscribe('task.started', ({ payload: e }) => {
        if (e.taskId === 'slow') setTimeout(() => void first.cancel(), 200);
      });
      const cancelled = await first.runWorkflow(spec, { runId: 'c1' });
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.taskResults.map((t) => [t.taskId, t.status])).toEqual([
        ['quick', 'completed'],
        ['slow', 'cancelled'],
        ['last', 'skipped'],
      ]);
      const resumed = await new WorkflowOrchestrator({ stateDir: world.stateDir }).resume('c1');
      expect(resumed.status).toBe('completed');
      expect(resumed.taskResults.map((t) => [t.taskId, t.status, t.output])).toEqual([
        ['quick', 'completed', 'q'],
        ['slow', 'completed', 's'],
        ['last', 'completed', 'l'],
      ]);
      expect(resumed.taskResults[1]!.attempts).toBe(1); // the cancelled attempt does not count
      expect(world.invocations().filter((c) => String(c.prompt).startsWith('quick'))).toHaveLength(1);
    } finally {
      restoreEnv();
    }
  });
});
