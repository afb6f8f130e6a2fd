/**
 * The live block as a person sees it: the built CLI runs in a real pseudo-terminal (util-linux
 * `script`), and what it wrote is played through a small terminal emulator.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI_BIN } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { resizeMarker, TerminalScreen } from './helpers/terminal-screen.js';

/**
 * The tests mostly wait on their terminal (a replay, a task held until something is shown): they
 * run concurrently, each with a scratch world of its own.
 */
const test = it.extend<{ world: FakeWorld }>({
  world: async ({}, use) => {
    const world = fakeWorld();
    await use(world);
    world.cleanup();
  },
});

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `shell` (a sh script; `$CLI` runs the built CLI) in a pseudo-terminal of `columns`
 * columns; resolves with everything written to the terminal, in order, and the exit code.
 * `shown 'regex'` in the script waits until the terminal has shown that text (script -f writes
 * every output to its log file at once): grep reads the log as `tail -f` follows it, so the wait
 * ends at the first match without polling (a poll would start two processes every few ms).
 */
async function inTerminal(world: FakeWorld, columns: number, shell: string, env: Record<string, string> = {}): Promise<{ output: string; exitCode: number | undefined }> {
  const typescript = join(world.root, 'typescript');
  const cli = `${q(process.execPath)} ${q(CLI_BIN)}`;
  // The log's first line repeats the command (and so the patterns): it is skipped.
  const tailPid = join(world.root, 'tail.pid');
  const shown = `shown() { ( tail -n +2 -f ${q(typescript)} 2>/dev/null & echo $! > ${q(tailPid)} ) | grep -q "$1"; read tp < ${q(tailPid)}; kill "$tp" 2>/dev/null; }`;
  const command = `${shown}; stty cols ${columns} rows 200; ${shell.replaceAll('$CLI', cli)}`;
  const run = await execa('script', ['-qfec', command, typescript], { reject: false, stdin: 'ignore', env: { ...env, SHELL: '/bin/sh' }, timeout: 50_000 });
  expect(run.timedOut, run.stderr).toBe(false);
  return { output: run.stdout, exitCode: run.exitCode };
}

const headers = (lines: string[]): string[] => lines.filter((l) => l.startsWith('tasks:'));

