/**
 * A reader of a JSON run that another writer is changing (a live run: `status`, `logs`,
 * `report`, `stats` beside the driving process) reads a consistent prefix of it and never
 * calls it damaged: not while records are appended, not while the journal is folded into a
 * new checkpoint, not while the run is being created.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { checkpoint, record } from './helpers/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-live-read-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const TASKS = Array.from({ length: 20 }, (_, i) => `t${i}`);
const WRITES = 400;

/** The number of the latest write a read saw (each write stores its number as a record's output). */
const latest = (records: Array<{ output: string | null }>) => Math.max(-1, ...records.map((r) => (r.output?.startsWith('n') ? Number(r.output.slice(1)) : -1)));

describe('reading a JSON run while it is written', () => {
  it('every read during appends and folds succeeds, and what it reads only grows', async () => {
    // A small fold threshold: the journal is folded into a new checkpoint every 20 lines, as
    // a long run does every as many lines as it has tasks.
    const writer = new JsonStateBackend(dir, { minFoldLines: 16 });
    const reader = new JsonStateBackend(dir);
    await writer.saveCheckpoint('r', checkpoint('r', TASKS));
    let written = 0;
    const writing = (async () => {
      for (let n = 0; n < WRITES; n++) {
        await writer.saveTaskRecords('r', [{ ...record(TASKS[n % TASKS.length]!, n < WRITES - TASKS.length ? 'running' : 'completed'), output: `n${n}` }]);
        written += 1;
        // One append per turn of the event loop: the reader's file reads finish in between.
        await turn();
      }
    })();
    const seen: number[] = [];
    const problems: string[] = [];
    while (written < WRITES) {
      try {
        const run = await reader.loadRun('r');
        seen.push(latest(run!.records));
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    await writing;
    await writer.close();
    await reader.close();
    expect(problems).toEqual([]);
    expect(seen.length).toBeGreaterThan(3);
    // A consistent prefix: never fewer than an earlier read saw.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(new Set(seen).size).toBeGreaterThan(3);
    const last = await new JsonStateBackend(dir).loadRun('r');
    expect(last!.records.filter((r) => r.status === 'completed')).toHaveLength(TASKS.length);
    expect(latest(last!.records)).toBe(WRITES - 1);
  });

  it('a run being created (its first journal made, its checkpoint not yet) reads as no run, not as damage', async () => {
    // What the backend leaves between creating the first journal and writing the checkpoint that names it.
    // The process creating the run holds its lock.
    const creator = new JsonStateBackend(dir);
    const release = await creator.lockRun('r');
    writeFileSync(join(dir, 'r', 'journal-1.jsonl'), '');
    const reader = new JsonStateBackend(dir);
    await expect(reader.loadRun('r')).resolves.toBeUndefined();
    await expect(reader.listRuns()).resolves.toEqual([]);
    // With no live holder the same files are a checkpoint gone (or a creation cut short): damage.
    await release();
    await expect(reader.loadRun('r')).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('checkpoint.json is missing') });
    // A journal with records but no checkpoint is still damage.
    writeFileSync(join(dir, 'r', 'journal-1.jsonl'), JSON.stringify(record('a')) + '\n');
    await expect(reader.loadRun('r')).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('checkpoint.json is missing') });
  });
});
