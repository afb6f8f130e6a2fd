/**
 * promptClaudeCode answers as ADW's prompt_claude_code of each course version (tac-5, tac-6,
 * tac-7), with USE_AGENTS_SDK off (the original's one-shot call) and on (agents-sdk's runner):
 * the same response, files, printed lines, `claude` arguments and environment for the same
 * stream. The `.json` files are checked against python3's own json module.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adwClaudeEnv } from '../src/adw/claude-env.js';
import { promptClaudeCode } from '../src/adw/prompt-claude-code.js';
import { type AdwPromptOptions, type AdwVersion, type AgentPromptRequest } from '../src/adw/adw-types.js';
import { FAKE_CLAUDE, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
/** The ADW project root of the test (adws/ would be here; prompts go under its agents/). */
let root: string;
let printed: { stdout: string; stderr: string };

beforeEach(() => {
  world = fakeWorld();
  root = join(world.root, 'project');
  mkdirSync(root);
  printed = { stdout: '', stderr: '' };
});
afterEach(() => world.cleanup());

/** Where the claude of the test writes the environment it got (its last run's). */
const envFile = () => join(world.root, 'claude-env.txt');

/** The fake claude behind a script that notes its environment and answers `--version` (the fake's settings baked in: ADW's environment is filtered). */
function claude(): string {
  const file = join(world.root, 'claude');
  writeFileSync(
    file,
    `#!/bin/sh\nif [ "$#" = 1 ] && [ "$1" = --version ]; then echo "2.1.197 (Claude Code)"; exit 0; fi\nenv > "${envFile()}"\n` +
      `FAKE_CLAUDE_STATE_DIR="${world.env.FAKE_CLAUDE_STATE_DIR}" FAKE_CLAUDE_LOG="${world.log}" IS_SANDBOX=1 exec "${FAKE_CLAUDE}" "$@"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** A claude that prints `stdout` as it is, `stderr`, and exits `code`. */
function canned(stdout: string, code = 0, stderr = ''): string {
  const out = join(world.root, `canned-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${out}.out`, stdout);
  writeFileSync(`${out}.err`, stderr);
  writeFileSync(out, `#!/bin/sh\nif [ "$1" = --version ]; then echo "2.1.197 (Claude Code)"; exit 0; fi\ncat "${out}.out"\ncat "${out}.err" >&2\nexit ${code}\n`);
  chmodSync(out, 0o755);
  return out;
}

function request(prompt: string, extra: Partial<AgentPromptRequest> = {}): AgentPromptRequest {
  return { prompt, adw_id: 'a1b2c3d4', agent_name: 'sdlc_planner', model: 'opus', output_file: join(root, 'agents', 'a1b2c3d4', 'sdlc_planner', 'raw_output.jsonl'), ...extra };
}

function options(version: AdwVersion, sdk: boolean, claudePath: string, env: NodeJS.ProcessEnv = {}): AdwPromptOptions {
  return {
    adwVersion: version,
    adwRoot: root,
    stateDir: join(world.root, 'sdk-state'),
    useAgentsSdk: sdk,
    cwd: world.root,
    env: { PATH: process.env.PATH!, HOME: '/home/adw', SECRET_OF_THE_PARENT: 'x', CLAUDE_CODE_PATH: claudePath, ...env },
    stdout: (l) => (printed.stdout += l),
    stderr: (l) => (printed.stderr += l),
    baseDelayMs: 1,
  };
}

const PATHS = [
  ['off', false],
  ['on', true],
] as const;

/** What python3's json module writes for the stream file's lines (`json.dump(messages, f, indent=2)`). */
async function pythonJsonOf(file: string): Promise<string> {
  const code = 'import json,sys\nmsgs=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]\nsys.stdout.write(json.dumps(msgs, indent=2))';
  return (await execa('python3', ['-c', code, file])).stdout;
}

describe.each(PATHS)('USE_AGENTS_SDK %s', (_name, sdk) => {
  it('tac-5/tac-6 print the files they write, and nothing else; tac-7 prints nothing', async () => {
    const path = claude();
    for (const version of ['tac-5', 'tac-6'] as const) {
      printed.stdout = '';
      const req = request('/feature 42 a1b2c3d4 [[reply:planned]]');
      expect(await promptClaudeCode(req, options(version, sdk, path))).toMatchObject({ output: 'planned', success: true });
      expect(printed.stdout).toBe(
        `Saved prompt to: ${join(root, 'agents/a1b2c3d4/sdlc_planner/prompts/feature.txt')}\nOutput saved to: ${req.output_file}\nCreated JSON file: ${req.output_file.replace('.jsonl', '.json')}\n`,
      );
    }
    printed.stdout = '';
    const tac7 = await promptClaudeCode(request('/feature 42 [[reply:planned]]'), options('tac-7', sdk, path));
    expect(tac7).toMatchObject({ output: 'planned', success: true, retry_code: 'none' });
    expect(printed).toEqual({ stdout: '', stderr: '' });
  });

  it('claude gets the prompt, --model, then the rest in order, and only the filtered environment', async () => {
    const path = claude();
    for (const version of ['tac-5', 'tac-7'] as const) {
      // An agent's first prompt (a later one of the same agent resumes its session: see adw-prompt.test.ts).
      await promptClaudeCode(request('[[reply:x]]', { agent_name: version, dangerously_skip_permissions: true }), options(version, sdk, path, { GITHUB_PAT: 'pat', LANG: 'C.UTF-8' }));
      expect(world.invocations().filter((i) => i.prompt).at(-1)!.argv).toEqual([
        '-p', '[[reply:x]]', '--model', 'opus', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions',
      ]);
      const got = Object.fromEntries(readFileSync(envFile(), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const expected: Record<string, string> = { ...adwClaudeEnv(version, options(version, sdk, path, { GITHUB_PAT: 'pat', LANG: 'C.UTF-8' }).env!, world.root) };
      // Kept difference: the SDK path caps Claude Code's own API retries, so that its retry takes over.
      if (sdk) expected.CLAUDE_CODE_MAX_RETRIES = '2';
      // The shell running the test's claude script sets PWD, SHLVL and _ itself.
      for (const k of ['SHLVL', '_', 'OLDPWD', 'PWD']) delete got[k];
      delete expected.PWD;
      expect(got).toEqual(expected);
      expect(got.SECRET_OF_THE_PARENT).toBeUndefined();
      expect(got).toMatchObject({ CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR: 'true', GH_TOKEN: 'pat', HOME: '/home/adw' });
      expect('LANG' in got).toBe(version === 'tac-7');
    }
  });

  it('error_during_execution with exit 0: the fixed message and the result line session_id', async () => {
    const line = '{"type":"result","subtype":"error_during_execution","is_error":true,"session_id":"s-edx"}\n';
    for (const version of ['tac-5', 'tac-7'] as const) {
      expect(await promptClaudeCode(request('go'), options(version, sdk, canned(line)))).toEqual({
        output: 'Error during execution: Agent encountered an error and did not return a result',
        success: false,
        session_id: 's-edx',
        ...(version === 'tac-7' && { retry_code: 'error_during_execution' }),
      });
    }
  });

  it('non-zero exit: "Claude Code error: <stderr>" (tac-7: with the last stdout line), only the .jsonl written', async () => {
    const req = request('go');
    const init = '{"type":"system","subtype":"init","session_id":"s1"}';
    expect(await promptClaudeCode(req, options('tac-5', sdk, canned('', 3, 'boom\n')))).toEqual({ output: 'Claude Code error: boom\n', success: false, session_id: null });
    expect(printed.stderr).toBe('Claude Code error: boom\n\n');
    expect(existsSync(req.output_file)).toBe(true);
    expect(existsSync(req.output_file.replace('.jsonl', '.json'))).toBe(false);
    expect(await promptClaudeCode(req, options('tac-7', sdk, canned(`${init}\n`, 3, 'boom\n')))).toEqual({
      output: `Claude Code error: boom\nStdout: ${init}`,
      success: false,
      session_id: null,
      retry_code: 'claude_code_error',
    });
    expect((await promptClaudeCode(req, options('tac-7', sdk, canned(`${init}\n`, 3)))).output).toBe(`Claude Code error: ${init}`);
    expect((await promptClaudeCode(req, options('tac-7', sdk, canned('', 3)))).output).toBe('Claude Code error: Command failed with exit code 3');
    const assistant = '{"type":"assistant","message":{"content":[{"type":"text","text":"the build failed"}]}}';
    expect((await promptClaudeCode(req, options('tac-7', sdk, canned(`${init}\n${assistant}\n`, 3, 'x')))).output).toBe('Claude Code error: the build failed');
  });

  it('tac-7: is_error with exit 1 is a Claude Code error; with exit 0 retry_code none; no result line: the output found', async () => {
    expect(await promptClaudeCode(request('[[prompt-too-long]]'), options('tac-7', sdk, claude()))).toEqual({
      output: 'Claude Code error: Prompt is too long',
      success: false,
      session_id: null,
      retry_code: 'claude_code_error',
    });
    const isError = '{"type":"result","subtype":"success","is_error":true,"result":"nope","session_id":"s2"}\n';
    expect(await promptClaudeCode(request('go'), options('tac-7', sdk, canned(isError)))).toEqual({ output: 'nope', success: false, session_id: 's2', retry_code: 'none' });
    const long = `{"type":"result","subtype":"success","is_error":true,"result":"${'word '.repeat(300)}","session_id":"s2"}\n`;
    const truncated = await promptClaudeCode(request('go'), options('tac-7', sdk, canned(long)));
    expect(truncated.output).toMatch(/^word word .*\.\.\. \(truncated\)$/);
    expect(truncated.output.length).toBeLessThanOrEqual(800);
    expect(await promptClaudeCode(request('[[crash:0]]'), options('tac-7', sdk, claude()))).toEqual({
      output: 'No result message found in Claude Code output',
      success: false,
      session_id: null,
      retry_code: 'none',
    });
    const assistant = '{"type":"assistant","message":{"content":[{"type":"text","text":"half done"}]}}\n';
    expect((await promptClaudeCode(request('go'), options('tac-7', sdk, canned(assistant)))).output).toBe('Claude Code output: half done');
    // tac-5/6: no result line is the raw stream, as success
    expect(await promptClaudeCode(request('go'), options('tac-6', sdk, canned(assistant)))).toEqual({ output: assistant, success: true, session_id: null });
  });

  it('a first line that is not JSON: the parse fails (reported twice), output the raw text, .json []', async () => {
    const raw = 'Warning: something\n{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s3"}\n';
    const req = request('go');
    expect(await promptClaudeCode(req, options('tac-5', sdk, canned(raw)))).toEqual({ output: raw, success: true, session_id: null });
    expect(readFileSync(req.output_file.replace('.jsonl', '.json'), 'utf8')).toBe('[]');
    expect(printed.stderr).toBe('Error parsing JSONL file: Expecting value: line 1 column 1 (char 0)\n'.repeat(2));
  });

  it('the .json array is what python3 json.dumps(indent=2) writes: 1.0, 1e-05, -0.0, big ints, key order, escapes', async () => {
    const raw =
      '{"type":"system","b":1.0,"2":1e-05,"z":-0.0,"big":123456789012345678901234567890,"e":1E5,"f":0.1,"g":1e16,"h":1.5e300,"s":"é ☃ \\u007f \\ud83d\\ude00","n":null,"l":[],"o":{}}\n' +
      '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s4","total_cost_usd":0.00001,"dup":1,"dup":2}\n';
    const req = request('go');
    await promptClaudeCode(req, options('tac-7', sdk, canned(raw)));
    expect(readFileSync(req.output_file.replace('.jsonl', '.json'), 'utf8')).toBe(await pythonJsonOf(req.output_file));
    expect(readFileSync(req.output_file.replace('.jsonl', '.json'), 'utf8')).toContain('"b": 1.0,\n    "2": 1e-05,\n    "z": -0.0,');
  });

  it('only output_file and its .json are written under agents/; an unwritable path is worded as Python does', async () => {
    const req = request('/chore [[reply:ok]]', { output_file: join(root, 'out', 'chore.jsonl') });
    await promptClaudeCode(req, options('tac-6', sdk, claude()));
    expect(readdirSync(join(root, 'agents', 'a1b2c3d4', 'sdlc_planner'))).toEqual(['prompts']);
    expect(readdirSync(join(root, 'out')).sort()).toEqual(['chore.json', 'chore.jsonl']);
    const dangling = join(root, 'out', 'dangling.jsonl');
    symlinkSync(join(world.root, 'missing-dir', 'x.jsonl'), dangling);
    for (const version of ['tac-5', 'tac-7'] as const) {
      expect(await promptClaudeCode(request('go', { output_file: dangling }), options(version, sdk, claude()))).toMatchObject({
        output: `Error executing Claude Code: [Errno 2] No such file or directory: '${dangling}'`,
        success: false,
        session_id: null,
      });
    }
  });

  it('the prompt file goes under the project root, whatever the current directory', async () => {
    await promptClaudeCode(request('/implement plan.md [[reply:ok]]'), options('tac-7', sdk, claude()));
    expect(readFileSync(join(root, 'agents', 'a1b2c3d4', 'sdlc_planner', 'prompts', 'implement.txt'), 'utf8')).toBe('/implement plan.md [[reply:ok]]');
    expect(existsSync(join(process.cwd(), 'agents', 'a1b2c3d4'))).toBe(false);
  });

  it('tac-7 working_dir: claude runs there, with --mcp-config when it has .mcp.json', async () => {
    const wt = join(world.root, 'trees', 'a1b2c3d4');
    mkdirSync(wt, { recursive: true });
    await promptClaudeCode(request('[[reply:x]]', { working_dir: wt, dangerously_skip_permissions: true }), options('tac-7', sdk, claude()));
    writeFileSync(join(wt, '.mcp.json'), '{"mcpServers":{}}');
    await promptClaudeCode(request('[[reply:y]]', { agent_name: 'other', working_dir: wt, dangerously_skip_permissions: true }), options('tac-7', sdk, claude()));
    const [without, withMcp] = world.invocations().filter((i) => i.prompt);
    expect([without!.cwd, withMcp!.cwd]).toEqual([wt, wt]);
    expect(without!.argv).not.toContain('--mcp-config');
    expect((withMcp!.argv as string[]).slice(5)).toEqual(['stream-json', '--verbose', '--mcp-config', join(wt, '.mcp.json'), '--dangerously-skip-permissions']);
    // tac-5/6 have no working_dir: the field is ignored
    await promptClaudeCode(request('[[reply:z]]', { working_dir: wt }), options('tac-6', sdk, claude()));
    expect(world.invocations().filter((i) => i.prompt).at(-1)!.cwd).not.toBe(wt);
  });

  it('a CLI that is not there: the not-installed message (tac-7: retry_code none)', async () => {
    const missing = join(world.root, 'no-claude');
    expect(await promptClaudeCode(request('go'), options('tac-7', sdk, missing))).toEqual({
      output: `Error: Claude Code CLI is not installed. Expected at: ${missing}`,
      success: false,
      session_id: null,
      retry_code: 'none',
    });
    expect(await promptClaudeCode(request('go'), options('tac-5', sdk, missing))).toEqual({
      output: `Error: Claude Code CLI is not installed. Expected at: ${missing}`,
      success: false,
      session_id: null,
    });
  });
});
