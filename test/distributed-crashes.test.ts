/**
 * Issue 15: what happens to attempts on workers when a process dies or the run is cancelled.
 * The orchestrator and the workers are separate processes (the built CLI), Redis is a real
 * redis-server, the agent the fake `claude`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { agentCalls, childrenOf, useRedisWorkers, waitUntil, type TestRedis } from './helpers/redis.js';

interface StoredRun {
  status: string;
  tasks: Record<string, { status: string; attempts: number; attemptLog?: Array<{ status: string; error: { code: string; message: string } | null }> }>;
}

describe('attempts on workers survive crashes', () => {
  // A short lock: a killed worker is noticed within seconds (the default is 30 s).
  const workerArgs = ['--concurrency', '2', '--lock-duration', '2000'];
  // FAKE_CLAUDE_EXIT_WITH_PARENT: an agent dies with its worker, as on a crashed machine.
  const env = { FAKE_CLAUDE_EXIT_WITH_PARENT: '1' };
  const setup = useRedisWorkers(`crash${process.pid}`, [
    { marker: 'w1', args: workerArgs, env },
    { marker: 'w2', args: workerArgs, env },
  ]);
  const { queue, workers } = setup;
  let redis: TestRedis;
  let world: FakeWorld;
  beforeAll(() => ({ redis, world } = setup));

  const status = async (runId: string): Promise<StoredRun> => {
    const shown = await cli(['status', runId, '--json', '--state-dir', world.stateDir], world.env);
    expect(shown.code, shown.stderr).toBe(0);
    const run = JSON.parse(String(shown.stdout)) as { status: string; records: Array<StoredRun['tasks'][string] & { taskId: string }> };
    return { status: run.status, tasks: Object.fromEntries(run.records.map((t) => [t.taskId, t])) };
  };

  it('kill -9 the orchestrator while attempts run on workers: resume re-attaches, takes what finished meanwhile, runs nothing twice', async () => {
    const spec = join(world.root, 'crash-orchestrator.yaml');
    writeFileSync(
      spec,
      [
        'id: crash-orchestrator',
        'max_parallel: 4',
        'tasks:',
        '  - {id: a, prompt: "orch a [[reply:A]]"}',
        '  - {id: quick, prompt: "orch quick [[delay:400]] [[reply:Q]]", depends_on: [a]}',
        '  - {id: slow, prompt: "orch slow [[delay:3500]] [[reply:S]]", depends_on: [a]}',
        '  - {id: last, prompt: "orch last {{tasks.quick.output}} {{tasks.slow.output}} [[echo]]", depends_on: [quick, slow]}',
        '',
      ].join('\n'),
    );
    const runId = `orch-${Date.now()}`;
    const args = ['--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir];
    const first = cliProcess(['run', spec, '--run-id', runId, ...args], { env: world.env });
    const started = (task: string) => workers.some((w) => w.output().includes(`started ${runId}:${task}:1`));
    const finished = (task: string) => workers.some((w) => w.output().includes(`finished ${runId}:${task}:1`));
    await waitUntil('quick and slow to start on workers', () => started('quick') && started('slow'));
    first.kill('SIGKILL');
    await first;
    // While the orchestrator is down, `quick` finishes on its worker; `slow` still runs.
    await waitUntil('quick to finish while the orchestrator is down', () => finished('quick'));
    expect(finished('slow')).toBe(false);

    // Another queue would not find their jobs: refused, naming the run's queue.
    const elsewhere = await cli(['resume', runId, '--queue', 'other', '--state-dir', world.stateDir], world.env);
    expect(elsewhere.code).toBe(2);
    expect(String(elsewhere.stderr)).toContain(`ran its attempts on queue "${queue}", not "other"`);

    // The plain resume command (as a run prints it) re-attaches through the Redis and queue the run stored.
    const resumed = await cliProcess(['resume', runId, '--json', '--state-dir', world.stateDir], { env: world.env });
    expect(resumed.exitCode, String(resumed.stderr)).toBe(0);
    expect(String(resumed.stderr)).toContain(`resuming run ${runId} as it was started: --redis ${redis.url} --queue ${queue} (--local runs the attempts here instead)`);
    const result = JSON.parse(String(resumed.stdout)) as { success: boolean; taskResults: Array<{ taskId: string; output: string }> };
    expect(result.success).toBe(true);
    expect(result.taskResults.find((t) => t.taskId === 'last')?.output).toContain('orch last Q S');

    // Zero reruns: each prompt reached an agent exactly once.
    const run = await status(runId);
    const prompts = agentCalls(world)
      .map((c) => c.prompt)
      .filter((p) => p.startsWith('orch '));
    expect(prompts.sort(), JSON.stringify(run.tasks)).toEqual(['orch a [[reply:A]]', 'orch last Q S [[echo]]', 'orch quick [[delay:400]] [[reply:Q]]', 'orch slow [[delay:3500]] [[reply:S]]']);
    // The re-attached attempts are recorded as such: the interrupted one, then the one that took its result.
    for (const id of ['quick', 'slow']) {
      expect(run.tasks[id]!.attemptLog!.map((a) => a.status)).toEqual(['interrupted', 'succeeded']);
      // Its stream reached the orchestrator's state dir under the attempt that took it.
      expect(readFileSync(join(world.stateDir, runId, id, 'raw_output.attempt-2.jsonl'), 'utf8')).toContain('"type":"result"');
    }
  }, 60_000);

  it('kill -9 a worker mid-attempt: the attempt fails with WORKER_LOST, is retried on the other worker, and the run completes', async () => {
    const spec = join(world.root, 'crash-worker.yaml');
    writeFileSync(
      spec,
      ['id: crash-worker', 'tasks:', '  - {id: long, prompt: "worker crash [[delay:2500]] [[reply:survived]]", retry_count: 3}', ''].join('\n'),
    );
    const runId = `work-${Date.now()}`;
    const run = cliProcess(['run', spec, '--run-id', runId, '--json', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    await waitUntil('the attempt to start', () => workers.some((w) => w.output().includes(`started ${runId}:long:1`)));
    const victim = workers.find((w) => w.output().includes(`started ${runId}:long:1`))!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.child;
    workers.splice(workers.indexOf(victim), 1);

    const done = await run;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const result = JSON.parse(String(done.stdout)) as { success: boolean; taskResults: Array<{ taskId: string; output: string; attempts: number }> };
    expect(result.success).toBe(true);
    expect(result.taskResults[0]).toMatchObject({ output: 'survived', attempts: 2 });
    const stored = await status(runId);
    const [lost, retried] = stored.tasks.long!.attemptLog!;
    expect(lost).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST' } });
    expect(lost!.error!.message).toMatch(/stopped answering/);
    expect(retried!.status).toBe('succeeded');
    expect(survivor.output()).toContain(`finished ${runId}:long:2 ok`);
    // The progress lines said why the task was retried.
    expect(String(done.stderr)).toMatch(/attempt 1 failed \(WORKER_LOST/);

    // One worker is left for the tests after this one.
  }, 60_000);

  it('cancel (Ctrl-C) of a run: its workers kill the agents’ process trees and the run ends cancelled', async () => {
    const spec = join(world.root, 'cancel.yaml');
    writeFileSync(spec, ['id: cancel-remote', 'tasks:', '  - {id: stuck, prompt: "cancel me [[hang-child]]"}', ''].join('\n'));
    const runId = `cancel-${Date.now()}`;
    const run = cliProcess(['run', spec, '--run-id', runId, '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    await waitUntil('the agent to start', () => agentCalls(world).some((c) => c.prompt === 'cancel me [[hang-child]]'));
    const agent = agentCalls(world).find((c) => c.prompt === 'cancel me [[hang-child]]')!;
    await waitUntil('the agent to spawn its child', () => childrenOf(agent.pid).length > 0);
    const [grandchild] = childrenOf(agent.pid);
    expect(isAlive(agent.pid) && isAlive(grandchild!)).toBe(true);

    run.kill('SIGINT');
    const done = await run;
    expect(done.exitCode).not.toBe(0);
    expect(String(done.stderr)).toMatch(/cancel/i);
    await waitUntil('the agent and its child to be killed', () => !isAlive(agent.pid) && !isAlive(grandchild!), 15_000);
    await waitUntil('its worker to report the attempt', () => workers.some((w) => w.output().includes(`finished ${runId}:stuck:1 failed`)));
    const stored = await status(runId);
    expect(stored.tasks.stuck!.status).toBe('cancelled');
    expect(existsSync(join(world.stateDir, runId))).toBe(true);
  }, 60_000);
  // Last: it stops the last worker.
  it('SIGTERM stops a worker gracefully: it takes no new attempt, finishes the running one, exits 0', async () => {
    const spec = join(world.root, 'sigterm.yaml');
    writeFileSync(spec, ['id: sigterm', 'tasks:', '  - {id: graceful, prompt: "graceful [[delay:1500]] [[reply:finished]]", retry_count: 1}', ''].join('\n'));
    const runId = `term-${Date.now()}`;
    const run = cliProcess(['run', spec, '--run-id', runId, '--json', '--redis', redis.url, '--queue', queue, '--state-dir', world.stateDir], { env: world.env });
    await waitUntil('the attempt to start', () => workers.some((w) => w.output().includes(`started ${runId}:graceful:1`)));
    const stopping = workers.find((w) => w.output().includes(`started ${runId}:graceful:1`))!;
    stopping.child.kill('SIGTERM');
    const done = await run;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(JSON.parse(String(done.stdout))).toMatchObject({ success: true, taskResults: [{ output: 'finished', attempts: 1 }] });
    const exited = await stopping.child;
    expect(exited.exitCode).toBe(0);
    expect(stopping.output()).toMatch(/stopping, finishing running attempts[\s\S]*finished .*:graceful:1 ok/);
    workers.splice(workers.indexOf(stopping), 1);
  }, 60_000);

});
