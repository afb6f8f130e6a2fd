/**
 * tac-7's prompt_claude_code_with_retry (flag off: the original loop; on: the same outcome
 * through agents-sdk, every attempt's stream kept), the USE_AGENTS_SDK truthy set, the kept
 * differences (session resume, adw_id refusal), `agents-sdk prompt --json` and Python's JSON forms.
 */
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adwClaudeEnv } from '../src/adw/claude-env.js';
import { dumpPythonJson, parsePythonJson, pythonFloat } from '../src/adw/python-json.js';
import { promptClaudeCode, promptClaudeCodeWithRetry } from '../src/adw/prompt-claude-code.js';
import { useAgentsSdkFrom, type AdwPromptOptions, type AgentPromptRequest } from '../src/adw/adw-types.js';
import { parseStream, truncateOutput } from '../src/adw/adw-stream.js';
import { cli } from './helpers/cli.js';
import { FAKE_CLAUDE, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
let slept: number[];

beforeEach(() => {
  world = fakeWorld();
  slept = [];
});
afterEach(() => world.cleanup());

/**
 * The fake claude; a prompt with `[[first:crash]]` crashes on its first run (stderr, exit 1, no
 * stdout), with `[[first:edx]]` prints an error_during_execution result and exits 0 first.
 */
function claude(): string {
  const file = join(world.root, 'claude');
  const marker = join(world.root, 'first-done');
  const edx = '{"type":"result","subtype":"error_during_execution","is_error":true,"session_id":"s-edx"}';
  writeFileSync(
    file,
    `#!/bin/sh\nif [ "$1" = --version ]; then echo "2.1.197 (Claude Code)"; exit 0; fi\ncase "$2" in\n` +
      `  *'[[first:crash]]'*) if [ ! -e "${marker}-crash" ]; then touch "${marker}-crash"; echo boom >&2; exit 1; fi;;\n` +
      `  *'[[first:edx]]'*) if [ ! -e "${marker}-edx" ]; then touch "${marker}-edx"; echo '${edx}'; exit 0; fi;;\nesac\n` +
      `FAKE_CLAUDE_STATE_DIR="${world.env.FAKE_CLAUDE_STATE_DIR}" FAKE_CLAUDE_LOG="${world.log}" IS_SANDBOX=1 exec "${FAKE_CLAUDE}" "$@"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

const request = (prompt: string, extra: Partial<AgentPromptRequest> = {}): AgentPromptRequest => ({
  prompt,
  adw_id: 'a1b2c3d4',
  agent_name: 'sdlc_implementor',
  model: 'sonnet',
  output_file: join(world.root, 'agents', 'a1b2c3d4', 'sdlc_implementor', 'raw_output.jsonl'),
  ...extra,
});

const opts = (sdk: boolean, extra: AdwPromptOptions = {}): AdwPromptOptions => ({
  adwRoot: world.root,
  stateDir: join(world.root, 'sdk-state'),
  useAgentsSdk: sdk,
  env: { PATH: process.env.PATH!, CLAUDE_CODE_PATH: claude() },
  sleep: async (ms) => void slept.push(ms),
  baseDelayMs: 5,
  ...extra,
});

const prompts = () => world.invocations().filter((i) => i.prompt);

describe.each([
  ['off', false],
  ['on', true],
] as const)('promptClaudeCodeWithRetry, USE_AGENTS_SDK %s', (_name, sdk) => {
  it('a crash then success, and an error_during_execution then success, both end in success after a 1 s wait', async () => {
    for (const first of ['crash', 'edx']) {
      slept = [];
      const response = await promptClaudeCodeWithRetry(request(`[[first:${first}]] [[reply:fixed]]`, { agent_name: `impl_${first}` }), {}, opts(sdk));
      expect(response).toMatchObject({ output: 'fixed', success: true, retry_code: 'none' });
      expect(slept).toEqual([1000]);
      // the retry does not continue the failed attempt's session
      expect(prompts().at(-1)!.resume ?? null).toBeNull();
    }
  });

  it('gives up after max_retries with the last response, waiting 1, 3, 5 s (then +2 s each)', async () => {
    const response = await promptClaudeCodeWithRetry(request('[[crash:3]]'), { max_retries: 4 }, opts(sdk));
    expect(response).toMatchObject({ success: false, retry_code: 'claude_code_error' });
    expect(response.output).toMatch(/^Claude Code error: Segmentation fault \(fake\)\nStdout: \{"type":"system"/);
    expect(slept).toEqual([1000, 3000, 5000, 7000]);
    expect(prompts()).toHaveLength(5);
  });

  it('does not retry a success, a non-retryable code or a tac-5 response', async () => {
    expect(await promptClaudeCodeWithRetry(request('[[reply:ok]]'), { retry_delays: [0] }, opts(sdk))).toMatchObject({ success: true });
    // is_error with exit 0: retry_code none, not retried
    const exitZero = join(world.root, 'claude-exit-0');
    writeFileSync(exitZero, `#!/bin/sh\n"${claude()}" "$@"\nexit 0\n`);
    chmodSync(exitZero, 0o755);
    const isError = await promptClaudeCodeWithRetry(request('[[prompt-too-long]]'), {}, opts(sdk, { env: { PATH: process.env.PATH!, CLAUDE_CODE_PATH: exitZero } }));
    expect(isError).toMatchObject({ output: 'Prompt is too long', success: false, retry_code: 'none' });
    expect(await promptClaudeCodeWithRetry(request('[[crash:3]]'), {}, opts(sdk, { adwVersion: 'tac-5' }))).toEqual({ output: 'Claude Code error: Segmentation fault (fake)\n', success: false, session_id: null });
    expect(slept).toEqual([]);
  });
});

