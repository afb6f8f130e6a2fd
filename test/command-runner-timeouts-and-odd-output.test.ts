/**
 * Command tasks: timeouts, cancels, missing programs and signals; descendants that hold stdout;
 * last lines without a newline; limits beyond a timer's range; unreadable long arguments.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** Kills a process a test command left running (its pid is the output). */
function killEscaped(output: string | undefined): void {
  const pid = Number(output?.trim());
  expect(pid).toBeGreaterThan(1);
  process.kill(pid, 'SIGKILL');
}

describe('runCommand', () => {
  it('reports a timeout (transient), a cancel, a missing program and a signal', async () => {
    const hang = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
    const timeout = await failureOf(runCommand({ command: hang, timeoutMs: 300, killGraceMs: 200 }));
    expect([timeout.code, timeout.transient]).toEqual(['TIMEOUT', true]);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await failureOf(runCommand({ command: hang, killGraceMs: 200 }, { signal: controller.signal }));
    expect(cancelled.code).toBe('CANCELLED');

    const missing = await failureOf(runCommand({ command: [join(world.root, 'no-such-program')] }));
    expect(missing.code).toBe('COMMAND_FAILED');
    expect(missing.message).toContain('Could not start');

    const killed = await failureOf(runCommand({ command: [process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")'] }));
    expect(killed.message).toContain('SIGKILL');
    expect((await failureOf(runCommand({ command: [] }))).code).toBe('INVALID_ARGUMENTS');
  });

  it('ends at its timeout even when a descendant that left the process group holds stdout', async () => {
    const started = Date.now();
    const failure = await failureOf(runCommand({ command: ['sh', '-c', 'setsid sleep 30 & echo $!; sleep 100'], timeoutMs: 500, killGraceMs: 200 }));
    expect(failure.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    killEscaped(failure.result?.output);
  });

  it('keeps a last line without a newline, CRLF endings stripped, even when the stream is cut', async () => {
    expect((await runCommand({ command: ['sh', '-c', 'printf "a\\r\\nb\\nc"'] })).output).toBe('a\nb\nc');
    const cut = await runCommand({ command: ['sh', '-c', 'printf "line1\\nlast-no-newline"; sleep 30 & echo $! >&2'] });
    expect(cut.output).toBe('line1\nlast-no-newline');
    process.kill(Number(cut.stderrTail.trim()), 'SIGKILL');
  });

  it('finishes when the command exits, not when a background child it left closes stdout', async () => {
    const started = Date.now();
    const result = await runCommand({ command: ['sh', '-c', 'sleep 30 & echo $!'] });
    expect(Date.now() - started).toBeLessThan(10_000);
    killEscaped(result.output);
  });

  it('a limit beyond what a timer holds (~24.8 days) is no limit, not an instant timeout', async () => {
    const result = await runCommand({ command: [process.execPath, '-e', 'setTimeout(() => console.log("done"), 200)'], timeoutMs: 3_600_000_000 });
    expect(result.output).toBe('done');
  });

  it('keeps a command that cannot start readable in the message, however long its arguments', async () => {
    const huge = 'x'.repeat(300_000); // over the kernel's limit for one argument: E2BIG
    const failure = await failureOf(runCommand({ command: [process.execPath, '-e', '', huge] }));
    expect(failure.code).toBe('COMMAND_FAILED');
    expect(failure.message).toContain('Could not start command');
    expect(failure.message.length).toBeLessThan(1_000);
  });
});
