/**
 * The JSON backend tells damage from a crash: only a last line without its newline is what a
 * crash mid-append leaves; a missing journal, one shorter than what was saved, or a complete
 * line of garbage is CORRUPT_STATE naming the file, and nothing is rerun silently.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { checkpoint, record } from './helpers/records.js';
import { cli } from './helpers/cli.js';

let dir: string;
let backend: JsonStateBackend;
const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-journal-'));
  backend = new JsonStateBackend(dir);
  await backend.saveCheckpoint('r', checkpoint('r', IDS));
  for (const id of IDS.slice(0, 6)) await backend.saveTaskRecords('r', [record(id, 'completed')]);
  await backend.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const journal = () => join(dir, 'r', 'journal-1.jsonl');

async function load() {
  const reader = new JsonStateBackend(dir);
  try {
    return await reader.loadRun('r');
  } finally {
    await reader.close();
  }
}

describe('a damaged JSON journal', () => {
  it('reads back every saved record when nothing is damaged', async () => {
    const run = await load();
    expect(run!.records.filter((r) => r.status === 'completed').map((r) => r.taskId)).toEqual(IDS.slice(0, 6));
  });

  it('a deleted journal is CORRUPT_STATE naming the file, not a run with nothing done', async () => {
    unlinkSync(journal());
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining(journal()) });
  });

  it('a journal truncated at a line boundary is CORRUPT_STATE (shorter than what was saved)', async () => {
    const text = readFileSync(journal(), 'utf8');
    const lines = text.split('\n');
    writeFileSync(journal(), lines.slice(0, 3).join('\n') + '\n');
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringMatching(/shorter than recorded: 3 records .* where 6/) });
  });

  it('a journal truncated to nothing is CORRUPT_STATE', async () => {
    truncateSync(journal(), 0);
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining(journal()) });
  });

  it('a complete, newline-terminated garbled last line is damage, not a torn append', async () => {
    appendFileSync(journal(), '{"taskId":"g","status":"comp#@!\n');
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('line 7 is not JSON') });
  });

  it('a complete line that is JSON but no task record is damage too', async () => {
    appendFileSync(journal(), '[1,2,3]\n');
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('line 7 is not a task record') });
  });

  it('a torn tail (no newline) is a crash: ignored on read and cut before the next append', async () => {
    appendFileSync(journal(), '{"taskId":"g","sta');
    expect((await load())!.records.filter((r) => r.status === 'completed')).toHaveLength(6);
    // The next process appends after it: the torn bytes must not prefix its record.
    const next = new JsonStateBackend(dir);
    await next.saveTaskRecords('r', [record('g', 'completed')]);
    await next.saveTaskRecords('r', [record('h', 'completed')]);
    await next.close();
    expect(readFileSync(journal(), 'utf8')).not.toContain('"sta{');
    expect((await load())!.records.filter((r) => r.status === 'completed').map((r) => r.taskId)).toEqual(IDS);
  });

  it('an edit that keeps the line valid JSON (out- to OUT-) is CORRUPT_STATE naming the file and line, and resume changes nothing', async () => {
    const before = readFileSync(journal(), 'utf8');
    const lines = before.split('\n');
    lines[2] = lines[2]!.replace('out-', 'OUT-');
    writeFileSync(journal(), lines.join('\n'));
    JSON.parse(lines[2]!); // still valid JSON
    await expect(load()).rejects.toMatchObject({
      code: 'CORRUPT_STATE',
      message: expect.stringMatching(new RegExp(`${escape(journal())}: line 3 does not match its checksum`)),
    });
    // The next writer (a resume) refuses too, and leaves the journal as it is.
    const writer = new JsonStateBackend(dir);
    await expect(writer.saveTaskRecords('r', [record('g', 'completed')])).rejects.toMatchObject({ code: 'CORRUPT_STATE' });
    await writer.close();
    expect(readFileSync(journal(), 'utf8')).toBe(lines.join('\n'));
    // `agents-sdk resume`: exit 2 naming the file, nothing changed.
    const resumed = await cli(['resume', 'r', '--state-dir', dir]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain(`CORRUPT_STATE: Corrupt journal ${journal()}: line 3 does not match its checksum`);
    expect(readFileSync(journal(), 'utf8')).toBe(lines.join('\n'));
  });

  it('a garbled extent is CORRUPT_STATE naming the extent file', async () => {
    const extent = join(dir, 'r', 'journal-1.extent');
    const text = readFileSync(extent, 'utf8');
    // Still JSON, still numbers: one digit changed.
    const garbled = text.replace(/"lines":(\d)/, (_m, d: string) => `"lines":${(Number(d) + 1) % 10}`);
    expect(garbled).not.toBe(text);
    writeFileSync(extent, garbled);
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining(`${extent}: it does not match its checksum`) });
    writeFileSync(extent, 'x'.repeat(63) + '\n');
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining(`${extent}: it is not JSON`) });
  });

  it('a line whose checksum field was damaged is CORRUPT_STATE', async () => {
    const lines = readFileSync(journal(), 'utf8').split('\n');
    lines[1] = lines[1]!.replace(/"crc":"([0-9a-f]{8})"/, '"crc":"zz$1"');
    writeFileSync(journal(), lines.join('\n'));
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('line 2 has a damaged checksum') });
  });

  it('a run written before checksums (plain lines, plain extent) is read and continued', async () => {
    // The previous format: lines and extent without "crc", a checkpoint that does not ask for them.
    const plain = (text: string) => text.replace(/,"crc":"[0-9a-f]{8}"\}/g, '}');
    writeFileSync(journal(), plain(readFileSync(journal(), 'utf8')));
    const extent = join(dir, 'r', 'journal-1.extent');
    writeFileSync(extent, JSON.stringify({ lines: 6, bytes: readFileSync(journal()).length }).padEnd(63) + '\n');
    const cp = join(dir, 'r', 'checkpoint.json');
    const stored = JSON.parse(readFileSync(cp, 'utf8')) as Record<string, unknown>;
    delete stored.journalSealed;
    writeFileSync(cp, JSON.stringify(stored));
    expect(readFileSync(journal(), 'utf8')).not.toContain('"crc"');
    expect((await load())!.records.filter((r) => r.status === 'completed').map((r) => r.taskId)).toEqual(IDS.slice(0, 6));
    const next = new JsonStateBackend(dir);
    await next.saveTaskRecords('r', [record('g', 'completed')]);
    await next.close();
    expect((await load())!.records.filter((r) => r.status === 'completed').map((r) => r.taskId)).toEqual(IDS.slice(0, 7));
    // Still checked as far as it can be: a truncation is found by the extent.
    writeFileSync(journal(), readFileSync(journal(), 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    await expect(load()).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('shorter than recorded') });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
