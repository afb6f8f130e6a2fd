/**
 * The event log never copies a big output: past 64 KB per attempt, the texts, tool inputs and
 * tool results of progress events are a preview and a reference to the attempt's raw stream,
 * as a completion's output is a reference to the task record. The state of a run besides the
 * raw stream stays within 1.3× the output, measured in bytes on disk, on both backends; and
 * `raw_output.json` (a second copy of the result) is not written outside ADW's layout.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EVENT_LOG_INLINE_LIMIT,
  EVENT_LOG_PREVIEW_CHARS,
  ProgressBudget,
  toRunEventLogEntry,
  type RawOutputRef,
} from '../src/persistence/run-event-log.js';
import { WorkflowOrchestrator, readRunEvents, type Events } from '../src/index.js';
import { describeProgress } from '../src/inspector/run-view.js';
import type { ClaudeProgressEvent } from '../src/claude/stream-json.js';
import { backendFactories } from './helpers/backends.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** Bytes of the files under `dir` whose name does not match `except`. */
function bytesUnder(dir: string, except: RegExp): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !except.test(entry.name)) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const OUTPUT = 3_000_000;

describe.each(backendFactories())('a task whose agent writes 3 MB in 100 messages, %s', (factory) => {
  it('leaves state besides the raw stream within 1.3× the output; the log holds previews and references', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-bigstate-'));
    const restore = setProcessEnv(world.env);
    try {
      const backend = await factory.create(stateDir);
      const orchestrator = new WorkflowOrchestrator(backend, { stateDir });
      const result = await orchestrator.runWorkflow(
        { id: 'big', tasks: [{ id: 'writer', prompt: `Write [[large-output:${OUTPUT}]] [[text-parts:100]]` }] },
        { runId: 'big' },
      );
      expect(result.status).toBe('completed');
      expect(result.taskResults[0]!.output!.length).toBe(OUTPUT);
      const { events } = await readRunEvents('big', { backend, stateDir });
      await backend.close();

      const besides = bytesUnder(stateDir, /^raw_output(\.attempt-\d+)?\.jsonl$/);
      expect(besides / OUTPUT).toBeLessThanOrEqual(1.3);
      expect(readdirSync(join(stateDir, 'big', 'writer'))).toEqual(['prompt.md', 'raw_output.jsonl']);

      const texts = events.filter((e) => e.type === 'task.progress' && (e.progress as { type: string }).type === 'assistant_text');
      expect(texts).toHaveLength(100);
      // The first messages fit the attempt's 64 KB; the rest are previews with a reference.
      const progress = texts.map((e) => e.progress as { text: string; textRef?: RawOutputRef });
      const inline = progress.filter((p) => p.textRef === undefined);
      expect(inline.length).toBe(Math.floor(EVENT_LOG_INLINE_LIMIT / (OUTPUT / 100)));
      for (const p of progress.slice(inline.length)) {
        expect(p.textRef).toEqual({ $ref: 'raw_output', taskId: 'writer', attempt: 1, bytes: OUTPUT / 100 });
        expect(p.text.length).toBe(EVENT_LOG_PREVIEW_CHARS);
      }
      const all = progress.reduce((sum, p) => sum + (p.textRef?.bytes ?? p.text.length), 0);
      expect(all).toBe(OUTPUT);
      const final = events.find((e) => e.type === 'task.progress' && (e.progress as { type: string }).type === 'result')!.progress as { textRef?: RawOutputRef };
      expect(final.textRef).toMatchObject({ $ref: 'raw_output', bytes: OUTPUT });
      const completed = events.find((e) => e.type === 'task.completed')!.record as { output: unknown };
      expect(completed.output).toEqual({ $ref: 'records', taskId: 'writer', bytes: OUTPUT });
    } finally {
      restore();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});

type AnyEvent = Events[keyof Events];
const progress = (attempt: number, p: Record<string, unknown>): AnyEvent =>
  ({ type: 'task.progress', workflowId: 'w', runId: 'r', taskId: 't', at: 1, attempt, progress: { sessionId: null, ...p } }) as unknown as AnyEvent;

describe('toRunEventLogEntry on progress events', () => {
  it('references a single tool result or tool input over the limit, keeping a preview', () => {
    const big = 'z'.repeat(70 * 1024);
    const result = toRunEventLogEntry(progress(1, { type: 'tool_result', toolUseId: 'u1', content: big, isError: false }), 'r').progress as Record<string, unknown>;
    expect(result.content).toBe('z'.repeat(EVENT_LOG_PREVIEW_CHARS));
    expect(result.contentRef).toEqual({ $ref: 'raw_output', taskId: 't', attempt: 1, bytes: big.length });
    // The inspector, replaying a stored run, says the preview is not the whole of it.
    expect(describeProgress(result as unknown as ClaudeProgressEvent).text).toBe(`${'z'.repeat(EVENT_LOG_PREVIEW_CHARS)}… (${big.length} bytes in all, in the attempt's raw stream)`);
    const input = { file_path: 'a.txt', content: big };
    const use = toRunEventLogEntry(progress(1, { type: 'tool_use', toolUseId: 'u2', name: 'Write', input }), 'r').progress as Record<string, unknown>;
    expect(use.input).toBe(JSON.stringify(input).slice(0, EVENT_LOG_PREVIEW_CHARS));
    expect(use.inputRef).toMatchObject({ $ref: 'raw_output', bytes: JSON.stringify(input).length });
    // Under the limit, without a budget: kept whole.
    const small = toRunEventLogEntry(progress(1, { type: 'assistant_text', text: 'x'.repeat(60 * 1024) }), 'r').progress as Record<string, unknown>;
    expect(small).toEqual({ sessionId: null, type: 'assistant_text', text: 'x'.repeat(60 * 1024) });
  });

  it('with a budget: an attempt inlines 64 KB in all, a new attempt starts afresh, short texts stay whole', () => {
    const budget = new ProgressBudget();
    const part = 'p'.repeat(30 * 1024);
    const shaped = (attempt: number, text: string) => toRunEventLogEntry(progress(attempt, { type: 'assistant_text', text }), 'r', EVENT_LOG_INLINE_LIMIT, budget).progress as Record<string, unknown>;
    expect(shaped(1, part).textRef).toBeUndefined();
    expect(shaped(1, part).textRef).toBeUndefined();
    expect(shaped(1, part).textRef).toMatchObject({ bytes: part.length, attempt: 1 });
    expect(shaped(1, 'short').text).toBe('short');
    expect(shaped(2, part).textRef).toBeUndefined();
  });

  it('references a failed attempt\'s big partial output in a task.failed record', () => {
    const big = 'f'.repeat(70 * 1024);
    const record = { taskId: 't', status: 'failed', output: null, error: { code: 'AGENT_ERROR', message: 'no', transient: false, result: { output: big, success: false } } };
    const entry = toRunEventLogEntry({ type: 'task.failed', workflowId: 'w', runId: 'r', taskId: 't', at: 1, record } as unknown as AnyEvent, 'r');
    expect((entry.record as { error: { result: { output: unknown } } }).error.result.output).toEqual({ $ref: 'records', taskId: 't', bytes: big.length });
  });
});