describe('the live block in a terminal', { timeout: 60_000, concurrent: true }, () => {
  test.for([60, 80])('is drawn in place at %i columns: the final screen shows one header and the summary', async (columns, { world, expect }) => {
    const { output, exitCode } = await inTerminal(
      world,
      columns,
      `$CLI run examples/sdlc.yaml --replay examples/recordings/sdlc --replay-speed 5 --run-id demo --state-dir ${q(world.stateDir)}`,
    );
    expect(exitCode).toBe(0);
    // The block was drawn again and again (the recordings last about 2 s at 5×).
    expect(output.split('tasks:').length - 1).toBeGreaterThan(3);
    const screen = new TerminalScreen(columns).write(output).lines();
    expect(headers(screen)).toEqual(['tasks: 5 completed']);
    for (const task of ['plan', 'build', 'test', 'review', 'document']) expect(screen.filter((l) => l.startsWith(`✓ ${task} `))).toHaveLength(1);
    expect(screen.filter((l) => l.startsWith('sdlc run demo: completed in '))).toHaveLength(1);
  });

  test('with --log-format pretty, each log line is printed once above the block, which stays drawn in place', async ({ world, expect }) => {
    const { output, exitCode } = await inTerminal(
      world,
      100,
      `$CLI run examples/sdlc.yaml --replay examples/recordings/sdlc --replay-speed 5 --run-id logs --log-format pretty --state-dir ${q(world.stateDir)}`,
    );
    expect(exitCode).toBe(0);
    const screen = new TerminalScreen(100).write(output).lines();
    expect(headers(screen)).toEqual(['tasks: 5 completed']);
    expect(screen.filter((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO  run logs of workflow sdlc started: 5 tasks$/.test(l))).toHaveLength(1);
    for (const task of ['plan', 'build', 'test', 'review', 'document']) {
      expect(screen.filter((l) => l.includes(`INFO  task ${task}: completed in `))).toHaveLength(1);
      expect(screen.filter((l) => l.startsWith(`✓ ${task} `))).toHaveLength(1);
    }
    // The log lines come before the block's final drawing.
    expect(screen.findIndex((l) => l.includes('INFO  run logs completed'))).toBeLessThan(screen.indexOf('tasks: 5 completed'));
  });

  test.for([60, 80])('a failed task with a long error stays one line in place at %i columns', async (columns, { world, expect }) => {
    const spec = join(world.root, 'long.yaml');
    const release = join(world.root, 'release');
    // The first task fails with a long message; the second one keeps the run going until the
    // failure has been drawn, so that the block with the long line is drawn again. (It waits on a
    // FIFO: its read returns once the script writes a line there.)
    writeFileSync(
      spec,
      'id: long\non_failure: continue\ntasks:\n  - id: unauthorized-agent\n    prompt: "[[api-retry-401]] x"\n' +
        `  - id: waits-for-a-file\n    command: ["sh", "-c", "read line < ${release}"]\n`,
    );
    const { output, exitCode } = await inTerminal(
      world,
      columns,
      `mkfifo ${q(release)}; $CLI run ${q(spec)} --run-id r --state-dir ${q(world.stateDir)} & pid=$!
       shown 'tasks: 1 failed, 1 running'
       echo go > ${q(release)}; wait $pid`,
      world.env,
    );
    expect(exitCode).toBe(1);
    const screen = new TerminalScreen(columns).write(output).lines();
    expect(headers(screen)).toEqual(['tasks: 1 failed, 1 completed']);
    expect(screen.filter((l) => l.startsWith('✗ unauthorized-agent'))).toHaveLength(1);
    expect(screen).toContain('  unauthorized-agent: AUTH_FAILED: Claude Code authentication failed (API answered 401); stopped instead of letting the CLI retry'.slice(0, columns));
  });

  test('after the terminal is narrowed mid-run the old block is erased whole (a reflowing terminal wraps its lines)', async ({ world, expect }) => {
    const spec = join(world.root, 'wait.yaml');
    const resized = join(world.root, 'resized');
    // The second task runs until the terminal has been resized (a line in the FIFO), so the resize falls mid-run.
    writeFileSync(
      spec,
      'id: wait\ntasks:\n  - id: first-task-with-a-long-name\n    command: ["true"]\n' +
        `  - id: waits-for-the-resize\n    depends_on: [first-task-with-a-long-name]\n    command: ["sh", "-c", "read line < ${resized}"]\n`,
    );
    const { output, exitCode } = await inTerminal(
      world,
      90,
      `mkfifo ${q(resized)}; $CLI run ${q(spec)} --run-id r --state-dir ${q(world.stateDir)} & pid=$!
       shown 'waits-for-the-resize *running'
       stty cols 40; printf '${resizeMarker(40).replace('\x1b', '\\033').replace('\x07', '\\007')}'; echo go > ${q(resized)}
       wait $pid`,
    );
    expect(exitCode).toBe(0);
    const [before, after] = output.split(resizeMarker(40));
    expect(before).toMatch(/waits-for-the-resize +running/);
    expect(after).toContain('tasks: 2 completed');
    const screen = new TerminalScreen(90).write(output).lines();
    expect(headers(screen)).toEqual(['tasks: 2 completed']);
  });

  test('Ctrl-C (or SIGTERM) prints above the block, and the end says how to resume the run', async ({ world, expect }) => {
    const spec = join(world.root, 'hang.yaml');
    writeFileSync(spec, 'id: hang\ntasks:\n  - id: a\n    prompt: "[[hang]] x"\n');
    const { output } = await inTerminal(
      world,
      80,
      `$CLI run ${q(spec)} --run-id r1 --state-dir ${q(world.stateDir)} & pid=$!
       shown 'a  *running'; until [ -s ${q(world.log)} ]; do sleep 0.05; done
       kill -TERM $pid; wait $pid; echo "exit $?"`,
      world.env,
    );
    const screen = new TerminalScreen(80).write(output).lines();
    expect(headers(screen)).toEqual(['tasks: 1 cancelled']);
    expect(screen).toContain('interrupted: cancelling the run (agents are being stopped)...');
    expect(screen).toContain(`state:       ${join(world.stateDir, 'r1', 'checkpoint.json')}`);
    expect(screen.find((l) => l.startsWith('resume:'))).toBe(
      `resume:      agents-sdk resume r1 --state-dir ${world.stateDir}`,
    );
    expect(screen).toContain('exit 1');
  });
});
