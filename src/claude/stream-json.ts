/**
 * The Claude Code `--output-format stream-json` protocol: line types, parsing of one line,
 * and the typed progress events the runtime derives from them.
 *
 * @module
 */

/** Token counts as the Claude API reports them. */
export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

/** A zeroed {@link TokenUsage}. */
export function emptyTokens(): TokenUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
}

/** Adds two token counts. */
export function addTokens(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheCreation: a.cacheCreation + b.cacheCreation,
  };
}

/** Sum of every kind of token, the figure token budgets are measured in. */
export function totalTokens(t: TokenUsage): number {
  return t.input + t.output + t.cacheRead + t.cacheCreation;
}

/** The `result` line, always the last line of a finished session. Unknown fields are kept. */
export interface ResultLine {
  type: 'result';
  subtype: string;
  is_error: boolean;
  result?: string;
  session_id?: string;
  duration_ms?: number;
  duration_api_ms?: number;
  num_turns?: number;
  total_cost_usd?: number;
  /** Older CLI versions. */
  cost_usd?: number;
  api_error_status?: number | null;
  stop_reason?: string | null;
  errors?: string[];
  usage?: RawUsage;
  /** With `--json-schema`: the object the model gave the `StructuredOutput` tool (absent if it never called it). */
  structured_output?: unknown;
  [key: string]: unknown;
}

/** Usage object of assistant and result lines. */
export interface RawUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** Any parsed stdout line: an object with a string `type`. */
export interface StreamLine {
  type: string;
  subtype?: string;
  session_id?: string;
  [key: string]: unknown;
}

/**
 * Typed progress events, one or more per stream line, emitted while the process runs.
 * Plain JSON: safe to put on the event bus, in logs and in checkpoints.
 */
export type ClaudeProgressEvent =
  | { type: 'init'; sessionId: string; model: string | null; cwd: string | null; tools: string[] }
  | { type: 'assistant_text'; sessionId: string | null; text: string }
  | { type: 'tool_use'; sessionId: string | null; toolUseId: string; name: string; input: unknown }
  | { type: 'tool_result'; sessionId: string | null; toolUseId: string; content: unknown; isError: boolean }
  | {
      type: 'api_retry';
      sessionId: string | null;
      attempt: number | null;
      maxRetries: number | null;
      errorStatus: number | null;
      error: string | null;
      retryDelayMs: number | null;
    }
  | {
      /**
       * Not from Claude Code: a remote executor's notice that no worker has taken the attempt
       * yet (`workers`: how many serve its queue; 0 = none has its `runs_on` tags).
       */
      type: 'queued';
      sessionId: null;
      queue: string;
      tags: string[];
      workers: number;
      waitedMs: number;
    }
  | {
      type: 'result';
      sessionId: string | null;
      subtype: string;
      isError: boolean;
      text: string;
      costUsd: number;
      numTurns: number;
      apiErrorStatus: number | null;
    };

/**
 * Parses one stdout line. Returns `null` for anything that is not a JSON object with a
 * string `type` (warnings, blank lines, half-written garbage): such lines are skipped, never fatal.
 */
export function parseStreamLine(line: string): StreamLine | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value === 'object' && value !== null && typeof (value as StreamLine).type === 'string') {
      return value as StreamLine;
    }
  } catch {
    // not JSON: skipped like any other noise line
  }
  return null;
}

/** Converts the API's usage object to {@link TokenUsage}. */
export function tokensFromUsage(usage: RawUsage | undefined): TokenUsage {
  return {
    input: num(usage?.input_tokens),
    output: num(usage?.output_tokens),
    cacheRead: num(usage?.cache_read_input_tokens),
    cacheCreation: num(usage?.cache_creation_input_tokens),
  };
}

/** The progress events a parsed line stands for; unknown line types give none. */
export function progressEventsOf(line: StreamLine): ClaudeProgressEvent[] {
  const sessionId = typeof line.session_id === 'string' ? line.session_id : null;
  if (line.type === 'system' && line.subtype === 'init' && sessionId) {
    return [
      {
        type: 'init',
        sessionId,
        model: str(line.model),
        cwd: str(line.cwd),
        tools: Array.isArray(line.tools) ? line.tools.filter((t): t is string => typeof t === 'string') : [],
      },
    ];
  }
  if (line.type === 'system' && line.subtype === 'api_retry') {
    return [
      {
        type: 'api_retry',
        sessionId,
        attempt: numOrNull(line.attempt),
        maxRetries: numOrNull(line.max_retries),
        errorStatus: numOrNull(line.error_status),
        error: str(line.error),
        retryDelayMs: numOrNull(line.retry_delay_ms),
      },
    ];
  }
  if (line.type === 'assistant' || line.type === 'user') {
    const content = (line.message as { content?: unknown } | undefined)?.content;
    if (!Array.isArray(content)) return [];
    const events: ClaudeProgressEvent[] = [];
    for (const block of content as Array<Record<string, unknown>>) {
      if (block === null || typeof block !== 'object') continue;
      if (block.type === 'text' && typeof block.text === 'string' && line.type === 'assistant') {
        events.push({ type: 'assistant_text', sessionId, text: block.text });
      } else if (block.type === 'tool_use') {
        events.push({
          type: 'tool_use',
          sessionId,
          toolUseId: String(block.id ?? ''),
          name: String(block.name ?? ''),
          input: block.input ?? null,
        });
      } else if (block.type === 'tool_result') {
        events.push({
          type: 'tool_result',
          sessionId,
          toolUseId: String(block.tool_use_id ?? ''),
          content: block.content ?? null,
          isError: block.is_error === true,
        });
      }
    }
    return events;
  }
  if (line.type === 'result') {
    const result = line as ResultLine;
    return [
      {
        type: 'result',
        sessionId,
        subtype: String(result.subtype ?? ''),
        isError: result.is_error === true,
        text: typeof result.result === 'string' ? result.result : '',
        costUsd: costOf(result),
        numTurns: num(result.num_turns),
        apiErrorStatus: numOrNull(result.api_error_status),
      },
    ];
  }
  return [];
}

/** `total_cost_usd`, or `cost_usd` as older CLI versions wrote it. */
export function costOf(result: ResultLine): number {
  return num(result.total_cost_usd ?? result.cost_usd);
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function numOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
