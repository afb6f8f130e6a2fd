/**
 * Summarizing the oldest turns of a conversation with one agent call, for transcript prompts
 * that would otherwise grow past their limit. Summaries are cached by the sha256 of what was
 * summarized: in the memory backend (`cache:summary:<hash>`) when there is one, else in this
 * process, so the same turns are never paid for twice.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ExecutionResult } from '../execution-result.js';
import { formatConversation, type ConversationMessage } from './conversation.js';
import type { MemoryBackend } from './memory-backend.js';

/** Key prefix of cached summaries in a memory backend. */
export const SUMMARY_CACHE_PREFIX = 'cache:summary:';
/** How long a cached summary stays in a backend (seconds): 30 days. */
const SUMMARY_CACHE_TTL_S = 30 * 24 * 3600;
/** Summaries cached in this process when there is no backend (the least recently used go first). */
const PROCESS_CACHE_SIZE = 256;
const processCache = new Map<string, string>();

/** What {@link summarizeHistory} needs. */
export interface SummarizeHistoryOptions {
  /** Runs one prompt through the session's runner. */
  run: (prompt: string) => Promise<ExecutionResult>;
  /** The summary's longest length in characters (a longer answer is cut). */
  maxChars: number;
  /** The model it runs on: part of the cache key. */
  model: string;
  /** Where summaries are cached; `null`: in this process. */
  backend: MemoryBackend | null;
}

/** A summary and where it came from. */
export interface HistorySummary {
  /** The summary text (at most `maxChars`). */
  text: string;
  /** sha256 (hex) of the model, the length limit and the summarized conversation. */
  hash: string;
  /** The agent call's result, or `null` when the summary came from the cache. */
  result: ExecutionResult | null;
}

/** The prompt of the summarization call. */
export function summarizationPrompt(messages: readonly ConversationMessage[], maxChars: number): string {
  return (
    `Summarize the conversation below for an assistant that will continue it without seeing it. ` +
    `Keep facts, decisions, names, numbers, file paths and open questions; leave out pleasantries. ` +
    `Answer with the summary only, in at most ${maxChars} characters.\n\n${formatConversation(messages)}`
  );
}

/**
 * Summarizes `messages` with one call of `options.run`, or takes the summary from the cache
 * when the same messages were summarized before (same model, same limit).
 *
 * @throws whatever `options.run` rejects with.
 */
export async function summarizeHistory(messages: readonly ConversationMessage[], options: SummarizeHistoryOptions): Promise<HistorySummary> {
  const prompt = summarizationPrompt(messages, options.maxChars);
  const hash = createHash('sha256').update(`${options.model}\n${prompt}`).digest('hex');
  const key = SUMMARY_CACHE_PREFIX + hash;
  const cached = await readCache(key, options.backend);
  if (cached !== undefined) return { text: cached, hash, result: null };
  const result = await options.run(prompt);
  const text = result.output.trim().slice(0, options.maxChars);
  await writeCache(key, text, options.backend);
  return { text, hash, result };
}

async function readCache(key: string, backend: MemoryBackend | null): Promise<string | undefined> {
  if (backend === null) {
    const text = processCache.get(key);
    if (text !== undefined) {
      processCache.delete(key);
      processCache.set(key, text);
    }
    return text;
  }
  // A cache that cannot be read costs a call, never the prompt.
  const value = await backend.retrieve(key).catch(() => undefined);
  return typeof value === 'string' ? value : undefined;
}

async function writeCache(key: string, text: string, backend: MemoryBackend | null): Promise<void> {
  if (backend === null) {
    processCache.set(key, text);
    if (processCache.size > PROCESS_CACHE_SIZE) processCache.delete(processCache.keys().next().value!);
    return;
  }
  await backend.store(key, text, { ttl: SUMMARY_CACHE_TTL_S }).catch(() => undefined);
}
