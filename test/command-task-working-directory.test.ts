/**
 * A command task's `cwd`: a missing directory is named (not reported as a missing program),
 * and a relative one is relative to the workflow file's directory (or, for a spec given in
 * code, to the process's working directory).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, loadWorkflowFile, runCommand, validateWorkflow } from '../src/index.js';
import { failureOf } from './helpers/failure-of.js';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'agents-sdk-cwd-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const PRINT_CWD = [process.execPath, '-e', 'console.log(process.cwd())'];

describe('a command task in a missing directory', () => {
  it('fails naming the directory, like an agent task, not as a program that could not be started', async () => {
    const missing = join(root, 'no-such-dir');
    const error = await failureOf(runCommand({ command: ['ls'], cwd: missing }));
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.message).toBe(`Working directory ${missing} does not exist (or is not a directory)`);
    expect(error.details).toMatchObject({ cwd: missing });
    expect(error.transient).toBe(false);
  });

  it('fails the same way when the cwd is a file', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    expect((await failureOf(runCommand({ command: ['ls'], cwd: file }))).message).toMatch(/^Working directory .*a-file does not exist \(or is not a directory\)$/);
  });

  it('fails its task in a workflow run with that message, after one attempt', async () => {
    const orchestrator = new WorkflowOrchestrator({ stateDir: join(root, 'agents'), retry: { baseDelayMs: 10, jitter: 'none' } });
    const result = await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'ls', command: ['ls'], cwd: join(root, 'gone') }] });
    const task = result.taskResults[0]!;
    expect(task.status).toBe('failed');
    expect(task.attempts).toBe(1);
    expect(task.error).toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringContaining(`Working directory ${join(root, 'gone')} does not exist`) });
  });
});

describe('a relative cwd', () => {
  it('is relative to the workflow file directory when loaded from a file', async () => {
    mkdirSync(join(root, 'flows', 'app'), { recursive: true });
    const file = join(root, 'flows', 'w.yaml');
    writeFileSync(file, ['id: w', 'tasks:', '  - id: where', '    command: [node, -v]', '    cwd: ./app', '  - id: here', '    command: [node, -v]', '    cwd: .', ''].join('\n'));
    const workflow = await loadWorkflowFile(file);
    expect(workflow.tasks.map((t) => t.cwd)).toEqual([join(root, 'flows', 'app'), join(root, 'flows')]);
  });

  it('runs the command in the directory beside the workflow file, wherever the process is', async () => {
    mkdirSync(join(root, 'flows', 'app'), { recursive: true });
    const file = join(root, 'flows', 'w.json');
    writeFileSync(file, JSON.stringify({ id: 'w', tasks: [{ id: 'where', command: PRINT_CWD, cwd: 'app' }] }));
    const orchestrator = new WorkflowOrchestrator({ stateDir: join(root, 'agents') });
    const result = await orchestrator.runWorkflow(await loadWorkflowFile(file));
    expect(result.taskResults[0]).toMatchObject({ status: 'completed', output: join(root, 'flows', 'app') });
  });

  it('is relative to the process working directory for a spec given in code, unless a baseDir is given', () => {
    const spec = { id: 'w', tasks: [{ id: 'a', command: ['ls'], cwd: 'sub/dir' }] };
    expect(validateWorkflow(spec).tasks[0]!.cwd).toBe(resolve('sub/dir'));
    expect(validateWorkflow(spec, { baseDir: root }).tasks[0]!.cwd).toBe(join(root, 'sub', 'dir'));
    // an absolute cwd stays as it is, so a validated workflow validates again unchanged
    const validated = validateWorkflow(spec, { baseDir: root });
    expect(validateWorkflow(validated)).toEqual(validated);
  });
});
