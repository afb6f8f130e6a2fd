/**
 * How the Claude Code runner copes with odd input: a prompt that looks like a flag, a network
 * failure told only in the result line, a raw output it cannot record, a working directory that
 * is missing and names that would escape the state directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runClaudeCode } from '../src/index.js';
import { classifyFailure } from '../src/claude/classify-failure.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());


describe('runner', () => {
  it('passes a prompt that starts with "-" (a markdown list) without it being read as a flag', async () => {
    const prompt = '- fix the bug\n- add tests [[echo]]';
    const result = await runClaudeCode({ prompt, env: world.env, stateDir: world.stateDir });
    expect(result.output).toBe(prompt);
  });

  it('retries a network failure the CLI reports in its result line', () => {
    const error = classifyFailure({
      result: { type: 'result', subtype: 'success', is_error: true, api_error_status: null, result: 'API Error: Unable to connect to API (ConnectionRefused)' },
      killedBy: null,
      exitCode: 1,
    });
    expect([error?.code, error?.transient]).toEqual(['NETWORK_ERROR', true]);
  });

  it('still runs when the raw output cannot be recorded', async () => {
    const notADir = join(world.root, 'file');
    writeFileSync(notADir, 'x');
    const result = await runClaudeCode({ prompt: 'hi [[reply:fine]]', env: world.env, stateDir: notADir, runId: 'r' });
    expect(result.output).toBe('fine');
  });

  it('refuses a missing working directory and names that escape the state directory', async () => {
    expect((await failureOf(runClaudeCode({ prompt: 'x', env: world.env, stateDir: world.stateDir, cwd: join(world.root, 'nope') }))).code).toBe('INVALID_ARGUMENTS');
    expect((await failureOf(runClaudeCode({ prompt: 'x', env: world.env, stateDir: world.stateDir, runId: 'r', agentName: '../../x' }))).code).toBe(
      'INVALID_KEY',
    );
  });
});
