import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('agents-sdk exec', () => {
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

  it('says where the raw output is: on stderr, and as rawOutput in --json', async () => {
    const run = await cli(['exec', 'hi [[reply:ok]]', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(0);
    const where = /\[agent\] raw output: (\S+)\n/.exec(run.stderr)?.[1];
    expect(where).toMatch(new RegExp(`^${world.stateDir}/[0-9a-z]{12}/agent/raw_output\\.jsonl$`));
    expect(readFileSync(where!, 'utf8')).toContain('"type":"result"');
    expect(run.stdout).toBe('ok\n');

    const json = await cli(['exec', 'hi [[reply:ok]]', '--agent', 'scout', '--json', '--state-dir', world.stateDir], world.env);
    const result = JSON.parse(json.stdout) as { rawOutput: string };
    expect(result.rawOutput).toMatch(/\/scout\/raw_output\.jsonl$/);
    expect(existsSync(result.rawOutput)).toBe(true);
    // a failure is when the raw output matters most
    const failed = await cli(['exec', 'hi [[is-error:no way]]', '--json', '--state-dir', world.stateDir], world.env);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ code: 'AGENT_ERROR', rawOutput: expect.stringMatching(/raw_output\.jsonl$/) });
  });

  it('prints a failure once', async () => {
    const run = await cli(['exec', 'hi [[is-error:no way]]', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    expect(run.stderr.match(/Agent failed: no way/g)).toHaveLength(1);
    expect(run.stderr).toContain('agents-sdk: AGENT_ERROR: Claude Code reported an error (error_during_execution): Agent failed: no way\n');
  });

  it('refuses --timeout 0 instead of running without a time limit', async () => {
    const run = await cli(['exec', 'hi', '--timeout', '0', '--state-dir', world.stateDir], world.env);
    expect([run.code, run.stderr]).toEqual([2, 'agents-sdk: --timeout must be > 0 seconds (a whole number), got "0"\n']);
    expect(world.invocations()).toHaveLength(0);
  });

  it('exec - reads the prompt from stdin, --prompt-file from a file', async () => {
    const piped = await cli(['exec', '-', '--state-dir', world.stateDir], world.env, undefined, 'from a pipe [[echo]]\n');
    expect([piped.code, piped.stdout]).toEqual([0, 'from a pipe [[echo]]\n']);
    const file = join(world.root, 'prompt.md');
    writeFileSync(file, '# Task\nfrom a file [[echo]]\n');
    const fromFile = await cli(['exec', '--prompt-file', file, '--state-dir', world.stateDir], world.env);
    expect([fromFile.code, fromFile.stdout]).toEqual([0, '# Task\nfrom a file [[echo]]\n']);
    expect(world.invocations().flatMap((i) => (i.prompt === undefined ? [] : [i.prompt]))).toEqual(['from a pipe [[echo]]', '# Task\nfrom a file [[echo]]']);
  });

  it('a prompt from two places, or from a file that is missing, is invalid input', async () => {
    const file = join(world.root, 'prompt.md');
    writeFileSync(file, 'hi');
    const both = await cli(['exec', 'words', '--prompt-file', file], world.env);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('not both')]);
    const missing = await cli(['exec', '--prompt-file', join(world.root, 'nope.md')], world.env);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('nope.md: no such file')]);
    const empty = await cli(['exec', '-'], world.env, undefined, '  \n');
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringContaining('a prompt is required')]);
    expect(world.invocations()).toHaveLength(0);
  });

  it('--resume continues a Claude session', async () => {
    const run = await cli(['exec', 'and now the tests [[echo]]', '--resume', 'abc-123', '--json', '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ output: '[resumed abc-123] and now the tests [[echo]]', sessionId: 'abc-123' });
    expect(world.invocations()[0]).toMatchObject({ resume: 'abc-123' });
  });

  it('a 1 MB prompt that Claude Code refuses says that it is too long', async () => {
    const file = join(world.root, 'huge.txt');
    writeFileSync(file, 'x'.repeat(1024 * 1024));
    const run = await cli(['exec', '--prompt-file', file, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("AGENT_ERROR: Claude Code refused the prompt: Prompt is too long (it does not fit the model's context window");
    expect(run.stderr).not.toContain('(success)');
    // permanent: not retried
    expect(world.invocations().filter((i) => i.prompt !== undefined)).toHaveLength(1);
  });

  it('runs as a real process, reading its prompt from stdin', async () => {
    const run = await cliProcess(['exec', '-', '--state-dir', world.stateDir], { env: world.env, input: 'piped [[reply:through the bin]]' });
    expect([run.exitCode, run.stdout]).toEqual([0, 'through the bin']);
  }, 60_000);
});
