/**
 * Issue 20, data A: a process's stdout is read to its end (EOF) before its result is recorded.
 * Only descendants that keep stdout open after the process exited are cut, after a grace; what
 * was read is kept and the result says it was cut.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSupervisedProcess } from '../src/actors/supervised-process.js';
import { ClaudeStreamCollector } from '../src/claude/stream-collector.js';
import { cli } from './helpers/cli.js';
import { eventually, isAlive } from './helpers/fake-claude.js';

/** Holds the event loop for `ms`: what a loaded orchestrator does between two polls. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const leftBehind: number[] = [];
afterEach(() => {
  for (const pid of leftBehind.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe('stdout is read to its end', () => {
  it('output still in the pipe when the exit is seen is kept, however late the stream is read', async () => {
    // Under load, the exit of a process can be seen before its output is read: Node reaps every
    // exited child when it handles one SIGCHLD, and the timers of the next turn of the event
    // loop run before its poll reads the pipes. Here: while the loop is held by the first
    // line of `a`, `b` writes and exits; the SIGCHLD of `a` (already pending) reaps `b` too,
    // and `b`'s output has not been polled yet. A grace of 0 ms makes the next turn's timers
    // due (a slow turn does the same to the default 1 s).
    let turns = true;
    const slowTurn = (): void => {
      busy(5);
      if (turns) setImmediate(slowTurn);
    };
    setImmediate(slowTurn);
    try {
      let held = false;
      const a = runSupervisedProcess({
        file: 'sh',
        args: ['-c', 'echo a'],
        streamGraceMs: 0,
        onLine: () => {
          if (!held) busy(1_600);
          held = true;
        },
      });
      const lines: string[] = [];
      const b = runSupervisedProcess({ file: 'sh', args: ['-c', 'sleep 0.8; echo out-b'], streamGraceMs: 0, onLine: (line) => void lines.push(line) });
      // `a` has written and exited by now: its line and its SIGCHLD are polled together.
      busy(400);
      const [outcomeA, outcomeB] = await Promise.all([a, b]);
      expect(outcomeA.exitCode).toBe(0);
      expect(outcomeB.exitCode).toBe(0);
      expect(lines).toEqual(['out-b']);
      expect(outcomeB.outputCut).toBeUndefined();
    } finally {
      turns = false;
    }
  });

  it('a descendant that keeps stdout open is cut after the grace: what was read is kept, and the outcome says so', async () => {
    const lines: string[] = [];
    const outcome = await runSupervisedProcess({
      file: 'sh',
      // The background sleep inherits stdout and outlives its parent.
      args: ['-c', 'echo first; sleep 30 & echo $!; exit 0'],
      streamGraceMs: 200,
      onLine: (line) => void lines.push(line),
    });
    const holder = Number(lines[1]);
    leftBehind.push(holder);
    expect(outcome.exitCode).toBe(0);
    expect(lines[0]).toBe('first');
    expect(outcome.outputCut).toBeDefined();
    expect(outcome.outputCut!.afterExitMs).toBeGreaterThanOrEqual(200);
    expect(outcome.outputCut!.heldBy).toContain(holder);
  });

  it('the record of a command task whose descendant held stdout says it was cut: status, logs and the run summary show it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agents-sdk-cut-'));
    try {
      const spec = join(root, 'cut.yaml');
      // The grandchild holds stdout for 30 s; the default grace is 1 s.
      writeFileSync(spec, ['id: cut', 'tasks:', '  - id: leaves', '    command: ["sh", "-c", "echo kept; sleep 30 &"]', ''].join('\n'));
      const stateDir = join(root, 'agents');
      const run = await cli(['run', spec, '--run-id', 'cut-1', '--state-dir', stateDir]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/ {2}leaves: output cut: process \d+ it left behind still held stdout open 1\.\d s after it exited; what it wrote until then is kept/);
      const status = await cli(['status', 'cut-1', '--state-dir', stateDir]);
      expect(status.stdout).toMatch(/leaves .*output cut: process \d+ it left behind still held stdout open/);
      const json = JSON.parse((await cli(['status', 'cut-1', '--json', '--state-dir', stateDir])).stdout) as { records: Array<{ output: string; outputCut?: { heldBy: number[] } }> };
      expect(json.records[0]!.output).toBe('kept');
      const pid = json.records[0]!.outputCut!.heldBy[0]!;
      leftBehind.push(pid);
      expect(isAlive(pid)).toBe(true);
      const logs = await cli(['logs', 'cut-1', '--state-dir', stateDir]);
      expect(logs.stdout).toContain('stdout:\n  kept');
      expect(logs.stdout).toContain(`(output cut: process ${pid} it left behind still held stdout open`);
      process.kill(pid, 'SIGKILL');
      expect(await eventually(() => !isAlive(pid), 2_000)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an agent cut after its result line is not marked cut (its output is whole); one cut before it is', async () => {
    const lines = readFileSync(new URL('./fixtures/claude-samples/success.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean);
    const resultAt = lines.findIndex((l) => (JSON.parse(l) as { type: string }).type === 'result');
    const ended = { exitCode: 0, stderrTail: '', killedBy: null, durationMs: 1_100, outputCut: { afterExitMs: 1_000, heldBy: [4242] } };
    const whole = new ClaudeStreamCollector(null, null);
    for (const line of lines) whole.handleLine(line);
    const result = await whole.finish(ended);
    expect(result.success).toBe(true);
    expect(result.outputCut).toBeUndefined();
    const cut = new ClaudeStreamCollector(null, null);
    for (const line of lines.slice(0, resultAt)) cut.handleLine(line);
    await expect(cut.finish(ended)).rejects.toMatchObject({ result: { outputCut: { afterExitMs: 1_000, heldBy: [4242] } } });
  });
});
