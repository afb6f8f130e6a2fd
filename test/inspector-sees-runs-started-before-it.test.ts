/**
 * Issue 24: a run started before `agents-sdk inspect` is up keeps trying to reach it (with
 * growing waits) and keeps what it sends meanwhile: once the inspector answers it shows the
 * whole run.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInspector, createReplayExecutor, startInspectorServer, WorkflowOrchestrator, type InspectorServer } from '../src/index.js';
import type { ViewEntry } from '../src/inspector/run-view.js';
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

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a run started before the inspector', () => {
  it('retries with growing waits, then the inspector shows the whole run', async () => {
    const port = await freePort();
    const waits: number[] = [];
    const due: Array<() => void> = [];
    const warnings: string[] = [];
    const inspector = createInspector({
      target: `ws://127.0.0.1:${port}`,
      onWarning: (m) => warnings.push(m),
      reconnectDelaysMs: [100, 200],
      schedule: (fn, ms) => {
        waits.push(ms);
        due.push(fn);
      },
    });
    const orchestrator = new WorkflowOrchestrator({ stateBackend: null, stateDir: world.stateDir, eventLog: false, executor: createReplayExecutor('examples/recordings/sdlc', { speed: 0 }), inspect: inspector.inspect });
    const result = await orchestrator.runWorkflow({ id: 'early', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] }, { runId: 'early1' });
    expect(result.status).toBe('completed');
    // nobody answered: tried again after each wait, the last one repeating
    await until(() => due.length === 1);
    due.shift()!();
    await until(() => due.length === 1);
    due.shift()!();
    await until(() => due.length === 1);
    expect(waits).toEqual([100, 200, 200]);
    expect(warnings).toEqual([`inspector: no receiver at ws://127.0.0.1:${port} (ECONNREFUSED); trying again until one answers (start one with: agents-sdk inspect)`]);

    server = await startInspectorServer({ port });
    due.shift()!();
    await inspector.stop();
    expect(inspector.stats.dropped).toBe(0);
    let entries: ViewEntry[] = [];
    for (let i = 0; i < 400 && !entries.some((e) => e.k === 'end'); i++) {
      const key = (await server.runs()).find((r) => r.runId === 'early1')?.key;
      if (key) entries = ((await (await fetch(new URL(`/api/runs/${key}`, server.url))).json()) as { entries: ViewEntry[] }).entries;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const statuses = new Map(entries.flatMap((e) => (e.k === 'task' ? [[e.task.id, e.task.status] as const] : [])));
    expect(Object.fromEntries(statuses)).toEqual({ plan: 'completed', build: 'completed' });
    expect(entries.filter((e) => e.k === 'log' && e.type === 'workflow.started')).toHaveLength(1);
  });

  it('a run that ends between two tries stops at once, and the pending try never happens', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const due: Array<() => void> = [];
    const inspector = createInspector({ target: `ws://127.0.0.1:${port}`, onWarning: (m) => warnings.push(m), schedule: (fn) => due.push(fn) });
    await until(() => due.length === 1);
    await inspector.stop();
    due.shift()!();
    expect(due).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(inspector.stats.dropped).toBe(0);
  });

  it('a run that ends while still unanswered gives up at once when told not to retry', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const inspector = createInspector({ target: `ws://127.0.0.1:${port}`, onWarning: (m) => warnings.push(m), reconnectDelaysMs: [] });
    await until(() => warnings.length === 1);
    await inspector.stop();
    expect(warnings[0]).toContain('the run goes on without inspection');
  });
});
