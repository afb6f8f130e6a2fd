/**
 * Issue 24: a run opened from the state dir while it still runs (started without --inspect)
 * follows its event log live until it ends.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import type { RunHeader, ViewEntry } from '../src/inspector/run-view.js';
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

async function until(condition: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a stored run that is still going', () => {
  it('is shown running, then follows its event log to the end', async () => {
    const spec = join(world.root, 'gate.yaml');
    writeFileSync(spec, ['id: gate', 'tasks:', '  - id: build', '    prompt: build it', '  - id: deploy', '    prompt: deploy it', '    depends_on: [build]', '    wait_for: { event: go }', ''].join('\n'));
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir, tailIntervalMs: 20 });
    const running = cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 's1'], world.env);
    await until(async () => {
      const res = await fetch(new URL('/api/runs/stored:s1/tasks/deploy', server!.url));
      return res.status === 200 && ((await res.json()) as { task: { status: string } }).task.status === 'waiting';
    });

    const socket = new WebSocket(`${server.inspectUrl}/view`);
    const seen = { header: null as RunHeader | null, entries: [] as ViewEntry[] };
    socket.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; run?: RunHeader; entries?: ViewEntry[] };
      if (m.type === 'run') {
        seen.header = m.run!;
        seen.entries = [...m.entries!];
      }
      if (m.type === 'entries') seen.entries.push(...m.entries!);
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'open', key: 'stored:s1' }));
    await until(() => seen.header !== null);
    expect(seen.header!.status).toBe('running');
    expect(seen.entries.some((e) => e.k === 'end')).toBe(false);

    const signal = await fetch(new URL('/api/runs/stored:s1/signal', server.url), { method: 'POST', body: JSON.stringify({ name: 'go' }) });
    expect(signal.status).toBe(202);
    expect((await running).code).toBe(0);
    await until(() => seen.entries.some((e) => e.k === 'end'));
    socket.close();
    const statuses = new Map(seen.entries.flatMap((e) => (e.k === 'task' ? [[e.task.id, e.task.status] as const] : [])));
    expect(Object.fromEntries(statuses)).toEqual({ build: 'completed', deploy: 'completed' });
    expect(seen.entries.filter((e) => e.k === 'end')).toEqual([expect.objectContaining({ status: 'completed' })]);
  });
});
