import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, validateWorkflow, type RunCheckpoint, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';

let dir: string;
let backend: JsonStateBackend;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-json-'));
  backend = new JsonStateBackend(dir, { minFoldLines: 4 });
});
afterEach(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

function rec(taskId: string, status: TaskRecord['status']): TaskRecord {
  return { taskId, status, attempts: 1, output: null, sessionId: null, tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }, costUsd: 0, startedAt: 1, endedAt: null, durationMs: null, error: null };
}

function checkpoint(ids: string[]): RunCheckpoint {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    runId: 'r',
    workflowId: 'w',
    status: 'running',
    workflow: validateWorkflow({ id: 'w', tasks: ids.map((id) => ({ id, prompt: 'x' })) }),
    startedAt: 1,
    updatedAt: 1,
    records: ids.map((id) => rec(id, 'pending')),
  };
}

describe('JsonStateBackend specifics', () => {
  it('lays out the run beside the raw outputs: checkpoint.json and a journal of versioned lines', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a', 'b', 'c', 'd', 'e', 'f']));
    await backend.saveTaskRecords('r', [rec('a', 'running')]);
    const files = readdirSync(join(dir, 'r')).sort();
    expect(files).toEqual(['checkpoint.json', 'journal-1.extent', 'journal-1.jsonl']);
    expect(JSON.parse(readFileSync(join(dir, 'r', 'journal-1.jsonl'), 'utf8'))).toMatchObject({ schemaVersion: STATE_SCHEMA_VERSION, taskId: 'a' });
    expect((await backend.loadRun('r'))!.records[0]).toEqual(rec('a', 'running'));
  });

  it('a checkpoint written by a later process (resume) removes the journal an earlier one left', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a', 'b', 'c', 'd', 'e', 'f']));
    await backend.saveTaskRecords('r', [rec('a', 'completed')]);
    await backend.close();
    const later = new JsonStateBackend(dir, { minFoldLines: 4 });
    const run = (await later.loadRun('r'))!;
    await later.saveCheckpoint('r', run);
    expect(readdirSync(join(dir, 'r')).sort()).toEqual(['checkpoint.json', 'journal-2.extent', 'journal-2.jsonl']);
    expect((await later.loadRun('r'))!.records[0]).toEqual(rec('a', 'completed'));
    await later.close();
  });

  it('folds the journal into a new checkpoint generation once it is as long as the run', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a', 'b', 'c', 'd', 'e', 'f']));
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await backend.saveTaskRecords('r', [rec(id, 'completed')]);
    expect(readdirSync(join(dir, 'r')).sort()).toEqual(['checkpoint.json', 'journal-2.extent', 'journal-2.jsonl']);
    expect((await backend.loadCheckpoint('r'))!.records.every((r) => r.status === 'completed')).toBe(true);
  });

  it('ignores a torn last journal line (a crash mid-append) but reports corruption elsewhere', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a', 'b', 'c', 'd', 'e', 'f']));
    await backend.saveTaskRecords('r', [rec('a', 'completed')]);
    const journal = join(dir, 'r', 'journal-1.jsonl');
    appendFileSync(journal, '{"taskId":"b","sta');
    expect((await backend.loadRun('r'))!.records.map((r) => r.status).slice(0, 2)).toEqual(['completed', 'pending']);
    appendFileSync(journal, '\n' + JSON.stringify(rec('c', 'completed')) + '\n');
    await expect(backend.loadRun('r')).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('line 2') });
  });

  it('refuses journal lines from a newer schema', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a', 'b', 'c', 'd', 'e']));
    appendFileSync(join(dir, 'r', 'journal-1.jsonl'), JSON.stringify({ ...rec('a', 'completed'), schemaVersion: 99 }) + '\n');
    await expect(backend.loadRun('r')).rejects.toMatchObject({ code: 'UNSUPPORTED_SCHEMA' });
  });

  it('needs a checkpoint before task records', async () => {
    await expect(backend.saveTaskRecords('nope', [rec('a', 'running')])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('JsonStateBackend locks', () => {
  it('takes over an unreadable lock file', async () => {
    await backend.saveCheckpoint('r', checkpoint(['a']));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'r', 'run.lock'), 'garbage');
    const release = await backend.lockRun('r');
    await release();
  });
});

describe('JsonStateBackend writes from several writers', () => {
  it('two backends over one directory saving one key: every write lands whole, readers never see a torn file', async () => {
    const other = new JsonStateBackend(dir);
    const big = (i: number) => ({ i, pad: String(i % 10).repeat(300_000 + i * 1_000) });
    const reads: Array<Promise<unknown>> = [];
    const writes = Array.from({ length: 16 }, (_, i) => {
      reads.push(backend.load('k'));
      return (i % 2 ? backend : other).save('k', big(i));
    });
    await Promise.all(writes);
    const seen = (await Promise.all(reads)) as Array<{ i: number; pad: string } | undefined>;
    for (const value of seen) if (value) expect(value).toEqual(big(value.i));
    const last = (await backend.load('k')) as { i: number; pad: string };
    expect(last).toEqual(big(last.i));
    // no temp files left behind
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await other.close();
  });
});

