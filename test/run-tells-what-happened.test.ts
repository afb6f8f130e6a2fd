/**
 * What `agents-sdk run` and `resume` tell a person without `--json`: Claude Code's own API
 * retries, a failed command's stderr, why a task was skipped, and at the end where the run's
 * files are and how to go on with it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { backendFactories } from './helpers/backends.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function workflowFile(spec: unknown): string {
  const file = join(world.root, 'workflow.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

const aborted = (): AbortSignal => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

describe('while a run goes', () => {
  it('shows Claude Code retrying the API (a task would otherwise sit at "started")', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'overloaded', prompt: '[[transient:1]] x' }] });
    const run = await cli(['run', spec, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^overloaded: API retry 1\/2 after 529 overloaded, next in \d+ ms$/m);
  });

  it('exec says the same about API retries', async () => {
    const run = await cli(['exec', '[[transient:1]] y', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^\[agent\] API retry 1\/2 after 529 overloaded, next in \d+ ms$/m);
  });

  it("a failed command shows the tail of its stderr, clipped, in the failure line and in the summary", async () => {
    const script = [
      "console.error('\\u001b[31mearly line, scrolled away\\u001b[0m');",
      "for (let i = 1; i <= 4; i++) console.error('step ' + i);",
      "console.error('x'.repeat(500));",
      'process.exit(3);',
    ].join('');
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'build', command: ['node', '-e', script] }] });
    const run = await cli(['run', spec, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    const tail = ['stderr:', '  step 1', '  step 2', '  step 3', '  step 4', `  ${'x'.repeat(200)}…`];
    expect(run.stderr).toContain('build: failed in');
    expect(run.stderr).toContain(`exited with code 3)\n${tail.map((l) => `  ${l}`).join('\n')}\n`);
    expect(run.stdout).toContain(`  build: COMMAND_FAILED: Command \`node -e ${script.slice(0, 20)}`);
    expect(run.stdout).toContain(tail.map((l) => `    ${l}`).join('\n'));
    // Only the last lines; escape sequences (here in the command line of the message) never reach the terminal.
    expect(run.stdout.slice(run.stdout.indexOf('stderr:'))).not.toContain('early line');
    expect(run.stdout + run.stderr).not.toContain('\u001b');
  });

  it('a skipped task says why, not "skipped in - after 0 attempt(s)"', async () => {
    const spec = workflowFile({
      id: 'w',
      tasks: [
        { id: 'a', command: ['node', '-e', 'process.exit(1)'] },
        { id: 'b', command: ['node', '-e', '0'], depends_on: ['a'] },
      ],
    });
    const run = await cli(['run', spec, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^b: skipped: \S.*$/m);
    expect(run.stderr).not.toContain('after 0 attempt(s)');
    expect(run.stdout).toMatch(/^ {2}b: skipped: \S.*$/m);
  });
});

describe('at the end of a run', () => {
  it('a cancelled run names its files and the exact resume command, with the state options given', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'a', prompt: '[[reply:done]]' }] });
    const run = await cli(['run', spec, '--run-id', 'r1', '--state-dir', world.stateDir], world.env, aborted());
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`state:       ${join(world.stateDir, 'r1', 'checkpoint.json')}\n`);
    expect(run.stdout).toContain(`resume:      agents-sdk resume r1 --state-dir ${world.stateDir}\n`);

    const resumed = await cli(['resume', 'r1', '--state-dir', world.stateDir], world.env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`raw outputs: ${join(world.stateDir, 'r1', '<task id>', 'raw_output.jsonl')}\n`);
    expect(resumed.stdout).not.toContain('resume:');

    const again = await cli(['resume', 'r1', '--state-dir', world.stateDir], world.env);
    expect(again.stdout).toContain(`state:       ${join(world.stateDir, 'r1', 'checkpoint.json')}\n`);
  });

  it('with --json stdout stays pure JSON: the files and resume command go to stderr', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'a', prompt: '[[reply:done]]' }] });
    const run = await cli(['run', spec, '--json', '--run-id', 'r2', '--state-dir', join(world.root, 'my state')], world.env, aborted());
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'cancelled' });
    expect(run.stderr).toContain(`resume:      agents-sdk resume r2 --state-dir '${join(world.root, 'my state')}'\n`);
  });

  it.runIf(backendFactories().length === 2)('the SQLite backend: the database is named and --backend is repeated', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'a', prompt: '[[reply:done]]' }] });
    const run = await cli(['run', spec, '--backend', 'sqlite', '--run-id', 'r3', '--state-dir', world.stateDir], world.env, aborted());
    expect(run.stdout).toContain(`state:       ${join(world.stateDir, 'agents.sqlite')} (run r3)\n`);
    expect(run.stdout).toContain(`resume:      agents-sdk resume r3 --state-dir ${world.stateDir} --backend sqlite\n`);
  });

  it('a failed run says how to retry it: resume --retry-failed (not "run the workflow again")', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'a', command: ['node', '-e', 'process.exit(1)'] }] });
    const run = await cli(['run', spec, '--run-id', 'r4', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    const advice = `to retry: \`agents-sdk resume r4 --state-dir ${world.stateDir} --retry-failed\` reruns the failed tasks (and those skipped because of them), keeping the completed ones\n`;
    expect(run.stdout).toContain(advice);
    expect(run.stdout).not.toMatch(/run the workflow again/);
    expect(run.stdout).not.toContain('raw outputs:');
    const resumed = await cli(['resume', 'r4', '--state-dir', world.stateDir], world.env);
    expect(resumed.stderr).toContain(`run r4 already finished (failed); nothing to run\n${advice}`);
  });

  it('a run over its budget says how to go on: resume --budget USD', async () => {
    const spec = workflowFile({ id: 'w', budget_usd: 0.000001, max_parallel: 1, tasks: [{ id: 'a', prompt: 'x' }, { id: 'b', prompt: 'y', depends_on: ['a'] }] });
    const run = await cli(['run', spec, '--run-id', 'r5', '--state-dir', world.stateDir], world.env);
    expect(run.stdout).toContain('budget_exceeded');
    const advice = `to go on: \`agents-sdk resume r5 --state-dir ${world.stateDir} --budget USD\` continues the run under a new cap (USD, the whole run's cost), keeping the completed tasks\n`;
    expect(run.stdout).toContain(advice);
    expect(run.stdout).not.toMatch(/run the workflow again/);
    const resumed = await cli(['resume', 'r5', '--state-dir', world.stateDir], world.env);
    expect(resumed.stderr).toContain(`run r5 already finished (budget_exceeded); nothing to run\n${advice}`);
  });
});
