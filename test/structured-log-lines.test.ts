/**
 * What a structured log line says for each kind of event, sessions' included: its level, its
 * fields without bulk, and its message in words.
 */
import { describe, expect, it } from 'vitest';
import { AgentSession, createRunLogger, type LifecycleEvent } from '../src/index.js';
import { createEventBus } from '../src/event-bus.js';
import type { Events } from '../src/events.js';
import { okResult } from './helpers/results.js';

function logged(level: 'trace' | 'info' = 'trace') {
  const lines: string[] = [];
  const log = createRunLogger({ level, write: (line) => lines.push(line) });
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const session = { sessionId: 's1', agentName: 'writer', attempt: 1, at: 5 };
const error = { name: 'TransientError', code: 'RATE_LIMITED' as const, message: 'x'.repeat(600), transient: true };

describe('createRunLogger', () => {
  it('logs session events with the session, agent and attempt, and progress without its bulk', () => {
    const { log, entries } = logged();
    const events: LifecycleEvent[] = [
      { type: 'session.started', ...session, maxAttempts: 2 },
      { type: 'session.progress', ...session, progress: { type: 'init', sessionId: 'c', model: 'm', cwd: '/', tools: ['Bash'] } },
      { type: 'session.progress', ...session, progress: { type: 'tool_use', sessionId: null, toolUseId: 'u', name: 'Bash', input: { command: 'ls' } } },
      { type: 'session.progress', ...session, progress: { type: 'tool_result', sessionId: null, toolUseId: 'u', content: 'big'.repeat(1000), isError: false } },
      { type: 'session.progress', ...session, progress: { type: 'api_retry', sessionId: null, attempt: 2, maxRetries: 10, errorStatus: 529, error: 'overloaded', retryDelayMs: 500 } },
      { type: 'session.progress', ...session, progress: { type: 'result', sessionId: null, subtype: 'success', isError: false, text: 'done', costUsd: 0.1, numTurns: 1, apiErrorStatus: null } },
      { type: 'session.retrying', ...session, error, delayMs: 1500 },
      { type: 'session.failed', ...session, attempt: 2, error },
      { type: 'session.completed', ...session, result: okResult({ costUsd: 0.25, output: 'o'.repeat(100_000) }) },
      { type: 'session.reaped', ...session, processes: [{ pid: 7, command: 'claude', outcome: 'unverified' }] },
    ];
    for (const e of events) log.logEvent(e);
    const lines = entries();
    expect(lines.map((l) => [l.type, l.level])).toEqual([
      ['session.started', 'info'],
      ['session.progress', 'debug'],
      ['session.progress', 'debug'],
      ['session.progress', 'debug'],
      ['session.progress', 'debug'],
      ['session.progress', 'debug'],
      ['session.retrying', 'warn'],
      ['session.failed', 'error'],
      ['session.completed', 'info'],
      ['session.reaped', 'warn'],
    ]);
    expect(lines[0]).toMatchObject({ sessionId: 's1', agentName: 'writer', attempt: 1, maxAttempts: 2, msg: 'session s1: attempt 1/2 started' });
    expect(lines[0]).not.toHaveProperty('runId');
    expect(lines.slice(1, 6).map((l) => l.progress)).toEqual([
      { type: 'init', model: 'm' },
      { type: 'tool_use', name: 'Bash' },
      { type: 'tool_result', isError: false },
      { type: 'api_retry', attempt: 2, maxRetries: 10, errorStatus: 529, error: 'overloaded', retryDelayMs: 500 },
      { type: 'result', subtype: 'success', isError: false, costUsd: 0.1, numTurns: 1 },
    ]);
    expect(lines.slice(1, 6).map((l) => l.msg)).toEqual(['session s1: init', 'session s1: tool Bash', 'session s1: tool result', 'session s1: API retry 2 after 529', 'session s1: result']);
    expect((lines[6]!.error as { message: string }).message).toHaveLength(501);
    expect(lines[7]!.msg).toMatch(/^session s1: failed \(RATE_LIMITED: x+…\)$/);
    expect(lines[8]).toMatchObject({ costUsd: 0.25, msg: 'session s1: completed, 0 tokens, $0.2500' });
    expect(JSON.stringify(lines[8]).length).toBeLessThan(1_000);
    expect(lines[9]!.msg).toBe('process 7 (claude) of the interrupted process may still run (could not be verified)');
  });

  it('logs a finished run at the level of its outcome, remembers the run id for session events, and leaves out what is below its level', () => {
    const { log, entries } = logged('info');
    const run = { workflowId: 'w', runId: 'r9', at: 1 };
    const result = (status: 'cancelled' | 'budget_exceeded' | 'completed') =>
      ({ workflowId: 'w', runId: 'r9', status, success: status === 'completed', taskResults: [], totalTimeMs: 10, tokens: { input: 1, output: 2, cacheRead: 0, cacheCreation: 0 }, costUsd: 0 }) as never;
    log.logEvent({ type: 'workflow.reaped', ...run, processes: [{ pid: 3, command: 'claude', outcome: 'killed' }] });
    log.logEvent({ type: 'session.progress', ...session, progress: { type: 'assistant_text', sessionId: null, text: 'hidden' } });
    log.logEvent({ type: 'session.started', ...session, maxAttempts: 1 });
    for (const status of ['cancelled', 'budget_exceeded', 'completed'] as const) log.logEvent({ type: 'workflow.finished', ...run, result: result(status) });
    expect(entries().map((l) => [l.type, l.level, l.runId])).toEqual([
      ['workflow.reaped', 'warn', 'r9'],
      ['session.started', 'info', 'r9'],
      ['workflow.finished', 'warn', 'r9'],
      ['workflow.finished', 'warn', 'r9'],
      ['workflow.finished', 'info', 'r9'],
    ]);
    expect(entries()[0]!.msg).toBe('killed agent process group 3 (claude) left running by the interrupted process');
    expect(entries()[4]).toMatchObject({ status: 'completed', tokens: 3, msg: 'run r9 completed in 0.0s: 0 tasks, 3 tokens, $0.0000' });
  });

  it('follows a session through its bus, in pretty lines', async () => {
    const bus = createEventBus<Events>();
    const lines: string[] = [];
    const stop = createRunLogger({ format: 'pretty', write: (l) => lines.push(l) }).attach(bus);
    const s = new AgentSession({ sessionId: 'p1', agentName: 'a', bus, executor: async () => okResult() });
    await s.execute('hi');
    stop();
    await s.execute('again');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}session p1: attempt 1\/1 started\n$/);
    expect(lines[1]).toMatch(/INFO {2}session p1: completed, 0 tokens, \$0\.0000\n$/);
  });
});

