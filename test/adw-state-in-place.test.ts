/**
 * ADW and agents-sdk on one state directory: the JSON backend reads and updates
 * `<state-dir>/<adw_id>/adw_state.json` in place, and a field written by one system is never
 * dropped by the other (ADW's side played by a real python3 process, as ADW writes the file).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let backend: JsonStateBackend;
beforeEach(() => {
  world = fakeWorld();
  backend = new JsonStateBackend(world.stateDir);
});
afterEach(async () => {
  await backend.close();
  world.cleanup();
});

const file = (id: string) => join(world.stateDir, id, 'adw_state.json');

/** What ADW's ADWState.update + save does: load the file, set fields, write it whole. */
async function adwWrites(id: string, fields: Record<string, unknown>): Promise<void> {
  const script = [
    'import json, sys',
    'path, fields = sys.argv[1], json.loads(sys.argv[2])',
    'data = json.load(open(path))',
    'data.update(fields)',
    'json.dump(data, open(path, "w"), indent=2)',
  ].join('\n');
  await execa('python3', ['-c', script, file(id), JSON.stringify(fields)]);
}

describe('adw_state.json in place', () => {
  it('keeps every field either system wrote, ADW types untouched', async () => {
    mkdirSync(join(world.stateDir, 'a1b2c3d4'), { recursive: true });
    const adwState = { adw_id: 'a1b2c3d4', issue_number: '42', branch_name: 'feat-42-dark-mode', issue_class: '/feature', all_adws: ['adw_plan'] };
    writeFileSync(file('a1b2c3d4'), JSON.stringify(adwState, null, 2));

    expect(await backend.loadAdwState('a1b2c3d4')).toEqual(adwState);
    await backend.saveAdwState('a1b2c3d4', { plan_file: 'specs/issue-42-plan.md', agents_sdk_run_id: 'r1' });
    await adwWrites('a1b2c3d4', { all_adws: ['adw_plan', 'adw_build'] });
    const written = await backend.saveAdwState('a1b2c3d4', { agents_sdk_run_id: 'r2', issue_class: undefined });

    const onDisk = JSON.parse(readFileSync(file('a1b2c3d4'), 'utf8')) as Record<string, unknown>;
    expect(onDisk).toEqual(written);
    expect(onDisk).toEqual({
      adw_id: 'a1b2c3d4',
      issue_number: '42',
      branch_name: 'feat-42-dark-mode',
      all_adws: ['adw_plan', 'adw_build'],
      plan_file: 'specs/issue-42-plan.md',
      agents_sdk_run_id: 'r2',
    });
    // ADW's run directories are not agents-sdk runs.
    expect(await backend.listRuns()).toEqual([]);
  });

  it('creates the file with its adw_id; unknown ids read as nothing; a damaged file is named and left as it is', async () => {
    expect(await backend.loadAdwState('fresh01')).toBeUndefined();
    expect(await backend.saveAdwState('fresh01', { issue_number: '7' })).toEqual({ adw_id: 'fresh01', issue_number: '7' });
    expect(JSON.parse(readFileSync(file('fresh01'), 'utf8'))).toEqual({ adw_id: 'fresh01', issue_number: '7' });

    mkdirSync(join(world.stateDir, 'broken1'), { recursive: true });
    writeFileSync(file('broken1'), '{"adw_id": "broken1", ');
    await expect(backend.saveAdwState('broken1', { plan_file: 'x' })).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining(file('broken1')) });
    expect(readFileSync(file('broken1'), 'utf8')).toBe('{"adw_id": "broken1", ');
    writeFileSync(file('broken1'), '[1, 2]');
    await expect(backend.loadAdwState('broken1')).rejects.toMatchObject({ code: 'CORRUPT_STATE' });
    await expect(backend.loadAdwState('../escape')).rejects.toMatchObject({ code: 'INVALID_KEY' });
  });
});