describe('the SDK path (USE_AGENTS_SDK on)', () => {
  it('keeps every attempt\'s raw stream under its state dir, a retried 529 included; output_file is the last', async () => {
    const req = request('[[transient:1]] [[reply:after the 529]]');
    expect(await promptClaudeCode(req, opts(true))).toMatchObject({ output: 'after the 529', success: true });
    expect(slept).toEqual([5]);
    const dir = join(world.root, 'sdk-state', 'a1b2c3d4', 'sdlc_implementor');
    expect(readFileSync(join(dir, 'raw_output.jsonl'), 'utf8')).toContain('529');
    expect(readFileSync(join(dir, 'raw_output.attempt-2.jsonl'), 'utf8')).toBe(readFileSync(req.output_file, 'utf8'));
    // the next prompt's attempts come after them: nothing is overwritten
    await promptClaudeCode(request('[[reply:next]]'), opts(true));
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()).toEqual(['raw_output.attempt-2.jsonl', 'raw_output.attempt-3.jsonl', 'raw_output.jsonl']);
  });

  it('kept differences: the agent\'s next prompt resumes its Claude session; an adw_id with .. or / is refused', async () => {
    const first = await promptClaudeCode(request('[[reply:one]]'), opts(true));
    const second = await promptClaudeCode(request('[[echo]] two'), opts(true));
    expect(second.output).toBe(`[resumed ${first.session_id}] [[echo]] two`);
    for (const adw_id of ['../escape', 'a/b']) {
      const refused = await promptClaudeCode(request('/feature x', { adw_id }), opts(true));
      expect(refused).toMatchObject({ success: false, session_id: null, retry_code: 'execution_error' });
      expect(refused.output).toMatch(/^Error executing Claude Code: /);
    }
    const printed: string[] = [];
    const tac5 = await promptClaudeCode(request('go', { adw_id: '..' }), opts(true, { adwVersion: 'tac-5', stderr: (l) => void printed.push(l) }));
    expect(printed).toEqual([`${tac5.output}\n`]);
    expect(prompts()).toHaveLength(2);
  });

  it('a claude that cannot start in working_dir: the error worded as Python\'s', async () => {
    const gone = join(world.root, 'gone');
    for (const sdk of [false, true]) {
      const response = await promptClaudeCode(request('go', { working_dir: gone }), opts(sdk));
      expect(response).toMatchObject({ success: false, retry_code: 'execution_error' });
      expect(response.output).toMatch(/^Error executing Claude Code: /);
    }
  });
});