describe('createRunLogger on signals', () => {
  it('logs a waiting task with its event and deadline, and a signal with its origin, type and source (not its payload)', () => {
    const { log, entries } = logged();
    const base = { workflowId: 'w', runId: 'r', at: 5 };
    log.logEvent({ type: 'task.waiting', ...base, taskId: 'build', event: 'approval.granted', deadline: 3_600_005 });
    log.logEvent({ type: 'task.waiting', ...base, taskId: 'ship', event: 'build.done', deadline: null });
    const signal = { id: 'sig1', type: 'approval.granted', payload: { secret: 'x'.repeat(1000) }, source: 'cli', at: 6 };
    log.logEvent({ type: 'workflow.signal', ...base, origin: 'received', signal });
    log.logEvent({ type: 'workflow.signal', ...base, origin: 'published', signal: { ...signal, id: 'r/build', source: 'r/build' } });
    const lines = entries();
    expect(lines[0]).toMatchObject({ type: 'task.waiting', taskId: 'build', event: 'approval.granted', deadline: 3_600_005, level: 'info' });
    expect(lines[0]!.msg).toBe('task build: waiting for approval.granted until 1970-01-01T01:00:00.005Z');
    expect(lines[1]!.msg).toBe('task ship: waiting for build.done');
    expect(lines[2]).toMatchObject({ origin: 'received', signal: { id: 'sig1', type: 'approval.granted', source: 'cli' } });
    expect(JSON.stringify(lines[2])).not.toContain('xxxx');
    expect(lines[2]!.msg).toBe('run r: signal approval.granted received from cli');
    expect(lines[3]!.msg).toBe('run r: signal approval.granted published by r/build');
  });
});

describe('createRunLogger on loops', () => {
  it('logs an iteration that starts with the loop, its number and bound', () => {
    const { log, entries } = logged();
    log.logEvent({ type: 'loop.iteration', workflowId: 'w', runId: 'r', at: 5, taskId: 'fix_tests', iteration: 2, max: 4 });
    const [line] = entries();
    expect(line).toMatchObject({ type: 'loop.iteration', taskId: 'fix_tests', iteration: 2, max: 4, level: 'info' });
    expect(line!.msg).toBe('task fix_tests: iteration 2 of at most 4');
  });
});
