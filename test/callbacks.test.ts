import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, CallbackManager, WorkflowOrchestrator, attachCallbacks, type CompleteInfo, type ErrorInfo, type ProgressInfo, type StartInfo } from '../src/index.js';
import { summarizeToolInput } from '../src/callbacks/callback-manager.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let restoreEnv: () => void;
beforeEach(() => {
  world = fakeWorld();
  restoreEnv = setProcessEnv(world.env);
});
afterEach(() => {
  restoreEnv();
  world.cleanup();
});

function session(): AgentSession {
  return new AgentSession({
    sessionId: 'cb-1',
    agentName: 'builder',
    context: { env: world.env, stateDir: world.stateDir, retry: { baseDelayMs: 20, jitter: 'none' } },
  });
}

describe('CallbackManager on an AgentSession', () => {
  it('gets real stream data: turns, tool calls, latest text, tokens, elapsed time', async () => {
    const s = session();
    const starts: StartInfo[] = [];
    const progress: ProgressInfo[] = [];
    const completes: CompleteInfo[] = [];
    s.callbacks.onStart((e) => void starts.push(e));
    s.callbacks.onProgress((e) => void progress.push(e));
    s.callbacks.onComplete((e) => void completes.push(e));
    const result = await s.execute('Build it [[tool-turns:2]] [[reply:all done]]', { model: 'haiku' });

    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ source: { kind: 'session', id: 'cb-1', agentName: 'builder' }, attempt: 1 });
    expect(progress.map((p) => p.event.type)).toEqual(['init', 'tool_use', 'tool_result', 'tool_use', 'tool_result', 'assistant_text', 'result']);
    const last = progress.at(-1)!.snapshot;
    expect(last.turn).toBe(result.numTurns);
    expect(last.turn).toBe(3);
    expect(last.toolCalls).toEqual([
      { name: 'Bash', inputSummary: 'echo step-1' },
      { name: 'Bash', inputSummary: 'echo step-2' },
    ]);
    expect(last.latestText).toBe('all done');
    expect(last.apiRetries.count).toBe(0);
    // snapshots are copies taken at each event
    expect(progress[1]!.snapshot.toolCalls).toHaveLength(1);
    expect(progress[0]!.snapshot.turn).toBe(0);

    expect(completes).toHaveLength(1);
    const done = completes[0]!;
    expect(done.output).toBe('all done');
    expect(done.tokens).toEqual(result.tokens);
    expect(done.snapshot.tokens).toEqual(result.tokens);
    expect(done.tokens.input + done.tokens.output).toBeGreaterThan(0);
    expect(done.costUsd).toBe(result.costUsd);
    expect(done.snapshot.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(done.snapshot.elapsedMs).toBeLessThan(60_000);
    expect(s.callbacks.errors).toEqual([]);
  });

  it('runs several callbacks per event in registration order, awaits async ones, and unregisters', async () => {
    const s = session();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    s.callbacks.onComplete(async () => {
      order.push('a:start');
      await Promise.resolve();
      queueMicrotask(release);
      await gate;
      order.push('a:end');
    });
    s.callbacks.onComplete(() => void order.push('b'));
    const off = s.callbacks.onComplete(() => void order.push('c'));
    off();
    s.callbacks.onStart(async () => {
      await Promise.resolve();
      order.push('start');
    });
    await s.execute('Hello [[reply:hi]]');
    // execute() settles only once the callbacks have run
    expect(order).toEqual(['start', 'a:start', 'a:end', 'b']);
  });

  it('isolates a throwing callback: the others and the run go on; errors are kept', async () => {
    const s = session();
    const seen: string[] = [];
    const reported: unknown[] = [];
    s.callbacks.onCallbackError((e) => reported.push(e.error));
    s.callbacks.onProgress(() => {
      throw new Error('boom');
    });
    s.callbacks.onProgress((e) => void seen.push(e.event.type));
    s.callbacks.onComplete(async () => {
      throw new Error('async boom');
    });
    s.callbacks.onComplete(() => void seen.push('complete'));
    const result = await s.execute('Go [[tool-turns:1]] [[reply:fine]]');
    expect(result.output).toBe('fine');
    expect(seen.at(-1)).toBe('complete');
    expect(seen).toContain('tool_use');
    const progressCount = seen.length - 1;
    expect(s.callbacks.errors).toHaveLength(progressCount + 1);
    expect(s.callbacks.errors.at(-1)).toMatchObject({ event: 'complete' });
    expect((s.callbacks.errors.at(-1)!.error as Error).message).toBe('async boom');
    expect(reported).toHaveLength(s.callbacks.errors.length);
  });

  it('reports failures with the API retries seen in the stream', async () => {
    const s = session();
    const errors: ErrorInfo[] = [];
    s.callbacks.onError((e) => void errors.push(e));
    s.callbacks.onError(() => {
      throw new Error('ignored');
    });
    await expect(s.execute('Fail [[api-error:529]]')).rejects.toBeDefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.snapshot.apiRetries.count).toBeGreaterThanOrEqual(1);
    expect(errors[0]!.snapshot.apiRetries.lastStatus).toBe(529);
    expect(errors[0]!.error.code).toBeTruthy();
    expect(s.callbacks.errors).toHaveLength(1);
  });
});

