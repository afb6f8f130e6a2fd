/**
 * SqliteStateBackend keeps one checkpoint per run, and stores each task record (with its output)
 * once: saving checkpoints does not grow the file without bound. A database of the older layout,
 * which kept every checkpoint whole, is migrated when opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunCheckpoint } from '../src/index.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { checkpoint, record } from './helpers/records.js';
import { writeLayout1Database } from './helpers/sqlite-layout-1.js';

/** Runs SQL on the file through a second connection, as another process would. */
function withDb<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** How many stored cells, in any table and column, hold `text`. */
function copiesOf(file: string, text: string): number {
  return withDb(file, (db) => {
    let copies = 0;
    for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all()) {
      for (const { name: column } of db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}')`).all()) {
        const row = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM "${name}" WHERE instr(CAST("${column}" AS TEXT), ?) > 0`).get(text);
        copies += row!.n;
      }
    }
    return copies;
  });
}

let dir: string;
let file: string;
let backend: SqliteStateBackend | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-sqlite-latest-'));
  file = join(dir, 'agents.sqlite');
});
afterEach(async () => {
  await backend?.close();
  backend = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A completed task whose output is long and easy to find. */
function withOutput(taskId: string, output: string) {
  return { ...record(taskId), output };
}

describe('SqliteStateBackend keeps only the last checkpoint', () => {
  it('saving 20 checkpoints of a run leaves one run row, and each task output stored once', async () => {
    backend = await SqliteStateBackend.open(file);
    const output = `plan-output-${'p'.repeat(50_000)}`;
    let run: RunCheckpoint = { ...checkpoint('r', ['plan', 'build']), records: [withOutput('plan', output), record('build', 'pending', 0)] };
    for (let i = 0; i < 20; i++) {
      run = { ...run, updatedAt: run.updatedAt + 1, snapshot: { step: i } };
      await backend.saveCheckpoint('r', run);
    }
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM runs').get())).toEqual({ n: 1 });
    expect(copiesOf(file, output)).toBe(1);
    expect((await backend.loadCheckpoint('r'))!.snapshot).toEqual({ step: 19 });
    expect((await backend.loadRun('r'))!.records[0]!.output).toBe(output);
  });

  it('adds no copy of outputs a checkpoint carries in its snapshot or result', async () => {
    backend = await SqliteStateBackend.open(file);
    const inRecord = `in-record-${'r'.repeat(10_000)}`;
    const inSnapshot = `in-snapshot-${'s'.repeat(10_000)}`;
    const inResult = `in-result-${'x'.repeat(10_000)}`;
    const base = checkpoint('r', ['a']);
    await backend.saveCheckpoint('r', {
      ...base,
      records: [withOutput('a', inRecord)],
      snapshot: { context: { note: inSnapshot } },
      result: { note: inResult } as unknown as RunCheckpoint['result'],
    });
    // as many copies as the checkpoint itself holds: one each
    expect([copiesOf(file, inRecord), copiesOf(file, inSnapshot), copiesOf(file, inResult)]).toEqual([1, 1, 1]);
  });

  it('loadCheckpoint answers the last checkpoint as saved, while loadRun has the task records saved since', async () => {
    backend = await SqliteStateBackend.open(file);
    await backend.saveCheckpoint('r', checkpoint('r', ['a', 'b'], 1000));
    await backend.saveTaskRecords('r', [record('a', 'running', 0)]);
    await backend.saveTaskRecords('r', [withOutput('a', 'a-done'), record('new', 'running', 0)]);
    const saved = await backend.loadCheckpoint('r');
    expect(saved!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'pending'],
      ['b', 'pending'],
    ]);
    expect(saved!.updatedAt).toBe(1000);
    const run = await backend.loadRun('r');
    expect(run!.records.map((r) => [r.taskId, r.status, r.output])).toEqual([
      ['a', 'completed', 'a-done'],
      ['b', 'pending', 'out-b'],
      ['new', 'running', 'out-new'],
    ]);
    // the next checkpoint takes them in; what the previous one held is gone
    await backend.saveCheckpoint('r', { ...run!, snapshot: { step: 2 } });
    expect((await backend.loadCheckpoint('r'))!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'completed'],
      ['b', 'pending'],
      ['new', 'running'],
    ]);
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM tasks WHERE checkpoint_record IS NOT NULL').get())).toEqual({ n: 0 });
    expect(copiesOf(file, 'a-done')).toBe(1);
  });
});

describe('a database of the older layout (every checkpoint kept)', () => {
  it('is migrated when opened: the history is dropped, every run and its last checkpoint kept', async () => {
    writeLayout1Database(file);
    backend = await SqliteStateBackend.open(file);
    expect(withDb(file, (db) => [db.pragma('user_version', { simple: true }), db.prepare("SELECT name FROM sqlite_schema WHERE name = 'checkpoints'").all()])).toEqual([
      3,
      [],
    ]);
    expect(await backend.load('cfg')).toEqual({ a: 1 });
    const saved = await backend.loadCheckpoint('old');
    expect(saved).toMatchObject({ runId: 'old', updatedAt: 2000, snapshot: { step: 2 } });
    expect(saved!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'pending'],
      ['b', 'pending'],
    ]);
    expect((await backend.loadRun('old'))!.records.map((r) => [r.taskId, r.status])).toEqual([
      ['a', 'completed'],
      ['b', 'pending'],
      ['late', 'running'],
    ]);
    // and it works on as a new one: a second open (another process) finds it migrated
    await backend.saveTaskRecords('old', [record('b')]);
    await backend.close();
    backend = await SqliteStateBackend.open(file);
    expect((await backend.listRuns()).map((r) => [r.runId, r.tasksDone, r.tasksTotal])).toEqual([['old', 2, 3]]);
  });
});
