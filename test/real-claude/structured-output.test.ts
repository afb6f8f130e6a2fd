/**
 * Structured output with the REAL Claude Code CLI (pinned devDependency) against the local
 * Messages API stand-in, which scripts the model's `StructuredOutput` tool calls: a valid
 * call, a mismatch that the CLI asks again, and a model that never calls it (OUTPUT_SCHEMA,
 * retried by the workflow under `retry_count`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentsSdkError, JsonStateBackend, WorkflowOrchestrator, runClaudeCode } from '../../src/index.js';
import { realClaudeEnv, realClaudePath, startMockAnthropicApi, type MockAnthropicApi, type MockRequest } from '../fixtures/mock-anthropic-api.js';

const TEST_TIMEOUT = 90_000;

const SCHEMA = {
  type: 'object',
  required: ['verdict', 'issues'],
  properties: { verdict: { type: 'string', enum: ['approved', 'changes'] }, issues: { type: 'array', items: { type: 'string' } } },
};

/** The StructuredOutput tool the CLI offered the model in a request, if it did. */
function structuredTool(req: MockRequest): { name: string; input_schema: Record<string, unknown> } | undefined {
  const tools = (req.body.tools ?? []) as Array<{ name: string; input_schema: Record<string, unknown> }>;
  return tools.find((t) => t.name === 'StructuredOutput');
}

describe('real claude CLI with --json-schema', () => {
  let claude: string;
  let api: MockAnthropicApi;
  let root: string;
  let cwd: string;

  beforeAll(() => {
    claude = realClaudePath();
  });
  beforeEach(async () => {
    api = await startMockAnthropicApi();
    root = mkdtempSync(join(tmpdir(), 'agents-sdk-real-structured-'));
    cwd = join(root, 'repo');
    mkdirSync(join(root, 'home'));
    mkdirSync(cwd);
  });
  afterEach(async () => {
    await api.close();
    rmSync(root, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({ ...realClaudeEnv(api, join(root, 'home')), CLAUDE_CODE_PATH: claude });
  const request = (prompt: string) => ({ prompt, cwd, env: env(), jsonSchema: SCHEMA, stateDir: join(root, 'agents'), runId: 'r', agentName: 'review' });

  it(
    'a valid StructuredOutput call: the object is the result json',
    async () => {
      api.setHandler((req) =>
        structuredTool(req) && !req.lastToolResult ? { toolUse: { name: 'StructuredOutput', input: { verdict: 'changes', issues: ['no tests'] } } } : { text: 'unexpected' },
      );
      const result = await runClaudeCode(request('Review the change'));
      expect(result.json).toEqual({ verdict: 'changes', issues: ['no tests'] });
      expect(JSON.parse(result.output)).toEqual(result.json);
      // the CLI was given our schema as the tool's input schema
      expect(structuredTool(api.requests[0]!)!.input_schema).toMatchObject({ required: ['verdict', 'issues'] });
    },
    TEST_TIMEOUT,
  );

  it(
    'a mismatching call is answered with the schema error and asked again; the second object is the json',
    async () => {
      api.setHandler((req) => {
        if (!structuredTool(req)) return { text: 'unexpected' };
        if (!req.lastToolResult) return { toolUse: { name: 'StructuredOutput', input: { verdict: 'maybe' } } };
        return { toolUse: { name: 'StructuredOutput', input: { verdict: 'approved', issues: [] } } };
      });
      const result = await runClaudeCode(request('Review the change'));
      expect(result.json).toEqual({ verdict: 'approved', issues: [] });
      const rejected = api.requests[1]!.lastToolResult!;
      expect(rejected.isError).toBe(true);
      expect(rejected.content).toContain('Output does not match required schema');
    },
    TEST_TIMEOUT,
  );

  it(
    'a model that never calls it: OUTPUT_SCHEMA, retried under retry_count, the record keeps the json of the attempt that complied',
    async () => {
      let attempt = 0;
      api.setHandler((req) => {
        // A new session's first request: a new attempt.
        if (!req.lastUserText.includes('[structured-output-enforce]') && !req.lastToolResult) attempt += 1;
        if (attempt === 1) return { text: 'looks fine' };
        return { toolUse: { name: 'StructuredOutput', input: { verdict: 'approved', issues: [] } } };
      });
      // One attempt alone: the runner's own error.
      const error = await runClaudeCode(request('Review once')).then(
        () => null,
        (e: unknown) => e as AgentsSdkError,
      );
      expect(error).toBeInstanceOf(AgentsSdkError);
      expect(error).toMatchObject({ code: 'OUTPUT_SCHEMA', transient: true });
      expect(error!.message).toContain('Task "review"');
      // The CLI asked the model once more before giving up.
      expect(api.requests.some((r) => r.lastUserText.includes('[structured-output-enforce]'))).toBe(true);

      attempt = 0;
      const backend = new JsonStateBackend(join(root, 'agents'));
      const orchestrator = new WorkflowOrchestrator(backend, { stateDir: join(root, 'agents'), retry: { baseDelayMs: 10, jitter: 'none' } });
      const result = await orchestrator.runWorkflow(
        {
          id: 'real-structured',
          tasks: [
            { id: 'review', prompt: 'Review the change', output_schema: SCHEMA, retry_count: 2, cwd, env: env() },
            { id: 'report', command: ['echo', 'verdict: {{tasks.review.json.verdict}}'], depends_on: ['review'] },
          ],
        },
        { runId: 'real-structured' },
      );
      expect(result.status).toBe('completed');
      const review = result.taskResults.find((t) => t.taskId === 'review')!;
      expect(review.attempts).toBe(2);
      expect(review.attemptLog[0]!.error!.code).toBe('OUTPUT_SCHEMA');
      expect(review.json).toEqual({ verdict: 'approved', issues: [] });
      expect(result.taskResults.find((t) => t.taskId === 'report')!.output).toBe('verdict: approved');
      expect((await backend.loadRun('real-structured'))!.records.find((r) => r.taskId === 'review')!.json).toEqual({ verdict: 'approved', issues: [] });
      await backend.close();
    },
    TEST_TIMEOUT,
  );
});
