/**
 * `agents-sdk inspect`: the local inspector's server, driven the way the page drives it (a
 * WebSocket viewer on /view) while runs with `--inspect` feed it.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import { and, not, or } from 'xstate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createReplayExecutor, startInspectorServer, WorkflowOrchestrator, type InspectorServer } from '../src/index.js';
import type { RunHeader, RunSummary, ViewEntry } from '../src/inspector/run-view.js';
import { machineView } from '../src/inspector/machine-view.js';
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

const SDLC = 'examples/sdlc.yaml';
const SDLC_RECORDINGS = 'examples/recordings/sdlc';

async function until(condition: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A viewer, as the page is: the run list, and the entries of the run it opened. */
async function viewer(s: InspectorServer) {
  const socket = new WebSocket(`${s.inspectUrl}/view`);
  const state = { runs: [] as RunSummary[], header: null as RunHeader | null, entries: [] as ViewEntry[], errors: [] as string[] };
  socket.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type: string; runs?: RunSummary[]; run?: RunHeader; entries?: ViewEntry[]; message?: string };
    if (m.type === 'runs') state.runs = m.runs!;
    if (m.type === 'run') {
      state.header = m.run!;
      state.entries = [...m.entries!];
    }
    if (m.type === 'entries') state.entries.push(...m.entries!);
    if (m.type === 'error') state.errors.push(m.message!);
  });
  await new Promise((resolve) => socket.once('open', resolve));
  return {
    state,
    open: (key: string) => socket.send(JSON.stringify({ type: 'open', key })),
    list: () => socket.send(JSON.stringify({ type: 'list' })),
    close: () => socket.close(),
  };
}

function only<K extends ViewEntry['k']>(entries: ViewEntry[], k: K): Array<Extract<ViewEntry, { k: K }>> {
  return entries.filter((e): e is Extract<ViewEntry, { k: K }> => e.k === k);
}

function tasksOf(entries: ViewEntry[]): Map<string, string> {
  const tasks = new Map<string, string>();
  for (const e of entries) if (e.k === 'task') tasks.set(e.task.id, e.task.status);
  return tasks;
}

