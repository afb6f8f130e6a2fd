import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join, relative as relativePath } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runClaudeCode, runCommand, type ClaudeProgressEvent, type ClaudeRunRequest } from '../src/index.js';
import { buildClaudeArgs } from '../src/actors/claude-code-runner.js';
import { FAKE_CLAUDE, FAKE_CLAUDE_DIR, eventually, fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(({ onTestFinished }) => {
  const own = fakeWorld();
  world = own;
  onTestFinished(() => own.cleanup());
});

/**
 * For tests that mostly wait out a timer (a timeout, a stall limit, a lingering process): they run
 * concurrently, each with a world of its own (`w`) instead of the shared `world`.
 */
const concurrent = it.extend<{ w: FakeWorld }>({
  w: async ({}, use) => {
    const w = fakeWorld();
    await use(w);
    w.cleanup();
  },
}).concurrent;

function request(prompt: string, extra: Partial<ClaudeRunRequest> = {}, w: FakeWorld = world): ClaudeRunRequest {
  return { prompt, env: w.env, stateDir: w.stateDir, runId: 'run-1', agentName: 'planner', ...extra };
}

describe('runClaudeCode against the fake claude', () => {
  it('parses a successful run: output, session id, tokens, cost, turns, and records raw files', async () => {
    const result = await runClaudeCode(request('Plan the feature [[reply:PLAN READY]] [[tool-turns:2]]', { resultFile: true }));
    expect(result.success).toBe(true);
    expect(result.output).toBe('PLAN READY');
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.tokens.input).toBeGreaterThan(0);
    expect(result.tokens.output).toBeGreaterThan(0);
    expect(result.tokens.cacheRead).toBeGreaterThan(0);
    expect(result.tokens.cacheCreation).toBeGreaterThan(0);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.numTurns).toBe(3);
    expect(result.exitCode).toBe(0);
    expect(result.cliDurationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeGreaterThan(0);

    const dir = join(world.stateDir, 'run-1', 'planner');
    const rawLines = readFileSync(join(dir, 'raw_output.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(rawLines[0]!)).toMatchObject({ type: 'system', subtype: 'init', session_id: result.sessionId });
    expect(JSON.parse(rawLines.at(-1)!)).toMatchObject({ type: 'result', result: 'PLAN READY' });
    const final = JSON.parse(readFileSync(join(dir, 'raw_output.json'), 'utf8'));
    expect(final).toMatchObject({ type: 'result', is_error: false, session_id: result.sessionId });
    expect(final.total_cost_usd).toBeCloseTo(result.costUsd);
  });

  it('writes the result line to raw_output.json only when asked (ADW\'s layout): the stream holds it already', async () => {
    await runClaudeCode(request('[[reply:once]]'));
    const dir = join(world.stateDir, 'run-1', 'planner');
    expect(readFileSync(join(dir, 'raw_output.jsonl'), 'utf8')).toContain('"result":"once"');
    expect(existsSync(join(dir, 'raw_output.json'))).toBe(false);
  });

  it('passes the documented arguments and runs in the working directory with the env over process env', async () => {
    const cwd = join(world.root, 'repo');
    mkdirSync(cwd);
    await runClaudeCode(
      request('Check args [[echo]]', {
        cwd,
        model: 'opus',
        maxTurns: 7,
        appendSystemPrompt: 'Be brief',
        allowedTools: ['Bash', 'Read'],
        env: { ...world.env, FAKE_MARKER: 'from-context' },
      }),
    );
    const [call] = world.invocations();
    expect(call!.cwd).toBe(cwd);
    expect(call!.argv).toEqual([
      '-p',
      'Check args [[echo]]',
      '--model',
      'opus',
      '--output-format',
      'stream-json',
      '--verbose',
      '--max-turns',
      '7',
      '--append-system-prompt',
      'Be brief',
      '--allowedTools',
      'Bash,Read',
    ]);
    expect(call!.env).toEqual({ FAKE_MARKER: 'from-context', CLAUDE_CODE_MAX_RETRIES: '2' });
  });

  it('adds --dangerously-skip-permissions only when asked', () => {
    expect(buildClaudeArgs({ prompt: 'x' })).not.toContain('--dangerously-skip-permissions');
    expect(buildClaudeArgs({ prompt: 'x', dangerouslySkipPermissions: true })).toContain('--dangerously-skip-permissions');
    expect(buildClaudeArgs({ prompt: 'x', resumeSessionId: 'abc' })).toEqual(expect.arrayContaining(['--resume', 'abc']));
  });

  it('surfaces the CLI refusing --dangerously-skip-permissions as root', async () => {
    if (process.getuid?.() !== 0) return expect(process.getuid?.()).not.toBe(0);
    const error = await failureOf(
      runClaudeCode(request('do it', { dangerouslySkipPermissions: true, env: { ...world.env, IS_SANDBOX: '' } })),
    );
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/root/);
  });

  it('emits typed progress events while the process is still running', async () => {
    const events: Array<{ event: ClaudeProgressEvent; at: number }> = [];
    let finishedAt = 0;
    await runClaudeCode(request('Slow work [[tool-turns:2]] [[delay:600]]'), {
      onEvent: (event) => events.push({ event, at: Date.now() }),
    }).then(() => (finishedAt = Date.now()));
    const types = events.map((e) => e.event.type);
    expect(types).toEqual(['init', 'tool_use', 'tool_result', 'tool_use', 'tool_result', 'assistant_text', 'result']);
    const init = events[0]!;
    // init arrives at the start, long before the process (which sleeps 600 ms in all) exits.
    expect(finishedAt - init.at).toBeGreaterThanOrEqual(300);
    const toolUse = events[1]!.event;
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'echo step-1' } });
    expect(events[2]!.event).toMatchObject({ type: 'tool_result', isError: false });
  });

  it('skips noise lines and unknown line types, and joins lines split across chunks', async () => {
    const events: ClaudeProgressEvent[] = [];
    const result = await runClaudeCode(request('Noisy [[noise]] [[unknown-lines]] [[split-lines]] [[reply:STILL FINE]]'), {
      onEvent: (e) => events.push(e),
    });
    expect(result.output).toBe('STILL FINE');
    expect(events.map((e) => e.type)).toEqual(['init', 'assistant_text', 'result']);
    const raw = readFileSync(join(world.stateDir, 'run-1', 'planner', 'raw_output.jsonl'), 'utf8');
    expect(raw).toContain('rate_limit_event');
  });

  it('handles large output', async () => {
    const result = await runClaudeCode(request('Big [[large-output:300000]]'));
    expect(result.output.length).toBe(300000);
  });

  it('passes a prompt too large for argv through stdin', async () => {
    const prompt = `Huge ${'x'.repeat(150_000)} [[echo]]`;
    const result = await runClaudeCode(request(prompt));
    expect(result.output).toBe(prompt);
    expect(world.invocations()[0]!.argv).not.toContain(prompt);
  });

  it('classifies an API-error result with subtype success and api_error_status 529 as transient', async () => {
    const error = await failureOf(runClaudeCode(request('Busy API [[api-error:529]]')));
    expect(error.code).toBe('API_OVERLOADED');
    expect(error.transient).toBe(true);
    expect(error.apiErrorStatus).toBe(529);
    expect(error.exitCode).toBe(1);
    expect(error.result?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    [429, 'RATE_LIMITED'],
    [500, 'API_ERROR'],
  ])('classifies api_error_status %i as transient %s', async (status, code) => {
    const error = await failureOf(runClaudeCode(request(`API [[api-error:${status}]]`)));
    expect(error.code).toBe(code);
    expect(error.transient).toBe(true);
  });

  it('classifies an auth failure, an is_error result, max turns and a crash as permanent', async () => {
    const auth = await failureOf(runClaudeCode(request('[[auth-failure]] hi')));
    expect([auth.code, auth.transient]).toEqual(['AUTH_FAILED', false]);
    const agent = await failureOf(runClaudeCode(request('[[is-error:tests do not compile]] hi')));
    expect([agent.code, agent.transient]).toEqual(['AGENT_ERROR', false]);
    expect(agent.message).toContain('tests do not compile');
    const turns = await failureOf(runClaudeCode(request('[[tool-turns:3]] hi', { maxTurns: 1 })));
    expect([turns.code, turns.transient]).toEqual(['MAX_TURNS', false]);
    const crash = await failureOf(runClaudeCode(request('[[crash]] hi')));
    expect([crash.code, crash.transient, crash.exitCode]).toEqual(['CRASHED', false, 139]);
    expect(crash.stderrTail).toContain('Segmentation fault');
  });

  it('stops at once on an api_retry 401 instead of letting the CLI retry for minutes', async () => {
    const started = Date.now();
    const error = await failureOf(runClaudeCode(request('[[api-retry-401]] hi', { killGraceMs: 500 })));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.transient).toBe(false);
    expect(error.apiErrorStatus).toBe(401);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  concurrent('kills a hung agent and its child on timeout, reported as a transient TIMEOUT', async ({ w, expect }) => {
    const pids: number[] = [];
    const error = await failureOf(
      runClaudeCode(request('[[hang-child]] stuck', { timeoutMs: 1500, stallTimeoutMs: 0, killGraceMs: 500 }, w), {
        onEvent: (e) => {
          const m = e.type === 'assistant_text' ? /child pid: (\d+)/.exec(e.text) : null;
          if (m) pids.push(Number(m[1]));
        },
      }),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(error.transient).toBe(true);
    expect(pids).toHaveLength(1);
    const parent = w.invocations()[0]!.pid as number;
    expect(await eventually(() => !isAlive(pids[0]!) && !isAlive(parent))).toBe(true);
  });

  concurrent('kills an agent that ignores SIGTERM with SIGKILL after the grace period', async ({ w, expect }) => {
    const error = await failureOf(
      runClaudeCode(request('[[hang]] [[ignore-sigterm]] stuck', { timeoutMs: 3000, killGraceMs: 500 }, w)),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(error.signal).toBe('SIGKILL');
    expect(isAlive(w.invocations()[0]!.pid as number)).toBe(false);
  });

  concurrent('kills a silent agent on the stall timeout, reported as a transient STALLED', async ({ w, expect }) => {
    const error = await failureOf(
      runClaudeCode(request('[[stall-after:20000]] [[hang-child]] quiet', { stallTimeoutMs: 3000, killGraceMs: 500 }, w)),
    );
    expect(error.code).toBe('STALLED');
    expect(error.transient).toBe(true);
    expect(error.message).toMatch(/3000 ms/);
    const parent = w.invocations()[0]!.pid as number;
    expect(await eventually(() => !isAlive(parent))).toBe(true);
  });

  it('cancels through an AbortSignal: process tree killed, CANCELLED, not transient', async () => {
    const controller = new AbortController();
    const run = runClaudeCode(request('[[hang-child]] wait', { killGraceMs: 500 }), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'init') setTimeout(() => controller.abort(), 200);
      },
    });
    const error = await failureOf(run);
    expect(error.code).toBe('CANCELLED');
    expect(error.transient).toBe(false);
    expect(await eventually(() => !isAlive(world.invocations()[0]!.pid as number))).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    expect((await failureOf(runClaudeCode(request('never starts'), { signal: aborted.signal }))).code).toBe('CANCELLED');
  });

  it('names both places it looked when the binary is missing', async () => {
    const missing = await failureOf(
      runClaudeCode({ prompt: 'hi', env: { CLAUDE_CODE_PATH: join(world.root, 'nope', 'claude') } }),
    );
    expect(missing.code).toBe('BINARY_NOT_FOUND');
    expect(missing.message).toContain('CLAUDE_CODE_PATH');
    expect(missing.message).toContain('nope');

    const noPath = await failureOf(runClaudeCode({ prompt: 'hi', env: { CLAUDE_CODE_PATH: '', PATH: world.root } }));
    expect(noPath.code).toBe('BINARY_NOT_FOUND');
    expect(noPath.message).toMatch(/CLAUDE_CODE_PATH is not set/);
    expect(noPath.message).toMatch(/PATH/);
  });

  it('finds `claude` on PATH when CLAUDE_CODE_PATH is unset', async () => {
    const result = await runClaudeCode({
      prompt: 'via PATH [[reply:found]]',
      env: { ...world.env, CLAUDE_CODE_PATH: '', PATH: `${FAKE_CLAUDE_DIR}:${process.env.PATH}` },
    });
    expect(result.output).toBe('found');
  });

  it('resolves a relative CLAUDE_CODE_PATH or PATH entry from where it was set, not from the agent cwd', async () => {
    const relative = relativePath(process.cwd(), FAKE_CLAUDE);
    expect(relative.startsWith('/')).toBe(false);
    const viaEnv = await runClaudeCode({ prompt: 'relative [[reply:env]]', cwd: world.root, env: { ...world.env, CLAUDE_CODE_PATH: relative } });
    expect(viaEnv.output).toBe('env');
    const viaPath = await runClaudeCode({
      prompt: 'relative [[reply:path]]',
      cwd: world.root,
      env: { ...world.env, CLAUDE_CODE_PATH: '', PATH: `${relativePath(process.cwd(), FAKE_CLAUDE_DIR)}:${process.env.PATH}` },
    });
    expect(viaPath.output).toBe('path');
  });

  it('a prompt the OS cannot pass (a NUL byte, e.g. from a templated output) is a typed error', async () => {
    const error = await failureOf(runClaudeCode(request('before\u0000after')));
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.message).toContain('null bytes');
    const command = await failureOf(runCommand({ command: ['echo', 'a\u0000b'] }));
    expect(command.code).toBe('COMMAND_FAILED');
  });

  it('reports a binary that cannot be executed', async () => {
    const bogus = join(world.root, 'claude');
    writeFileSync(bogus, 'not a program');
    chmodSync(bogus, 0o755);
    const error = await failureOf(runClaudeCode({ prompt: 'hi', claudePath: bogus }));
    expect(error.transient).toBe(false);
  });

  it('rejects an empty prompt', async () => {
    expect((await failureOf(runClaudeCode({ prompt: '  ' }))).code).toBe('INVALID_ARGUMENTS');
  });

  it('records nothing when no run id is given', async () => {
    const result = await runClaudeCode({ prompt: 'hi', env: world.env, stateDir: world.stateDir });
    expect(result.success).toBe(true);
    expect(existsSync(world.stateDir)).toBe(false);
  });
});

