/**
 * An agent's transcript as a person reads it, from its raw stream-json lines: the assistant's
 * text, each tool call with a short summary of its input, a short result, errors, Claude
 * Code's own API retries and the final result with its spend. `agents-sdk logs` prints it.
 *
 * @module
 */
import { summarizeToolInput } from '../callbacks/callback-manager.js';
import { costOf, parseStreamLine, progressEventsOf, tokensFromUsage, totalTokens, type ClaudeProgressEvent, type ResultLine, type TokenUsage } from './stream-json.js';
import { count, inTime } from '../wording.js';

/** Longest tool result shown (characters, on one line). */
const RESULT_MAX = 200;

/** One entry of a transcript. Plain JSON (`logs --json` prints one per line). */
export type TranscriptEntry =
  | { kind: 'init'; sessionId: string; model: string | null; cwd: string | null }
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; toolUseId: string; name: string; input: string }
  | { kind: 'tool_result'; toolUseId: string; isError: boolean; text: string }
  /** Claude Code retrying the API itself: its `retry` of `maxRetries`, after `errorStatus`. */
  | { kind: 'api_retry'; retry: number | null; maxRetries: number | null; errorStatus: number | null; error: string | null; retryDelayMs: number | null }
  /** A message Claude Code wrote in the assistant's place (`API Error: 529 ...`, `Not logged in`). */
  | { kind: 'error'; text: string; reason: string }
  /**
   * The structured output the attempt gave (`output_schema`: the `structured_output` of Claude
   * Code's result line, which comes just before it; a command's `output: json`, its parsed stdout).
   */
  | { kind: 'json'; value: unknown }
  | {
      kind: 'result';
      subtype: string;
      isError: boolean;
      text: string;
      numTurns: number;
      tokens: TokenUsage;
      costUsd: number;
      durationMs: number | null;
      apiErrorStatus: number | null;
    };

/** The transcript entries of one raw stream line (none for noise and unknown line types). */
export function transcriptEntriesOf(text: string): TranscriptEntry[] {
  const line = parseStreamLine(text);
  if (!line) return [];
  // Claude Code writes its own errors as an assistant message with an `error` field.
  if (line.type === 'assistant' && typeof line.error === 'string') {
    const texts = progressEventsOf(line).flatMap((e) => (e.type === 'assistant_text' ? [e.text] : []));
    return [{ kind: 'error', text: texts.join('\n') || line.error, reason: line.error }];
  }
  if (line.type === 'result') {
    const result = line as ResultLine;
    const json: TranscriptEntry[] = result.structured_output === undefined ? [] : [{ kind: 'json', value: result.structured_output }];
    return [
      ...json,
      {
        kind: 'result',
        subtype: String(result.subtype ?? ''),
        isError: result.is_error === true,
        text: typeof result.result === 'string' ? result.result : Array.isArray(result.errors) ? result.errors.join('; ') : '',
        numTurns: typeof result.num_turns === 'number' ? result.num_turns : 0,
        tokens: tokensFromUsage(result.usage),
        costUsd: costOf(result),
        durationMs: typeof result.duration_ms === 'number' ? result.duration_ms : null,
        apiErrorStatus: typeof result.api_error_status === 'number' ? result.api_error_status : null,
      },
    ];
  }
  return progressEventsOf(line).flatMap((event): TranscriptEntry[] => {
    switch (event.type) {
      case 'init':
        return [{ kind: 'init', sessionId: event.sessionId, model: event.model, cwd: event.cwd }];
      case 'assistant_text':
        return [{ kind: 'text', text: event.text }];
      case 'tool_use':
        return [{ kind: 'tool_use', toolUseId: event.toolUseId, name: event.name, input: event.input === null ? '' : summarizeToolInput(event.input) }];
      case 'tool_result':
        return [{ kind: 'tool_result', toolUseId: event.toolUseId, isError: event.isError, text: clip(textOf(event.content), RESULT_MAX) }];
      case 'api_retry':
        return [{ kind: 'api_retry', retry: event.attempt, maxRetries: event.maxRetries, errorStatus: event.errorStatus, error: event.error, retryDelayMs: event.retryDelayMs }];
      default:
        return [];
    }
  });
}

