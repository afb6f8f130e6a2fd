import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { ProgressView } from '../src/cli/progress-view.js';
import type { TaskEvent, WorkflowEvent } from '../src/index.js';
import { cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const base = { workflowId: 'w', runId: 'r' };
const started = (taskId: string, at: number): TaskEvent => ({ type: 'task.started', ...base, taskId, at, attempt: 1, maxAttempts: 3 }) as TaskEvent;
const tool = (taskId: string, at: number, name: string, command: string): TaskEvent =>
  ({ type: 'task.progress', ...base, taskId, at, attempt: 1, progress: { type: 'tool_use', sessionId: null, toolUseId: 't', name, input: { command } } }) as TaskEvent;

describe('plain progress (no TTY)', () => {
  it('prints a line per tool call, and a heartbeat for each running task silent for the interval', () => {
    let now = 1_000_000;
    const view = new ProgressView(() => now);
    view.apply({ type: 'workflow.started', ...base, at: now, taskIds: ['a', 'b'], resumed: false } as WorkflowEvent);
    expect(view.apply(started('a', now))).toBe('a: started (attempt 1/3)');
    view.apply(started('b', now));
    now += 1_000;
    expect(view.apply(tool('a', now, 'Bash', 'npm test'))).toBe('a: tool Bash: npm test');
    // nothing silent for 25 s yet
    now += 19_000;
    expect(view.heartbeat(25_000)).toEqual([]);
    now += 5_000;
    // b printed nothing since it started 25 s ago; a printed its tool call 24 s ago
    expect(view.heartbeat(25_000)).toEqual(['b: still running after 25.0s (attempt 1/3, 0 tool calls, no output yet)']);
    now += 1_000;
    expect(view.heartbeat(25_000)).toEqual(['a: still running after 26.0s (attempt 1/3, 1 tool call, in tool Bash, last output 25.0s ago)']);
    // each heartbeat counts as a line: the next one comes after another interval of silence
    now += 24_000;
    expect(view.heartbeat(25_000)).toEqual(['b: still running after 50.0s (attempt 1/3, 0 tool calls, no output yet)']);
  });
});

describe('agents-sdk run without a TTY', () => {
  it('is never silent while an agent sits in a long tool call: tool lines, then heartbeats', async () => {
    const gate = join(world.root, 'gate');
    const workflow = join(world.root, 'long.yaml');
    writeFileSync(workflow, JSON.stringify({ id: 'long', tasks: [{ id: 'slow', prompt: `[[tool-turns:2]] [[tool-wait:${gate}]] Work long` }] }));
    const run = cliProcess(['run', workflow, '--run-id', 'ci', '--state-dir', world.stateDir], { env: { ...world.env, AGENTS_SDK_HEARTBEAT_SECONDS: '0.2' } });
    // Whatever happens, the agent leaves its tool and the run ends with the test.
    onTestFinished(() => {
      run.kill();
    });
    let stderr = '';
    const heartbeat = new Promise<void>((resolve) => {
      run.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/slow: still running after [\d.]+s \(attempt 1\/3, 1 tool call, in tool Bash, last output [\d.]+s ago\)/.test(stderr)) resolve();
      });
    });
    // The agent stays in its tool until the test has seen a heartbeat: no timing luck needed.
    await Promise.race([heartbeat, run]);
    writeFileSync(gate, '');
    const done = await run;
    expect(done.exitCode, stderr).toBe(0);
    const lines = stderr.split('\n');
    const first = lines.indexOf('slow: tool Bash: echo step-1');
    const beat = lines.findIndex((l) => l.startsWith('slow: still running after') && l.includes('in tool Bash'));
    const second = lines.indexOf('slow: tool Bash: echo step-2');
    expect(first).toBeGreaterThan(0);
    expect(beat).toBeGreaterThan(first);
    expect(second).toBeGreaterThan(beat);
  }, 60_000);

  it('a bad AGENTS_SDK_HEARTBEAT_SECONDS is refused, naming it', async () => {
    const workflow = join(world.root, 'w.yaml');
    writeFileSync(workflow, JSON.stringify({ id: 'w', tasks: [{ id: 'a', prompt: 'hi' }] }));
    const run = await cliProcess(['run', workflow, '--state-dir', world.stateDir], { env: { ...world.env, AGENTS_SDK_HEARTBEAT_SECONDS: 'soon' } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('AGENTS_SDK_HEARTBEAT_SECONDS must be a number of seconds > 0, got "soon"');
  });
});
