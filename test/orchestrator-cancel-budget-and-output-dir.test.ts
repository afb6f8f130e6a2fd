/**
 * The orchestrator: a cancel() during set-up still cancels, a last task reaching the budget still
 * completes, and raw outputs sit beside a JSON backend's checkpoints by default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, createReplayExecutor, type ExecutionResult } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { okResult } from './helpers/results.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const OK: ExecutionResult = okResult({ tokens: { input: 1, output: 1, cacheRead: 0, cacheCreation: 0 }, costUsd: 1, durationMs: 1, numTurns: 1 });

describe('orchestrator', () => {
  const replay = () => createReplayExecutor('examples/recordings/plan-build', { speed: 0 });

  it('a cancel() that arrives while the run is being set up still cancels it', async () => {
    const o = new WorkflowOrchestrator({ stateDir: world.stateDir, executor: replay() });
    const run = o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }, { id: 'build', prompt: 'b', depends_on: ['plan'] }] });
    await o.cancel();
    expect((await run).status).toBe('cancelled');
  });

  it('a run whose last task reaches the budget still completes', async () => {
    const o = new WorkflowOrchestrator(null, { executor: async () => OK });
    const result = await o.runWorkflow({ id: 'w', budget_usd: 2, max_parallel: 1, tasks: [{ id: 'a', prompt: 'a' }, { id: 'b', prompt: 'b' }] });
    expect([result.status, result.costUsd]).toEqual(['completed', 2]);
  });

  it("writes raw outputs beside a JSON backend's checkpoints by default", async () => {
    const backend = new JsonStateBackend(join(world.root, 'state'));
    const o = new WorkflowOrchestrator(backend, { executor: replay() });
    await o.runWorkflow({ id: 'w', tasks: [{ id: 'plan', prompt: 'p' }] }, { runId: 'r1' });
    expect(existsSync(join(world.root, 'state', 'r1', 'plan', 'raw_output.jsonl'))).toBe(true);
    expect(existsSync(join(world.root, 'state', 'r1', 'checkpoint.json'))).toBe(true);
  });
});