describe('USE_AGENTS_SDK', () => {
  it('is on for 1, true, yes, on in any case (the Python shim\'s set), off for anything else', () => {
    for (const v of ['1', 'true', 'TRUE', 'yes', 'Yes', 'on', 'ON', ' on ']) expect(useAgentsSdkFrom({ USE_AGENTS_SDK: v })).toBe(true);
    for (const v of [undefined, '', '0', 'false', 'no', 'off', '2', 'enabled']) expect(useAgentsSdkFrom({ USE_AGENTS_SDK: v })).toBe(false);
  });

  it('claude\'s environment per version: tac-6/tac-7 add PYTHONUNBUFFERED and the caller\'s PWD', () => {
    const env = { PATH: '/bin', HOME: '/h', OTHER: 'x', GITHUB_PAT: '' };
    expect(adwClaudeEnv('tac-5', env, '/work')).toEqual({ PATH: '/bin', HOME: '/h', CLAUDE_CODE_PATH: 'claude', CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR: 'true' });
    expect(adwClaudeEnv('tac-6', { ...env, CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR: 'false' }, '/work')).toEqual({
      PATH: '/bin', HOME: '/h', GITHUB_PAT: '', CLAUDE_CODE_PATH: 'claude', CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR: 'false', PYTHONUNBUFFERED: '1', PWD: '/work',
    });
  });
});

describe('agents-sdk prompt --json', () => {
  const env = () => ({ CLAUDE_CODE_PATH: claude(), USE_AGENTS_SDK: 'false' });

  it('without the flag: the original exactly, model defaulting to sonnet; printed lines first, the response last', async () => {
    const req = { prompt: '/chore [[reply:ok]]', adw_id: 'a1b2c3d4', output_file: join(world.root, 'out', 'chore.jsonl') };
    const run = await cli(['prompt', '--json', '--adw-version', 'tac-6', '--adw-root', world.root], env(), undefined, JSON.stringify(req));
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `Saved prompt to: ${join(world.root, 'agents', 'a1b2c3d4', 'ops', 'prompts', 'chore.txt')}`,
      `Output saved to: ${req.output_file}`,
      `Created JSON file: ${join(world.root, 'out', 'chore.json')}`,
    ]);
    expect(JSON.parse(lines[3]!)).toEqual({ output: 'ok', success: true, session_id: expect.any(String) });
    expect(prompts()[0]!.model).toBe('sonnet');
  });

  it('--with-retry runs tac-7\'s retry loop; bad options are usage errors', async () => {
    const req = { prompt: '[[first:crash]] [[reply:ok]]', adw_id: 'a1b2c3d4', output_file: join(world.root, 'o.jsonl') };
    const run = await cli(['prompt', '--json', '--adw-root', world.root, '--with-retry', '--max-retries', '1', '--retry-delays', '0'], env(), undefined, JSON.stringify(req));
    expect([run.code, JSON.parse(run.stdout)]).toEqual([0, { output: 'ok', success: true, session_id: expect.any(String), retry_code: 'none' }]);
    for (const [args, message] of [
      [['--adw-version', 'tac-9'], '--adw-version must be one of tac-5, tac-6, tac-7'],
      [['--max-retries', '2'], '--max-retries and --retry-delays need --with-retry'],
      [['--with-retry', '--max-retries', 'x'], '--max-retries must be a whole number'],
      [['--with-retry', '--retry-delays', '1,a'], '--retry-delays must be seconds separated by commas'],
    ] as const) {
      const bad = await cli(['prompt', '--json', ...args], env(), undefined, JSON.stringify(req));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    const intoAgents = await cli(['prompt', '--json', '--adw-root', world.root, '--sdk-dir', join(world.root, 'agents')], env(), undefined, JSON.stringify(req));
    expect([intoAgents.code, intoAgents.stderr]).toEqual([2, expect.stringContaining("is ADW's own agents directory")]);
    for (const [stdin, message] of [
      ['nope', 'stdin is not JSON'],
      ['[1]', 'stdin must be one AgentPromptRequest object'],
      [JSON.stringify({ ...req, prompt: '' }), 'prompt must be a non-empty string'],
      [JSON.stringify({ ...req, agent_name: 3 }), 'agent_name must be a string'],
      [JSON.stringify({ ...req, dangerously_skip_permissions: 'yes' }), 'dangerously_skip_permissions must be a boolean'],
    ] as const) {
      const bad = await cli(['prompt', '--json'], env(), undefined, stdin);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining(message)]);
      expect(JSON.parse(bad.stdout)).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    }
    expect((await cli(['prompt'], env(), undefined, JSON.stringify(req))).stderr).toContain('only --json is supported');
    const badDir = await cli(['prompt', '--json'], env(), undefined, JSON.stringify({ ...req, working_dir: 3 }));
    expect([badDir.code, badDir.stderr]).toEqual([2, expect.stringContaining('working_dir must be a string or null')]);
  });
});

