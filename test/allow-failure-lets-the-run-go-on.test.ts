/**
 * `allow_failure: true`: a task may fail (after its retries) without stopping the run; its
 * dependants run and read its status, exit code and output (a failed command's stdout), in
 * templates and in `when:` expressions. The run completes if every failure was allowed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type StateBackend, type TaskResult, type WorkflowResult, type WorkflowSpecInput } from '../src/index.js';
import { summaryTable } from '../src/cli/progress-view.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { overrideProcessEnv } from './helpers/process-env.js';

let world: FakeWorld;
const backends: StateBackend[] = [];
beforeEach(() => {
  world = fakeWorld();
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  world.cleanup();
});

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/** Tests that print a summary, then fail with exit code 4. */
const failingTests = ['node', '-e', 'process.stdout.write("2 of 9 failed"); process.exit(4)'];
const print = (text: string) => ['node', '-e', 'process.stdout.write(process.argv[1])', text];

function spec(extra: Partial<WorkflowSpecInput> = {}): WorkflowSpecInput {
  return {
    id: 'tests-then-fix',
    tasks: [
      { id: 'test', command: failingTests, allow_failure: true },
      {
        id: 'fix',
        depends_on: ['test'],
        when: 'tasks.test.status == "failed" && tasks.test.exit_code == 4',
        command: print('fixing after {{tasks.test.status}} (exit {{tasks.test.exit_code}}): {{tasks.test.output}}'),
      },
      { id: 'celebrate', depends_on: ['test'], when: 'tasks.test.status == "completed"', command: print('all green') },
    ],
    ...extra,
  };
}

describe('allow_failure', () => {
  it('a failing command does not stop the run: its dependants read its status, exit code and stdout', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    backends.push(backend);
    const o = new WorkflowOrchestrator(backend, { stateDir: world.stateDir });
    const result = await o.runWorkflow(spec(), { runId: 'af' });
    const tasks = byId(result);
    // (a non-zero exit is permanent: not retried)
    expect(tasks.test).toMatchObject({ status: 'failed', allowedFailure: true, attempts: 1, exitCode: 4, output: '2 of 9 failed', error: { code: 'COMMAND_FAILED' } });
    expect(tasks.fix).toMatchObject({ status: 'completed', output: 'fixing after failed (exit 4): 2 of 9 failed' });
    expect(tasks.celebrate).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    // every failure was allowed: the run completed
    expect(result.status).toBe('completed');
    expect(result.success).toBe(true);
    // the summary says the failure was allowed
    const summary = summaryTable(result);
    expect(summary).toMatch(/^test +failed \(allowed\) +1 /m);
    expect(summary).toContain('  test: COMMAND_FAILED: ');
    expect(summary).toContain('exited with code 4 (allow_failure: the run went on)');
    const status = await cli(['status', 'af', '--state-dir', world.stateDir]);
    expect(status.stdout).toMatch(/test\s+failed \(allowed\)\s+1 .*COMMAND_FAILED/);
    const stored = await backend.loadRun('af');
    expect(stored!.records.find((r) => r.taskId === 'test')).toMatchObject({ status: 'failed', exitCode: 4 });
  });

  it('without allow_failure the same failure fails the run and skips the dependants', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const s = spec();
    delete (s.tasks[0] as { allow_failure?: boolean }).allow_failure;
    const result = await o.runWorkflow(s, { runId: 'strict' });
    expect(result.status).toBe('failed');
    expect(byId(result).fix).toMatchObject({ status: 'skipped', reason: 'task "test" failed and on_failure is stop' });
    expect(byId(result).test!.allowedFailure).toBeUndefined();
    expect(summaryTable(result)).toMatch(/^test +failed +1 /m);
  });

  it('resume --retry-failed reruns the failures that were not allowed, never an allowed one', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    backends.push(backend);
    const o = new WorkflowOrchestrator(backend, { stateDir: world.stateDir });
    const marks = join(world.root, 'marks');
    mkdirSync(marks);
    // Appends its name to a file of its own, then fails (the flaky one only on its first run).
    const run = (name: string, failAlways: boolean) => [
      'node',
      '-e',
      `const fs = require('fs'); const f = process.argv[1]; const n = fs.existsSync(f) ? 1 : 0; fs.appendFileSync(f, 'x'); process.exit(${failAlways ? '5' : 'n ? 0 : 6'})`,
      join(marks, name),
    ];
    const s: WorkflowSpecInput = {
      id: 'retry',
      on_failure: 'continue',
      tasks: [
        { id: 'lint', command: run('lint', true), allow_failure: true },
        { id: 'flaky', command: run('flaky', false) },
      ],
    };
    const first = await o.runWorkflow(s, { runId: 'rf' });
    expect(first.status).toBe('failed');
    const again = await o.resume('rf', { retryFailed: true });
    expect(again.status).toBe('completed');
    expect(byId(again).lint).toMatchObject({ status: 'failed', exitCode: 5 });
    expect(byId(again).flaky).toMatchObject({ status: 'completed' });
    expect(readFileSync(join(marks, 'lint'), 'utf8')).toBe('x');
    expect(readFileSync(join(marks, 'flaky'), 'utf8')).toBe('xx');
  });

  it('an allowed failure of an agent task: the dependant runs; a failure not allowed still fails the run', async () => {
    const restore = overrideProcessEnv(world.env);
    try {
      const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
      const result = await o.runWorkflow(
        {
          id: 'agents',
          on_failure: 'continue',
          tasks: [
            { id: 'review', prompt: 'review [[transient:5]]', allow_failure: true, retry_count: 2, retry_delay: 0 },
            { id: 'after', depends_on: ['review'], command: print('review was {{tasks.review.status}}') },
            { id: 'broken', command: ['node', '-e', 'process.exit(1)'], retry_count: 1 },
          ],
        },
        { runId: 'agents' },
      );
      const tasks = byId(result);
      // failed after its retries (two 529s)
      expect(tasks.review).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'API_OVERLOADED' } });
      expect(tasks.after).toMatchObject({ status: 'completed', output: 'review was failed' });
      expect(result.status).toBe('failed');
    } finally {
      restore();
    }
  });
});
