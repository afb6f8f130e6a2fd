/**
 * `list --status --workflow --since --limit` and `prune --older-than [--status] [--dry-run]`:
 * choosing runs by what they are and how old, and deleting old ones whole, never a live one;
 * on both backends.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneRuns, validateWorkflow, type RunCheckpoint, type StateBackend } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { backendFactories, type BackendFactory } from './helpers/backends.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
const open: StateBackend[] = [];
const releases: Array<() => Promise<void>> = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  for (const release of releases.splice(0)) await release();
  for (const backend of open.splice(0)) await backend.close();
  world.cleanup();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function checkpoint(runId: string, workflowId: string, status: RunCheckpoint['status'], agoMs: number): RunCheckpoint {
  const workflow = validateWorkflow({ id: workflowId, tasks: [{ id: 't', command: ['true'] }] });
  const at = Date.now() - agoMs;
  return { schemaVersion: STATE_SCHEMA_VERSION, runId, workflowId, status, workflow, startedAt: at - 60_000, updatedAt: at, records: [] };
}

/**
 * Stored runs: `fresh` (completed 3 h ago, workflow build), `week` (failed 2 days ago, build),
 * `old` (completed 40 days ago, deploy), `oldcancel` (cancelled 40 days ago, build),
 * `crashed` (running 40 days ago, nothing drives it: interrupted), `live` (running since 40
 * days ago, its lock held by this process); each with a raw output directory.
 */
async function seed(factory: BackendFactory): Promise<StateBackend> {
  const backend = await factory.create(world.stateDir);
  open.push(backend);
  const runs = [
    checkpoint('fresh', 'build', 'completed', 3 * HOUR),
    checkpoint('week', 'build', 'failed', 2 * DAY),
    checkpoint('old', 'deploy', 'completed', 40 * DAY),
    checkpoint('oldcancel', 'build', 'cancelled', 40 * DAY),
    checkpoint('crashed', 'build', 'running', 40 * DAY),
    checkpoint('live', 'deploy', 'running', 40 * DAY),
  ];
  for (const run of runs) {
    await backend.saveCheckpoint(run.runId, run);
    mkdirSync(join(world.stateDir, run.runId, 't'), { recursive: true });
    writeFileSync(join(world.stateDir, run.runId, 't', 'raw_output.jsonl'), '{}\n');
  }
  releases.push(await backend.lockRun('live'));
  return backend;
}

const idsOf = (stdout: string) => (JSON.parse(stdout) as Array<{ runId: string }>).map((r) => r.runId).sort();

