/**
 * Issue 24: the inspector's HTTP API, as the page calls it to debug a run: a task's details
 * (why it failed or was skipped, what it waits for, its attempts and prompts), its whole output
 * paged, an attempt's transcript, the run as of an entry, a signal sent to a waiting run, and
 * a rerun from a task.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInspectorServer, type InspectorServer } from '../src/index.js';
import { cli, CLI_BIN } from './helpers/cli.js';
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

async function api(path: string, init?: { method?: string; body?: string }): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(new URL(path, server!.url), init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const post = (path: string, body: unknown) => api(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });

async function until<T>(probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the inspector API on a failed run', () => {
  it('says why a task failed or was skipped, pages its output, gives each attempt its transcript and prompt, and the run as of any entry', async () => {
    const spec = join(world.root, 'failing.yaml');
    // past the 10 MiB a record keeps: the whole stdout is in the attempt's file
    const big = "process.stdout.write('y'.repeat(10.5 * 1024 * 1024) + 'END')";
    const check = "console.log('out-' + 'x'.repeat(20)); console.error('line 1'); console.error('boom: expected 2, got 3'); process.exit(3)";
    writeFileSync(
      spec,
      ['id: failing', 'tasks:', '  - id: plan', '    prompt: make a plan', '  - id: check', `    command: [node, -e, ${JSON.stringify(check)}]`, '    depends_on: [plan]', '  - id: after', '    prompt: never', '    depends_on: [check]', '  - id: big', `    command: [node, -e, ${JSON.stringify(big)}]`, ''].join('\n'),
    );
    const run = await cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 'f1'], world.env);
    expect(run.code).toBe(1);
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir, cliPath: CLI_BIN });
    const base = '/api/runs/stored:f1';

    const failed = await api(`${base}/tasks/check`);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ task: { id: 'check', status: 'failed' }, exitCode: 3, waitingFor: null });
    expect(failed.body.error.code).toBeTruthy();
    expect(failed.body.stderrTail).toContain('boom: expected 2, got 3');
    expect(failed.body.attempts).toEqual([expect.objectContaining({ n: 1, status: 'failed' })]);
    const skipped = await api(`${base}/tasks/after`);
    expect(skipped.body.reason).toMatch(/check/);
    expect(skipped.body.attempts).toEqual([]);
    const plan = await api(`${base}/tasks/plan`);
    expect(plan.body.attempts).toEqual([expect.objectContaining({ n: 1, status: 'succeeded', prompt: expect.stringContaining('make a plan'), outputBytes: expect.any(Number) })]);

    // the whole output, a page at a time
    const pages: string[] = [];
    let offset: number | null = 0;
    let total = 0;
    while (offset !== null) {
      const page = await api(`${base}/tasks/plan/output?offset=${offset}&limit=7`);
      expect(page.body.text.length).toBeLessThanOrEqual(7);
      pages.push(page.body.text);
      total = page.body.totalBytes;
      offset = page.body.nextOffset;
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.join('').length).toBe(total);
    // a failed command's stdout too
    expect((await api(`${base}/tasks/check/output`)).body.text).toBe(`out-${'x'.repeat(20)}`);
    const bigFirst = await api(`${base}/tasks/big/output`);
    const bigTotal = 10.5 * 1024 * 1024 + 4; // and the newline the file ends with
    expect(bigFirst.body).toMatchObject({ offset: 0, nextOffset: 64 * 1024, totalBytes: bigTotal });
    expect(bigFirst.body.text).toBe('y'.repeat(64 * 1024));
    expect((await api(`${base}/tasks/big/output?offset=${bigTotal - 5}&limit=100`)).body).toEqual({ taskId: 'big', text: 'yEND\n', offset: bigTotal - 5, nextOffset: null, totalBytes: bigTotal });
    expect(await api(`${base}/tasks/check/transcript`)).toEqual({ status: 404, body: { error: 'task check has no transcript for attempt 1' } });
    expect(await api(`${base}/tasks/plan/output?offset=-1`)).toEqual({ status: 400, body: { error: 'offset must be a whole number ≥ 0, got "-1"' } });

    const transcript = await api(`${base}/tasks/plan/transcript?attempt=1`);
    expect(transcript.body.attempt).toBe(1);
    expect(transcript.body.lines.some((l: { type?: string }) => l.type === 'result')).toBe(true);
    expect(await api(`${base}/tasks/plan/transcript?attempt=9`)).toEqual({ status: 404, body: { error: 'task plan has no attempt 9 (it has 1)' } });
    expect(await api(`${base}/tasks/after/transcript`)).toEqual({ status: 404, body: { error: 'task after has no transcript (it never ran)' } });
    expect(await api(`${base}/tasks/nope`)).toEqual({ status: 404, body: { error: 'run f1 has no task nope' } });
    expect(await api('/api/runs/stored:nope/tasks/plan')).toEqual({ status: 404, body: { error: 'no run stored:nope' } });

    // time travel: nothing at entry 0, every status at the end
    expect((await api(`${base}/snapshots?upTo=0`)).body).toMatchObject({ index: 0, graph: {}, actors: {} });
    const end = await api(`${base}/snapshots`);
    expect(end.body.graph).toEqual({ plan: 'completed', check: 'failed', after: 'skipped', big: 'completed' });
    expect(end.body.context).toMatchObject({ runId: 'f1', workflowId: 'failing', counts: { completed: 2, failed: 1, skipped: 1 } });
    expect(Object.values(end.body.actors as Record<string, { active: string[] }>).some((a) => a.active[0] === 'failed')).toBe(true);
    const firstStart = (await api(base)).body.entries.findIndex((e: { k: string; task?: { status: string } }) => e.k === 'task' && e.task!.status === 'running');
    const before = await api(`${base}/snapshots?upTo=${firstStart}`);
    expect(Object.values(before.body.graph)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(await api(`${base}/snapshots?upTo=x`)).toEqual({ status: 400, body: { error: 'upTo must be a whole number ≥ 0, got "x"' } });

    // a signal no task waits for is refused; bad requests say what is wrong
    const refused = await post(`${base}/signal`, { name: 'approved' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain('No task of run f1 waits for "approved"');
    expect(await post(`${base}/signal`, {})).toEqual({ status: 400, body: { error: 'the signal needs a name: {"name": "approved"}' } });
    expect(await post(`${base}/signal`, 'not json')).toEqual({ status: 400, body: { error: 'the body must be a JSON object' } });
    expect((await api(`${base}/signal`)).status).toBe(405);
    const huge = await fetch(new URL(`${base}/signal`, server.url), { method: 'POST', body: 'x'.repeat(1024 * 1024 + 10) });
    expect([huge.status, await huge.text()]).toEqual([500, 'request body over 1 MB']);
    expect((await api(`${base}/rerun`)).status).toBe(405);
    expect(await post(`${base}/rerun`, { from: 'nope' })).toEqual({ status: 404, body: { error: 'run f1 has no task nope' } });
    expect(await post(`${base}/rerun`, {})).toEqual({ status: 400, body: { error: 'a rerun needs the task to start from: {"from": "build"}' } });

    // rerun from the failed command: a new run, from a process of its own
    const rerun = await post(`${base}/rerun`, { from: 'check' });
    expect(rerun.status).toBe(202);
    const newId = rerun.body.runId as string;
    expect(newId).toMatch(/^f1-rerun-/);
    const again = await until(async () => (await server!.runs()).find((r) => r.runId === newId && r.status === 'failed'));
    expect(again.workflowId).toBe('failing');
    const kept = await api(`/api/runs/stored:${newId}/tasks/plan`);
    expect(kept.body.task.status).toBe('completed');
  });
});

describe('the inspector API on a waiting run', () => {
  it('says what a task waits for, and sends the signal through the run’s inbox', async () => {
    const spec = join(world.root, 'gate.yaml');
    writeFileSync(spec, ['id: gate', 'tasks:', '  - id: deploy', '    prompt: deploy it', '    wait_for: { event: approval.granted, timeout: 600 }', ''].join('\n'));
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const running = cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 'g1'], world.env);
    const waiting = await until(async () => {
      const detail = await api('/api/runs/stored:g1/tasks/deploy');
      return detail.status === 200 && detail.body.waitingFor ? detail.body : undefined;
    });
    expect(waiting.waitingFor).toEqual({ signal: 'approval.granted', since: expect.any(Number) });
    expect(await post('/api/runs/stored:g1/signal', { name: 'approval.granted', payload: { by: 'page' } })).toEqual({ status: 202, body: { ok: true } });
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    expect(await post('/api/runs/stored:nope/signal', { name: 'x' })).toEqual({ status: 404, body: { error: 'no run stored:nope' } });
  });

  it('a live run the state dir has no checkpoint of: its tasks as the run sent them; no inbox, nothing to rerun', async () => {
    mkdirSync(world.stateDir, { recursive: true });
    server = await startInspectorServer({ port: 0, stateDir: world.stateDir });
    const feeder = new WebSocket(server.inspectUrl);
    await new Promise((resolve) => feeder.once('open', resolve));
    const task = { id: 'a', status: 'failed', attempts: 1, tokens: 0, costUsd: 0, startedAt: 1, endedAt: 2, error: { code: 'COMMAND_FAILED', message: 'exit 3' } };
    const context = { $agentsSdk: 'run', runId: 'ghost', workflowId: 'w', spec: [{ id: 'a', dependsOn: [], kind: 'command', agent: null, model: null }], tasks: [task], counts: { failed: 1 }, running: 0, settled: 1, tokens: 0, costUsd: 0, halt: 'failed' };
    feeder.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'r', rootId: 'r', id: 'x:0', name: 'orchestrator', createdAt: '1', _version: '0.7.2', snapshot: { status: 'active', value: 'draining', context } }));
    const summary = await until(async () => (await server!.runs()).find((r) => r.runId === 'ghost'));
    expect(summary).toMatchObject({ halt: 'failed', haltReason: 'task a failed (COMMAND_FAILED: exit 3): nothing new started' });
    const key = summary.key;
    const detail = await api(`/api/runs/${key}/tasks/a`);
    expect(detail.body).toMatchObject({ task: { id: 'a', status: 'failed' }, error: { code: 'COMMAND_FAILED', message: 'exit 3' }, exitCode: null, stderrTail: null, attempts: [] });
    expect((await api(`/api/runs/${key}/tasks/a/output`)).body).toEqual({ taskId: 'a', text: '', offset: 0, nextOffset: null, totalBytes: 0 });
    const signal = await post(`/api/runs/${key}/signal`, { name: 'go' });
    expect(signal.body.error).toContain('Unknown run id "ghost"');
    expect(signal.status).toBe(404);
    expect(await post(`/api/runs/${key}/rerun`, { from: 'a' })).toEqual({ status: 409, body: { error: `run ghost has no checkpoint in ${world.stateDir}: nothing to rerun` } });
    feeder.close();
  });

  it('without a state dir: a live run cannot be signalled nor rerun, and says why', async () => {
    server = await startInspectorServer({ port: 0 });
    const feeder = new WebSocket(server.inspectUrl);
    await new Promise((resolve) => feeder.once('open', resolve));
    feeder.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'r', rootId: 'r', id: 'r', name: 'root', createdAt: '1', _version: '0.7.2', snapshot: { status: 'active', value: 'on', context: {} } }));
    const key = await until(async () => (await server!.runs())[0]?.key);
    expect(await post(`/api/runs/${key}/signal`, { name: 'go' })).toEqual({ status: 409, body: { error: "no state dir: the inspector cannot reach run r's inbox (start it with --state-dir)" } });
    expect(await post(`/api/runs/${key}/rerun`, { from: 'a' })).toEqual({ status: 409, body: { error: 'no state dir: the inspector cannot rerun r (start it with --state-dir)' } });
    expect((await api(`/api/runs/${key}/tasks/a`)).status).toBe(404);
    feeder.close();
  });
});
