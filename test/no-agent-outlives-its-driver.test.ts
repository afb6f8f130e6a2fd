/**
 * Issue 20, defect 1: when the process that started an agent dies (kill -9 of an orchestrator
 * or of an `agents-sdk worker`), the agent's whole process tree ends within 2 s: its guardian
 * (src/actors/process-guardian.ts) ends the groups it was given once its pipe from the driver
 * closes. Real processes, real kill -9, the fake `claude` and a real redis-server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groupMembers } from '../src/actors/process-registry.js';
import { cliProcess } from './helpers/cli.js';
import { fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { guardianOf } from './helpers/guardian.js';
import { startRedis, startWorkerProcess, waitUntil, type TestRedis } from './helpers/redis.js';

/** What the requirement allows between the driver's death and the end of its agents' trees. */
const DEADLINE_MS = 2_000;

let world: FakeWorld | undefined;
let redis: TestRedis | undefined;
const groups: number[] = [];
afterEach(async () => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  await redis?.stop();
  redis = undefined;
  world?.cleanup();
  world = undefined;
});

/** The agents the fake has started for these prompts, once each has started its child: their groups' members. */
async function agentTrees(w: FakeWorld, prompts: string[]): Promise<Map<number, number[]>> {
  const trees = new Map<number, number[]>();
  await waitUntil('the agents and their children to start', () => {
    for (const prompt of prompts) {
      const call = w.invocations().find((c) => String(c.prompt).startsWith(prompt));
      if (!call) return false;
      const pgid = call.pid as number;
      const members = groupMembers(pgid) ?? [];
      // The fake and the child it started in its group (`[[hang-child]]`).
      if (members.length < 2) return false;
      trees.set(pgid, members);
    }
    return true;
  });
  for (const pgid of trees.keys()) groups.push(pgid);
  return trees;
}

/** Polls until every pid is gone; returns how long that took after `since`. */
async function goneWithin(pids: number[], since: number): Promise<number> {
  const until = since + DEADLINE_MS;
  while (pids.some(isAlive)) {
    if (Date.now() > until) throw new Error(`still running ${DEADLINE_MS} ms after the kill: ${pids.filter(isAlive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - since;
}

describe('no agent outlives the process that started it', () => {
  it('kill -9 of a local run: every agent and the children it started end within 2 s, one that ignores SIGTERM too', async () => {
    world = fakeWorld();
    const spec = join(world.root, 'orphans.yaml');
    writeFileSync(
      spec,
      [
        'id: orphans',
        'max_parallel: 2',
        'tasks:',
        '  - {id: polite, prompt: "polite [[hang-child]]"}',
        '  - {id: stubborn, prompt: "stubborn [[hang-child]] [[ignore-sigterm]]"}',
        '',
      ].join('\n'),
    );
    const run = cliProcess(['run', spec, '--run-id', 'orphans', '--state-dir', world.stateDir], { env: world.env });
    const trees = await agentTrees(world, ['polite', 'stubborn']);
    run.kill('SIGKILL');
    const killedAt = Date.now();
    await run;
    const pids = [...trees.values()].flat();
    expect(pids.length).toBeGreaterThanOrEqual(4);
    const tookMs = await goneWithin(pids, killedAt);
    expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS);
  }, 60_000);

  it('kill -9 of an agents-sdk worker while it runs an attempt: its agent and the agent\'s children end within 2 s', async () => {
    world = fakeWorld();
    redis = await startRedis();
    const queue = `orphans${process.pid}`;
    const worker = await startWorkerProcess(redis.url, queue, world, 'doomed');
    const spec = join(world.root, 'remote.yaml');
    writeFileSync(spec, ['id: remote', 'tasks:', '  - {id: long, prompt: "remote long [[hang-child]]"}', ''].join('\n'));
    const run = cliProcess(['run', spec, '--run-id', 'remote', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    try {
      await worker.waitFor(/started remote:long:1/);
      const trees = await agentTrees(world, ['remote long']);
      worker.child.kill('SIGKILL');
      const killedAt = Date.now();
      await worker.child;
      const tookMs = await goneWithin([...trees.values()].flat(), killedAt);
      expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS);
    } finally {
      run.kill('SIGKILL');
      await run;
    }
  }, 60_000);

  it('a driver that ends normally takes its guardian with it', async () => {
    world = fakeWorld();
    const spec = join(world.root, 'quick.yaml');
    writeFileSync(spec, ['id: quick', 'tasks:', '  - {id: q, prompt: "quick [[hang-child]]", timeout: 2, retry_count: 1}', ''].join('\n'));
    const run = cliProcess(['run', spec, '--run-id', 'quick', '--state-dir', world.stateDir], { env: world.env });
    await agentTrees(world, ['quick']);
    const guardian = guardianOf(run.pid!);
    await run;
    expect(guardian).not.toBeNull();
    await waitUntil('the guardian to exit', () => !isAlive(guardian!), 5_000);
  }, 60_000);
});
