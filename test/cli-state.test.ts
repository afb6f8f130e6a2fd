import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, type RunSummary, type WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const REPLAY = ['--replay', 'examples/recordings/plan-build', '--replay-speed', '0'];

async function replayRun(runId: string, backend = 'json'): Promise<WorkflowResult> {
  const run = await cli(['run', 'examples/plan-build.yaml', ...REPLAY, '--run-id', runId, '--json', '--state-dir', world.stateDir, '--backend', backend]);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as WorkflowResult;
}

describe.each(['json', 'sqlite'])('state commands on the %s backend', (backend) => {
  const state = () => ['--state-dir', world.stateDir, '--backend', backend];

  it('list shows runs with their progress, status shows a row per task', async () => {
    expect((await cli(['list', ...state()])).stdout).toBe('no runs\n');
    await replayRun('first', backend);
    const list = await cli(['list', ...state()]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^run\s+workflow\s+status\s+started\s+tasks\s+cost$/);
    expect(list.stdout).toMatch(/first\s+plan-build\s+completed\s+\S+\s+2\/2\s+\$0\.\d{4}/);
    const json = JSON.parse((await cli(['list', '--json', ...state()])).stdout) as RunSummary[];
    expect(json[0]).toMatchObject({ runId: 'first', workflowId: 'plan-build', status: 'completed', tasksDone: 2, tasksTotal: 2 });

    const status = await cli(['status', 'first', ...state()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('run first of workflow plan-build: completed');
    expect(status.stdout).toMatch(/plan\s+completed\s+1/);
    expect(status.stdout).toMatch(/build\s+completed\s+1/);
    expect(JSON.parse((await cli(['status', 'first', '--json', ...state()])).stdout).records).toHaveLength(2);
  });

  it('resume of a finished run prints its result and runs nothing; unknown ids are exit 2', async () => {
    const first = await replayRun('done', backend);
    const again = await cli(['resume', 'done', '--json', ...state()]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(first);
    expect(again.stderr).toContain('already finished');
    const unknown = await cli(['resume', 'nope', ...state()]);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('Unknown run id "nope"')]);
    expect((await cli(['status', 'nope', ...state()])).code).toBe(2);
    expect((await cli(['status', '../etc', ...state()])).code).toBe(2);
    expect((await cli(['resume', ...state()])).code).toBe(2);
  });

  it('a new run under the id of a finished one is refused: it says the run finished and asks for another id (exit 2)', async () => {
    await replayRun('taken', backend);
    const run = await cli(['run', 'examples/plan-build.yaml', ...REPLAY, '--run-id', 'taken', ...state()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'agents-sdk: RUN_EXISTS: Run taken already exists and has finished (completed); start the workflow under another run id (--run-id), ' +
        'or see that run with agents-sdk status taken\n',
    );
    expect(run.stderr).not.toContain('LOCKED');
    expect(run.stderr).not.toContain('resume');
  });

  it('status --json has the times of the run and of each task, and where each agent\'s raw output is', async () => {
    const result = await replayRun('timed', backend);
    const status = JSON.parse((await cli(['status', 'timed', '--json', ...state()])).stdout) as {
      startedAt: number;
      updatedAt: number;
      endedAt: number;
      durationMs: number;
      records: Array<{ taskId: string; startedAt: number; endedAt: number; durationMs: number; rawOutput: string }>;
    };
    expect(status).toMatchObject({ runId: 'timed', status: 'completed', durationMs: result.totalTimeMs });
    expect(status.endedAt).toBe(status.updatedAt);
    expect(status.startedAt).toBeLessThanOrEqual(status.endedAt);
    for (const record of status.records) {
      const task = result.taskResults.find((t) => t.taskId === record.taskId)!;
      expect([record.startedAt, record.endedAt, record.durationMs]).toEqual([Date.parse(task.startedAt!), Date.parse(task.endedAt!), task.durationMs]);
      expect(record.rawOutput).toBe(join(world.stateDir, 'timed', record.taskId, 'raw_output.jsonl'));
      expect(existsSync(record.rawOutput)).toBe(true);
    }
  });

  it('status prints where each agent task\'s raw output is', async () => {
    await replayRun('files', backend);
    const status = await cli(['status', 'files', ...state()]);
    expect(status.stdout).toMatch(/ended \S+ \(\d+\.\ds\)/);
    expect(status.stdout).toContain('raw output of each agent');
    for (const task of ['plan', 'build']) {
      expect(status.stdout).toMatch(new RegExp(`\\n  ${task}\\s+#1\\s+succeeded\\s+${join(world.stateDir, 'files', task, 'raw_output.jsonl')}\\n`));
    }
  });
});

describe('resume refusals (json backend)', () => {
  it('refuses a checkpoint from a newer schema, and names a corrupt checkpoint file', async () => {
    await replayRun('old');
    const file = join(world.stateDir, 'old', 'checkpoint.json');
    const checkpoint = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...checkpoint, status: 'running', schemaVersion: 99 }));
    const newer = await cli(['resume', 'old', '--state-dir', world.stateDir]);
    expect(newer.code).toBe(2);
    expect(newer.stderr).toContain('schema version 99');
    // a finished run from a newer schema is not "already finished": it is unreadable
    writeFileSync(file, JSON.stringify({ ...checkpoint, schemaVersion: 99 }));
    const finished = await cli(['resume', 'old', '--state-dir', world.stateDir]);
    expect(finished.code).toBe(2);
    expect(finished.stderr).not.toContain('already finished');
    // no schema version at all is damage, not a newer version
    const { schemaVersion: _dropped, ...unversioned } = checkpoint as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...unversioned, status: 'running' }));
    const missing = await cli(['resume', 'old', '--state-dir', world.stateDir]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('CORRUPT_STATE')]);
    writeFileSync(file, '{"truncated": ');
    const corrupt = await cli(['resume', 'old', '--state-dir', world.stateDir]);
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe('{"truncated": ');
  });

  it('list shows a damaged run as unreadable, with why, instead of hiding it', async () => {
    await replayRun('fine');
    await replayRun('broken');
    const file = join(world.stateDir, 'broken', 'checkpoint.json');
    writeFileSync(file, '{"truncated": ');
    const list = await cli(['list', '--state-dir', world.stateDir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/fine\s+plan-build\s+completed/);
    expect(list.stdout).toMatch(/broken\s+-\s+unreadable/);
    expect(list.stdout).toContain(`run broken is unreadable (CORRUPT_STATE): `);
    expect(list.stdout).toContain(file);
    // present but unreadable (a directory where the file should be) is damage too
    await replayRun('odd');
    rmSync(join(world.stateDir, 'odd', 'checkpoint.json'));
    mkdirSync(join(world.stateDir, 'odd', 'checkpoint.json'));
    expect((await cli(['list', '--state-dir', world.stateDir])).stdout).toMatch(/odd\s+-\s+unreadable/);
    rmSync(join(world.stateDir, 'odd'), { recursive: true });
    const json = JSON.parse((await cli(['list', '--json', '--state-dir', world.stateDir])).stdout) as Array<{ runId: string; status: string }>;
    expect(json.map((r) => [r.runId, r.status]).sort()).toEqual([
      ['broken', 'unreadable'],
      ['fine', 'completed'],
    ]);
  });

  it('a run locked on another host: LOCKED says so, resume --force takes it over', async () => {
    await replayRun('moved');
    const file = join(world.stateDir, 'moved', 'checkpoint.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), status: 'running' }));
    writeFileSync(join(world.stateDir, 'moved', 'run.lock'), JSON.stringify({ pid: 4242, host: 'old-container', acquiredAt: Date.now() }));
    const refused = await cli(['resume', 'moved', '--state-dir', world.stateDir, ...REPLAY]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('resume moved --force');
    const forced = await cli(['resume', 'moved', '--force', '--json', '--state-dir', world.stateDir, ...REPLAY]);
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.stdout) as WorkflowResult).status).toBe('completed');
    expect(existsSync(join(world.stateDir, 'moved', 'run.lock'))).toBe(false);
  });

  it('a new run under the id of an interrupted one says to resume it, or to choose another id', async () => {
    await replayRun('halfway');
    const file = join(world.stateDir, 'halfway', 'checkpoint.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), status: 'running' }));
    const run = await cli(['run', 'examples/plan-build.yaml', ...REPLAY, '--run-id', 'halfway', '--state-dir', world.stateDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('RUN_EXISTS: Run halfway already exists and has not finished (interrupted); continue it with agents-sdk resume halfway');
  });

  it('resume of an unknown run id leaves nothing behind', async () => {
    const run = await cli(['resume', 'ghost', '--state-dir', world.stateDir]);
    expect(run.code).toBe(2);
    expect(existsSync(join(world.stateDir, 'ghost'))).toBe(false);
  });

  it('refuses a run another live process drives', async () => {
    await replayRun('busy');
    const file = join(world.stateDir, 'busy', 'checkpoint.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), status: 'running' }));
    writeFileSync(join(world.stateDir, 'busy', 'run.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), acquiredAt: Date.now() }));
    const run = await cli(['resume', 'busy', '--state-dir', world.stateDir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('LOCKED');
    expect(run.stderr).toContain(`pid ${process.ppid}`);
  });

  it('rejects an unknown backend', async () => {
    const run = await cli(['list', '--backend', 'postgres', '--state-dir', world.stateDir]);
    expect([run.code, run.stderr]).toEqual([2, expect.stringContaining('--backend must be json or sqlite')]);
  });
});

describe('agents-sdk migrate', () => {
  function adwDir(): string {
    const from = join(world.root, 'adw-agents');
    for (const [id, state] of Object.entries({
      a1b2c3d4: { adw_id: 'a1b2c3d4', issue_number: '12', branch_name: 'feat-12', plan_file: 'specs/12.md' },
      e5f6a7b8: { adw_id: 'e5f6a7b8', issue_number: '13' },
    })) {
      mkdirSync(join(from, id), { recursive: true });
      writeFileSync(join(from, id, 'adw_state.json'), JSON.stringify(state));
    }
    mkdirSync(join(from, 'broken1'));
    writeFileSync(join(from, 'broken1', 'adw_state.json'), '{nope');
    mkdirSync(join(from, 'not-a-run'));
    return from;
  }

  it('--dry-run prints what it would import and changes nothing', async () => {
    const from = adwDir();
    const dry = await cli(['migrate', '--from', from, '--dry-run', '--state-dir', world.stateDir]);
    expect(dry.stdout).toContain(`would import ${join(from, 'a1b2c3d4', 'adw_state.json')} as adw/a1b2c3d4`);
    expect(dry.stdout).toContain('dry run: 2 would import, 1 skipped');
    expect(dry.stderr).toContain('broken1');
    expect(dry.code).toBe(1);
    expect(await new JsonStateBackend(world.stateDir).load('adw/a1b2c3d4')).toBeUndefined();
    // not even a SQLite database is created
    const sqliteDir = join(world.root, 'sqlite-state');
    const sqliteDry = await cli(['migrate', '--from', from, '--dry-run', '--backend', 'sqlite', '--state-dir', sqliteDir]);
    expect(sqliteDry.stdout).toContain('dry run: 2 would import, 1 skipped');
    expect(existsSync(sqliteDir)).toBe(false);
  });

  it('imports every adw_state.json with a schema_version', async () => {
    const from = adwDir();
    const run = await cli(['migrate', '--from', from, '--state-dir', world.stateDir]);
    expect(run.stdout).toContain('2 imported, 1 skipped');
    const stored = (await new JsonStateBackend(world.stateDir).load('adw/a1b2c3d4')) as Record<string, unknown>;
    expect(stored).toMatchObject({ schema_version: 1, state: { adw_id: 'a1b2c3d4', branch_name: 'feat-12' } });
  });

  it("refuses to import into ADW's own directory: the default --state-dir agents with --from agents, or the same directory spelled otherwise", async () => {
    const refused = await cli(['migrate', '--from', 'agents'], { AGENTS_SDK_STATE_DIR: '' });
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('is the --from directory')]);
    expect(refused.stderr).toContain('--state-dir .agents-sdk');
    const from = adwDir();
    const same = await cli(['migrate', '--from', from, '--state-dir', `${from}/`]);
    expect(same.code).toBe(2);
    expect(await new JsonStateBackend(from).load('adw/a1b2c3d4')).toBeUndefined();
    expect((await cli(['migrate', '--from', from, '--dry-run', '--state-dir', join(from, '..', 'adw-agents')])).code).toBe(2);
  });

  it('needs a readable --from directory', async () => {
    expect((await cli(['migrate', '--state-dir', world.stateDir])).code).toBe(2);
    const missing = await cli(['migrate', '--from', join(world.root, 'nowhere'), '--state-dir', world.stateDir]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('Cannot read --from directory')]);
  });
});
