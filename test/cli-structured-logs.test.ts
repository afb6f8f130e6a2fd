/**
 * `agents-sdk run --log-format json|pretty`: a log line per run event on stderr, through pino,
 * from the orchestrator's bus; the built CLI with the fake claude, as users run it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRunEvents, type WorkflowResult } from '../src/index.js';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

interface LogLine {
  level: string;
  time: number;
  msg: string;
  type: string;
  runId: string;
  taskId?: string;
  sessionId?: string;
  attempt?: number;
  [field: string]: unknown;
}

/** plan completes; flaky fails once with a 529, then completes; bad fails; after is skipped. */
function writeSpec(): string {
  const file = join(world.root, 'logged.yaml');
  writeFileSync(
    file,
    [
      'id: logged',
      'on_failure: continue',
      'tasks:',
      '  - id: plan',
      '    prompt: "plan it [[reply:the plan]]"',
      '  - id: flaky',
      '    prompt: "flaky [[transient:1]]"',
      '    retry_count: 2',
      '    retry_delay: 0.2',
      '  - id: bad',
      '    prompt: "bad [[is-error:no way]]"',
      '    retry_count: 1',
      '  - id: after',
      '    prompt: "after"',
      '    depends_on: [bad]',
      '',
    ].join('\n'),
  );
  return file;
}

function jsonLines(stderr: string): LogLine[] {
  const lines = stderr.split('\n').filter((l) => l !== '');
  return lines.map((l) => JSON.parse(l) as LogLine);
}

describe('agents-sdk run --log-format json', () => {
  it('writes one JSON line per event on stderr, at the level of what happened, without outputs', async () => {
    const run = await cliProcess(['run', writeSpec(), '--log-format', 'json', '--run-id', 'logged', '--state-dir', world.stateDir], { env: world.env });
    expect(run.exitCode).toBe(1);
    // stdout keeps its summary table.
    expect(String(run.stdout)).toContain('logged run logged: failed');
    const lines = jsonLines(String(run.stderr));
    for (const line of lines) {
      expect(typeof line.level).toBe('string');
      expect(typeof line.time).toBe('number');
      expect(typeof line.msg).toBe('string');
      expect(line.runId).toBe('logged');
      expect(typeof line.type).toBe('string');
      expect(line).not.toHaveProperty('output');
    }
    const find = (type: string, taskId?: string) => lines.find((l) => l.type === type && (taskId === undefined || l.taskId === taskId));
    expect(find('workflow.started')).toMatchObject({ level: 'info', workflowId: 'logged', tasks: 4, resumed: false });
    expect(find('task.started', 'plan')).toMatchObject({ level: 'info', sessionId: 'plan', attempt: 1, maxAttempts: 3 });
    expect(find('task.completed', 'plan')).toMatchObject({ level: 'info', attempt: 1, status: 'completed', outputBytes: 8 });
    expect(find('task.retrying', 'flaky')).toMatchObject({ level: 'warn', attempt: 1, error: { code: 'API_OVERLOADED', transient: true } });
    expect(find('task.completed', 'flaky')).toMatchObject({ level: 'info', attempt: 2 });
    expect(find('task.failed', 'bad')).toMatchObject({ level: 'error', error: { code: 'AGENT_ERROR' } });
    expect(find('task.failed', 'bad')!.msg).toContain('task bad: failed');
    expect(find('task.skipped', 'after')).toMatchObject({ level: 'info', reason: expect.stringContaining('bad') });
    expect(find('workflow.finished')).toMatchObject({ level: 'error', status: 'failed', tasks: { completed: 2, failed: 1, skipped: 1 } });
    // Progress is at debug: not at the default level.
    expect(find('task.progress')).toBeUndefined();
    // One line per event the run logged, progress aside.
    const { events } = await readRunEvents('logged', { stateDir: world.stateDir });
    expect(lines.filter((l) => !l.type.startsWith('cli.')).map((l) => l.type)).toEqual(events.map((e) => e.type).filter((t) => t !== 'task.progress'));
  }, 30_000);

  it('with --json, stdout holds only the result and stderr only log lines; --log-level debug adds progress', async () => {
    const spec = join(world.root, 'one.yaml');
    writeFileSync(spec, ['id: one', 'tasks:', '  - id: only', '    prompt: "hi [[reply:hello]]"', ''].join('\n'));
    const run = await cliProcess(['run', spec, '--json', '--log-format', 'json', '--log-level', 'debug', '--state-dir', world.stateDir], { env: world.env });
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(String(run.stdout)) as WorkflowResult;
    const lines = jsonLines(String(run.stderr));
    expect(lines.every((l) => l.runId === result.runId)).toBe(true);
    expect(lines.filter((l) => l.type === 'task.progress').every((l) => l.level === 'debug')).toBe(true);
    expect(lines.some((l) => l.type === 'task.progress')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'cli.whereabouts', msg: expect.stringContaining('state:') });
  }, 30_000);
});

describe('agents-sdk run --log-format pretty', () => {
  it('prints a readable line per event: time, level, what happened', async () => {
    const run = await cli(['run', writeSpec(), '--log-format', 'pretty', '--run-id', 'pretty', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR) \S/);
    expect(lines[0]).toMatch(/INFO {2}run pretty of workflow logged started: 4 tasks$/);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/INFO {2}task plan: attempt 1\/3 started$/),
        expect.stringMatching(/WARN {2}task flaky: attempt 1 failed \(API_OVERLOADED: .*\); retrying in (\d+ ms|\d+\.\ds)$/),
        expect.stringMatching(/INFO {2}task plan: completed in \d+\.\ds after 1 attempt, \d+ tokens, \$\d\.\d{4}$/),
        expect.stringMatching(/ERROR task bad: failed in .* \(AGENT_ERROR: .*no way.*\)$/),
        expect.stringMatching(/INFO {2}task after: skipped: .*bad/),
        expect.stringMatching(/ERROR run pretty failed in \d+\.\ds: 4 tasks/),
      ]),
    );
    // The plain progress lines are replaced by the log, not doubled.
    expect(run.stderr).not.toContain('plan: started (attempt');
    const { events } = await readRunEvents('pretty', { stateDir: world.stateDir });
    expect(lines).toHaveLength(events.filter((e) => e.type !== 'task.progress').length);
  }, 30_000);

  it('refuses an unknown format or level, and a level without a format', async () => {
    const spec = writeSpec();
    const format = await cli(['run', spec, '--log-format', 'xml', '--state-dir', world.stateDir], world.env);
    expect([format.code, format.stderr]).toEqual([2, 'agents-sdk: --log-format must be json or pretty, got "xml"\n']);
    const level = await cli(['run', spec, '--log-format', 'json', '--log-level', 'loud', '--state-dir', world.stateDir], world.env);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--log-level must be one of trace, debug, info, warn, error, fatal, silent');
    const alone = await cli(['resume', 'x', '--log-level', 'debug', '--state-dir', world.stateDir], world.env);
    expect([alone.code, alone.stderr]).toEqual([2, 'agents-sdk: --log-level needs --log-format json or pretty\n']);
    expect(world.invocations()).toEqual([]);
  });
});
