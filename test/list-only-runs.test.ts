/**
 * `list` shows runs and only runs: a SQLite database beside the JSON runs, a stray file or a
 * folder of saved values is not a corrupt run; and listing creates nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { checkpoint } from './helpers/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-list-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('list', () => {
  it('lists the run directories and ignores a SQLite file, stray files and value folders', async () => {
    const backend = new JsonStateBackend(dir);
    await backend.saveCheckpoint('real-run', checkpoint('real-run', ['a']));
    await backend.save('settings/theme', 'dark');
    await backend.close();
    writeFileSync(join(dir, 'agents.sqlite'), '');
    writeFileSync(join(dir, 'notes.txt'), 'remember the milk');
    mkdirSync(join(dir, 'scratch'));
    const list = await cli(['list', '--state-dir', dir, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ runId: string; status: string }>).map((r) => [r.runId, r.status])).toEqual([['real-run', 'interrupted']]);
  });

  it('still lists a run whose checkpoint is gone (its journal remains) as unreadable', async () => {
    const backend = new JsonStateBackend(dir);
    await backend.saveCheckpoint('damaged', checkpoint('damaged', ['a']));
    await backend.close();
    rmSync(join(dir, 'damaged', 'checkpoint.json'));
    const list = await cli(['list', '--state-dir', dir, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const runs = JSON.parse(list.stdout) as Array<{ runId: string; status: string; problem?: { code: string; message: string } }>;
    expect(runs.map((r) => [r.runId, r.status, r.problem?.code])).toEqual([['damaged', 'unreadable', 'CORRUPT_STATE']]);
    expect(runs[0]!.problem!.message).toContain('checkpoint.json is missing');
  });

  it('creates nothing in a directory it lists', async () => {
    expect((await cli(['list', '--state-dir', dir])).stdout).toBe('no runs\n');
    expect((await cli(['list', '--state-dir', dir, '--backend', 'sqlite'])).stdout).toBe('no runs\n');
    expect(readdirSync(dir)).toEqual([]);
  });
});