describe.each(backendFactories())('list filters and prune ($name)', (factory) => {
  const backendName = factory.name.startsWith('Sqlite') ? 'sqlite' : 'json';
  const state = () => ['--state-dir', world.stateDir, '--backend', backendName];

  it('list --status, --workflow, --since (a duration or an ISO date) and --limit', async () => {
    await seed(factory);
    const list = async (...args: string[]) => {
      const out = await cli(['list', '--json', ...args, ...state()]);
      expect(out.code, out.stderr).toBe(0);
      return idsOf(out.stdout);
    };
    expect(await list()).toEqual(['crashed', 'fresh', 'live', 'old', 'oldcancel', 'week']);
    expect(await list('--status', 'completed')).toEqual(['fresh', 'old']);
    expect(await list('--status', 'interrupted')).toEqual(['crashed']);
    expect(await list('--status', 'running')).toEqual(['live']);
    expect(await list('--status', 'failed,cancelled')).toEqual(['oldcancel', 'week']);
    expect(await list('--status', 'failed', '--status', 'completed')).toEqual(['fresh', 'old', 'week']);
    expect(await list('--workflow', 'deploy')).toEqual(['live', 'old']);
    expect(await list('--since', '1d')).toEqual(['fresh']);
    expect(await list('--since', '7d', '--workflow', 'build')).toEqual(['fresh', 'week']);
    const threeDaysAgo = new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10);
    expect(await list('--since', threeDaysAgo)).toEqual(['fresh', 'week']);
    // The newest first: --limit keeps the newest.
    expect(await list('--limit', '2')).toEqual(['fresh', 'week']);

    const table = await cli(['list', '--status', 'completed', '--workflow', 'nothing', ...state()]);
    expect(table.stdout).toBe('no runs match\n');
    const bad = await cli(['list', '--since', 'yesterday', ...state()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be a duration such as 2h, 7d or 30m, or an ISO date such as 2026-12-01 or 2026-12-01T08:00:00Z, got "yesterday"');
    const badStatus = await cli(['list', '--status', 'done', ...state()]);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('--status must be one of running, interrupted, completed, failed, cancelled, budget_exceeded, unreadable, got "done"');
  });

  it('prune --older-than deletes whole old runs, never a live one; --dry-run and --status choose', async () => {
    await seed(factory);
    const dry = await cli(['prune', '--older-than', '30d', '--dry-run', ...state()]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^would delete run old \(workflow deploy, completed, last written 20\d\d-[\d-]+T[\d:]+Z\)$/m);
    expect(dry.stdout).toContain('would delete run oldcancel (workflow build, cancelled');
    expect(dry.stdout).toContain('would delete run crashed (workflow build, interrupted');
    expect(dry.stdout).toContain('kept run live (workflow deploy): a live process drives it');
    expect(dry.stdout).toContain('dry run: 3 runs would delete (older than 30d), 1 live kept');
    expect(idsOf((await cli(['list', '--json', ...state()])).stdout)).toHaveLength(6);

    const completedOnly = await cli(['prune', '--older-than', '30d', '--status', 'completed', ...state()]);
    expect(completedOnly.code, completedOnly.stderr).toBe(0);
    expect(completedOnly.stdout).toMatch(/^deleted run old \(workflow deploy, completed, /m);
    expect(completedOnly.stdout).toContain('1 run deleted (older than 30d)');
    expect(existsSync(join(world.stateDir, 'old'))).toBe(false);

    const rest = await cli(['prune', '--older-than', '30d', ...state()]);
    expect(rest.stdout).toContain('deleted run oldcancel');
    expect(rest.stdout).toContain('deleted run crashed');
    expect(rest.stdout).toContain('kept run live (workflow deploy): a live process drives it');
    expect(rest.stdout).toContain('2 runs deleted (older than 30d), 1 live kept');
    expect(idsOf((await cli(['list', '--json', ...state()])).stdout)).toEqual(['fresh', 'live', 'week']);
    for (const gone of ['oldcancel', 'crashed']) expect(existsSync(join(world.stateDir, gone))).toBe(false);
    expect(existsSync(join(world.stateDir, 'live', 't', 'raw_output.jsonl'))).toBe(true);
    expect(existsSync(join(world.stateDir, 'week', 't', 'raw_output.jsonl'))).toBe(true);
  });

  it('pruneRuns (the library) measures age against the now it is given, and keeps the live run', async () => {
    const backend = await seed(factory);
    const result = await pruneRuns(backend, { olderThanMs: 30 * DAY, statuses: ['completed'], stateDir: world.stateDir, now: Date.now() + 60 * DAY });
    expect(result.deleted.map((r) => r.runId).sort()).toEqual(['fresh', 'old']);
    expect(result.live).toEqual([]);
    expect(existsSync(join(world.stateDir, 'fresh'))).toBe(false);
    expect(await backend.loadRun('live')).toBeDefined();
  });
});

describe('prune: bad input', () => {
  it('needs --older-than, takes durations, and never prunes running runs', async () => {
    const missing = await cli(['prune', '--state-dir', world.stateDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('prune: --older-than <duration> is required (e.g. --older-than 30d)');
    const bad = await cli(['prune', '--older-than', '30 days', '--state-dir', world.stateDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than must be a duration such as 30d, 12h or 2w, got "30 days"');
    const running = await cli(['prune', '--older-than', '1d', '--status', 'running', '--state-dir', world.stateDir]);
    expect(running.code).toBe(2);
    expect(running.stderr).toContain('a run that a live process drives is never pruned');
  });
});
