/**
 * A command's stdout is never lost: past the record's limit (10 MiB by default) the whole of it
 * is kept in a file of the attempt's (`raw_stdout[.attempt-<n>].txt`, beside an agent's
 * `raw_output.jsonl`), the record holds the tail marked `truncated` with the file's path, and
 * `status`, `logs` and `logs --raw` say so and print it whole.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OUTPUT_CHARS } from '../src/actors/command-output.js';
import { WorkflowOrchestrator, runCommand, type TaskRecord } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { failureOf } from './helpers/failure-of.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** `node -e` printing lines `line-0` … `line-<n-1>`, one per line. */
const printLines = (n: number): string[] => [process.execPath, '-e', `for (let i = 0; i < ${n}; i++) console.log('line-' + i)`];
const linesText = (from: number, to: number): string =>
  Array.from({ length: to - from }, (_, i) => `line-${from + i}`).join('\n');

describe('runCommand with a small output limit', () => {
  it('keeps the whole stdout in the attempt file, the tail in the result, marked truncated', async () => {
    const result = await runCommand({ command: printLines(100), maxOutputChars: 40, stateDir: world.stateDir, runId: 'r1', taskId: 'build' });
    const file = join(world.stateDir, 'r1', 'build', 'raw_stdout.txt');
    expect(result.success).toBe(true);
    expect(result.truncated).toBe(true);
    expect(result.outputFile).toBe(file);
    // The tail: whole lines, at most 40 characters.
    expect(result.output).toBe(linesText(95, 100));
    expect(readFileSync(file, 'utf8')).toBe(`${linesText(0, 100)}\n`);
    expect(result.outputBytes).toBe(readFileSync(file).length);
  });

  it('writes no file and no mark for an output within the limit; names a later attempt\'s file by its number', async () => {
    const small = await runCommand({ command: printLines(3), maxOutputChars: 40, stateDir: world.stateDir, runId: 'r1', taskId: 'build' });
    expect(small.output).toBe(linesText(0, 3));
    expect(small.truncated).toBeUndefined();
    expect(small.outputFile).toBeUndefined();
    expect(existsSync(join(world.stateDir, 'r1', 'build'))).toBe(false);

    const second = await runCommand({ command: printLines(100), maxOutputChars: 40, stateDir: world.stateDir, runId: 'r1', taskId: 'build', attempt: 2 });
    expect(second.outputFile).toBe(join(world.stateDir, 'r1', 'build', 'raw_stdout.attempt-2.txt'));
    expect(readFileSync(second.outputFile!, 'utf8')).toBe(`${linesText(0, 100)}\n`);
  });

  it('a failed command keeps its whole stdout too (the error carries the truncated result)', async () => {
    const command = [process.execPath, '-e', "for (let i = 0; i < 100; i++) console.log('line-' + i); process.exit(3)"];
    const failure = await failureOf(runCommand({ command, maxOutputChars: 40, stateDir: world.stateDir, runId: 'r1', taskId: 'build' }));
    expect(failure.code).toBe('COMMAND_FAILED');
    expect(failure.result).toMatchObject({ truncated: true, output: linesText(95, 100) });
    expect(readFileSync(failure.result!.outputFile!, 'utf8')).toBe(`${linesText(0, 100)}\n`);
  });

  it('a file that cannot be written does not fail the command: the tail, marked truncated, no file named', async () => {
    const blocked = join(world.root, 'not-a-directory');
    writeFileSync(blocked, 'a file where the state directory should be');
    const result = await runCommand({ command: printLines(100), maxOutputChars: 40, stateDir: blocked, runId: 'r1', taskId: 'build' });
    expect(result).toMatchObject({ success: true, truncated: true, output: linesText(95, 100) });
    expect(result.outputFile).toBeUndefined();
  });

  it('without a run id: the tail, marked truncated, and no file', async () => {
    const result = await runCommand({ command: printLines(100), maxOutputChars: 40 });
    expect(result).toMatchObject({ truncated: true, output: linesText(95, 100) });
    expect(result.outputFile).toBeUndefined();
  });
});

describe('a command task printing more than 10 MiB (the real default limit)', () => {
  it('is recorded truncated with its file; status, status --json, logs and logs --raw show it whole', async () => {
    // 1.2 million lines of 10 characters with their newline: 12 MB, past 10 MiB.
    const lines = 1_200_000;
    const script = `let s='';for(let i=0;i<${lines};i++){s+=(100000000+i)+'\\n';if(s.length>65536){process.stdout.write(s);s=''}}process.stdout.write(s)`;
    const orchestrator = new WorkflowOrchestrator({ stateDir: world.stateDir });
    const result = await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'dump', command: [process.execPath, '-e', script] }] }, { runId: 'big' });
    await orchestrator.stateBackend!.close();
    expect(result.status).toBe('completed');
    const file = join(world.stateDir, 'big', 'dump', 'raw_stdout.txt');
    const whole = readFileSync(file, 'utf8');
    expect(whole.length).toBe(lines * 10);
    expect(whole.startsWith('100000000\n')).toBe(true);
    const task = result.taskResults[0]!;
    expect(task).toMatchObject({ truncated: true, outputFile: file, outputBytes: lines * 10 });
    expect(task.output!.length).toBeLessThanOrEqual(DEFAULT_MAX_OUTPUT_CHARS);
    expect(task.output!.length).toBeGreaterThan(DEFAULT_MAX_OUTPUT_CHARS - 10);
    expect(whole.endsWith(`${task.output}\n`)).toBe(true);
    expect(task.attemptLog[0]!.rawFile).toBe(file);

    const status = await cli(['status', 'big', '--state-dir', world.stateDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`stdout truncated: the record keeps the last ${task.output!.length} characters of ${lines * 10} bytes`);
    expect(status.stdout).toContain(`\nstdout truncated in the record (it keeps the end; the whole stdout is in the file, printed by agents-sdk logs big <task>):\n  dump  #1  succeeded  ${file}\n`);

    const json = await cli(['status', 'big', '--json', '--state-dir', world.stateDir]);
    const record = (JSON.parse(json.stdout) as { records: Array<TaskRecord & { rawOutput: string | null }> }).records[0]!;
    expect(record).toMatchObject({ truncated: true, outputFile: file, outputBytes: lines * 10, rawOutput: file });

    const logs = await cli(['logs', 'big', 'dump', '--state-dir', world.stateDir]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`stdout (whole, ${lines * 10} bytes, from ${file}; the task record keeps its end only):\n  100000000\n  100000001\n`);
    expect(logs.stdout).toContain(`  ${100000000 + lines - 1}\n`);

    const raw = await cli(['logs', 'big', 'dump', '--raw', '--state-dir', world.stateDir]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout === whole).toBe(true);
  }, 60_000);
});
