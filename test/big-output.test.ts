import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runClaudeCode, runCommand } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** The text the fake's `[[large-output:BYTES]]` writes (see DIRECTIVES.md). */
function largeOutputText(size: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let n = 1; length < size; n++) {
    const line = `large-output line ${String(n).padStart(6, '0')}: the quick brown fox jumps over the lazy dog\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('').slice(0, size);
}

describe('big outputs', () => {
  it('takes in a 10 MB result intact and records it in raw_output.jsonl and raw_output.json', async () => {
    const size = 10_000_000;
    const result = await runClaudeCode({
      prompt: `Write a lot [[large-output:${size}]]`,
      env: world.env,
      stateDir: world.stateDir,
      runId: 'big',
      agentName: 'writer',
      resultFile: true,
    });
    const expected = largeOutputText(size);
    expect(result.success).toBe(true);
    expect(result.output.length).toBe(size);
    expect(result.output === expected).toBe(true);

    const dir = join(world.stateDir, 'big', 'writer');
    const raw = readFileSync(join(dir, 'raw_output.jsonl'), 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    const lines = raw.slice(0, -1).split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['system', 'assistant', 'result']);
    const recorded = JSON.parse(lines[2]!) as { result: string };
    expect(recorded.result === expected).toBe(true);
    const final = JSON.parse(readFileSync(join(dir, 'raw_output.json'), 'utf8')) as { type: string; result: string };
    expect(final.type).toBe('result');
    expect(final.result === expected).toBe(true);
  });

  it('keeps the last 10 MB of a command printing more, cut at a line', async () => {
    // 1.6 million lines of 8 characters with their newline: 12.8 MB.
    const script = 'let s="";for(let i=0;i<1600000;i++){s+=(1000000+i)+"\\n";if(s.length>65536){process.stdout.write(s);s=""}}process.stdout.write(s)';
    const result = await runCommand({ command: [process.execPath, '-e', script] });
    const limit = 10 * 1024 * 1024;
    const kept = Math.floor(limit / 8);
    expect(result.output.length).toBe(kept * 8 - 1);
    expect(result.output.startsWith(`${1_000_000 + 1_600_000 - kept}\n`)).toBe(true);
    expect(result.output.endsWith('\n2599999')).toBe(true);
    // Said, not silent: without a run id there is no file for the whole of it.
    expect(result.truncated).toBe(true);
  });

  it('keeps the end of a single command line longer than 10 MB', async () => {
    const script = 'process.stdout.write("a".repeat(1024*1024) + "b".repeat(10*1024*1024) + "\\n")';
    const result = await runCommand({ command: [process.execPath, '-e', script] });
    expect(result.output.length).toBe(10 * 1024 * 1024);
    expect(result.output === 'b'.repeat(10 * 1024 * 1024)).toBe(true);
  });
});
