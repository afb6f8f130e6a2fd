/**
 * Issue 15: routing attempts by worker tag (`runs_on`, `agents-sdk worker --tag`), and the
 * bounds: `max_parallel` bounds a run, `--concurrency` bounds a worker (over all its queues).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import type { FakeWorld } from './helpers/fake-claude.js';
import { agentCalls, useRedisWorkers, waitUntil, type TestRedis, type WorkerProcess } from './helpers/redis.js';

/** The most calls that ran at once, from the fake's log (start: invocation line, end: completion line). */
function maxOverlap(world: FakeWorld, calls: Array<{ pid: number; time: number }>): number {
  const ends = new Map(world.invocations().filter((c) => c.event === 'completed').map((c) => [c.pid as number, c.time as number]));
  const points = calls.flatMap((c) => [
    { t: c.time, d: 1 },
    { t: ends.get(c.pid) ?? Infinity, d: -1 },
  ]);
  // An end and a start at the same instant: the end first.
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (now += p.d));
  return max;
}

describe('routing by tag', () => {
  const setup = useRedisWorkers(`route${process.pid}`, [
    { marker: 'plain', args: ['--concurrency', '2'] },
    { marker: 'gpu', args: ['--concurrency', '1', '--tag', 'gpu', '--tag', 'linux'] },
  ]);
  const { queue } = setup;
  let redis: TestRedis;
  let world: FakeWorld;
  let workers: WorkerProcess[];
  beforeAll(() => ({ redis, world, workers } = setup));

  it('runs_on sends a task only to workers with all its tags; max_parallel bounds the run and --concurrency each worker', async () => {
    expect(workers[1]!.output()).toContain(`"${queue}@gpu+linux"`);
    const spec = join(world.root, 'routed.yaml');
    writeFileSync(
      spec,
      [
        'id: routed',
        'max_parallel: 3',
        'tasks:',
        '  - {id: train, prompt: "route train [[delay:500]]", runs_on: [gpu]}',
        '  - {id: both, prompt: "route both [[delay:500]]", runs_on: [linux, gpu]}',
        ...[1, 2, 3, 4, 5, 6].map((i) => `  - {id: any${i}, prompt: "route any${i} [[delay:500]]"}`),
        '',
      ].join('\n'),
    );
    const run = await cliProcess(['run', spec, '--json', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const calls = agentCalls(world).filter((c) => c.prompt.startsWith('route '));
    expect(calls).toHaveLength(8);
    expect(calls.find((c) => c.prompt.startsWith('route train'))!.marker).toBe('gpu');
    expect(calls.find((c) => c.prompt.startsWith('route both'))!.marker).toBe('gpu');
    // Untagged tasks go to any worker, the tagged one included.
    expect(new Set(calls.filter((c) => c.prompt.startsWith('route any')).map((c) => c.marker))).toEqual(new Set(['plain', 'gpu']));
    expect(maxOverlap(world, calls)).toBeLessThanOrEqual(3);
    expect(maxOverlap(world, calls.filter((c) => c.marker === 'plain'))).toBeLessThanOrEqual(2);
    // One attempt at a time over the tagged worker's four queues.
    expect(maxOverlap(world, calls.filter((c) => c.marker === 'gpu'))).toBe(1);
  }, 60_000);

  it('a task whose tags no worker has waits with a visible status, then fails with NO_WORKER after its timeout', async () => {
    const spec = join(world.root, 'unroutable.yaml');
    writeFileSync(spec, ['id: unroutable', 'tasks:', '  - {id: tpu, prompt: "route tpu", runs_on: [tpu], timeout: 1, retry_count: 1}', ''].join('\n'));
    const t0 = Date.now();
    const run = await cliProcess(['run', spec, '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    expect(run.exitCode).toBe(1);
    const stderr = String(run.stderr);
    expect(stderr).toMatch(new RegExp(`tpu: waiting for a worker for \\d\\.\\ds: no worker with tag tpu is connected to queue ${queue}@tpu`));
    expect(stderr).toMatch(/NO_WORKER: Attempt .*:tpu:1 waited 1s on queue \S+@tpu and no worker with tag tpu took it/);
    expect(stderr).toContain('agents-sdk worker --redis <url> --tag tpu');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(agentCalls(world).some((c) => c.prompt === 'route tpu')).toBe(false);
  }, 30_000);

  it('bad tags are named: in a workflow (exit 2) and on a worker (exit 2)', async () => {
    const spec = join(world.root, 'bad-tag.yaml');
    writeFileSync(spec, ['id: bad-tag', 'tasks:', '  - {id: x, prompt: "x", runs_on: ["has space"]}', ''].join('\n'));
    const run = await cli(['run', spec, '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(2);
    expect(String(run.stderr)).toMatch(/runs_on.*must be letters, digits/);
    const worker = await cli(['worker', '--redis', redis.url, '--tag', 'no/slash'], world.env);
    expect(worker.code).toBe(2);
    expect(String(worker.stderr)).toContain('--tag "no/slash"');
  }, 30_000);

  // Last: it stops a worker.
  it("a second SIGTERM hands a worker's running attempt back: its agent is killed and another worker runs the attempt", async () => {
    const spec = join(world.root, 'hand-back.yaml');
    writeFileSync(spec, ['id: hand-back', 'tasks:', '  - {id: moved, prompt: "hand back [[delay:2500]] [[reply:moved on]]", retry_count: 1}', ''].join('\n'));
    const runId = `back-${Date.now()}`;
    const run = cliProcess(['run', spec, '--run-id', runId, '--json', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    const startedOn = () => workers.find((w) => w.output().includes(`started ${runId}:moved:1`));
    await waitUntil('the attempt to start', () => startedOn() !== undefined);
    const leaving = startedOn()!;
    const staying = workers.find((w) => w !== leaving)!;
    // Its agent runs (it has logged its call).
    await waitUntil('its agent to start', () => agentCalls(world).some((c) => c.prompt.startsWith('hand back') && c.marker === leaving.marker));
    leaving.child.kill('SIGTERM');
    await leaving.waitFor(/stopping, finishing running attempts \(1\)/);
    leaving.child.kill('SIGTERM');
    const exited = await leaving.child;
    expect(exited.exitCode).toBe(0);
    expect(leaving.output()).toContain(`handed-back ${runId}:moved:1`);
    const done = await run;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    // The same attempt (1 of 1), run again from its start by the other worker.
    expect(JSON.parse(String(done.stdout))).toMatchObject({ success: true, taskResults: [{ output: 'moved on', attempts: 1 }] });
    expect(staying.output()).toContain(`finished ${runId}:moved:1 ok`);
    const calls = agentCalls(world).filter((c) => c.prompt.startsWith('hand back'));
    expect(calls.map((c) => c.marker)).toEqual([leaving.marker, staying.marker]);
    workers.splice(workers.indexOf(leaving), 1);
  }, 60_000);
});