describe('CallbackManager on a WorkflowOrchestrator', () => {
  it('reports every task of a small workflow, and attachCallbacks feeds another manager', async () => {
    const o = new WorkflowOrchestrator({ stateDir: world.stateDir, retry: { baseDelayMs: 20, jitter: 'none' } });
    const other = new CallbackManager();
    const otherDone: string[] = [];
    other.onComplete((e) => void otherDone.push(e.source.id));
    const detach = attachCallbacks(o, other);
    const starts: string[] = [];
    const tools = new Map<string, number>();
    const completes = new Map<string, CompleteInfo>();
    const failures: ErrorInfo[] = [];
    o.callbacks.onStart((e) => void starts.push(e.source.id));
    o.callbacks.onProgress((e) => void tools.set(e.source.id, e.snapshot.toolCalls.length));
    o.callbacks.onComplete(async (e) => {
      await Promise.resolve();
      completes.set(e.source.id, e);
    });
    o.callbacks.onComplete(() => {
      throw new Error('listener bug');
    });
    o.callbacks.onError((e) => void failures.push(e));
    const result = await o.runWorkflow({
      id: 'cb-flow',
      tasks: [
        { id: 'plan', prompt: 'Plan [[tool-turns:1]] [[reply:the plan]]' },
        { id: 'build', prompt: 'Build {{tasks.plan.output}} [[tool-turns:2]] [[reply:built]]', depends_on: ['plan'] },
        { id: 'bad', prompt: 'Break [[is-error:nope]]', retry_count: 1, depends_on: ['build'] },
      ],
    });
    detach();
    expect(result.status).toBe('failed');
    expect(starts.sort()).toEqual(['bad', 'build', 'plan']);
    expect(tools.get('plan')).toBe(1);
    expect(tools.get('build')).toBe(2);
    expect(completes.get('plan')).toMatchObject({ output: 'the plan', source: { kind: 'task', workflowId: 'cb-flow', runId: result.runId } });
    expect(completes.get('build')!.snapshot).toMatchObject({ turn: 3, latestText: 'built' });
    expect(completes.get('build')!.snapshot.toolCalls[1]).toEqual({ name: 'Bash', inputSummary: 'echo step-2' });
    expect(completes.get('build')!.tokens.output).toBeGreaterThan(0);
    expect(failures.map((f) => f.source.id)).toEqual(['bad']);
    expect(failures[0]!.snapshot.latestText).toBeTruthy();
    expect(o.callbacks.errors.map((e) => e.event)).toEqual(['complete', 'complete']);
    expect(otherDone.sort()).toEqual(['build', 'plan']);
  });
});

describe('summarizeToolInput', () => {
  it('keeps one short line', () => {
    expect(summarizeToolInput({ command: 'ls\n  -la' })).toBe('ls -la');
    expect(summarizeToolInput({ x: 'y'.repeat(200) }).length).toBeLessThanOrEqual(80);
    expect(summarizeToolInput(null)).toBe('null');
  });
});
