/**
 * Parses every real stream-json sample of Claude Code 2.1.197 (test/fixtures/claude-samples,
 * copied unedited from the real CLI) and classifies how each one ended.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ResultLine, type StreamLine } from '../src/index.js';
import { parseStreamLine } from '../src/claude/stream-json.js';
import { classifyFailure } from '../src/claude/classify-failure.js';
import { progressEventsOf, tokensFromUsage } from '../src/claude/stream-json.js';
import { ClaudeStreamCollector } from '../src/claude/stream-collector.js';

function sample(name: string): StreamLine[] {
  const text = readFileSync(new URL(`./fixtures/claude-samples/${name}.jsonl`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .map(parseStreamLine)
    .filter((l): l is StreamLine => l !== null);
}

function outcome(name: string, exitCode: number) {
  const lines = sample(name);
  const result = (lines.find((l) => l.type === 'result') as ResultLine | undefined) ?? null;
  return { lines, result, error: classifyFailure({ result, killedBy: null, exitCode }) };
}

describe('real Claude Code samples', () => {
  it('success: init, text, result with tokens and cost', () => {
    const { lines, result, error } = outcome('success', 0);
    expect(error).toBeNull();
    const events = lines.flatMap(progressEventsOf);
    expect(events.map((e) => e.type)).toEqual(['init', 'assistant_text', 'result']);
    expect(events[0]).toMatchObject({ type: 'init', sessionId: 'b0518879-c64a-4e74-90ba-d7d2eee59374', model: 'claude-sonnet-5' });
    expect(result!.result).toBe('Hello from the local mock API.');
    expect(tokensFromUsage(result!.usage)).toEqual({ input: 25, output: 9, cacheRead: 0, cacheCreation: 0 });
    expect(result!.total_cost_usd).toBe(0.00021);
  });

  it('tool-use: a Bash round trip becomes tool_use then tool_result events', () => {
    const { lines, error } = outcome('tool-use', 0);
    expect(error).toBeNull();
    const events = lines.flatMap(progressEventsOf);
    expect(events.map((e) => e.type)).toEqual(['init', 'tool_use', 'tool_result', 'assistant_text', 'result']);
    expect(events[1]).toMatchObject({ name: 'Bash', toolUseId: 'toolu_mock1', input: { command: 'echo TOOLOUT-$((6*7))' } });
    expect(events[2]).toMatchObject({ toolUseId: 'toolu_mock1', content: 'TOOLOUT-42', isError: false });
  });

  it('resume: keeps the session id', () => {
    const { lines, error } = outcome('resume', 0);
    expect(error).toBeNull();
    expect(new Set(lines.map((l) => l.session_id)).size).toBe(1);
  });

  it('api-529: subtype success with api_error_status 529 is a transient overload', () => {
    const { lines, error } = outcome('api-529', 1);
    expect(lines.flatMap(progressEventsOf).find((e) => e.type === 'api_retry')).toMatchObject({ errorStatus: 529, error: 'overloaded' });
    expect(error?.code).toBe('API_OVERLOADED');
    expect(error?.transient).toBe(true);
  });

  it('api-401-retrying: api_retry lines carry the 401', () => {
    const events = sample('api-401-retrying').flatMap(progressEventsOf);
    const retries = events.filter((e) => e.type === 'api_retry');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((e) => e.type === 'api_retry' && e.errorStatus === 401 && e.error === 'authentication_failed')).toBe(true);
  });

  it('auth-failure: "Not logged in" with a null status is a permanent auth failure', () => {
    const { error } = outcome('auth-failure', 1);
    expect(error?.code).toBe('AUTH_FAILED');
    expect(error?.transient).toBe(false);
  });

  it('max-turns: error_max_turns is permanent', () => {
    const { error } = outcome('max-turns', 1);
    expect(error?.code).toBe('MAX_TURNS');
    expect(error?.transient).toBe(false);
  });
});

describe('parseStreamLine', () => {
  it('skips anything that is not a JSON object with a type', () => {
    expect(parseStreamLine('Warning: foo')).toBeNull();
    expect(parseStreamLine('{not json')).toBeNull();
    expect(parseStreamLine('{"no":"type"}')).toBeNull();
    expect(parseStreamLine('')).toBeNull();
    expect(parseStreamLine('  {"type":"stream_event"}  ')).toEqual({ type: 'stream_event' });
    expect(progressEventsOf({ type: 'rate_limit_event' })).toEqual([]);
  });

  it('reads cost_usd written by older CLI versions', () => {
    const [event] = progressEventsOf({ type: 'result', subtype: 'success', is_error: false, cost_usd: 0.5, result: 'x' });
    expect(event).toMatchObject({ type: 'result', costUsd: 0.5 });
  });
});

describe('classifyFailure without a structured status', () => {
  const result = (text: string, extra: Partial<ResultLine> = {}): ResultLine => ({
    type: 'result',
    subtype: 'success',
    is_error: true,
    result: text,
    ...extra,
  });
  it.each([
    ['API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}', 'API_OVERLOADED', true],
    ['API Error: 429 rate limit exceeded', 'RATE_LIMITED', true],
    ['API Error: 503 Service Unavailable', 'API_ERROR', true],
    ['Invalid API key · Fix external API key (401)', 'AUTH_FAILED', false],
    ['Something else went wrong', 'AGENT_ERROR', false],
  ])('%s → %s', (text, code, transient) => {
    const error = classifyFailure({ result: result(text), killedBy: null, exitCode: 1 });
    expect([error?.code, error?.transient]).toEqual([code, transient]);
  });

  it('an error result of subtype "success" says what went wrong, not "(success)"', () => {
    const tooLong = classifyFailure({ result: result('Prompt is too long', { terminal_reason: 'blocking_limit' } as Partial<ResultLine>), killedBy: null, exitCode: 1 });
    expect([tooLong?.code, tooLong?.transient]).toEqual(['AGENT_ERROR', false]);
    expect(tooLong?.message).toMatch(/^Claude Code refused the prompt: Prompt is too long \(it does not fit the model's context window/);
    expect(classifyFailure({ result: result('Something else went wrong'), killedBy: null, exitCode: 1 })?.message).toBe(
      'Claude Code reported an error: Something else went wrong',
    );
    expect(classifyFailure({ result: result(''), killedBy: null, exitCode: 1 })?.message).toBe('Claude Code reported an error: with no message (see its raw output)');
    const during = result('Agent failed: x', { subtype: 'error_during_execution' });
    expect(classifyFailure({ result: during, killedBy: null, exitCode: 1 })?.message).toBe('Claude Code reported an error (error_during_execution): Agent failed: x');
  });

  it('uses api_error_status before the text', () => {
    const error = classifyFailure({ result: result('looks like 529', { api_error_status: 403 }), killedBy: null, exitCode: 1 });
    expect(error?.code).toBe('AUTH_FAILED');
    expect(classifyFailure({ result: result('x', { api_error_status: 400 }), killedBy: null, exitCode: 1 })?.code).toBe('AGENT_ERROR');
    expect(classifyFailure({ result: result('x', { api_error_status: 502 }), killedBy: null, exitCode: 1 })?.transient).toBe(true);
  });

  it('treats a network failure with no result as transient and a bare crash as permanent', () => {
    expect(classifyFailure({ result: null, killedBy: null, exitCode: 1, stderrTail: 'Error: connect ECONNREFUSED 127.0.0.1:1' })?.code).toBe(
      'NETWORK_ERROR',
    );
    expect(classifyFailure({ result: null, killedBy: null, exitCode: 1, stderrTail: 'Not logged in' })?.code).toBe('AUTH_FAILED');
    expect(classifyFailure({ result: null, killedBy: null, exitCode: null, signal: 'SIGSEGV' })?.message).toMatch(/SIGSEGV/);
    const ok = { type: 'result', subtype: 'success', is_error: false, result: 'x' } as ResultLine;
    expect(classifyFailure({ result: ok, killedBy: null, exitCode: 3 })?.code).toBe('CRASHED');
  });
});

describe('real structured-output samples (--json-schema)', () => {
  /** The sample through the collector, as a run asking for structured output for task "review" reads it. */
  async function collect(name: string) {
    const collector = new ClaudeStreamCollector(null, null, undefined, false, 'review');
    const text = readFileSync(new URL(`./fixtures/claude-samples/${name}.jsonl`, import.meta.url), 'utf8');
    for (const line of text.split('\n')) if (line !== '') collector.handleLine(line);
    return collector.finish({ exitCode: 0, stderrTail: '', killedBy: null, durationMs: 5 });
  }

  it('success: the StructuredOutput object becomes the result json', async () => {
    const result = await collect('structured-success');
    expect(result.json).toEqual({ verdict: 'approved', issues: [] });
    expect(result.output).toBe('{"verdict":"approved","issues":[]}');
    const events = sample('structured-success').flatMap(progressEventsOf);
    expect(events.find((e) => e.type === 'tool_use')).toMatchObject({ name: 'StructuredOutput', input: { verdict: 'approved', issues: [] } });
  });

  it('invalid then valid: the error tool_result is seen, the second object is the json', async () => {
    const events = sample('structured-invalid-then-valid').flatMap(progressEventsOf);
    expect(events.filter((e) => e.type === 'tool_result').map((e) => (e as { isError: boolean }).isError)).toEqual([true, false]);
    expect((await collect('structured-invalid-then-valid')).json).toEqual({ verdict: 'approved', issues: [] });
  });

  it('never called: a success result without structured_output is OUTPUT_SCHEMA (transient), naming the task', async () => {
    const error = await collect('structured-never-called').then(
      () => null,
      (e: unknown) => e as { code: string; transient: boolean; message: string; result: { output: string } },
    );
    expect(error).toMatchObject({ code: 'OUTPUT_SCHEMA', transient: true });
    expect(error!.message).toBe('Task "review": the agent gave no structured output (it never called the StructuredOutput tool for its output_schema); it answered in text: "done"');
    expect(error!.result.output).toBe('done');
  });
});