/**
 * An entry as lines of text (without the trailing newline): `assistant: ...`, `tool Bash: npm test`,
 * `  → 12 passed`, `API retry 1/10 after 529 overloaded, next in 0.6s`, `result: success, ...`.
 * `shownText` is the assistant text shown last: a result repeating it is not printed twice.
 */
export function formatTranscriptEntry(entry: TranscriptEntry, shownText = ''): string {
  switch (entry.kind) {
    case 'init':
      return `session ${entry.sessionId}${entry.model ? `, model ${entry.model}` : ''}${entry.cwd ? `, in ${entry.cwd}` : ''}`;
    case 'text':
      return `assistant: ${indent(entry.text)}`;
    case 'tool_use':
      return `tool ${entry.name}${entry.input ? `: ${entry.input}` : ''}`;
    case 'tool_result':
      return `  ${entry.isError ? '✗' : '→'} ${entry.text || '(no output)'}`;
    case 'api_retry':
      return describeApiRetry({ ...entry, attempt: entry.retry });
    case 'error':
      return `error (${entry.reason}): ${indent(entry.text)}`;
    case 'json':
      return `json:\n  ${indent(JSON.stringify(entry.value, null, 2) ?? 'null')}`;
    case 'result': {
      // An API error comes with subtype `success`: that word would only mislead.
      const subtype = entry.subtype && entry.subtype !== 'success' ? ` (${entry.subtype})` : '';
      const how = entry.isError ? `error${entry.apiErrorStatus === null ? '' : ` ${entry.apiErrorStatus}`}${subtype}` : entry.subtype;
      const facts = [
        `${entry.numTurns} turn${entry.numTurns === 1 ? '' : 's'}`,
        count(totalTokens(entry.tokens), 'token'),
        `$${entry.costUsd.toFixed(4)}`,
        ...(entry.durationMs === null ? [] : [seconds(entry.durationMs)]),
      ];
      const text = entry.text && entry.text !== shownText ? `\n  ${indent(entry.text, '  ')}` : '';
      return `result: ${how}, ${facts.join(', ')}${text}`;
    }
  }
}

/** What a Claude Code API retry line says (`system/api_retry`): retry `attempt` of `maxRetries`. */
export type ApiRetryFacts = Pick<Extract<ClaudeProgressEvent, { type: 'api_retry' }>, 'attempt' | 'maxRetries' | 'errorStatus' | 'error' | 'retryDelayMs'>;

/**
 * One line for Claude Code's own API retry (`system/api_retry`), e.g.
 * `API retry 2/10 after 529 overloaded, next in 4.0s`. Shared by `run`, `exec` and `logs`.
 */
export function describeApiRetry(p: ApiRetryFacts): string {
  const count = p.attempt === null ? '' : p.maxRetries === null ? ` ${p.attempt}` : ` ${p.attempt}/${p.maxRetries}`;
  const cause = [p.errorStatus, p.error].filter((x) => x !== null).join(' ');
  const next = p.retryDelayMs === null ? '' : `, next ${inTime(p.retryDelayMs)}`;
  return `API retry${count}${cause ? ` after ${cause}` : ''}${next}`;
}

/** A remote attempt no worker has taken yet, in words (the live view and the log say the same). */
export function describeQueued(p: Extract<ClaudeProgressEvent, { type: 'queued' }>): string {
  const tags = p.tags.length > 0 ? ` with tag${p.tags.length > 1 ? 's' : ''} ${p.tags.join(', ')}` : '';
  const workers = p.workers === 0 ? `no worker${tags} is connected to queue ${p.queue}` : `${count(p.workers, 'worker')} on queue ${p.queue}, all busy`;
  return `waiting for a worker for ${seconds(p.waitedMs)}: ${workers}`;
}

/** The text of a tool result's content: a string, or text blocks. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((block) => (block !== null && typeof block === 'object' && typeof (block as { text?: unknown }).text === 'string' ? (block as { text: string }).text : '')).join(' ');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

/** On one line, cut to `max` characters. */
function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Continuation lines of a multi-line text, indented under its first. */
function indent(text: string, by = '  '): string {
  return text.replace(/\n/g, `\n${by}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
