/**
 * A workflow file with a problem that zod or a parser would word for themselves: bytes that
 * are not UTF-8, nesting thousands of levels deep, a field of the wrong shape, a task `cwd`
 * that does not exist. Each is refused (exit 2) with a sentence that says where and what to
 * write, and nothing runs.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError, loadWorkflowFile, validateWorkflow } from '../src/index.js';
import { cli } from './helpers/cli.js';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'agents-sdk-wf-problems-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function problemsOf(spec: unknown): string[] {
  try {
    validateWorkflow(spec);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('bytes that are not UTF-8', () => {
  it('are refused, naming the byte, its line and its column, instead of being replaced', async () => {
    const file = join(root, 'latin1.yaml');
    // "café" written in Latin-1 (0xE9), as an old editor would
    writeFileSync(file, Buffer.concat([Buffer.from('id: w\ntasks:\n  - id: a\n    command: [echo, "caf'), Buffer.from([0xe9]), Buffer.from('"]\n')]));
    const run = await cli(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`agents-sdk: Cannot read workflow file ${file}: not UTF-8 text: byte 0xE9 at line 4, column 25 is not valid UTF-8 (save the file as UTF-8)\n`);
    await expect(loadWorkflowFile(file)).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { file, line: 4, column: 25 } });
  });

  it('counts columns in characters: valid multi-byte text before the bad byte is one column each', async () => {
    const file = join(root, 'mixed.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from('id: w\ntasks:\n  - id: a\n    prompt: "é→'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]));
    await expect(loadWorkflowFile(file)).rejects.toThrow(/byte 0xC3 at line 4, column 16 is not valid UTF-8/);
  });

  it('a UTF-8 file (with a byte order mark) still loads', async () => {
    const file = join(root, 'ok.yaml');
    writeFileSync(file, '\uFEFFid: w\ntasks:\n  - id: a\n    prompt: "café → ok 😀"\n');
    expect((await loadWorkflowFile(file)).tasks[0]).toMatchObject({ prompt: 'café → ok 😀' });
  });
});

describe('nesting thousands of levels deep', () => {
  it('says the nesting is too deep, naming the file (YAML), not "Maximum call stack size exceeded"', async () => {
    const file = join(root, 'deep.yaml');
    writeFileSync(file, `id: w\ntasks:\n  - id: a\n    command: [echo]\nx-deep: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    const run = await cli(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^agents-sdk: Cannot parse workflow file ${file}: the nesting is too deep \\(at line 5, column \\d+\\): `));
    expect(run.stderr).not.toContain('call stack');
    const asRun = await cli(['run', file, '--state-dir', join(root, 'agents')]);
    expect([asRun.code, asRun.stderr]).toEqual([2, expect.stringContaining('the nesting is too deep')]);
  });

  it('in block style too', async () => {
    const file = join(root, 'deep-block.yaml');
    writeFileSync(file, `id: w\ntasks:\n  - id: a\n    command: [echo]\nx-deep:\n${Array.from({ length: 5000 }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n')}\n`);
    const run = await cli(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Cannot parse workflow file ${file}: the nesting is too deep`);
  });
});

describe("zod's messages", () => {
  it('become sentences that say what to write', () => {
    expect(problemsOf({ id: 'w', tasks: [{ id: 'a', command: 'echo hi' }] })).toEqual([
      'tasks.a.command: must be a list of arguments, e.g. command: [echo, hi]; got the text "echo hi"',
    ]);
    expect(problemsOf({ id: 'w' })).toEqual(['tasks: is required: a list of tasks, e.g. tasks: [{id: build, command: [make]}]']);
    expect(problemsOf({ id: 'w', max_parallel: '4', tasks: [{ id: 'a', prompt: 'x', depends_on: 'b' }, { id: 'b', prompt: 'y', env: { CI: 1 } }] })).toEqual([
      'max_parallel: must be a number (write max_parallel: 4, without quotes); got the text "4"',
      'tasks.a.depends_on: must be a list of task ids, e.g. depends_on: [build]; got the text "b"',
      'tasks.b.env.CI: must be text (write CI: "1", in quotes); got the number 1',
    ]);
    expect(problemsOf({ id: 'w', on_failure: 'sometimes', tasks: [{ id: 'a', prompt: 'x', retry_count: 0 }] })).toEqual([
      'on_failure: must be one of stop, continue; got the text "sometimes"',
      'tasks.a.retry_count: must be at least 1; got the number 0',
    ]);
    expect(problemsOf(['a'])).toEqual(['(workflow): must be a map with an id and tasks, e.g. id: build, then tasks: [{id: compile, command: [make]}]; got a list']);
    expect(problemsOf({ id: 'w', tasks: [{ id: 'a', prompt: 'x', wait_for: 5 }] })).toEqual([
      'tasks.a.wait_for: must be an event type or a map, e.g. wait_for: approval.granted, or wait_for: {event: approval.granted, timeout: 3600}; got the number 5',
    ]);
  });

  it('leave no raw zod wording in the CLI output', async () => {
    const file = join(root, 'shapes.yaml');
    writeFileSync(file, 'id: w\ntasks:\n  - id: a\n    command: echo hi\n    timeout: soon\n    runs_on: gpu\n');
    const run = await cli(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('tasks.a.command: must be a list of arguments, e.g. command: [echo, hi]; got the text "echo hi"');
    expect(run.stderr).toContain('tasks.a.runs_on: must be a list of worker tags, e.g. runs_on: [gpu]; got the text "gpu"');
    expect(run.stderr).not.toMatch(/Invalid input|expected \w+, received|Too small|Too big/);
  });
});

describe('validate and a task cwd that does not exist', () => {
  it('is a problem naming the task and the directory (run would fail the task), exit 2', async () => {
    mkdirSync(join(root, 'app'));
    const file = join(root, 'w.yaml');
    writeFileSync(file, 'id: w\ntasks:\n  - id: here\n    command: [ls]\n    cwd: app\n  - id: gone\n    command: [ls]\n    cwd: no-such-dir\n');
    const run = await cli(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `agents-sdk: Invalid workflow in ${file}: 1 problem\n  - tasks.gone.cwd: directory ${join(root, 'no-such-dir')} does not exist (or is not a directory): run would fail this task\n`,
    );
    const json = await cli(['validate', file, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, issues: [{ path: 'tasks.gone.cwd' }] });
    mkdirSync(join(root, 'no-such-dir'));
    expect((await cli(['validate', file])).code).toBe(0);
  });
});
