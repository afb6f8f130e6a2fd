/**
 * A missing `claude` is found before the run starts: a clear error, exit 2, nothing stored,
 * instead of a stored run whose agent tasks all failed with BINARY_NOT_FOUND. Only when the
 * workflow has agent tasks that would start the real binary: command tasks, `--replay` and
 * a task's own CLAUDE_CODE_PATH are no reason to refuse.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { FAKE_CLAUDE, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let missing: Record<string, string>;
beforeEach(() => {
  world = fakeWorld();
  missing = { ...world.env, CLAUDE_CODE_PATH: join(world.root, 'no-claude-here') };
});
afterEach(() => world.cleanup());

function workflowFile(spec: unknown): string {
  const file = join(world.root, 'workflow.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

describe('run with no claude binary', () => {
  it('is refused before anything is stored (exit 2), naming the binary and the tasks that need it', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'lint', command: ['true'] }, { id: 'plan', prompt: 'x' }, { id: 'build', prompt: 'y', depends_on: ['plan'] }] });
    const run = await cli(['run', spec, '--state-dir', world.stateDir], missing);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `agents-sdk: Claude Code binary not found: CLAUDE_CODE_PATH=${missing.CLAUDE_CODE_PATH} is not an executable file ` +
        '(and CLAUDE_CODE_PATH takes precedence over looking for `claude` on PATH). The run was not started (nothing was stored): ' +
        'its agent tasks plan, build need it (--replay DIR answers agent tasks from recorded streams; --redis URL runs them on workers)\n',
    );
    expect(run.stdout).toBe('');
    expect(existsSync(world.stateDir)).toBe(false);
    const list = await cli(['list', '--state-dir', world.stateDir, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('is no problem for a workflow of command tasks, with --replay, or for a task that names its own binary', async () => {
    const commands = workflowFile({ id: 'w', tasks: [{ id: 'lint', command: ['node', '-e', 'console.log("ok")'] }] });
    expect((await cli(['run', commands, '--state-dir', world.stateDir], missing)).code).toBe(0);
    const replayed = await cli(['run', 'examples/sdlc.yaml', '--replay', 'examples/recordings/sdlc', '--replay-speed', '0', '--state-dir', world.stateDir], missing);
    expect(replayed.code).toBe(0);
    const own = workflowFile({ id: 'w', tasks: [{ id: 'a', prompt: 'hi [[reply:from the task binary]]', env: { CLAUDE_CODE_PATH: FAKE_CLAUDE } }] });
    const run = await cli(['run', own, '--state-dir', world.stateDir, '--json'], missing);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ taskResults: [{ taskId: 'a', status: 'completed', output: 'from the task binary' }] });
  });

  it('is found by resume too, before anything changes, for the agent tasks left to run', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'lint', command: ['true'] }, { id: 'plan', prompt: 'x [[is-error]]', retry_count: 1, depends_on: ['lint'] }] });
    const run = await cli(['run', spec, '--state-dir', world.stateDir, '--run-id', 'gone'], world.env);
    expect(run.code, run.stderr).toBe(1);
    const before = (await cli(['status', 'gone', '--state-dir', world.stateDir, '--json'])).stdout;
    const resumed = await cli(['resume', 'gone', '--retry-failed', '--state-dir', world.stateDir], missing);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('Run gone was not resumed (nothing was changed): its agent task plan needs it');
    expect((await cli(['status', 'gone', '--state-dir', world.stateDir, '--json'])).stdout).toBe(before);
  });
});
