/**
 * The JSON state backend under pressure: parallel saves of one key all land, and a lock left by a
 * dead process with this process's pid (a restarted container) is taken over.
 */
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint } from './helpers/records.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());


describe('state', () => {
  it('parallel saves of one key all land, and the file stays whole', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => backend.save('k', { i })));
    expect(((await backend.load('k')) as { i: number }).i).toBe(19);
  });

  it("takes over a lock left by a dead process that had this process's pid (a restarted container)", async () => {
    const backend = new JsonStateBackend(world.stateDir);
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    writeFileSync(join(world.stateDir, 'r', 'run.lock'), JSON.stringify({ pid: process.pid, host: hostname(), acquiredAt: 1, token: 'previous-life' }));
    const release = await backend.lockRun('r');
    await release();
  });
});
