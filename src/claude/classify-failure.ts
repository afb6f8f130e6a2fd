/**
 * Decides whether a finished Claude Code process failed, and if so whether the failure is
 * transient (retry) or permanent (give up). The order of the checks is the contract:
 * our own kills first, then the structured `api_error_status`, then the result text as a
 * fall-back, then the exit code.
 *
 * @module
 */
import {
  AgentsSdkError,
  CancelledError,
  PermanentError,
  TransientError,
  type AgentsSdkErrorOptions,
  type ProcessFacts,
} from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import type { ResultLine } from './stream-json.js';

/** Why our runner killed the process, if it did. */
/**
 * Why a run was killed. `linger`: its output was complete (the result line) but the process
 * did not exit; the result decides the outcome.
 */
export type KillReason = 'timeout' | 'stall' | 'abort' | 'auth' | 'linger';

/** Everything known about a finished process. */
export interface FinishedProcess extends ProcessFacts {
  result: ResultLine | null;
  killedBy: KillReason | null;
  /** Milliseconds of the limit that fired, for the message. */
  limitMs?: number;
  /** The last `api_retry` status seen, for an auth fail-fast. */
  lastRetryStatus?: number | null;
  /** What the run produced; attached to the error. */
  partial?: ExecutionResult;
}

const TRANSIENT_STATUS = /\b(429|5\d\d)\b/;
const NETWORK = /(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|network error|fetch failed|Unable to connect to API|ConnectionRefused|FailedToOpenSocket)/i;
const AUTH = /(\b401\b|\b403\b|invalid x-api-key|please run \/login|not logged in|authentication[_ ]failed|authentication_error)/i;

/** Returns the error for a failed run, or `null` when the run succeeded. */
export function classifyFailure(p: FinishedProcess): AgentsSdkError | null {
  const facts: AgentsSdkErrorOptions = {
    exitCode: p.exitCode ?? null,
    signal: p.signal ?? null,
    stderrTail: p.stderrTail ?? '',
    apiErrorStatus: p.result?.api_error_status ?? null,
  };
  if (p.partial) facts.result = p.partial;
  // The agent finished (a success result line) but its process lingered and was killed for
  // that: the work is done, and running it again would do it twice.
  const finished = p.result !== null && !p.result.is_error;
  if (finished && (p.killedBy === 'stall' || p.killedBy === 'timeout' || p.killedBy === 'linger')) return null;
  switch (p.killedBy) {
    case 'timeout':
      return new TransientError('TIMEOUT', `Claude Code timed out after ${p.limitMs} ms and was killed`, facts);
    case 'stall':
      return new TransientError('STALLED', `Claude Code printed nothing for ${p.limitMs} ms (stalled) and was killed`, facts);
    case 'abort':
      return new CancelledError('Claude Code run was cancelled', facts);
    case 'auth':
      return new PermanentError(
        'AUTH_FAILED',
        `Claude Code authentication failed (API answered ${p.lastRetryStatus ?? 401}); stopped instead of letting the CLI retry`,
        { ...facts, apiErrorStatus: p.lastRetryStatus ?? 401 },
      );
    case 'linger':
    case null:
    case undefined:
      break;
  }

  const result = p.result;
  if (result) {
    if (!result.is_error && (p.exitCode === 0 || p.exitCode === undefined)) return null;
    const text = typeof result.result === 'string' ? result.result : (result.errors ?? []).join('; ');
    const status = typeof result.api_error_status === 'number' ? result.api_error_status : null;
    if (status !== null) return fromStatus(status, text, facts);
    if (result.subtype === 'error_max_turns') {
      return new PermanentError('MAX_TURNS', `Claude Code stopped at its --max-turns limit: ${text || result.subtype}`, facts);
    }
    // No structured status: the text is the only evidence left.
    if (AUTH.test(text)) return new PermanentError('AUTH_FAILED', `Claude Code authentication failed: ${text}`, facts);
    if (/\b529\b|overloaded/i.test(text)) return new TransientError('API_OVERLOADED', text, facts);
    if (/\b429\b|rate.?limit/i.test(text)) return new TransientError('RATE_LIMITED', text, facts);
    if (/API Error/i.test(text) && TRANSIENT_STATUS.test(text)) return new TransientError('API_ERROR', text, facts);
    if (NETWORK.test(text)) return new TransientError('NETWORK_ERROR', `Network failure: ${text}`, facts);
    if (!result.is_error) {
      return new PermanentError('CRASHED', `Claude Code exited with code ${p.exitCode} after a successful result`, facts);
    }
    if (/prompt is too long/i.test(text)) {
      return new PermanentError(
        'AGENT_ERROR',
        `Claude Code refused the prompt: ${text} (it does not fit the model's context window; shorten it, or put the material in files the agent reads)`,
        facts,
      );
    }
    // An error result's subtype is often `success` (a refused prompt, an API error): that says nothing.
    const kind = result.subtype && result.subtype !== 'success' ? ` (${result.subtype})` : '';
    return new PermanentError('AGENT_ERROR', `Claude Code reported an error${kind}: ${text || 'with no message (see its raw output)'}`, facts);
  }

  const stderr = p.stderrTail ?? '';
  if (NETWORK.test(stderr)) return new TransientError('NETWORK_ERROR', `Network failure: ${lastLine(stderr)}`, facts);
  if (AUTH.test(stderr)) return new PermanentError('AUTH_FAILED', `Claude Code authentication failed: ${lastLine(stderr)}`, facts);
  if (/unknown option|requires --verbose|cannot be used with|invalid (value|argument)/i.test(stderr)) {
    return new PermanentError('INVALID_ARGUMENTS', `Claude Code rejected its arguments: ${lastLine(stderr)}`, facts);
  }
  const how = p.signal ? `was killed by ${p.signal}` : `exited with code ${p.exitCode}`;
  return new PermanentError('CRASHED', `Claude Code ${how} without a result${stderr ? `: ${lastLine(stderr)}` : ''}`, facts);
}

function fromStatus(status: number, text: string, facts: AgentsSdkErrorOptions): AgentsSdkError {
  const message = text || `API error ${status}`;
  if (status === 529) return new TransientError('API_OVERLOADED', message, facts);
  if (status === 429) return new TransientError('RATE_LIMITED', message, facts);
  if (status >= 500) return new TransientError('API_ERROR', message, facts);
  if (status === 401 || status === 403) return new PermanentError('AUTH_FAILED', message, facts);
  return new PermanentError('AGENT_ERROR', message, facts);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}
