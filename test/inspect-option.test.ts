/**
 * `--inspect [local|ws://host:port|sky]` and the library's `inspect` option: a compact stream
 * of the @statelyai/inspect WebSocket protocol that never holds up a run or the process.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createActor } from 'xstate';
import { AgentSession, createInspector, createReplayExecutor, WorkflowOrchestrator, type InspectTarget } from '../src/index.js';
import { parseInspectTarget } from '../src/inspector/inspection-client.js';
import { bounded, compactEvent, definitionOf, MAX_STRING } from '../src/inspector/inspection-protocol.js';
import { agentSessionMachine } from '../src/machines/agent-session.machine.js';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const SDLC = 'examples/sdlc.yaml';
const SDLC_RECORDINGS = 'examples/recordings/sdlc';

interface Received {
  type: string;
  name?: string;
  sessionId: string;
  parentId?: string;
  id?: string;
  definition?: string;
  snapshot?: { status: string; value: unknown; context: Record<string, unknown> };
  event?: Record<string, unknown> & { type: string };
}

/** A receiver of the protocol that keeps what it gets, and whether its clients closed. */
async function receiver(): Promise<{ url: InspectTarget; messages: Received[]; sizes: number[]; closes: number; server: WebSocketServer; close(): Promise<void> }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as { port: number }).port;
  const state = {
    url: `ws://127.0.0.1:${port}` as InspectTarget,
    messages: [] as Received[],
    sizes: [] as number[],
    closes: 0,
    server,
    close: () => new Promise<void>((resolve) => {
      for (const c of server.clients) c.terminate();
      server.close(() => resolve());
    }),
  };
  server.on('connection', (socket: WebSocket) => {
    socket.on('message', (data) => {
      const text = data.toString();
      state.sizes.push(text.length);
      state.messages.push(JSON.parse(text) as Received);
    });
    socket.on('close', () => (state.closes += 1));
  });
  return state;
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('--inspect', () => {
  it('takes local (the flag alone too), sky or a ws:// URL, and names anything else', async () => {
    expect(parseInspectTarget(undefined)).toBeUndefined();
    expect(parseInspectTarget(true)).toBe('local');
    expect(parseInspectTarget('local')).toBe('local');
    expect(parseInspectTarget('sky')).toBe('sky');
    expect(parseInspectTarget('ws://127.0.0.1:9999')).toBe('ws://127.0.0.1:9999');
    expect(parseInspectTarget('wss://inspect.example.com/x')).toBe('wss://inspect.example.com/x');
    // `run --inspect wf.yaml` would take the file as the target: said plainly.
    const run = await cli(['run', '--inspect', SDLC, SDLC], world.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--inspect took "examples/sdlc.yaml" as its target (local, sky or ws://host:port), not as the workflow file');
    const exec = await cli(['exec', 'hi', '--inspect', 'http://x'], world.env);
    expect(exec.code).toBe(2);
    const resume = await cli(['resume', 'nope', '--inspect', 'nowhere', '--state-dir', world.stateDir], world.env);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain('--inspect took "nowhere" as its target');
    // a value that is not a word of its own still gets the plain check
    expect(() => parseInspectTarget('wf.yaml')).toThrow('--inspect takes local, sky or ws://host:port, got "wf.yaml"');
  });

  it('run --inspect wf.yaml (the file alone after the flag) says the file was taken as the target, not "missing argument"', async () => {
    const run = await cli(['run', '--inspect', SDLC, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'agents-sdk: --inspect took "examples/sdlc.yaml" as its target (local, sky or ws://host:port), not as the workflow file: ' +
        'write --inspect=local, or put --inspect after "examples/sdlc.yaml" (e.g. agents-sdk run examples/sdlc.yaml --inspect)\n',
    );
    expect(run.stderr).not.toContain('missing required argument');
    // written as suggested, both forms are fine as far as the flag goes
    const exec = await cli(['exec', '--inspect', 'Summarise it'], world.env);
    expect([exec.code, exec.stderr]).toEqual([2, expect.stringContaining('not as the prompt')]);
    expect(world.invocations()).toHaveLength(0);
  });

  it('with no receiver listening, the run completes, one warning is printed, and the process exits at once', async () => {
    const port = await closedPort();
    const started = Date.now();
    const run = await cliProcess(
      ['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--state-dir', world.stateDir, '--inspect', `ws://127.0.0.1:${port}`],
      { env: world.env },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('completed');
    const warnings = run.stderr.split('\n').filter((l) => l.includes('inspector'));
    expect(warnings).toEqual([`agents-sdk: inspector: no receiver at ws://127.0.0.1:${port} (ECONNREFUSED); trying again until one answers (start one with: agents-sdk inspect)`]);
    // a replayed run takes about a second on this machine; the old inspector retried every 5 s forever
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('sends the run to a receiver, compact: the spec once, then only the tasks that changed; and closes when the run ends', async () => {
    const rx = await receiver();
    try {
      const run = await cli(['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--state-dir', world.stateDir, '--run-id', 'r1', '--inspect', rx.url], world.env);
      expect(run.code, run.stderr).toBe(0);
      await until(() => rx.closes === 1);
      const actors = rx.messages.filter((m) => m.type === '@xstate.actor');
      const orchestrator = actors.find((m) => m.name === 'orchestrator')!;
      expect(orchestrator.parentId).toBeUndefined();
      const context = orchestrator.snapshot!.context as { $agentsSdk: string; runId: string; spec: Array<{ id: string; dependsOn: string[] }>; tasks: unknown[] };
      expect(context.$agentsSdk).toBe('run');
      expect(context.runId).toBe('r1');
      expect(context.spec.find((t) => t.id === 'test')!.dependsOn).toEqual(['build']);
      expect(context.tasks).toHaveLength(5);
      // its definition: the machine config as JSON, with every state
      expect(Object.keys((JSON.parse(orchestrator.definition!) as { states: object }).states)).toContain('running');
      const sessions = actors.filter((m) => m.name === 'agentSession');
      expect(sessions.map((s) => s.id).sort()).toEqual(['build', 'document', 'plan', 'review', 'test']);
      expect(sessions.filter((s) => s.definition !== undefined)).toHaveLength(1);
      expect(sessions.every((s) => s.parentId === orchestrator.sessionId)).toBe(true);
      // later snapshots of the run carry no spec and only changed tasks; the last says completed
      const runSnapshots = rx.messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === orchestrator.sessionId);
      expect(runSnapshots.length).toBeGreaterThan(0);
      expect(runSnapshots.every((m) => !('spec' in m.snapshot!.context))).toBe(true);
      const last = runSnapshots.at(-1)!.snapshot!;
      expect(last.status).toBe('done');
      expect(last.value).toBe('completed');
      expect((last as { output?: { status: string } }).output?.status).toBe('completed');
      // no message carries a whole output or prompt
      expect(Math.max(...rx.sizes)).toBeLessThan(8 * 1024);
      // the agents' stream reaches the receiver through the orchestrator's events
      const progress = rx.messages.filter((m) => m.type === '@xstate.event' && m.event?.type === 'SESSION.EVENT' && (m.event.event as { type: string }).type === 'session.progress');
      expect(progress.length).toBeGreaterThan(10);
    } finally {
      await rx.close();
    }
  });

  it('the library takes a target: each run gets its own forwarder, stopped when the run ends', async () => {
    const rx = await receiver();
    try {
      const orchestrator = new WorkflowOrchestrator({ stateBackend: null, stateDir: world.stateDir, eventLog: false, executor: createReplayExecutor(SDLC_RECORDINGS, { speed: 0 }), inspect: rx.url });
      const spec = { id: 'two', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] };
      await orchestrator.runWorkflow(spec);
      await orchestrator.runWorkflow(spec);
      await until(() => rx.closes === 2);
      expect(rx.messages.filter((m) => m.name === 'orchestrator')).toHaveLength(2);
    } finally {
      await rx.close();
    }
  });

  it('an observer from createInspector is stopped by whoever created it; a session takes a target too', async () => {
    const rx = await receiver();
    try {
      const inspector = createInspector({ target: rx.url, onWarning: () => undefined });
      const session = new AgentSession({ agentName: 'plan', context: { stateDir: world.stateDir }, executor: createReplayExecutor(SDLC_RECORDINGS, { speed: 0 }), inspect: inspector.inspect });
      await session.execute('Plan it');
      session.stop();
      await inspector.stop();
      await inspector.stop(); // idempotent
      expect(inspector.stats.messages).toBeGreaterThan(3);
      expect(inspector.stats.dropped).toBe(0);
      await until(() => rx.closes === 1);
      expect(rx.messages.find((m) => m.type === '@xstate.actor')!.name).toBe('agentSession');

      const own = new AgentSession({ agentName: 'plan', context: { stateDir: world.stateDir }, executor: createReplayExecutor(SDLC_RECORDINGS, { speed: 0 }), inspect: rx.url });
      const result = await own.execute('Plan it');
      expect(result.output.length).toBeGreaterThan(0);
      own.stop();
      await until(() => rx.closes === 2);
    } finally {
      await rx.close();
    }
  });

  it('exec --inspect feeds the session to the receiver and exits', async () => {
    const rx = await receiver();
    try {
      const run = await cli(['exec', 'hello [[reply:hi there]]', '--state-dir', world.stateDir, '--inspect', rx.url], world.env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('hi there');
      await until(() => rx.closes === 1);
      const progress = rx.messages.filter((m) => m.type === '@xstate.event' && m.event?.type === 'EXECUTOR.PROGRESS');
      expect(progress.length).toBeGreaterThan(0);
    } finally {
      await rx.close();
    }
  });

  it('a receiver that goes away mid-run is one warning; the rest is dropped', async () => {
    const rx = await receiver();
    const warnings: string[] = [];
    const inspector = createInspector({ target: rx.url, onWarning: (m) => warnings.push(m) });
    const actor = createActor(agentSessionMachine, { input: { agentName: 'a' }, inspect: inspector.inspect });
    actor.start();
    await until(() => rx.messages.length > 0);
    await rx.close();
    await until(() => warnings.length === 1);
    actor.send({ type: 'CANCEL' });
    actor.stop();
    await inspector.stop();
    expect(warnings).toEqual([`inspector: ${rx.url} closed the connection; the run goes on without inspection`]);
  });

  it('a receiver that accepts the connection but never answers counts as missing after the connect timeout', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const warnings: string[] = [];
    try {
      const inspector = createInspector({ target: `ws://127.0.0.1:${port}`, connectTimeoutMs: 300, onWarning: (m) => warnings.push(m) });
      const actor = createActor(agentSessionMachine, { input: { agentName: 'a' }, inspect: inspector.inspect });
      actor.start();
      actor.stop();
      const started = Date.now();
      await inspector.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^inspector: no receiver at ws:\/\/127\.0\.0\.1:\d+/);
      expect(inspector.stats.dropped).toBeGreaterThan(0);
    } finally {
      silent.close();
    }
  });

  it('sky is only contacted when asked, at Stately Sky, and stopping it never waits long', async () => {
    const info: string[] = [];
    const inspector = createInspector({ target: 'sky', connectTimeoutMs: 500, onWarning: () => undefined, onInfo: (m) => info.push(m) });
    expect(inspector.url).toMatch(/^wss:\/\/stately-sky-beta\.mellson\.partykit\.dev\/party\/inspect-[0-9a-f-]{36}$/);
    const started = Date.now();
    await inspector.stop();
    expect(Date.now() - started).toBeLessThan(6_000);
    // with network the link is printed; offline nothing but the warning
    for (const line of info) expect(line).toMatch(/^inspector: live at https:\/\/stately\.ai\/registry\/inspect\/[0-9a-f-]{36}$/);
  });
});

describe('what is sent', () => {
  it('bounds values: long strings, long arrays, deep nesting, cycles, functions and actor references', () => {
    const long = 'x'.repeat(MAX_STRING + 10);
    expect(bounded(long)).toBe(`${'x'.repeat(MAX_STRING)}…[${MAX_STRING + 10} chars]`);
    const arr = bounded(Array.from({ length: 50 }, (_, i) => i)) as unknown[];
    expect(arr).toHaveLength(41);
    expect(arr.at(-1)).toBe('…[10 more]');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(bounded(cyclic)).toEqual({ a: 1, self: '[circular]' });
    expect(bounded({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } })).toEqual({ a: { b: { c: { d: { e: { f: '[object]' } } } } } });
    expect(bounded(function named() {})).toEqual({ type: 'named' });
    expect(bounded(10n)).toBe('10');
    expect(bounded(Number.NaN)).toBeNull();
    expect(bounded(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    const many = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`k${i}`, i]));
    expect((bounded(many) as Record<string, unknown>)['…']).toBe('5 more keys');
    const actor = createActor(agentSessionMachine, { input: { agentName: 'a' } });
    expect(bounded({ ref: actor })).toEqual({ ref: { id: actor.id, sessionId: actor.sessionId } });
    expect(definitionOf(actor)).toContain('"id":"agentSession"');
  });

  it('events lose what is elsewhere: init inputs, outputs past 200 characters, executor progress under a run', () => {
    expect(compactEvent({ type: 'xstate.init', input: { big: 'x'.repeat(10_000) } }, false)).toEqual({ type: 'xstate.init' });
    const done = compactEvent({ type: 'EXECUTOR.DONE', result: { output: 'y'.repeat(1000), costUsd: 1 } }, false) as unknown as { result: { output: string; costUsd: number } };
    expect(done.result.output).toBe(`${'y'.repeat(200)}…[1000 chars]`);
    expect(done.result.costUsd).toBe(1);
    expect(compactEvent({ type: 'EXECUTOR.PROGRESS', event: { type: 'assistant_text', text: 'hello' } }, true)).toEqual({
      type: 'EXECUTOR.PROGRESS',
      event: { type: 'assistant_text' },
    });
    const text = compactEvent({ type: 'EXECUTOR.PROGRESS', event: { type: 'assistant_text', text: 'z'.repeat(300) } }, false) as unknown as { event: { text: string } };
    expect(text.event.text).toHaveLength(300);
  });
});
