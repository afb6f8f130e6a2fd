/**
 * XState inspection: every actor of a run and of a session is handed to the inspector
 * (what @statelyai/inspect plugs into).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSession, WorkflowOrchestrator, createReplayExecutor } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('inspection', () => {
  it('hands every actor of a run to an XState inspector (what @statelyai/inspect plugs into)', async () => {
    const actors = new Set<string>();
    const events: string[] = [];
    const o = new WorkflowOrchestrator(null, {
      executor: createReplayExecutor('examples/recordings/plan-build', { speed: 0 }),
      stateDir: world.stateDir,
      inspect: (e) => {
        if (e.type === '@xstate.actor') actors.add((e.actorRef as unknown as { id: string }).id);
        if (e.type === '@xstate.event') events.push(e.event.type);
      },
    });
    await o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] });
    expect([...actors]).toEqual(expect.arrayContaining(['plan', 'build']));
    expect(events).toEqual(expect.arrayContaining(['SESSION.EVENT', 'EXECUTOR.DONE']));

    const seen: string[] = [];
    const s = new AgentSession({ agentName: 'a', context: { env: world.env, stateDir: world.stateDir }, inspect: (e) => seen.push(e.type) });
    await s.execute('hi');
    expect(seen).toContain('@xstate.snapshot');
  });
});
