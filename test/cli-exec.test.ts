import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('agents-sdk CLI: help, version, exec', () => {
  it('prints help and the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('agents-sdk exec <prompt>');
    expect((await cli([])).code).toBe(2);
    const version = await cli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejects an unknown command or option with exit code 2 and a message naming it', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    const badOption = await cli(['exec', 'hi', '--colour']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("'--colour'");
    const badNumber = await cli(['exec', 'hi', '--retries', 'many']);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('--retries');
    expect((await cli(['exec'])).code).toBe(2);
  });

  it('exec runs one prompt through the fake claude and prints the output, progress on stderr', async () => {
    const run = await cli(['exec', 'Plan it [[reply:the plan]] [[tool-turns:1]]', '--state-dir', world.stateDir, '--model', 'opus'], world.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('the plan\n');
    expect(run.stderr).toContain('[agent] attempt 1/3 started');
    expect(run.stderr).toContain('tool Bash');
    expect(run.stderr).toMatch(/completed in/);
  });

  it('exec --json prints the result or the error as JSON and exits 1 on failure', async () => {
    const ok = await cli(['exec', 'hi [[reply:json please]]', '--json', '--state-dir', world.stateDir], world.env);
    expect(JSON.parse(ok.stdout)).toMatchObject({ success: true, output: 'json please' });
    const bad = await cli(
      ['exec', 'hi [[api-error:529]]', '--json', '--retries', '2', '--state-dir', world.stateDir, '--timeout', '60', '--stall-timeout', '60', '--max-turns', '3'],
      world.env,
    );
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ code: 'API_OVERLOADED', transient: true });
    expect(bad.stderr).toContain('API_OVERLOADED');
  }, 60_000);

  it('exec with a --cwd that does not exist is invalid input (exit 2)', async () => {
    const run = await cli(['exec', 'hi', '--cwd', join(world.root, 'nope')], world.env);
    expect([run.code, run.stderr]).toEqual([2, expect.stringContaining('is not a directory')]);
    expect(world.invocations()).toHaveLength(0);
  });

  it('exec is cancelled by the interrupt signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const run = await cli(['exec', '[[hang]] forever', '--state-dir', world.stateDir], world.env, controller.signal);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CANCELLED');
  });

  it('runs as a real process (the built bin)', async () => {
    const run = await cliProcess(['exec', 'hello [[reply:from the bin]]', '--state-dir', world.stateDir], { env: world.env });
    expect(run.stdout).toBe('from the bin');
    expect(run.exitCode).toBe(0);
  });
});
