/**
 * Issue 15: task attempts on worker processes through BullMQ on a real redis-server
 * (started here on a free port; a missing redis-server fails these tests, it does not skip them).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultExecutor, type ExecutionRequest } from '../src/actors/executor.js';
import type { ClaudeProgressEvent } from '../src/claude/stream-json.js';
import { createBullmqExecutor } from '../src/distributed/bullmq-executor.js';
import { runJobPayload } from '../src/distributed/worker.js';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { freePort, useRedisWorkers, type TestRedis, type WorkerProcess } from './helpers/redis.js';

describe('BullMQ on redis-server', () => {
  const setup = useRedisWorkers(`q${process.pid}`, [{ marker: 'w1' }, { marker: 'w2' }]);
  const { queue } = setup;
  let redis: TestRedis;
  let world: FakeWorld;
  let workers: WorkerProcess[];
  beforeAll(() => ({ redis, world, workers } = setup));

  it('an orchestrator run of a DAG completes with its attempts spread over two worker processes', async () => {
    const spec = join(world.root, 'dag.yaml');
    writeFileSync(
      spec,
      [
        'id: dag',
        'max_parallel: 4',
        'tasks:',
        '  - {id: plan, prompt: "plan [[delay:100]] [[reply:planned]]"}',
        ...[1, 2, 3, 4].map((i) => `  - {id: build${i}, prompt: "build ${i} [[delay:400]] [[reply:built${i}]]", depends_on: [plan]}`),
        '  - {id: ship, prompt: "ship [[reply:shipped]]", depends_on: [build1, build2, build3, build4]}',
        '',
      ].join('\n'),
    );
    const run = await cliProcess(['run', spec, '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir, '--json'], { env: world.env });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const result = JSON.parse(String(run.stdout)) as { success: boolean; tasks: Record<string, { output?: string; status?: string }> };
    expect(result.success).toBe(true);
    const calls = world.invocations().filter((c) => typeof c.prompt === 'string');
    expect(calls).toHaveLength(6);
    const markers = new Set(calls.map((c) => (c.env as { FAKE_MARKER: string }).FAKE_MARKER));
    expect([...markers].sort()).toEqual(['w1', 'w2']);
    // Each attempt was one job with its deterministic id.
    const started = workers.flatMap((w) => w.output().split('\n').filter((l) => l.includes(': started ')));
    expect(started.some((l) => l.endsWith(':build3:1'))).toBe(true);
    // Each agent attempt's raw stream is in the orchestrator's state dir, as after a local run.
    const runId = (result as unknown as { runId: string }).runId;
    for (const id of ['plan', 'build1', 'build2', 'build3', 'build4', 'ship']) {
      const raw = join(world.stateDir, runId, id, 'raw_output.jsonl');
      expect(existsSync(raw), raw).toBe(true);
      expect(readFileSync(raw, 'utf8')).toContain('"type":"result"');
      // The result line is in the stream: no second copy in raw_output.json (that is ADW's layout only).
      expect(existsSync(join(world.stateDir, runId, id, 'raw_output.json'))).toBe(false);
    }
    const logs = await cli(['logs', runId, 'build2', '--state-dir', world.stateDir], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(String(logs.stdout)).toContain('built2');
  }, 60_000);

  it("a remote attempt's raw stream grows in the orchestrator's state dir while it runs (logs --follow works)", async () => {
    const spec = join(world.root, 'live.yaml');
    writeFileSync(spec, ['id: live', 'tasks:', '  - {id: talk, prompt: "live [[tool-turns:2]] [[delay:2400]] [[reply:said]]"}', ''].join('\n'));
    const runId = `live-${Date.now()}`;
    const run = cliProcess(['run', spec, '--run-id', runId, '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    const raw = join(world.stateDir, runId, 'talk', 'raw_output.jsonl');
    const finished = () => workers.some((w) => w.output().includes(`finished ${runId}:talk:1`));
    const until = Date.now() + 20_000;
    // Before the attempt ends, the copy holds its first lines (init, a tool turn) but not the result.
    while (!(existsSync(raw) && readFileSync(raw, 'utf8').includes('"tool_use"'))) {
      if (finished() || Date.now() > until) throw new Error('no live copy of the stream before the attempt ended');
      await new Promise((r) => setTimeout(r, 20));
    }
    const partial = readFileSync(raw, 'utf8');
    expect(partial).toContain('"subtype":"init"');
    expect(partial).not.toContain('"type":"result"');
    for (const line of partial.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    const done = await run;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(readFileSync(raw, 'utf8').startsWith(partial)).toBe(true);
    expect(readFileSync(raw, 'utf8')).toContain('"type":"result"');
  }, 40_000);

  it('progress events come back typed and in order, the same as a local run', async () => {
    const request: ExecutionRequest = { kind: 'claude', prompt: 'steps [[tool-turns:4]] [[reply:done]]', agentName: 'steps', runId: `r${Date.now()}`, attempt: 1, stateDir: world.stateDir };
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    const remoteEvents: ClaudeProgressEvent[] = [];
    try {
      const result = await remote(request, { signal: new AbortController().signal, onEvent: (e) => remoteEvents.push(e) });
      expect(result.success).toBe(true);
    } finally {
      await remote.close();
    }
    const localEvents: ClaudeProgressEvent[] = [];
    const restore = setProcessEnv(world.env);
    try {
      await defaultExecutor({ ...request, runId: `${request.runId}-local` }, { signal: new AbortController().signal, onEvent: (e) => localEvents.push(e) });
    } finally {
      restore();
    }
    expect(remoteEvents.length).toBeGreaterThan(4);
    expect(remoteEvents.map((e) => e.type)).toEqual(localEvents.map((e) => e.type));
  }, 30_000);

  it('a failed attempt comes back as the typed error, so the retry policy applies', async () => {
    const remote = createBullmqExecutor({ connection: redis.url, queue });
    try {
      const failed = remote({ kind: 'claude', prompt: '[[auth-failure]] x', agentName: 'auth', runId: `r${Date.now()}`, stateDir: world.stateDir }, { signal: new AbortController().signal, onEvent: () => {} });
      await expect(failed).rejects.toMatchObject({ code: 'AUTH_FAILED', transient: false });
    } finally {
      await remote.close();
    }
  }, 30_000);

  it('a job payload of another version is refused with a message', async () => {
    const outcome = await runJobPayload({ version: 999, request: {} }, defaultExecutor, world.root, new AbortController().signal, async () => {});
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.message).toMatch(/job payload version 999 is not supported/);
  });
});

describe('unreachable Redis', () => {
  it('run --redis and worker --redis fail with exit 2 within seconds', async () => {
    const world = fakeWorld();
    try {
      const port = await freePort();
      const spec = join(world.root, 'one.yaml');
      writeFileSync(spec, 'id: one\ntasks:\n  - id: a\n    prompt: "[[reply:ok]]"\n');
      const t0 = Date.now();
      const [run, worker] = await Promise.all([
        cliProcess(['run', spec, '--redis', `redis://127.0.0.1:${port}`, '--state-dir', world.stateDir], { env: world.env }),
        cliProcess(['worker', '--redis', `redis://127.0.0.1:${port}`], { env: world.env }),
      ]);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(run.exitCode).toBe(2);
      expect(String(run.stderr)).toMatch(/BACKEND_UNAVAILABLE: Redis at 127\.0\.0\.1:\d+ is unreachable/);
      expect(worker.exitCode).toBe(2);
      expect(String(worker.stderr)).toMatch(/is unreachable/);
    } finally {
      world.cleanup();
    }
  }, 30_000);
});
