/**
 * Runs the REAL Claude Code CLI (the pinned devDependency @anthropic-ai/claude-code)
 * against the local mock of the Messages API, with no network. These tests pin down the
 * stream-json behaviour that agents-sdk relies on, so that a CLI upgrade which changes
 * it fails here first.
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MOCK_TEXT,
  realClaudeEnv,
  realClaudePath,
  startMockAnthropicApi,
  type MockAnthropicApi,
  type MockHttpLogEntry,
  type MockRequest,
} from '../fixtures/mock-anthropic-api.js';

// The binary is ~245 MB and a run takes ~1.5-2.5 s on a 2-core machine; leave room.
const TEST_TIMEOUT = 60_000;
const RUN_TIMEOUT = 45_000;

type Line = Record<string, any>;

interface Run {
  exitCode: number | undefined;
  signal: string | undefined;
  lines: Line[];
  stdout: string;
  stderr: string;
}

/** stream-json output, one object per line; anything else (warnings) is skipped. */
function parseLines(stdout: string): Line[] {
  return stdout.split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return value && typeof value === 'object' ? [value as Line] : [];
    } catch {
      return [];
    }
  });
}

const byType = (lines: Line[], type: string, subtype?: string) =>
  lines.filter((l) => l.type === type && (subtype === undefined || l.subtype === subtype));