describe("Python's json forms", () => {
  it('floats as repr writes them', () => {
    const cases: Array<[number, string]> = [
      [1, '1.0'], [1e-5, '1e-05'], [-0, '-0.0'], [0, '0.0'], [0.1, '0.1'], [1e16, '1e+16'], [1e15, '1000000000000000.0'],
      [0.0001, '0.0001'], [1.5e-7, '1.5e-07'], [123.456, '123.456'], [-2.5e300, '-2.5e+300'], [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'],
    ];
    for (const [x, repr] of cases) expect(pythonFloat(x)).toBe(repr);
  });

  it('parse errors worded as json.loads words them; a non-object line fails the original parse', () => {
    const err = (t: string) => {
      try {
        parsePythonJson(t);
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    expect(err('Warning')).toBe('Expecting value: line 1 column 1 (char 0)');
    expect(err('{not json')).toBe('Expecting property name enclosed in double quotes: line 1 column 2 (char 1)');
    expect(err('{"a" 1}')).toBe("Expecting ':' delimiter: line 1 column 6 (char 5)");
    expect(err('{"a":1 "b"}')).toBe("Expecting ',' delimiter: line 1 column 8 (char 7)");
    expect(err('[1 2]')).toBe("Expecting ',' delimiter: line 1 column 4 (char 3)");
    expect(err('{"a":1} x')).toBe('Extra data: line 1 column 9 (char 8)');
    expect(err('"abc')).toBe('Unterminated string starting at: line 1 column 1 (char 0)');
    expect(dumpPythonJson(parsePythonJson('[true,false,null,[1,[]],{"a":{}}]'))).toBe('[\n  true,\n  false,\n  null,\n  [\n    1,\n    []\n  ],\n  {\n    "a": {}\n  }\n]');
    const file = join(world.root, 'lines.jsonl');
    mkdirSync(world.root, { recursive: true });
    writeFileSync(file, '{"type":"result"}\n[1]\n');
    expect(parseStream(file)).toEqual({ messages: [], result: null, error: "'list' object has no attribute 'get'" });
    writeFileSync(file, '3\n');
    expect(parseStream(file).error).toBe("'int' object has no attribute 'get'");
    expect(parseStream(join(world.root, 'missing.jsonl')).error).toBe(`[Errno 2] No such file or directory: '${join(world.root, 'missing.jsonl')}'`);
  });

  it("tac-7's truncate_output: a JSONL blob to its last text, a long text cut at a line or word break", () => {
    const blob = '{"type":"system"}\n{"type":"assistant","message":{"content":[{"type":"text","text":"last words"}]}}\nnot json';
    expect(truncateOutput(blob)).toBe('last words');
    expect(truncateOutput('{"type":"a"}\n{"type":"b"}')).toBe('[JSONL output with 2 messages]... (truncated)');
    expect(truncateOutput('{"type":"a"}\n{"type":"result","result":"done"}')).toBe('done');
    expect(truncateOutput(`${'x'.repeat(470)}\n${'y'.repeat(100)}`)).toBe(`${'x'.repeat(470)}... (truncated)`);
    expect(truncateOutput('z'.repeat(600))).toBe(`${'z'.repeat(485)}... (truncated)`);
  });
});
