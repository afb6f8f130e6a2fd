/**
 * The real-client tier: agents-sdk's runner and session actor driving the REAL Claude Code
 * CLI (pinned devDependency) against the local mock of the Messages API, offline.
 * The fake `claude` is fast and can misbehave on demand; this tier keeps us honest about
 * what the real binary prints.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AgentSession,
  AgentsSdkError,
  JsonStateBackend,
  WorkflowOrchestrator,
  runClaudeCode,
  type ClaudeProgressEvent,
} from '../../src/index.js';
import {
  MOCK_TEXT,
  realClaudeEnv,
  realClaudePath,
  startMockAnthropicApi,
  type MockAnthropicApi,
} from '../fixtures/mock-anthropic-api.js';

const TEST_TIMEOUT = 90_000;

describe('real claude CLI through the runner and the session actor', () => {
  let claude: string;
  let api: MockAnthropicApi;
  let root: string;
  let home: string;
  let cwd: string;

  beforeAll(() => {
    // Throws with install instructions when the pinned binary is missing: never a silent skip.
    claude = realClaudePath();
  });
  beforeEach(async () => {
    api = await startMockAnthropicApi();
    root = mkdtempSync(join(tmpdir(), 'agents-sdk-real-'));
    home = join(root, 'home');
    cwd = join(root, 'repo');
    mkdirSync(home);
    mkdirSync(cwd);
  });
  afterEach(async () => {
    await api.close();
    rmSync(root, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return { ...realClaudeEnv(api, home, extra), CLAUDE_CODE_PATH: claude };
  }

  function session(extra: Record<string, string> = {}): AgentSession {
    return new AgentSession({
      agentName: 'real',
      context: { cwd, env: env(extra), stateDir: join(root, 'agents'), retry: { baseDelayMs: 100, jitter: 'none' } },
    });
  }

  it(
    'runs a plain prompt to success',
    async () => {
      const events: ClaudeProgressEvent[] = [];
      const result = await runClaudeCode(
        { prompt: 'Say hello', cwd, env: env(), stateDir: join(root, 'agents'), runId: 'r1', agentName: 'greeter' },
        { onEvent: (e) => events.push(e) },
      );
      expect(result.success).toBe(true);
      expect(result.output).toBe(MOCK_TEXT);
      expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(result.tokens.output).toBeGreaterThan(0);
      expect(result.exitCode).toBe(0);
      expect(events[0]).toMatchObject({ type: 'init', sessionId: result.sessionId });
      expect(events.at(-1)).toMatchObject({ type: 'result', isError: false, text: MOCK_TEXT });
      expect(api.requests[0]!.lastUserText).toContain('Say hello');
    },
    TEST_TIMEOUT,
  );

  it(
    'does a real Bash tool round trip',
    async () => {
      const events: ClaudeProgressEvent[] = [];
      const result = await runClaudeCode(
        { prompt: 'Run the tool [[tool]]', cwd, env: env(), dangerouslySkipPermissions: true },
        { onEvent: (e) => events.push(e) },
      );
      expect(events.find((e) => e.type === 'tool_use')).toMatchObject({ name: 'Bash' });
      const toolResult = events.find((e) => e.type === 'tool_result');
      expect(JSON.stringify(toolResult)).toContain('TOOLOUT-42');
      expect(result.output).toContain('TOOLOUT-42');
      expect(result.numTurns).toBeGreaterThanOrEqual(2);
      expect(api.requests[1]!.lastToolResult?.content).toContain('TOOLOUT-42');
    },
    TEST_TIMEOUT,
  );

  it(
    'continues the Claude session with --resume on the next prompt of a session',
    async () => {
      const s = session();
      const first = await s.execute('First question');
      const second = await s.execute('Second question');
      expect(second.sessionId).toBe(first.sessionId);
      const lastRequest = api.requests.at(-1)!;
      const texts = JSON.stringify(lastRequest.messages);
      expect(texts).toContain('First question');
      expect(texts).toContain(MOCK_TEXT);
      expect(lastRequest.lastUserText).toContain('Second question');
    },
    TEST_TIMEOUT,
  );

  it(
    'classifies a 529 overload as transient, and the session retries it to success',
    async () => {
      // One overload: each attempt is a real CLI start (~2 CPU-s); the session's own retry loop
      // (backoff, several retries) is covered with the fake claude.
      api.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
      const s = session({ CLAUDE_CODE_MAX_RETRIES: '0' });
      const retried: string[] = [];
      s.on('session.retrying', (e) => retried.push(e.error.code));
      const result = await s.executeWithRetry('Busy?', { maxRetries: 3 });
      expect(retried).toEqual(['API_OVERLOADED']);
      expect(result.output).toBe(MOCK_TEXT);
      expect(s.attemptLog.map((a) => [a.status, a.error?.code ?? null])).toEqual([
        ['failed', 'API_OVERLOADED'],
        ['succeeded', null],
      ]);
      // The retry was the session's, not the CLI's (CLAUDE_CODE_MAX_RETRIES=0): one request per attempt.
      expect(api.requests).toHaveLength(2);
    },
    TEST_TIMEOUT,
  );

  it(
    'fails fast and permanently on 401 instead of waiting out the CLI retries',
    async () => {
      api.setHandler(() => ({ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }));
      const s = session({ CLAUDE_CODE_MAX_RETRIES: '10' });
      const started = Date.now();
      const error = await s.executeWithRetry('Who am I?', { maxRetries: 3 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentsSdkError);
      expect((error as AgentsSdkError).code).toBe('AUTH_FAILED');
      expect(s.context.attempt).toBe(1);
      // The CLI alone would retry for minutes.
      expect(Date.now() - started).toBeLessThan(45_000);
    },
    TEST_TIMEOUT,
  );

  it(
    'reports --max-turns exceeded as a permanent MAX_TURNS error',
    async () => {
      const error = await runClaudeCode({
        prompt: 'Use a tool [[tool]]',
        cwd,
        env: env(),
        maxTurns: 1,
        dangerouslySkipPermissions: true,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentsSdkError);
      expect((error as AgentsSdkError).code).toBe('MAX_TURNS');
      expect((error as AgentsSdkError).transient).toBe(false);
    },
    TEST_TIMEOUT,
  );
});

describe('real claude CLI through the orchestrator', () => {
  let api: MockAnthropicApi;
  let root: string;
  beforeEach(async () => {
    api = await startMockAnthropicApi();
    root = mkdtempSync(join(tmpdir(), 'agents-sdk-real-wf-'));
    mkdirSync(join(root, 'home'));
    mkdirSync(join(root, 'repo'));
  });
  afterEach(async () => {
    await api.close();
    rmSync(root, { recursive: true, force: true });
  });

  it(
    'runs plan → build with the plan output templated into the build prompt, checkpointed',
    async () => {
      api.setHandler((req) => ({ text: req.lastUserText.includes('Build') ? 'BUILT' : 'THE PLAN' }));
      const env = { ...realClaudeEnv(api, join(root, 'home')), CLAUDE_CODE_PATH: realClaudePath() };
      const backend = new JsonStateBackend(join(root, 'agents'));
      const orchestrator = new WorkflowOrchestrator(backend, { stateDir: join(root, 'agents') });
      const result = await orchestrator.runWorkflow(
        {
          id: 'real',
          tasks: [
            { id: 'plan', prompt: 'Plan it', cwd: join(root, 'repo'), env },
            { id: 'build', prompt: 'Build this: {{tasks.plan.output}}', depends_on: ['plan'], cwd: join(root, 'repo'), env },
          ],
        },
        { runId: 'real-run' },
      );
      expect(result.status).toBe('completed');
      expect(result.taskResults.map((t) => [t.taskId, t.output])).toEqual([
        ['plan', 'THE PLAN'],
        ['build', 'BUILT'],
      ]);
      expect(api.requests.at(-1)!.lastUserText).toContain('Build this: THE PLAN');
      const stored = await backend.loadRun('real-run');
      expect(stored!.records.every((r) => r.status === 'completed' && r.sessionId)).toBe(true);
      await backend.close();
    },
    TEST_TIMEOUT,
  );
});