describe('real claude CLI against the mock Anthropic API', () => {
  let claude: string;
  let api: MockAnthropicApi;
  const dirs: string[] = [];

  async function tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  }

  /** A throwaway HOME (config, sessions) and working directory. */
  async function sandbox() {
    return { home: await tempDir('claude-home-'), cwd: await tempDir('claude-cwd-') };
  }

  function spawnClaude(
    prompt: string,
    extraArgs: string[],
    box: { home: string; cwd: string },
    env: Record<string, string> = {},
    target: MockAnthropicApi = api,
  ) {
    return execa(claude, ['-p', prompt, '--output-format', 'stream-json', '--verbose', ...extraArgs], {
      cwd: box.cwd,
      env: realClaudeEnv(target, box.home, env),
      extendEnv: false,
      // An open stdin makes the CLI wait 3 s for piped input before it starts.
      stdin: 'ignore',
      reject: false,
      timeout: RUN_TIMEOUT,
    });
  }

  async function runClaude(...args: Parameters<typeof spawnClaude>): Promise<Run> {
    const r = await spawnClaude(...args);
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      lines: parseLines(String(r.stdout)),
      stdout: String(r.stdout),
      stderr: String(r.stderr),
    };
  }

  beforeAll(() => {
    // Fails every test with install instructions when the binary is missing.
    claude = realClaudePath();
  });

  beforeEach(async () => {
    api = await startMockAnthropicApi();
  });

  afterEach(async () => {
    await api.close();
  });

  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /**
   * One plain run, against an API of its own, whose session the resume tests continue: a
   * session needs a real run to exist, and each CLI start costs ~2 CPU-seconds. Started by
   * whichever test needs it first; the tests only read it.
   */
  let plain: Promise<{ box: { home: string; cwd: string }; run: Run; requests: MockRequest[]; log: MockHttpLogEntry[] }> | undefined;
  function plainRun() {
    plain ??= (async () => {
      const box = await sandbox();
      const ownApi = await startMockAnthropicApi();
      try {
        const run = await runClaude('Say hello', [], box, {}, ownApi);
        return { box, run, requests: ownApi.requests, log: ownApi.log };
      } finally {
        await ownApi.close();
      }
    })();
    return plain;
  }

  it(
    'plain success: init line, assistant text, successful result',
    async () => {
      const { box, run, requests, log } = await plainRun();

      expect(run.exitCode, run.stderr).toBe(0);
      const [init] = run.lines;
      expect(init).toMatchObject({ type: 'system', subtype: 'init', cwd: box.cwd, apiKeySource: 'ANTHROPIC_API_KEY' });
      expect(init!.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(init!.tools).toContain('Bash');

      const assistant = byType(run.lines, 'assistant');
      expect(assistant).toHaveLength(1);
      expect(assistant[0]!.message.content).toEqual([{ type: 'text', text: MOCK_TEXT }]);

      const result = run.lines.at(-1)!;
      expect(result).toMatchObject({
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: MOCK_TEXT,
        num_turns: 1,
        session_id: init!.session_id,
      });
      expect(result.total_cost_usd).toEqual(expect.any(Number));

      // One streamed Messages request, and nothing else but the startup `HEAD /`.
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ path: '/v1/messages?beta=true', stream: true });
      expect(requests[0]!.lastUserText).toContain('Say hello');
      expect(requests[0]!.headers['x-api-key']).toBe('sk-ant-mock-key');
      expect(log.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
        'HEAD / 200',
        'POST /v1/messages?beta=true 200',
      ]);
    },
    TEST_TIMEOUT,
  );

  it(
    'runs a real Bash tool and sends its result back to the API',
    async () => {
      const box = await sandbox();
      const run = await runClaude('Run the tool [[tool]]', ['--dangerously-skip-permissions'], box);

      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.lines[0]).toMatchObject({ type: 'system', subtype: 'init', permissionMode: 'bypassPermissions' });

      const [toolTurn, finalTurn] = byType(run.lines, 'assistant');
      const toolUse = toolTurn!.message.content[0];
      expect(toolUse).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'echo TOOLOUT-$((6*7))' } });

      const [toolResultLine] = byType(run.lines, 'user');
      expect(toolResultLine!.message.content[0]).toMatchObject({
        type: 'tool_result',
        tool_use_id: toolUse.id,
        content: 'TOOLOUT-42',
        is_error: false,
      });
      expect(toolResultLine!.tool_use_result).toMatchObject({ stdout: 'TOOLOUT-42' });

      expect(finalTurn!.message.content[0].text).toBe('Tool said: TOOLOUT-42');
      expect(run.lines.at(-1)).toMatchObject({ type: 'result', subtype: 'success', is_error: false, num_turns: 2 });

      expect(api.requests).toHaveLength(2);
      expect(api.requests[1]!.lastToolResult).toEqual({ toolUseId: toolUse.id, content: 'TOOLOUT-42', isError: false });
    },
    TEST_TIMEOUT,
  );

  it(
    '--resume continues the session with its earlier turns',
    async () => {
      // Sessions live under HOME/.claude/projects/<cwd>: the resumed run needs both.
      const { box, run: first } = await plainRun();
      expect(first.exitCode, first.stderr).toBe(0);
      const sessionId = first.lines.at(-1)!.session_id as string;

      api.enqueue({ text: 'SECOND-ANSWER' });
      const second = await runClaude('SECOND-PROMPT', ['--resume', sessionId], box);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.lines.at(-1)).toMatchObject({ type: 'result', is_error: false, result: 'SECOND-ANSWER' });
      // 2.1.197 keeps the id; the protocol allows a new one, so only require one to exist.
      expect(second.lines.at(-1)!.session_id).toEqual(expect.any(String));

      // Only the resumed run's request reached this test's API; it carries the first run's turns.
      expect(api.requests).toHaveLength(1);
      const resumed = api.requests[0]!;
      expect(resumed.lastUserText).toBe('SECOND-PROMPT');
      const sent = JSON.stringify(resumed.messages);
      expect(sent).toContain('Say hello');
      expect(sent).toContain(MOCK_TEXT);
      expect(resumed.messages.map((m) => m.role).filter((r) => r !== 'system')).toEqual(['user', 'assistant', 'user']);
    },
    TEST_TIMEOUT,
  );

  it(
    'resuming from another working directory finds no session',
    async () => {
      const { box, run: first } = await plainRun();
      expect(first.exitCode, first.stderr).toBe(0);
      const sessionId = first.lines.at(-1)!.session_id as string;

      const elsewhere = { home: box.home, cwd: await tempDir('claude-cwd-') };
      const second = await runClaude('again', ['--resume', sessionId], elsewhere);

      expect(second.exitCode).toBe(1);
      expect(second.stderr).toContain(`No conversation found with session ID: ${sessionId}`);
      // No init line: the result is the only line.
      expect(second.lines).toHaveLength(1);
      expect(second.lines[0]).toMatchObject({ type: 'result', subtype: 'error_during_execution', is_error: true });
      // It never called the API.
      expect(api.requests).toHaveLength(0);
    },
    TEST_TIMEOUT,
  );

  it(
    'gives up on 529 overload after its own retries: error result with api_error_status',
    async () => {
      api.setHandler(() => ({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }));
      const box = await sandbox();
      const run = await runClaude('hi', [], box, { CLAUDE_CODE_MAX_RETRIES: '1' });

      expect(run.exitCode).not.toBe(0);
      expect(byType(run.lines, 'system', 'api_retry')).toEqual([
        expect.objectContaining({ attempt: 1, max_retries: 1, error_status: 529, error: 'overloaded' }),
      ]);
      const [synthetic] = byType(run.lines, 'assistant');
      expect(synthetic).toMatchObject({ error: 'server_error', message: { model: '<synthetic>' } });
      const result = run.lines.at(-1)!;
      expect(result).toMatchObject({ type: 'result', is_error: true, api_error_status: 529 });
      expect(result.result).toContain('API Error: 529');
      expect(api.requests).toHaveLength(2); // first try + one retry
    },
    TEST_TIMEOUT,
  );

  it(
    'retries 401 with api_retry lines, so a runner can stop it at the first one',
    async () => {
      api.setHandler(() => ({ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }));
      const box = await sandbox();
      // The CLI's default: 10 retries with doubling delays, minutes in all.
      const subprocess = spawnClaude('hi', [], box, { CLAUDE_CODE_MAX_RETRIES: '10' });

      let retry: Line | undefined;
      for await (const line of subprocess) {
        const [parsed] = parseLines(String(line));
        if (parsed?.type === 'system' && parsed.subtype === 'api_retry') {
          retry = parsed;
          subprocess.kill('SIGTERM');
          break;
        }
      }
      const result = await subprocess;

      expect(retry).toMatchObject({ attempt: 1, max_retries: 10, error_status: 401, error: 'authentication_failed' });
      // The CLI handles SIGTERM itself and exits 143 (so execa sees no signal).
      expect(result.exitCode).toBe(143);
      expect(parseLines(String(result.stdout)).filter((l) => l.type === 'result')).toEqual([]);
      expect(api.requests.length).toBeGreaterThanOrEqual(1);
    },
    TEST_TIMEOUT,
  );

  it(
    '401 with retries exhausted: authentication_failed and api_error_status 401',
    async () => {
      api.setHandler(() => ({ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }));
      const box = await sandbox();
      const run = await runClaude('hi', [], box, { CLAUDE_CODE_MAX_RETRIES: '0' });

      expect(run.exitCode).toBe(1);
      expect(byType(run.lines, 'system', 'api_retry')).toEqual([]);
      expect(byType(run.lines, 'assistant')[0]).toMatchObject({ error: 'authentication_failed' });
      expect(run.lines.at(-1)).toMatchObject({
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: 401,
        result: 'Invalid API key · Fix external API key',
      });
    },
    TEST_TIMEOUT,
  );

  it(
    '--max-turns 1 with a tool call pending ends with error_max_turns',
    async () => {
      const box = await sandbox();
      const run = await runClaude('[[tool]]', ['--dangerously-skip-permissions', '--max-turns', '1'], box);

      expect(run.exitCode).toBe(1);
      // The tool of the last allowed turn still runs; only the next model call is skipped.
      expect(byType(run.lines, 'user')[0]!.message.content[0]).toMatchObject({ type: 'tool_result', content: 'TOOLOUT-42' });
      expect(run.lines.at(-1)).toMatchObject({
        type: 'result',
        subtype: 'error_max_turns',
        is_error: true,
        stop_reason: 'tool_use',
        terminal_reason: 'max_turns',
        errors: ['Reached maximum number of turns (1)'],
      });
      expect(api.requests).toHaveLength(1);
    },
    TEST_TIMEOUT,
  );

  it(
    'refuses --dangerously-skip-permissions as root without IS_SANDBOX',
    async () => {
      if (process.getuid?.() !== 0) return; // only root is refused
      const box = await sandbox();
      const env = realClaudeEnv(api, box.home);
      delete env.IS_SANDBOX;
      const r = await execa(claude, ['-p', 'hi', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions'], {
        cwd: box.cwd,
        env,
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        timeout: RUN_TIMEOUT,
      });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('--dangerously-skip-permissions cannot be used with root/sudo privileges');
      expect(api.requests).toHaveLength(0);
    },
    TEST_TIMEOUT,
  );
});

