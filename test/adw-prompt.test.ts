/**
 * ADW compatibility: promptClaudeCode / executeTemplate answer as ADW's prompt_claude_code /
 * execute_template, with USE_AGENTS_SDK off (the original's one-shot call) and on (sessions).
 */
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeTemplate, modelForSlashCommand } from '../src/adw/execute-template.js';
import { promptClaudeCode } from '../src/adw/prompt-claude-code.js';
import { updateAdwState } from '../src/adw/adw-state.js';
import { type AgentPromptRequest, type AgentTemplateRequest } from '../src/adw/adw-types.js';
import { cli, cliProcess } from './helpers/cli.js';
import { FAKE_CLAUDE, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let env: NodeJS.ProcessEnv;
/** Where the claude of `env` notes each `--version` call (one line each). */
let versionLog: string;

beforeEach(() => {
  world = fakeWorld();
  versionLog = join(world.root, 'version-calls.log');
  env = { ...process.env, ...world.env, CLAUDE_CODE_PATH: versionAnsweringClaude(), IS_SANDBOX: '1', USE_AGENTS_SDK: 'false' };
});
afterEach(() => world.cleanup());

/**
 * The fake claude, except that the installed-check `claude --version` (made before every prompt)
 * is answered by the shell with the fake's own answer, and noted, instead of starting a node
 * process; every other call is the fake itself (exec: same process, arguments, output and exit).
 */
function versionAnsweringClaude(): string {
  const file = join(world.root, 'claude');
  writeFileSync(
    file,
    // ADW filters claude's environment: the fake's settings are baked in here.
    `#!/bin/sh\nif [ "$#" = 1 ] && [ "$1" = --version ]; then echo --version >> "${versionLog}"; echo "2.1.197 (Claude Code)"; exit 0; fi\n` +
      `FAKE_CLAUDE_STATE_DIR="${world.env.FAKE_CLAUDE_STATE_DIR}" FAKE_CLAUDE_LOG="${world.log}" IS_SANDBOX=1 exec "${FAKE_CLAUDE}" "$@"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

function request(prompt: string, extra: Partial<AgentPromptRequest> = {}): AgentPromptRequest {
  return { prompt, adw_id: 'a1b2c3d4', agent_name: 'sdlc_planner', model: 'sonnet', output_file: join(world.root, 'out', 'raw_output.jsonl'), ...extra };
}

/** A claude that runs the fake, then exits 0 whatever the fake did (a stream with an error result and exit 0). */
function exitZeroClaude(): string {
  const file = join(world.root, 'claude-exit-0');
  writeFileSync(file, `#!/bin/sh\n"${versionAnsweringClaude()}" "$@"\nexit 0\n`);
  chmodSync(file, 0o755);
  return file;
}

const off = () => ({ stateDir: world.stateDir, adwRoot: world.root, env, useAgentsSdk: false });
const on = () => ({ stateDir: world.stateDir, adwRoot: world.root, env, useAgentsSdk: true, baseDelayMs: 10 });

describe('promptClaudeCode with USE_AGENTS_SDK off: the original one-shot call', () => {
  it('answers with the result, writes the raw stream and its parsed array (indent 2)', async () => {
    const req = request('[[reply:all good]]', { dangerously_skip_permissions: true });
    const response = await promptClaudeCode(req, off());
    expect(response).toMatchObject({ output: 'all good', success: true, retry_code: 'none' });
    expect(response.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const raw = readFileSync(req.output_file, 'utf8');
    const messages = raw.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(readFileSync(req.output_file.replace('.jsonl', '.json'), 'utf8')).toBe(JSON.stringify(messages, null, 2));
    const [run] = world.invocations();
    expect(run!.argv).toEqual(['-p', '[[reply:all good]]', '--model', 'sonnet', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions']);
  });

  it('is_error: success false with the result text; error_during_execution: the fixed message', async () => {
    env.CLAUDE_CODE_PATH = exitZeroClaude();
    const tooLong = await promptClaudeCode(request('[[prompt-too-long]]'), off());
    expect(tooLong).toMatchObject({ output: 'Prompt is too long', success: false });
    expect(tooLong.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await promptClaudeCode(request('[[is-error]]'), off());
    expect(failed).toMatchObject({ output: 'Error during execution: Agent encountered an error and did not return a result', success: false, retry_code: 'error_during_execution' });
    expect(failed.session_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('no result message: tac-5/tac-6 the raw file as output, success, no session', async () => {
    const req = request('[[crash:0]]');
    const response = await promptClaudeCode(req, { ...off(), adwVersion: 'tac-6' });
    expect(response).toEqual({ output: readFileSync(req.output_file, 'utf8'), success: true, session_id: null });
    expect(response.output).toContain('"subtype":"init"');
  });

  it('non-zero exit: "Claude Code error: <stderr>" (tac-7: and the last stdout line), no .json written', async () => {
    const req = request('[[crash:3]]');
    const response = await promptClaudeCode(req, off());
    const init = readFileSync(req.output_file, 'utf8').trim().split('\n').at(-1)!.slice(0, 200);
    expect(response).toEqual({ output: `Claude Code error: Segmentation fault (fake)\nStdout: ${init}`, success: false, session_id: null, retry_code: 'claude_code_error' });
    expect(existsSync(req.output_file.replace('.jsonl', '.json'))).toBe(false);
  });

  it('a CLI that is not there: the not-installed message, nothing run', async () => {
    env.CLAUDE_CODE_PATH = join(world.root, 'no-claude');
    expect(await promptClaudeCode(request('hello'), off())).toEqual({
      output: `Error: Claude Code CLI is not installed. Expected at: ${env.CLAUDE_CODE_PATH}`,
      success: false,
      session_id: null,
      retry_code: 'none',
    });
  });

  it('a slash-command prompt is saved under prompts/<command>.txt; --version runs first', async () => {
    await promptClaudeCode(request('/feature 42 a1b2c3d4 [[reply:ok]]'), off());
    expect(readFileSync(join(world.root, 'agents', 'a1b2c3d4', 'sdlc_planner', 'prompts', 'feature.txt'), 'utf8')).toBe('/feature 42 a1b2c3d4 [[reply:ok]]');
    // the fake logs prompts only: --version is not logged, the prompt once
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(1);
    expect(readFileSync(versionLog, 'utf8')).toBe('--version\n');
  });
});

describe('promptClaudeCode with USE_AGENTS_SDK on: the SDK path', () => {
  it('gives the same response and files as the flag-off path for the same stream', async () => {
    for (const prompt of ['[[reply:same]]', '[[crash:0]]']) {
      const a = request(prompt, { output_file: join(world.root, 'off', prompt.replace(/\W/g, ''), 'raw_output.jsonl'), agent_name: 'off' });
      const b = request(prompt, { output_file: join(world.root, 'on', prompt.replace(/\W/g, ''), 'raw_output.jsonl'), agent_name: 'on' });
      const offResponse = await promptClaudeCode(a, off());
      const onResponse = await promptClaudeCode(b, { ...on(), maxRetries: 1 });
      const shape = (r: typeof offResponse) => ({ ...r, session_id: r.session_id === null ? null : 'id', output: r.output.replace(/[0-9a-f-]{36}/g, 'id').replace(/"(duration_ms|duration_api_ms|timestamp|uuid|total_cost_usd)":[^,}]*/g, '') });
      expect(shape(onResponse)).toEqual(shape(offResponse));
      expect(existsSync(b.output_file)).toBe(true);
      expect(existsSync(b.output_file.replace('.jsonl', '.json'))).toBe(existsSync(a.output_file.replace('.jsonl', '.json')));
      if (existsSync(a.output_file.replace('.jsonl', '.json'))) {
        const types = (f: string) => (JSON.parse(readFileSync(f.replace('.jsonl', '.json'), 'utf8')) as Array<{ type: string }>).map((m) => m.type);
        expect(types(b.output_file)).toEqual(types(a.output_file));
      }
    }
  });

  it('continues the agent session: the second prompt resumes the first one\'s Claude session', async () => {
    const first = await promptClaudeCode(request('[[reply:one]]'), on());
    const second = await promptClaudeCode(request('[[echo]] two'), on());
    expect(first.success && second.success).toBe(true);
    expect(second.output).toBe(`[resumed ${first.session_id}] [[echo]] two`);
    const runs = world.invocations().filter((i) => i.prompt);
    expect(runs[0]!.resume ?? null).toBeNull();
    expect(runs[1]!.resume).toBe(first.session_id);
    expect(runs[1]!.argv).toEqual(expect.arrayContaining(['--resume', first.session_id]));
    expect(JSON.parse(readFileSync(join(world.stateDir, 'a1b2c3d4', 'sdlc_planner', 'session.json'), 'utf8'))).toMatchObject({
      schemaVersion: 1,
      key: 'sdlc_planner:a1b2c3d4',
      claudeSessionId: first.session_id,
    });
    // another agent of the same run has a session of its own
    await promptClaudeCode(request('[[reply:x]]', { agent_name: 'reviewer' }), on());
    expect(world.invocations().filter((i) => i.prompt)[2]!.resume ?? null).toBeNull();
  });

  it('retries a transient failure with backoff and answers with the retried run', async () => {
    const req = request('[[transient:1]] [[reply:after retry]]');
    expect(await promptClaudeCode(req, on())).toMatchObject({ output: 'after retry', success: true });
    expect(world.invocations().filter((i) => i.prompt)).toHaveLength(2);
    expect(readFileSync(req.output_file, 'utf8')).toContain('after retry');
  });
});

describe('executeTemplate', () => {
  it('picks the model as each version does, joins the args, writes under the project root\'s agents/', async () => {
    const model = (command: string, choice: Parameters<typeof modelForSlashCommand>[1]) => modelForSlashCommand(command, choice);
    // tac-5: the requested model; tac-6: its map; tac-7: its map for the run's model_set
    expect([model('/implement', { version: 'tac-5' }), model('/classify_issue', { version: 'tac-5', model: 'opus' })]).toEqual(['sonnet', 'opus']);
    expect(['/implement', '/review', '/bug', '/chore', '/validate'].map((c) => model(c, { version: 'tac-6' }))).toEqual(['opus', 'opus', 'opus', 'sonnet', 'sonnet']);
    expect([model('/implement', {}), model('/implement', { modelSet: 'heavy' }), model('/review', { modelSet: 'heavy' }), model('/unknown', { modelSet: 'heavy' })]).toEqual([
      'sonnet', 'opus', 'sonnet', 'sonnet',
    ]);
    const template: AgentTemplateRequest = { agent_name: 'sdlc_implementor', slash_command: '/implement', args: ['specs/plan.md', '[[echo]]'], adw_id: 'a1b2c3d4', model: 'sonnet' };
    const response = await executeTemplate(template, { ...off(), adwVersion: 'tac-6' });
    expect(response).toEqual({ output: '/implement specs/plan.md [[echo]]', success: true, session_id: expect.any(String) });
    const [run] = world.invocations();
    expect(run!.model).toBe('opus');
    expect(run!.argv).toContain('--dangerously-skip-permissions');
    const dir = join(world.root, 'agents', 'a1b2c3d4', 'sdlc_implementor');
    expect(readdirSync(dir).sort()).toEqual(['prompts', 'raw_output.json', 'raw_output.jsonl']);
    expect(existsSync(join(dir, 'prompts', 'implement.txt'))).toBe(true);
    // tac-7 (the default): base → sonnet; model_set heavy in the run's adw_state.json → opus
    await executeTemplate(template, off());
    updateAdwState(join(world.root, 'agents'), 'a1b2c3d4', { model_set: 'heavy' });
    await executeTemplate(template, off());
    expect(world.invocations().filter((i) => i.prompt).slice(1).map((i) => i.model)).toEqual(['sonnet', 'opus']);
    // tac-5: the request's model as it is
    await executeTemplate({ ...template, slash_command: '/classify_issue', model: 'opus' }, { ...off(), adwVersion: 'tac-5' });
    expect(world.invocations().filter((i) => i.prompt).at(-1)!.model).toBe('opus');
  });
});

describe('executeTemplate with USE_AGENTS_SDK on', () => {
  it('the session records its stream where ADW expects it, and the .json beside it is the parsed array', async () => {
    const response = await executeTemplate({ agent_name: 'test_runner', slash_command: '/test', args: ['[[reply:ok]]'], adw_id: 'a1b2c3d4' }, on());
    expect(response).toMatchObject({ output: 'ok', success: true });
    const dir = join(world.root, 'agents', 'a1b2c3d4', 'test_runner');
    const messages = JSON.parse(readFileSync(join(dir, 'raw_output.json'), 'utf8')) as Array<{ type: string }>;
    expect(messages.map((m) => m.type)).toEqual(readFileSync(join(dir, 'raw_output.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).type));
    expect(world.invocations()[0]!.model).toBe('sonnet');
  });
});

describe('agents-sdk prompt --json', () => {
  it('continues the agent session across processes (USE_AGENTS_SDK=true), one response JSON on stdout', async () => {
    const cliEnv = { ...env, USE_AGENTS_SDK: 'true' } as Record<string, string>;
    const run = (prompt: string) => cliProcess(['prompt', '--json', '--sdk-dir', join(world.root, 'sdk-state'), '--adw-root', world.root], { env: cliEnv, input: JSON.stringify(request(prompt)) });
    const first = await run('[[reply:one]]');
    expect(first.exitCode).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one).toMatchObject({ output: 'one', success: true, retry_code: 'none' });
    const second = await run('[[echo]] two');
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ output: `[resumed ${one.session_id}] [[echo]] two`, success: true, session_id: one.session_id });
    expect(world.invocations().filter((i) => i.prompt)[1]!.resume).toBe(one.session_id);
  });

  it('a failed prompt: the response on stdout, exit 1; a bad request: error JSON on stdout, message on stderr, exit 2', async () => {
    const failed = await cli(['prompt', '--json', '--sdk-dir', join(world.root, 'sdk-state'), '--adw-version', 'tac-6'], { ...world.env, CLAUDE_CODE_PATH: env.CLAUDE_CODE_PATH!, USE_AGENTS_SDK: 'false' }, undefined, JSON.stringify(request('[[crash:3]]')));
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ success: false, output: 'Claude Code error: Segmentation fault (fake)\n' });
    const bad = await cli(['prompt', '--json'], world.env, undefined, JSON.stringify({ prompt: 'x', adw_id: 'a', model: 'gpt', output_file: 'o.jsonl' }));
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    expect(bad.stderr).toContain('model must be "sonnet" or "opus"');
  });
});
