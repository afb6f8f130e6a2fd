/**
 * `resume` takes the run's lock before it reads the run: a run that another live process
 * drives is LOCKED (exit 1), never CORRUPT_STATE because it was read while that process wrote
 * it; of many concurrent resumes, one drives the run and every other one says LOCKED.
 */
import { execa } from 'execa';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { CLI_BIN, cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint, record } from './helpers/records.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const IDS = Array.from({ length: 24 }, (_, i) => `t${i}`);

/** An interrupted run: a checkpoint and some journal records, no live driver. */
async function interruptedRun(runId: string): Promise<void> {
  const backend = new JsonStateBackend(world.stateDir);
  await backend.saveCheckpoint(runId, checkpoint(runId, IDS));
  for (const id of IDS.slice(0, 4)) await backend.saveTaskRecords(runId, [record(id, 'completed')]);
  await backend.close();
}

describe('resume and the run lock', () => {
  it('a run driven by a live process, caught mid-write, is LOCKED, not CORRUPT_STATE, and nothing is changed', async () => {
    await interruptedRun('busy');
    // The driver (our parent, alive) holds the lock, and its journal reads shorter than its
    // extent, as a reader racing its appends and folds could find it.
    writeFileSync(join(world.stateDir, 'busy', 'run.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), acquiredAt: Date.now() }));
    const journal = join(world.stateDir, 'busy', 'journal-1.jsonl');
    truncateSync(journal, readFileSync(journal).length - 10);
    const before = readFileSync(journal);
    const run = await cli(['resume', 'busy', '--state-dir', world.stateDir], world.env);
    expect(run.stderr).toContain('LOCKED');
    expect(run.stderr).not.toContain('CORRUPT_STATE');
    expect(run.code).toBe(1);
    expect(readFileSync(journal).equals(before)).toBe(true);
  });

  it('8 concurrent resumes: one drives the run to its end, the others say LOCKED', { timeout: 120_000 }, async () => {
    await interruptedRun('race');
    const resumes = await Promise.all(
      Array.from({ length: 8 }, () =>
        execa(process.execPath, [CLI_BIN, 'resume', 'race', '--state-dir', world.stateDir], { env: world.env, reject: false, stdin: 'ignore' }),
      ),
    );
    const outcomes = resumes.map((r) => (r.exitCode === 0 ? 'drove' : /LOCKED/.test(String(r.stderr)) ? 'LOCKED' : String(r.stderr)));
    // A loser that starts after the winner has finished finds a finished run: it prints that and exits 0.
    const drove = outcomes.filter((o) => o === 'drove').length;
    expect(drove).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o !== 'drove' && o !== 'LOCKED')).toEqual([]);
    const agents = world.invocations().filter((c) => c.prompt);
    // Every remaining task ran once: never two drivers.
    expect(agents).toHaveLength(IDS.length - 4);
    const backend = new JsonStateBackend(world.stateDir);
    const stored = await backend.loadRun('race');
    await backend.close();
    expect(stored!.status).toBe('completed');
  });
});