describe('mock Anthropic API (without the CLI)', () => {
  let api: MockAnthropicApi;

  beforeEach(async () => {
    api = await startMockAnthropicApi();
  });

  afterEach(async () => {
    await api.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers non-streaming requests with a JSON message', async () => {
    const res = await post('/v1/messages', { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [{ type: 'text', text: MOCK_TEXT }],
      stop_reason: 'end_turn',
    });
    expect(api.requests[0]).toMatchObject({ stream: false, lastUserText: 'hi', lastToolResult: undefined });
  });

  it('streams tool_use as input_json_delta pieces that rebuild the input', async () => {
    api.enqueue({ toolUse: { name: 'Bash', input: { command: 'echo a long enough command to be split' }, id: 'toolu_x' } });
    const res = await post('/v1/messages?beta=true', { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map((chunk) => JSON.parse(chunk.split('\ndata: ')[1]!));
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === 'content_block_delta').length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(deltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1].content_block).toMatchObject({ type: 'tool_use', id: 'toolu_x', name: 'Bash' });
    const json = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.partial_json).join('');
    expect(JSON.parse(json)).toEqual({ command: 'echo a long enough command to be split' });
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('reads the last user message even when a system entry follows it', async () => {
    await post('/v1/messages', {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'run it' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'OUT' }] }] },
        { role: 'system', content: 'reminder' },
      ],
    });
    expect(api.requests[0]).toMatchObject({ lastUserText: '', lastToolResult: { toolUseId: 't1', content: 'OUT', isError: false } });
  });

  it('answers errors with the API error body, after an optional delay', async () => {
    api.setHandler(() => ({ delayMs: 50, then: { error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } } }));
    const started = Date.now();
    const res = await post('/v1/messages', { messages: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(res.status).toBe(529);
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('answers count_tokens and logs unknown endpoints with a 404', async () => {
    const counted = await post('/v1/messages/count_tokens', { messages: [{ role: 'user', content: 'hi' }] });
    expect(await counted.json()).toEqual({ input_tokens: expect.any(Number) });
    const unknown = await fetch(`${api.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(api.log.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      'POST /v1/messages/count_tokens 200',
      'GET /v1/nothing 404',
    ]);
    expect(api.requests).toEqual([]);
  });

  it('close() does not wait for a reply that is still delayed', async () => {
    api.setHandler(() => ({ delayMs: 60_000, then: { text: 'never' } }));
    const pending = post('/v1/messages', { messages: [] }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await api.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
    api = await startMockAnthropicApi(); // for afterEach
  });
});