describe('agents-sdk inspect', () => {
  it('a viewer that connects after the run ended gets the whole run: graph, every actor, states, transcripts, log', async () => {
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const early = await viewer(server);
    const run = await cli(['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--state-dir', world.stateDir, '--run-id', 'late', '--inspect', server.inspectUrl], world.env);
    expect(run.code, run.stderr).toBe(0);
    await until(() => early.state.runs.some((r) => r.runId === 'late' && r.status === 'completed'));
    const summary = early.state.runs.find((r) => r.runId === 'late')!;
    expect(summary).toMatchObject({ workflowId: 'sdlc', source: 'live', tasks: 5 });
    early.close();

    const late = await viewer(server);
    late.open(summary.key);
    await until(() => late.state.entries.some((e) => e.k === 'end'));
    const entries = late.state.entries;
    const graph = entries.find((e) => e.k === 'graph')!;
    expect(graph.k === 'graph' && graph.layout.nodes.map((n) => n.id).sort()).toEqual(['build', 'document', 'plan', 'review', 'test']);
    expect(graph.k === 'graph' && graph.layout.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(['build>review', 'build>test', 'plan>build', 'review>document', 'test>document']);
    expect([...tasksOf(entries).values()]).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
    const actors = entries.filter((e) => e.k === 'actor');
    // the orchestrator, five sessions and their five executors: none lost
    expect(actors).toHaveLength(11);
    expect(actors.filter((a) => a.k === 'actor' && a.machine === 'agentSession').map((a) => a.k === 'actor' && a.actorId).sort()).toEqual(['build', 'document', 'plan', 'review', 'test']);
    // each machine's statechart, drawn from its definition
    const header = late.state.header!;
    expect(header.machines.orchestrator!.states.map((s) => s.key)).toContain('completed');
    expect(header.machines.agentSession!.states.find((s) => s.initial)!.key).toBe('idle');
    const orchestratorId = only(entries, 'actor').find((a) => a.name === 'orchestrator')!.id;
    const lastState = only(entries, 'state').filter((e) => e.id === orchestratorId).at(-1);
    expect(lastState).toMatchObject({ active: ['completed'], status: 'done' });
    // the transcript of a task: its first attempt's start, then its stream, from init to result
    const plan = entries.filter((e) => e.k === 'progress' && e.taskId === 'plan').map((e) => e.k === 'progress' && e.kind);
    expect(plan.slice(0, 2)).toEqual(['attempt', 'init']);
    expect(plan).toContain('tool');
    expect(plan).toContain('text');
    expect(entries.filter((e) => e.k === 'log').length).toBeGreaterThan(40);
    expect(only(entries, 'end')).toEqual([expect.objectContaining({ status: 'completed' })]);
    late.close();
  });

  it('lists several runs at once, each live as it happens', async () => {
    server = await startInspectorServer({ port: 0 });
    const view = await viewer(server);
    const slow = join(world.root, 'slow.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(slow, 'id: slow\ntasks:\n  - id: wait\n    prompt: "[[delay:1500]] ok"\n');
    const runs = Promise.all([
      cli(['run', slow, '--state-dir', world.stateDir, '--run-id', 'one', '--inspect', server.inspectUrl], world.env),
      cli(['run', slow, '--state-dir', world.stateDir, '--run-id', 'two', '--inspect', server.inspectUrl], world.env),
    ]);
    // both listed while they run
    await until(() => ['one', 'two'].every((id) => view.state.runs.some((r) => r.runId === id && r.status === 'running')));
    view.open(view.state.runs.find((r) => r.runId === 'two')!.key);
    await until(() => tasksOf(view.state.entries).get('wait') === 'running');
    const results = await runs;
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    // the opened run's new entries keep coming
    await until(() => tasksOf(view.state.entries).get('wait') === 'completed');
    await until(() => view.state.runs.filter((r) => r.status === 'completed').length === 2);
    view.close();
  });

  it('opens a finished run from its events.jsonl: the graph from its checkpoint, every event, actors in their final states', async () => {
    const run = await cli(['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--state-dir', world.stateDir, '--run-id', 'stored1'], world.env);
    expect(run.code, run.stderr).toBe(0);
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const runs = await server.runs();
    expect(runs).toEqual([expect.objectContaining({ key: 'stored:stored1', runId: 'stored1', workflowId: 'sdlc', source: 'stored', status: 'completed', tasks: 5 })]);
    const body = (await (await fetch(new URL('/api/runs/stored:stored1', server.url))).json()) as { run: RunHeader; entries: ViewEntry[] };
    const graph = body.entries.find((e) => e.k === 'graph')!;
    expect(graph.k === 'graph' && graph.tasks.find((t) => t.id === 'document')!.dependsOn.sort()).toEqual(['review', 'test']);
    // replaying a prefix shows the run as it was then
    const firstStart = body.entries.findIndex((e) => e.k === 'task' && e.task.status === 'running');
    expect([...tasksOf(body.entries.slice(0, firstStart)).values()].every((s) => s === 'pending')).toBe(true);
    expect([...tasksOf(body.entries).values()].every((s) => s === 'completed')).toBe(true);
    expect(body.entries.filter((e) => e.k === 'progress' && e.taskId === 'build').length).toBeGreaterThan(3);
    const sessions = body.entries.filter((e) => e.k === 'actor' && e.machine === 'agentSession');
    expect(sessions).toHaveLength(5);
    expect(body.entries.filter((e) => e.k === 'state').at(-1)).toMatchObject({ active: ['completed'], status: 'done' });
    expect(body.run.status).toBe('completed');
    // through a viewer too, and an unknown run is said so
    const view = await viewer(server);
    view.open('stored:stored1');
    await until(() => view.state.entries.length === body.entries.length);
    view.open('stored:nope');
    view.open('live-99');
    await until(() => view.state.errors.length === 2);
    expect(view.state.errors.sort()).toEqual(['no run live-99', 'no run stored:nope']);
    view.list();
    view.close();
    expect((await fetch(new URL('/api/runs/nope', server.url))).status).toBe(404);
  });

  it('a 101-task run sends under 2 MB', async () => {
    const recordings = join(world.root, 'recordings');
    const names = readdirSync(SDLC_RECORDINGS);
    const tasks = ['plan', ...Array.from({ length: 100 }, (_, i) => `t${i + 1}`)];
    tasks.forEach((id, i) => {
      mkdirSync(join(recordings, id), { recursive: true });
      copyFileSync(join(SDLC_RECORDINGS, names[i % names.length]!, 'raw_output.jsonl'), join(recordings, id, 'raw_output.jsonl'));
    });
    const spec = join(world.root, 'wide.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(spec, JSON.stringify({ id: 'wide', max_parallel: 8, tasks: tasks.map((id, i) => (i === 0 ? { id, prompt: 'plan' } : { id, prompt: `part ${i}: {{tasks.plan.output}}`, depends_on: ['plan'] })) }));
    server = await startInspectorServer({ port: 0 });
    const run = await cli(['run', spec, '--replay', recordings, '--replay-speed', '0', '--state-dir', world.stateDir, '--inspect', server.inspectUrl], world.env);
    expect(run.code, run.stderr).toBe(0);
    let runs: RunSummary[] = [];
    for (let i = 0; i < 300 && runs[0]?.status !== 'completed'; i++) {
      runs = await server.runs();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(runs[0]!.status).toBe('completed');
    expect(server.received.bytes).toBeLessThan(2 * 1024 * 1024);
    const body = (await (await fetch(new URL(`/api/runs/${runs[0]!.key}`, server.url))).json()) as { entries: ViewEntry[] };
    expect(tasksOf(body.entries).size).toBe(101);
    expect([...tasksOf(body.entries).values()].every((s) => s === 'completed')).toBe(true);
  });

  it("takes @statelyai/inspect's own WebSocket inspector too (whole contexts)", async () => {
    server = await startInspectorServer({ port: 0 });
    const inspector = createWebSocketInspector({ url: server.inspectUrl });
    await until(() => (inspector.adapter as unknown as { status: string }).status === 'open');
    const orchestrator = new WorkflowOrchestrator({ stateBackend: null, stateDir: world.stateDir, eventLog: false, executor: createReplayExecutor(SDLC_RECORDINGS, { speed: 0 }), inspect: inspector.inspect });
    await orchestrator.runWorkflow({ id: 'full', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] }, { runId: 'full1' });
    await until(() => server!.received.messages > 20);
    let body: { entries: ViewEntry[] } = { entries: [] };
    await until(() => {
      void server!.runs().then(async (runs) => {
        const key = runs.find((r) => r.runId === 'full1')?.key;
        if (key) body = (await (await fetch(new URL(`/api/runs/${key}`, server!.url))).json()) as typeof body;
      });
      return tasksOf(body.entries).get('build') === 'completed';
    });
    inspector.stop();
    expect(body.entries.find((e) => e.k === 'graph')).toBeDefined();
  });

  it('serves the page from the package, answers unknown paths with 404, and says when its port is taken', async () => {
    server = await startInspectorServer({ port: 0 });
    const page = await fetch(server.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<script src="/inspector.js"></script>');
    // nothing from a CDN: every script and style comes from this server
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(new URL('/inspector.js', server.url))).status).toBe(200);
    expect((await fetch(new URL('/inspector.css', server.url))).status).toBe(200);
    expect((await fetch(new URL('/favicon.ico', server.url))).status).toBe(204);
    expect((await fetch(new URL('/nothing', server.url))).status).toBe(404);
    expect(await (await fetch(new URL('/api/received', server.url))).json()).toEqual({ messages: 0, bytes: 0 });
    // what is not the protocol is ignored
    const feeder = new WebSocket(server.inspectUrl);
    await new Promise((resolve) => feeder.once('open', resolve));
    feeder.send('not json');
    feeder.send(JSON.stringify({ type: 'hello' }));
    feeder.close();
    await until(() => server!.received.messages === 2);
    expect(await server.runs()).toEqual([]);
    await expect(startInspectorServer({ port: server.port })).rejects.toThrow(`port ${server.port} on 127.0.0.1 is in use`);
  });

  it('the command prints where it is and stops on Ctrl-C', async () => {
    const interrupt = new AbortController();
    const command = cli(['inspect', '--port', '0', '--state-dir', world.stateDir], world.env, interrupt.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    interrupt.abort();
    const result = await command;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^inspector: http:\/\/127\.0\.0\.1:\d+\/\n$/);
    expect(result.stderr).toContain('runs started with --inspect ws://127.0.0.1:');
    const bad = await cli(['inspect', '--port', 'x'], world.env);
    expect(bad.code).toBe(2);
  });
});

describe('statecharts from definitions', () => {
  it('shows each transition’s guard: `EVENT [guard]`, a guarded `always` by its guard alone', () => {
    function isReady() {
      return true;
    }
    const view = machineView({
      id: 'g',
      initial: 'a',
      states: {
        a: {
          on: {
            GO: [{ guard: 'ok', target: 'b' }, { guard: isReady, target: 'c' }, { guard: () => true, target: 'd' }, { target: 'e' }],
            COMBINED: [{ guard: not('ok'), target: 'b' }, { guard: and(['ok', { type: 'fresh' }]), target: 'c' }, { guard: or([not('ok'), 'late']), target: 'd' }],
          },
          always: [{ guard: { type: 'settledAs', params: 'done' }, target: 'b' }, { guard: { type: 'within', params: { max: 3 } }, target: 'c' }, { guard: { params: 1 }, target: 'd' }, { guard: 7, target: 'e' }, { target: 'b' }],
        },
        b: {},
        c: {},
        d: {},
        e: {},
      },
    })!;
    const labels = Object.fromEntries(view.arrows.map((a) => [a.to, a.labels]));
    expect(labels).toEqual({
      b: ['GO [ok]', 'COMBINED [!ok]', '[settledAs(done)]', 'always'],
      c: ['GO [isReady]', 'COMBINED [ok && fresh]', '[within({"max":3})]'],
      d: ['GO [guard]', 'COMBINED [!ok || late]', 'always'],
      e: ['GO', 'always'],
    });
  });

  it('boxes every top-level state, lists nested ones, and labels transitions with their events', () => {
    const view = machineView({
      id: 'm',
      initial: 'a',
      on: { STOP: '.done' },
      states: {
        a: { on: { GO: 'b', STAY: 'a', JUMP: '#m.c' }, always: [{ target: 'c', guard: { type: 'g' } }] },
        b: { initial: 'x', states: { x: { on: { NEXT: 'y' } }, y: { after: { 100: '#m.done' } } }, invoke: { src: 'work', onDone: 'c', onError: { target: 'done' } } },
        c: { on: { BACK: ['a'], WHERE: { target: '.nowhere' } } },
        done: { type: 'final' },
      },
    })!;
    expect(view.states.map((s) => [s.key, s.type, s.initial])).toEqual([
      ['a', 'atomic', true],
      ['b', 'compound', false],
      ['c', 'atomic', false],
      ['done', 'final', false],
    ]);
    expect(view.states.find((s) => s.key === 'b')!.children).toEqual(['b.x', 'b.y']);
    expect(view.states.find((s) => s.key === 'a')!.selfEvents).toEqual(['STAY']);
    expect(view.anyState).toEqual(['STOP → done']);
    const arrows = Object.fromEntries(view.arrows.map((a) => [`${a.from}>${a.to}`, a.label]));
    expect(arrows).toEqual({ 'a>b': 'GO', 'a>c': 'JUMP, [g]', 'b>done': 'error, after 100', 'b>c': 'done', 'c>a': 'BACK' });
    expect(view.arrows.every((a) => a.points.length >= 2)).toBe(true);
    expect(view.arrows.find((a) => a.from === 'a' && a.to === 'c')!.labels).toEqual(['JUMP', '[g]']);
    expect(machineView('not json')).toBeUndefined();
    expect(machineView({ id: 'promise' })).toBeUndefined();
    expect(machineView(undefined)).toBeUndefined();
  });
});
