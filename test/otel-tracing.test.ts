/**
 * OpenTelemetry tracing: a span per run, per task (child of the run's) and per attempt (child
 * of the task's), built from the orchestrator's events, with GenAI attributes on agent attempts.
 *
 * The tracer comes from an SDK provider given directly (no global registration), whose spans
 * land in memory.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLifecycleEvent } from '../src/event-bus.js';
import { TransientError, WorkflowOrchestrator, traceWorkflows, type Executor, type WorkflowSpecInput } from '../src/index.js';
import { okResult } from './helpers/results.js';

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterEach(async () => {
  await provider.shutdown();
});

const tokens = (input: number, output: number) => ({ input, output, cacheRead: 0, cacheCreation: 0 });

/**
 * Agent tasks report their model on an init line, as Claude Code does. Task `flaky` fails
 * once with a transient error (having spent 10/5 tokens), then succeeds.
 */
function executor(): Executor {
  const calls = new Map<string, number>();
  return async (request, hooks) => {
    if (request.kind === 'command') return okResult({ output: request.command.join(' ') });
    const id = request.prompt;
    const n = (calls.get(id) ?? 0) + 1;
    calls.set(id, n);
    hooks.onEvent({ type: 'init', sessionId: `s-${id}-${n}`, model: 'claude-sonnet-4-5', cwd: null, tools: [] });
    if (id === 'flaky' && n === 1) {
      throw new TransientError('API_OVERLOADED', 'Overloaded', { result: okResult({ success: false, tokens: tokens(10, 5), costUsd: 0.01 }) });
    }
    return okResult({ output: `done ${id}`, tokens: tokens(100, 50), costUsd: 0.25 });
  };
}

const spec: WorkflowSpecInput = {
  id: 'traced',
  tasks: [
    { id: 'plan', prompt: 'plan', model: 'sonnet' },
    { id: 'flaky', prompt: 'flaky', depends_on: ['plan'], retry_count: 3 },
    { id: 'echo', command: ['echo', 'hi'], depends_on: ['flaky'] },
  ],
};

const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const ms = (t: ReadableSpan['startTime']) => t[0] * 1000 + t[1] / 1e6;

describe('traceWorkflows', () => {
  it('makes a span per run, task and attempt, parented explicitly, with GenAI attributes and the retried attempt in error', async () => {
    const orchestrator = new WorkflowOrchestrator(null, { executor: executor(), retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } });
    const at = new Map<string, number>();
    onLifecycleEvent(orchestrator.bus, (e) => {
      if (e.type === 'workflow.started' || e.type === 'workflow.finished') at.set(e.type, e.at);
    });
    const stop = traceWorkflows(orchestrator, { tracer: provider.getTracer('test') });
    const result = await orchestrator.runWorkflow(spec, { runId: 'run-1' });
    stop();
    expect(result.status).toBe('completed');

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual([
      'task echo',
      'task echo attempt 1',
      'task flaky',
      'task flaky attempt 1',
      'task flaky attempt 2',
      'task plan',
      'task plan attempt 1',
      'workflow traced',
    ]);

    // The run: a root span, timed by the workflow events, with the run's totals.
    const run = byName(spans, 'workflow traced');
    expect(parentOf(run)).toBeUndefined();
    expect(run.attributes).toMatchObject({
      'agents_sdk.run.id': 'run-1',
      'agents_sdk.workflow.id': 'traced',
      'agents_sdk.run.status': 'completed',
      'agents_sdk.cost_usd': 0.51,
      'agents_sdk.tokens.input': 210,
      'agents_sdk.tokens.output': 105,
    });
    expect(run.status.code).toBe(SpanStatusCode.OK);
    expect(ms(run.startTime)).toBe(at.get('workflow.started'));
    expect(ms(run.endTime)).toBe(at.get('workflow.finished'));

    // One trace; tasks are children of the run, attempts children of their task.
    for (const s of spans) expect(s.spanContext().traceId).toBe(run.spanContext().traceId);
    const runId = run.spanContext().spanId;
    for (const task of ['plan', 'flaky', 'echo']) {
      const span = byName(spans, `task ${task}`);
      expect(parentOf(span), task).toBe(runId);
      expect(span.attributes['agents_sdk.task.status']).toBe('completed');
      expect(span.status.code).toBe(SpanStatusCode.OK);
    }
    const flaky = byName(spans, 'task flaky');
    const first = byName(spans, 'task flaky attempt 1');
    const second = byName(spans, 'task flaky attempt 2');
    expect(parentOf(first)).toBe(flaky.spanContext().spanId);
    expect(parentOf(second)).toBe(flaky.spanContext().spanId);
    expect(parentOf(byName(spans, 'task plan attempt 1'))).toBe(byName(spans, 'task plan').spanContext().spanId);
    expect(parentOf(byName(spans, 'task echo attempt 1'))).toBe(byName(spans, 'task echo').spanContext().spanId);

    // The retried attempt: error status with the error's code and message, and its own spend.
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'API_OVERLOADED: Overloaded' });
    expect(first.attributes).toMatchObject({
      'agents_sdk.attempt': 1,
      'agents_sdk.error.code': 'API_OVERLOADED',
      'agents_sdk.error.message': 'Overloaded',
      'error.type': 'API_OVERLOADED',
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 5,
      'agents_sdk.cost_usd': 0.01,
    });
    // The successful one: OK, starting after the first ended, with its own spend only.
    expect(second.status.code).toBe(SpanStatusCode.OK);
    expect(ms(second.startTime)).toBeGreaterThanOrEqual(ms(first.endTime));
    expect(second.attributes).toMatchObject({
      'agents_sdk.attempt': 2,
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 50,
      'agents_sdk.cost_usd': 0.25,
    });
    // The task holds both attempts' spend.
    expect(flaky.attributes).toMatchObject({
      'agents_sdk.attempts': 2,
      'gen_ai.usage.input_tokens': 110,
      'gen_ai.usage.output_tokens': 55,
      'agents_sdk.cost_usd': 0.26,
    });
    expect(ms(flaky.startTime)).toBe(ms(first.startTime));
    expect(ms(flaky.endTime)).toBe(ms(second.endTime));

    // A command task is no GenAI call.
    const echo = byName(spans, 'task echo attempt 1');
    expect(echo.attributes['gen_ai.system']).toBeUndefined();
    expect(echo.attributes['agents_sdk.attempt']).toBe(1);
  });

  it('stops tracing once unsubscribed', async () => {
    const orchestrator = new WorkflowOrchestrator(null, { executor: executor() });
    traceWorkflows(orchestrator, { tracer: provider.getTracer('test') })();
    await orchestrator.runWorkflow({ id: 'quiet', tasks: [{ id: 'a', prompt: 'a' }] });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('takes the requested model from modelOf when given', async () => {
    const orchestrator = new WorkflowOrchestrator(null, { executor: executor() });
    const stop = traceWorkflows(orchestrator, { tracer: provider.getTracer('test'), modelOf: () => 'opus' });
    await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'a' }] });
    stop();
    expect(byName(exporter.getFinishedSpans(), 'task a attempt 1').attributes['gen_ai.request.model']).toBe('opus');
  });
});
