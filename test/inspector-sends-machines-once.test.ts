/**
 * Issue 24, traffic: a page gets the machine definitions once, in the `run` frame, and then
 * only what changed, gathered into a few `entries` frames; a page that follows a run live gets
 * about what a page opened after it gets.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
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

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Frame {
  type: string;
  key?: string;
  runs?: Array<{ key: string }>;
  run?: { machines: Record<string, unknown> };
  entries?: Array<{ k: string }>;
  machines?: Record<string, unknown>;
}

/** A page: every frame it gets and their bytes; with `follow` it opens the first run listed. */
async function page(s: InspectorServer, follow: boolean) {
  const socket = new WebSocket(`${s.inspectUrl}/view`);
  const seen = { frames: [] as Frame[], bytes: 0, ended: false, key: null as string | null };
  socket.on('message', (data) => {
    const text = data.toString();
    seen.bytes += Buffer.byteLength(text);
    const frame = JSON.parse(text) as Frame;
    seen.frames.push(frame);
    if (frame.type === 'runs' && follow && !seen.key && frame.runs!.length > 0) {
      seen.key = frame.runs![0]!.key;
      socket.send(JSON.stringify({ type: 'open', key: seen.key }));
    }
    if (frame.entries?.some((e) => e.k === 'end')) seen.ended = true;
  });
  await new Promise((resolve) => socket.once('open', resolve));
  return { seen, open: (key: string) => socket.send(JSON.stringify({ type: 'open', key })), close: () => socket.close() };
}

describe('what the inspector sends a page', () => {
  it('a 101-task run: machines once in the run frame, entries frames without them, live ≤ 2× a late page, the run → inspector stream under 2 MB', async () => {
    const recordings = join(world.root, 'recordings');
    const names = readdirSync('examples/recordings/sdlc');
    const tasks = ['plan', ...Array.from({ length: 100 }, (_, i) => `t${i + 1}`)];
    tasks.forEach((id, i) => {
      mkdirSync(join(recordings, id), { recursive: true });
      copyFileSync(join('examples/recordings/sdlc', names[i % names.length]!, 'raw_output.jsonl'), join(recordings, id, 'raw_output.jsonl'));
    });
    const spec = join(world.root, 'wide.json');
    writeFileSync(spec, JSON.stringify({ id: 'wide', max_parallel: 8, tasks: tasks.map((id, i) => (i === 0 ? { id, prompt: 'plan' } : { id, prompt: `part ${i}`, depends_on: ['plan'] })) }));
    server = await startInspectorServer({ port: 0 });
    const live = await page(server, true);
    const run = await cli(['run', spec, '--replay', recordings, '--replay-speed', '0', '--state-dir', world.stateDir, '--inspect', server.inspectUrl], world.env);
    expect(run.code, run.stderr).toBe(0);
    await until(() => live.seen.ended);
    // every entry the server holds reached the live page (the last ones come in the frame after the end)
    const liveCount = (): number => live.seen.frames.reduce((n, f) => n + (f.type === 'run' || f.type === 'entries' ? f.entries!.length : 0), 0);
    let held = -1;
    for (let i = 0; i < 500 && held !== liveCount(); i++) {
      held = (await server.runs())[0]!.entries;
      if (held !== liveCount()) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    live.close();

    const runFrame = live.seen.frames.find((f) => f.type === 'run')!;
    // both machines are there before their first actor came
    expect(Object.keys(runFrame.run!.machines).sort()).toEqual(['agentSession', 'orchestrator']);
    const entryFrames = live.seen.frames.filter((f) => f.type === 'entries');
    expect(entryFrames.length).toBeGreaterThan(0);
    expect(entryFrames.every((f) => f.machines === undefined)).toBe(true);
    // the run's own definitions draw the same charts: nothing sent again
    expect(live.seen.frames.filter((f) => f.type === 'machines')).toEqual([]);
    // gathered: far fewer frames than messages received
    expect(entryFrames.length).toBeLessThan(server.received.messages / 10);
    expect(server.received.bytes).toBeLessThan(2 * 1024 * 1024);

    const late = await page(server, false);
    late.open(live.seen.key!);
    await until(() => late.seen.ended);
    late.close();
    expect(late.seen.frames.find((f) => f.type === 'run')!.entries!.length).toBe(liveCount());
    expect(live.seen.bytes).toBeLessThanOrEqual(2 * late.seen.bytes);
  });

  it('a machine whose first actor comes after the page opened goes alone in a machines frame, once', async () => {
    server = await startInspectorServer({ port: 0 });
    const feeder = new WebSocket(server.inspectUrl);
    await new Promise((resolve) => feeder.once('open', resolve));
    const message = (m: Record<string, unknown>) => feeder.send(JSON.stringify({ createdAt: '1', _version: '0.7.2', rootId: 'r', ...m }));
    message({ type: '@xstate.actor', sessionId: 'r', id: 'r', name: 'root', snapshot: { status: 'active', value: 'on', context: {} } });
    const view = await page(server, true);
    await until(() => view.seen.frames.some((f) => f.type === 'run'));
    const light = { id: 'light', initial: 'green', states: { green: { on: { NEXT: 'red' } }, red: { on: { NEXT: 'green' } } } };
    message({ type: '@xstate.actor', sessionId: 'a', parentId: 'r', id: 'a', name: 'light', definition: JSON.stringify(light), snapshot: { status: 'active', value: 'green', context: {} } });
    message({ type: '@xstate.actor', sessionId: 'b', parentId: 'r', id: 'b', name: 'light', definition: JSON.stringify(light), snapshot: { status: 'active', value: 'green', context: {} } });
    message({ type: '@xstate.snapshot', sessionId: 'r', snapshot: { status: 'done', value: 'off', context: {} } });
    await until(() => view.seen.ended);
    view.close();
    feeder.close();
    const machines = view.seen.frames.filter((f) => f.type === 'machines');
    expect(machines).toHaveLength(1);
    expect(Object.keys(machines[0]!.machines!)).toContain('light');
    // before the entries that name it
    const at = view.seen.frames.indexOf(machines[0]!);
    const naming = view.seen.frames.findIndex((f) => f.type === 'entries' && f.entries!.some((e) => (e as { machine?: string }).machine === 'light'));
    expect(at).toBeLessThan(naming);
  });
});
