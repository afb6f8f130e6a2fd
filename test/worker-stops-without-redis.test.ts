/**
 * Issue 20, defect 2: a worker whose Redis is gone still stops on SIGTERM, within 5 s: it hands
 * back nothing it cannot reach, ends its running attempts' agents, and says so on stderr.
 * A real redis-server that the test stops, the built CLI's worker, the fake `claude`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers } from '../src/actors/process-registry.js';
import { cliProcess } from './helpers/cli.js';
import { fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { startRedis, startWorkerProcess, waitUntil, type TestRedis, type WorkerProcess } from './helpers/redis.js';

const DEADLINE_MS = 5_000;

let world: FakeWorld | undefined;
let redis: TestRedis | undefined;
let worker: WorkerProcess | undefined;
afterEach(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.child;
  worker = undefined;
  await redis?.stop().catch(() => undefined);
  redis = undefined;
  world?.cleanup();
  world = undefined;
});

/** SIGTERMs the worker; resolves with its exit code and how long it took to exit. */
async function terminate(w: WorkerProcess): Promise<{ code: number | undefined; tookMs: number }> {
  const at = Date.now();
  w.child.kill('SIGTERM');
  await waitUntil(`the worker to exit within ${DEADLINE_MS} ms of SIGTERM`, () => w.child.exitCode !== null, DEADLINE_MS);
  const done = await w.child;
  return { code: done.exitCode, tookMs: Date.now() - at };
}

describe('a worker whose Redis is gone', () => {
  it('idle: SIGTERM ends it within 5 s, saying Redis cannot be reached', async () => {
    world = fakeWorld();
    redis = await startRedis();
    worker = await startWorkerProcess(redis.url, `gone${process.pid}`, world, 'idle');
    await redis.stop();
    const { code, tookMs } = await terminate(worker);
    expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS);
    expect(code).toBe(1);
    expect(worker.output()).toMatch(/Redis at 127\.0\.0\.1:\d+ cannot be reached: stopping now, without handing back 0 running attempts/);
  }, 60_000);

  it('with an attempt running: SIGTERM ends it and its agent within 5 s; the attempt is not handed back', async () => {
    world = fakeWorld();
    redis = await startRedis();
    const queue = `gone${process.pid}b`;
    worker = await startWorkerProcess(redis.url, queue, world, 'busy');
    const spec = join(world.root, 'gone.yaml');
    writeFileSync(spec, ['id: gone', 'tasks:', '  - {id: long, prompt: "gone long [[hang-child]]"}', ''].join('\n'));
    const run = cliProcess(['run', spec, '--run-id', 'gone', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    try {
      await worker.waitFor(/started gone:long:1/);
      let agent: number[] = [];
      await waitUntil('the agent and its child', () => {
        const call = world!.invocations().find((c) => String(c.prompt).startsWith('gone long'));
        agent = call ? (groupMembers(call.pid as number) ?? []) : [];
        return agent.length >= 2;
      });
      await redis.stop();
      const { code, tookMs } = await terminate(worker);
      expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS);
      expect(code).toBe(1);
      expect(worker.output()).toMatch(/Redis at 127\.0\.0\.1:\d+ cannot be reached: stopping now, without handing back 1 running attempt \(its job fails as WORKER_LOST/);
      expect(worker.output()).not.toContain('handed-back');
      await waitUntil("the attempt's agent to end", () => !agent.some(isAlive), 3_000);
    } finally {
      run.kill('SIGKILL');
      await run;
    }
  }, 60_000);

  it('gone while it finishes its attempts after a first SIGTERM: the second SIGTERM ends it within 5 s', async () => {
    world = fakeWorld();
    redis = await startRedis();
    const queue = `gone${process.pid}c`;
    worker = await startWorkerProcess(redis.url, queue, world, 'finishing');
    const spec = join(world.root, 'finishing.yaml');
    writeFileSync(spec, ['id: finishing', 'tasks:', '  - {id: long, prompt: "finishing long [[hang]]"}', ''].join('\n'));
    const run = cliProcess(['run', spec, '--run-id', 'finishing', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    try {
      await worker.waitFor(/started finishing:long:1/);
      worker.child.kill('SIGTERM');
      await worker.waitFor(/stopping, finishing running attempts \(1\)/);
      await redis.stop();
      const { code, tookMs } = await terminate(worker);
      expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS);
      expect(code).toBe(1);
      expect(worker.output()).toMatch(/cannot be reached: stopping now, without handing back 1 running attempt/);
      expect(worker.output()).not.toContain('handing 1 running attempt(s) back');
    } finally {
      run.kill('SIGKILL');
      await run;
    }
  }, 60_000);
});