describe('runClaudeCode when the CLI outlives its answer', () => {
  concurrent('keeps a success result when the process lingers and is killed for stalling: no second run', async ({ w, expect }) => {
    const wrapper = join(w.root, 'lingering-claude');
    writeFileSync(wrapper, `#!/bin/sh\n"${FAKE_CLAUDE}" "$@"\nsleep 30\n`);
    chmodSync(wrapper, 0o755);
    // The stall limit must outlast the fake's start-up on a loaded machine (node takes seconds there).
    const result = await runClaudeCode(request('finish then linger [[reply:done]]', { claudePath: wrapper, stallTimeoutMs: 3000, killGraceMs: 200 }, w));
    expect(result.success).toBe(true);
    expect(result.output).toBe('done');
    expect(w.invocations().filter((c) => c.event === 'completed')).toHaveLength(1);
  });

  concurrent('ends a CLI that lingers after its result line within lingerMs, keeping the result', async ({ w, expect }) => {
    const wrapper = join(w.root, 'lingering-claude-2');
    writeFileSync(wrapper, `#!/bin/sh\n"${FAKE_CLAUDE}" "$@"\nsleep 30\n`);
    chmodSync(wrapper, 0o755);
    const started = Date.now();
    const result = await runClaudeCode(request('answer then linger [[reply:kept]]', { claudePath: wrapper, lingerMs: 300, killGraceMs: 200 }, w));
    expect(result.output).toBe('kept');
    // the default stall limit is 11 minutes: only the linger limit can have ended it this soon
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

