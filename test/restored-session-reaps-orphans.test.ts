/**
 * An `AgentSession` restored from a snapshot taken while it was running runs its prompt
 * again, but first kills the agent its previous life left running (that process died, its
 * detached agent did not), so that the prompt never has two agents at once. Only its own:
 * agents other sessions registered in the same run directory are left alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Snapshot } from 'xstate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, type SessionEvent } from '../src/index.js';
import { processRegistryDir, registerProcess } from '../src/actors/process-registry.js';
import { eventually, fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { okResult } from './helpers/results.js';
import { killGuardianOf } from './helpers/guardian.js';

const PREVIOUS_LIFE = fileURLToPath(new URL('./fixtures/session-previous-life/start.mjs', import.meta.url));
const DIST_INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const IDLE = 'setInterval(() => {}, 1000)';

type Reaped = Extract<SessionEvent, { type: 'session.reaped' }>;

let world: FakeWorld;
const groups: number[] = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => {
  for (const pid of groups.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  world.cleanup();
});

/** A detached idle process group, as an agent runs. */
function agentGroup(): ChildProcess {
  const child = spawn(process.execPath, ['-e', IDLE], { detached: true, stdio: 'ignore' });
  groups.push(child.pid!);
  return child;
}

/** The snapshot of a session caught mid-execution (its executor never ends), as its process would have saved it. */
function runningSnapshot(sessionId: string): Snapshot<unknown> {
  const first = new AgentSession({ sessionId, agentName: 'builder', context: { stateDir: world.stateDir, runId: 'run' }, executor: () => new Promise(() => {}) });
  void first.execute('build it').catch(() => undefined);
  const snapshot = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as Snapshot<unknown>;
  first.stop();
  return snapshot;
}

describe('AgentSession restored mid-execution, with agents of its previous life still running', () => {
  it('kills its own before the prompt runs again, reports them, and leaves other sessions’ agents alone', async () => {
    const registry = processRegistryDir(world.stateDir, 'run');
    const orphan = agentGroup();
    const neighbour = agentGroup();
    registerProcess(registry, orphan.pid!, 'claude', { owner: 's1' });
    registerProcess(registry, neighbour.pid!, 'claude', { owner: 's2' });
    const snapshot = runningSnapshot('s1');

    const orphanAliveAtRerun: boolean[] = [];
    const restored = new AgentSession({
      agentName: 'builder',
      snapshot,
      executor: async () => {
        orphanAliveAtRerun.push(isAlive(orphan.pid!));
        return okResult({ output: 'again' });
      },
    });
    const reaped: Reaped[] = [];
    restored.on('session.reaped', (e) => reaped.push(e));
    await expect(restored.settled()).resolves.toMatchObject({ output: 'again' });
    expect(orphanAliveAtRerun).toEqual([false]);
    expect(reaped).toHaveLength(1);
    expect(reaped[0]).toMatchObject({ sessionId: 's1', agentName: 'builder', processes: [{ pid: orphan.pid, command: 'claude', outcome: 'killed' }] });
    expect(isAlive(neighbour.pid!)).toBe(true);
    expect(readdirSync(registry)).toEqual([`${neighbour.pid}.json`]);
  });

  it('a session restored while retrying reaps too; one with nothing left says nothing', async () => {
    const registry = processRegistryDir(world.stateDir, 'run');
    const orphan = agentGroup();
    registerProcess(registry, orphan.pid!, 'claude', { owner: 's1' });
    const snapshot = runningSnapshot('s1') as Snapshot<unknown> & { value: string };
    const retrying = { ...snapshot, value: 'retrying', children: {} };
    const events: string[] = [];
    const restored = new AgentSession({ agentName: 'builder', snapshot: retrying, executor: async () => okResult() });
    restored.onEvent((e) => events.push(e.type));
    await restored.settled();
    expect(isAlive(orphan.pid!)).toBe(false);
    expect(events[0]).toBe('session.reaped');

    const again = new AgentSession({ agentName: 'builder', snapshot, executor: async () => okResult() });
    const more: string[] = [];
    again.onEvent((e) => more.push(e.type));
    await again.settled();
    expect(more).not.toContain('session.reaped');
  });

  it('end to end: the process driving the session is killed -9, its fake claude lives on; the restored session ends it, then reruns', async () => {
    expect(existsSync(DIST_INDEX), 'run `npm run build` first: the previous life loads dist/').toBe(true);
    const prompt = 'build it [[hang-once]]';
    const previous = spawn(process.execPath, [PREVIOUS_LIFE, DIST_INDEX, world.stateDir, 's1', prompt], {
      env: { ...process.env, ...world.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    previous.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => out.includes('\n'), 20_000)).toBe(true);
    const snapshot = JSON.parse(out.split('\n')[0]!) as Snapshot<unknown>;
    expect(await eventually(() => world.invocations().length > 0)).toBe(true);
    // Its guardian dies with it (as when the OOM killer takes both): the agent lives on.
    killGuardianOf(previous.pid!);
    previous.kill('SIGKILL');
    await new Promise((r) => previous.once('exit', r));
    const agent = world.invocations()[0]!.pid as number;
    groups.push(agent);
    expect(isAlive(agent)).toBe(true);

    const restored = new AgentSession({ agentName: 'builder', context: { env: world.env, stateDir: world.stateDir }, snapshot });
    const reaped: Array<{ event: Reaped; launched: number }> = [];
    restored.on('session.reaped', (event) => reaped.push({ event, launched: world.invocations().filter((i) => i.prompt).length }));
    const result = await restored.settled();
    expect(result.success).toBe(true);
    // Reaped before the rerun was launched: only the first run had been started then.
    expect(reaped).toEqual([{ event: expect.objectContaining({ processes: [{ pid: agent, command: expect.stringContaining('claude'), outcome: 'killed' }] }), launched: 1 }]);
    expect(isAlive(agent)).toBe(false);
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(2);
    expect(existsSync(join(world.stateDir, 's1', '.processes'))).toBe(false);
  }, 60_000);
});
