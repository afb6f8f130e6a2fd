/**
 * `agents-sdk events <run>`: the run's history from its event log, as readable lines or JSON,
 * filtered by type and task, and followed live until the run ends; on both backends.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { eventually, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function writeSpec(tasks: unknown[]): string {
  const file = join(world.root, 'wf.json');
  writeFileSync(file, JSON.stringify({ id: 'history', tasks }));
  return file;
}

const echo = (text: string) => ['node', '-e', 'process.stdout.write(process.argv[1])', text];

describe.each(['json', 'sqlite'])('agents-sdk events (%s backend)', (backend) => {
  const state = () => ['--state-dir', world.stateDir, '--backend', backend];

  it('prints the history of a finished run, one readable line per event, filtered by type and task', async () => {
    const file = writeSpec([
      { id: 'plan', command: echo('the plan') },
      { id: 'flaky', depends_on: ['plan'], command: ['node', '-e', 'process.exit(3)'], retry_count: 1 },
      { id: 'after', depends_on: ['flaky'], command: echo('never') },
    ]);
    const run = await cli(['run', file, '--run-id', 'hist', ...state()]);
    expect(run.code).toBe(1);

    const all = await cli(['events', 'hist', ...state()]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^20\d\d-\d\d-\d\dT[\d:.]+Z {2}workflow\.started +workflow history, 3 tasks$/);
    expect(lines.at(-1)).toMatch(/Z {2}workflow\.finished +failed after \d+\.\ds, \$0\.0000$/);
    expect(all.stdout).toMatch(/Z {2}task\.started +plan +attempt 1\/3\n/);
    expect(all.stdout).toMatch(/Z {2}task\.completed +plan +after \d+\.\ds\n/);
    expect(all.stdout).toMatch(/Z {2}task\.failed +flaky +COMMAND_FAILED: Command `node -e process\.exit\(3\)` exited with code 3\n/);
    expect(all.stdout).toMatch(/Z {2}task\.skipped +after +task "flaky" failed and on_failure is stop\n/);

    const failures = await cli(['events', 'hist', '--type', 'task.failed', ...state()]);
    expect(failures.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(failures.stdout).toContain('task.failed');

    const planOnly = await cli(['events', 'hist', '--task', 'plan', '--json', ...state()]);
    const planEvents = planOnly.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; taskId: string; runId: string });
    expect(planEvents.map((e) => e.type)).toEqual(['task.started', 'task.completed']);
    expect(planEvents.every((e) => e.taskId === 'plan' && e.runId === 'hist')).toBe(true);

    const kinds = await cli(['events', 'hist', '--type', 'workflow', ...state()]);
    expect(kinds.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['workflow.started', 'workflow.finished']);
    const starred = await cli(['events', 'hist', '--type', 'workflow.*', '--type', 'task.skipped', ...state()]);
    expect(starred.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['workflow.started', 'task.skipped', 'workflow.finished']);
  }, 60_000);

  it("an agent task's progress: its session, tool calls and text, one line each", async () => {
    const file = writeSpec([{ id: 'agent', prompt: 'work [[tool-turns:1]]' }]);
    const run = await cli(['run', file, '--run-id', 'agentic', ...state()], world.env);
    expect(run.code, run.stderr).toBe(0);
    const progress = await cli(['events', 'agentic', '--type', 'task.progress', ...state()]);
    expect(progress.code, progress.stderr).toBe(0);
    expect(progress.stdout).toMatch(/Z {2}task\.progress +agent +#1 session [\w-]+ \(claude-[\w.-]+\)\n/);
    expect(progress.stdout).toMatch(/Z {2}task\.progress +agent +#1 tool Bash: \{"command":"echo step-1".*\n/);
    expect(progress.stdout).toMatch(/Z {2}task\.progress +agent +#1 tool result\n/);
    expect(progress.stdout).toMatch(/Z {2}task\.progress +agent +#1 text: \S/);
    expect(progress.stdout).toMatch(/Z {2}task\.progress +agent +#1 result success\n/);
  }, 60_000);

  it('--follow prints events as the run makes them and ends with the run', async () => {
    const go = join(world.root, 'go');
    const started = join(world.root, 'started');
    const wait = [
      'node',
      '-e',
      "const fs = require('fs'); fs.writeFileSync(process.argv[1], ''); const t = setInterval(() => { if (fs.existsSync(process.argv[2])) { clearInterval(t); process.stdout.write('went'); } }, 50);",
      started,
      go,
    ];
    const file = writeSpec([{ id: 'gate', command: wait }, { id: 'next', depends_on: ['gate'], command: echo('next') }]);
    const child = cliProcess(['run', file, '--run-id', 'live', ...state()]);
    try {
      expect(await eventually(() => existsSync(started), 30_000)).toBe(true);
      const following = cliProcess(['events', 'live', '--follow', ...state()]);
      // It has printed what happened so far and waits on: the run goes on only now.
      let printed = '';
      following.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      expect(await eventually(() => printed.includes('task.started') && printed.includes('gate'), 30_000)).toBe(true);
      expect(printed).not.toContain('workflow.finished');
      writeFileSync(go, '');
      const followed = await following;
      expect(followed.exitCode, String(followed.stderr)).toBe(0);
      const types = String(followed.stdout).trimEnd().split('\n').map((l) => l.split(/\s+/).slice(1, 3).join(' '));
      expect(types).toEqual([
        'workflow.started workflow',
        'task.started gate',
        'task.completed gate',
        'task.started next',
        'task.completed next',
        'workflow.finished completed',
      ]);
      expect((await child).exitCode).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});

describe.each(['json', 'sqlite'])('agents-sdk events --follow before the run exists (%s backend)', (backend) => {
  it('waits for the run to start, then follows it to its end', async () => {
    const state = ['--state-dir', world.stateDir, '--backend', backend];
    const following = cliProcess(['events', 'early', '--follow', ...state]);
    let waiting = '';
    following.stderr!.on('data', (chunk: Buffer) => (waiting += chunk.toString()));
    expect(await eventually(() => waiting.includes('waiting for run early to start (up to 30s)...'), 30_000)).toBe(true);
    const run = await cliProcess(['run', writeSpec([{ id: 'only', command: echo('x') }]), '--run-id', 'early', ...state]);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const followed = await following;
    expect(followed.exitCode, String(followed.stderr)).toBe(0);
    expect(String(followed.stdout).trimEnd().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['workflow.started', 'task.started', 'task.completed', 'workflow.finished']);
  }, 60_000);
});

describe('agents-sdk events: bad input', () => {
  it('an unknown run or a bad --type exits 2', async () => {
    const unknown = await cli(['events', 'ghost', '--state-dir', world.stateDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NOT_FOUND: Unknown run id "ghost"');
    const badType = await cli(['events', 'ghost', '--type', 'Task Failed', '--state-dir', world.stateDir]);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('--type must be an event type such as task.failed');
  });
});
