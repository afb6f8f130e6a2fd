/**
 * One contract, every backend: the same suite runs against each StateBackend.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StateBackend } from '../src/index.js';
import { processStartTicks } from '../src/actors/process-registry.js';
import { backendFactories } from './helpers/backends.js';
import { checkpoint, record } from './helpers/records.js';
import { failureOf } from './helpers/failure-of.js';

describe.each(backendFactories())('StateBackend conformance: $name', ({ create, forgeLock, corrupt }) => {
  let dir: string;
  let backend: StateBackend;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agents-sdk-backend-'));
    backend = await create(dir);
  });
  afterEach(async () => {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves and loads values by key, nested keys included', async () => {
    await backend.save('settings', { a: 1 });
    await backend.save('adw/abc123', { issue: 7 });
    expect(await backend.load('settings')).toEqual({ a: 1 });
    expect(await backend.load('adw/abc123')).toEqual({ issue: 7 });
    expect(await backend.load('missing')).toBeUndefined();
    await backend.save('settings', [1, 2]);
    expect(await backend.load('settings')).toEqual([1, 2]);
  });

  it('treats hostile keys safely: __proto__ is just a key, traversal and junk are refused with nothing written', async () => {
    await backend.save('__proto__', { polluted: true });
    expect(await backend.load('__proto__')).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const before = readdirSync(dir).sort();
    for (const key of ['../x', 'a/../../x', '/etc/passwd', '', 'a//b', 'a\0b', 'x'.repeat(201), '.', 'a/./b', '.hidden']) {
      const error = await failureOf(backend.save(key, 1));
      expect(error.code).toBe('INVALID_KEY');
      await failureOf(backend.load(key));
    }
    expect(readdirSync(dir).sort()).toEqual(before);
    expect((await failureOf(backend.saveCheckpoint('../run', checkpoint('x', ['a'])))).code).toBe('INVALID_KEY');
    expect((await failureOf(backend.loadRun('a/b'))).code).toBe('INVALID_KEY');
    expect((await failureOf(backend.lockRun(''))).code).toBe('INVALID_KEY');
    // values and runs share the JSON layout: neither may take the other's file
    const clash = await failureOf(backend.save('r1/checkpoint', { note: 1 }));
    expect([clash.code, clash.message]).toEqual(['INVALID_KEY', expect.stringContaining("run's checkpoint")]);
    expect((await failureOf(backend.saveCheckpoint('foo.json', checkpoint('foo.json', ['a'])))).code).toBe('INVALID_KEY');
    await backend.save('r1/checkpoints', 1);
    expect(await backend.load('r1/checkpoints')).toBe(1);
  });

  it('saves a checkpoint and folds later task records in, O(1) each', async () => {
    await backend.saveCheckpoint('run1', checkpoint('run1', ['a', 'b', 'c']));
    await backend.saveTaskRecords('run1', [record('a', 'running', 0)]);
    await backend.saveTaskRecords('run1', [record('a'), record('b', 'running', 0)]);
    const run = await backend.loadRun('run1');
    expect(run!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'completed'],
      ['b', 'running'],
      ['c', 'pending'],
    ]);
    // the checkpoint alone does not have them
    expect((await backend.loadCheckpoint('run1'))!.records[0]!.status).toBe('pending');
    expect(await backend.loadRun('nope')).toBeUndefined();
    expect(await backend.loadCheckpoint('nope')).toBeUndefined();
  });

  it('keeps every record across many writes (journal folds, a new checkpoint)', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `t${i}`);
    await backend.saveCheckpoint('big', checkpoint('big', ids));
    for (const id of ids) await backend.saveTaskRecords('big', [record(id, 'running', 0)]);
    for (const id of ids) await backend.saveTaskRecords('big', [record(id)]);
    const run = await backend.loadRun('big');
    expect(run!.records).toHaveLength(600);
    expect(run!.records.every((r) => r.status === 'completed')).toBe(true);
    const final = { ...run!, status: 'completed' as const, snapshot: { value: 'finished' } };
    await backend.saveCheckpoint('big', final);
    await backend.saveTaskRecords('big', [record('t0', 'failed')]);
    const again = await backend.loadRun('big');
    expect(again!.snapshot).toEqual({ value: 'finished' });
    expect(again!.records[0]!.status).toBe('failed');
  });

  it('lists runs newest first with their progress, and deletes a run', async () => {
    await backend.saveCheckpoint('old', checkpoint('old', ['a', 'b'], 1000));
    await backend.saveCheckpoint('new', checkpoint('new', ['a'], 2000));
    await backend.saveTaskRecords('old', [record('a', 'completed', 0.5)]);
    const runs = await backend.listRuns();
    expect(runs.map((r) => r.runId)).toEqual(['new', 'old']);
    expect(runs[1]).toMatchObject({ workflowId: 'wf', status: 'running', tasksDone: 1, tasksTotal: 2, costUsd: 0.5 });
    await backend.deleteRun('old');
    expect((await backend.listRuns()).map((r) => r.runId)).toEqual(['new']);
    expect(await backend.loadRun('old')).toBeUndefined();
  });

  it('refuses a lock held by another live process, and takes over one left by a dead process', async () => {
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    const { hostname } = await import('node:os');
    const live = { pid: process.ppid, host: hostname(), acquiredAt: Date.now() };
    await forgeLock(dir, 'r', live);
    const error = await failureOf(backend.lockRun('r'));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`pid ${process.ppid}`);
    await forgeLock(dir, 'r', { ...live, pid: 2 ** 22 + 12345 });
    const release = await backend.lockRun('r');
    await release();
  });

  it('takes over a lock whose pid now belongs to another process (start time differs)', async () => {
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    const { hostname } = await import('node:os');
    const ticks = processStartTicks(process.ppid)!;
    await forgeLock(dir, 'r', { pid: process.ppid, host: hostname(), acquiredAt: Date.now(), startTicks: ticks });
    expect((await failureOf(backend.lockRun('r'))).code).toBe('LOCKED');
    await forgeLock(dir, 'r', { pid: process.ppid, host: hostname(), acquiredAt: Date.now(), startTicks: ticks - 1 });
    await (await backend.lockRun('r'))();
  });

  it('tells who holds a lock without taking it', async () => {
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    expect(await backend.lockHolder('r')).toBeNull();
    const release = await backend.lockRun('r');
    expect(await backend.lockHolder('r')).toMatchObject({ pid: process.pid });
    await release();
    expect(await backend.lockHolder('r')).toBeNull();
    await forgeLock(dir, 'r', { pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), acquiredAt: Date.now() });
    expect(await backend.lockHolder('r')).toBeNull();
    await forgeLock(dir, 'r', { pid: 4242, host: 'elsewhere', acquiredAt: Date.now() });
    expect(await backend.lockHolder('r')).toMatchObject({ host: 'elsewhere' });
  });

  it('a lock from another host cannot be checked: LOCKED says how to take it over, force does', async () => {
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    await forgeLock(dir, 'r', { pid: 4242, host: 'old-container-3f2a', acquiredAt: Date.now() });
    const error = await failureOf(backend.lockRun('r'));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain('old-container-3f2a');
    expect(error.message).toContain('agents-sdk resume r --force');
    const release = await backend.lockRun('r', { force: true });
    await release();
    // force never overrides a live holder on this host
    const { hostname } = await import('node:os');
    await forgeLock(dir, 'r', { pid: process.ppid, host: hostname(), acquiredAt: Date.now() });
    expect((await failureOf(backend.lockRun('r', { force: true }))).code).toBe('LOCKED');
  });

  it("releasing a lock that was taken over meanwhile leaves the new holder's lock alone", async () => {
    await backend.saveCheckpoint('r', checkpoint('r', ['a']));
    const release = await backend.lockRun('r');
    await forgeLock(dir, 'r', { pid: 4242, host: 'elsewhere', acquiredAt: Date.now() });
    await release();
    expect(await backend.lockHolder('r')).toMatchObject({ pid: 4242, host: 'elsewhere' });
  });

  it('reports a corrupt checkpoint with a clear error and overwrites nothing', async () => {
    await backend.saveCheckpoint('bad', checkpoint('bad', ['a']));
    const corrupted = await corrupt(dir, 'bad');
    const error = await failureOf(backend.loadRun('bad'));
    expect(error.code).toBe('CORRUPT_STATE');
    expect(error.message).toContain(corrupted);
    // still corrupt, still reported: nothing was rewritten behind our back
    expect((await failureOf(backend.loadRun('bad'))).code).toBe('CORRUPT_STATE');
  });
});

