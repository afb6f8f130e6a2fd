/**
 * The CLI's words: counts take the right plural ("1 task"), a retry that comes at once says so
 * ("retrying now", not "retrying in 0.0s"), and an error is printed once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunLogger, type LifecycleEvent } from '../src/index.js';
import { ProgressView } from '../src/cli/progress-view.js';
import { describeSessionEvent } from '../src/cli/exec-command.js';
import { describeApiRetry } from '../src/claude/transcript.js';
import { count, inTime } from '../src/wording.js';
import { cli } from './helpers/cli.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-wording-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const base = { runId: 'r1', workflowId: 'w', at: 0 };
const error = { name: 'TransientError', code: 'API_OVERLOADED' as const, message: 'overloaded', transient: true };

describe('counts', () => {
  it('say "1 task", "2 tasks", "1 directory", "3 directories"', () => {
    expect([count(1, 'task'), count(2, 'task'), count(0, 'task')]).toEqual(['1 task', '2 tasks', '0 tasks']);
    expect([count(1, 'directory', 'directories'), count(3, 'directory', 'directories')]).toEqual(['1 directory', '3 directories']);
  });

  it('validate of a one-task workflow says "1 task"', async () => {
    const file = join(root, 'one.yaml');
    writeFileSync(file, 'id: one\ntasks:\n  - id: a\n    command: [echo, hi]\n');
    const run = await cli(['validate', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('valid workflow "one": 1 task (0 agent, 1 command)');
  });

  it('the progress lines and the log lines of a one-task run say "1 task", "1 attempt", "1 token"', () => {
    const view = new ProgressView(() => 0);
    expect(view.apply({ type: 'workflow.started', ...base, taskIds: ['a'], resumed: false })).toBe('workflow w run r1: 1 task');
    const lines: string[] = [];
    const log = createRunLogger({ format: 'json', write: (l) => lines.push(l) });
    log.logEvent({ type: 'workflow.started', ...base, taskIds: ['a'], resumed: false } as LifecycleEvent);
    const record = {
      taskId: 'a', status: 'completed', attempts: 1, durationMs: 1000, costUsd: 0, error: null, output: 'hi',
      tokens: { input: 1, output: 0, cacheRead: 0, cacheCreation: 0 },
    };
    log.logEvent({ type: 'task.completed', ...base, taskId: 'a', record } as unknown as LifecycleEvent);
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs[0]).toBe('run r1 of workflow w started: 1 task');
    expect(msgs[1]).toBe('task a: completed in 1.0s after 1 attempt, 1 token, $0.0000');
  });
});

describe('when a retry comes', () => {
  it('is "now" for no wait, in milliseconds under a second, in seconds above', () => {
    expect([inTime(0), inTime(0.2), inTime(40), inTime(999.4), inTime(1500)]).toEqual(['now', 'now', 'in 40 ms', 'in 999 ms', 'in 1.5s']);
  });

  it('the progress view, the log and exec say "retrying now", never "retrying in 0.0s"', () => {
    const view = new ProgressView(() => 0);
    view.apply({ type: 'workflow.started', ...base, taskIds: ['t0'], resumed: false });
    const retrying = { type: 'task.retrying', ...base, taskId: 't0', attempt: 1, delayMs: 0, error } as const;
    expect(view.apply(retrying)).toBe('t0: attempt 1 failed (API_OVERLOADED: overloaded); retrying now');
    expect(view.render()).toContain('API_OVERLOADED, retry now');
    expect(view.apply({ ...retrying, delayMs: 30 })).toBe('t0: attempt 1 failed (API_OVERLOADED: overloaded); retrying in 30 ms');
    const lines: string[] = [];
    createRunLogger({ format: 'json', write: (l) => lines.push(l) }).logEvent(retrying);
    expect((JSON.parse(lines[0]!) as { msg: string }).msg).toBe('task t0: attempt 1 failed (API_OVERLOADED: overloaded); retrying now');
    const session = { sessionId: 's', agentName: 'agent', attempt: 1, at: 0 };
    expect(describeSessionEvent({ type: 'session.retrying', ...session, error, delayMs: 0 })).toBe('[agent] attempt 1 failed (API_OVERLOADED): retrying now\n');
    expect(describeApiRetry({ attempt: 1, maxRetries: 2, errorStatus: 529, error: 'overloaded', retryDelayMs: 0 })).toBe('API retry 1/2 after 529 overloaded, next now');
  });
});

describe('migrate --from a directory that does not exist', () => {
  it('prints its error once', async () => {
    const missing = join(root, 'nonexistent');
    const run = await cli(['migrate', '--from', missing, '--state-dir', join(root, 'agents')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`agents-sdk: Cannot read --from directory ${missing}: no such directory\n`);
    const dry = await cli(['migrate', '--from', missing, '--dry-run']);
    expect(dry.stderr).toBe(`agents-sdk: Cannot read --from directory ${missing}: no such directory\n`);
  });
});
