/**
 * A conversation: the messages of a session, grouped into turns (a user message and the
 * replies after it), formatted as `[USER] …` / `[ASSISTANT] …` blocks for a transcript prompt,
 * and trimmed by turns or by characters.
 *
 * @module
 */
import type { JsonValue } from './memory-backend.js';

/** Who said a message. `system` holds what the runtime wrote itself, e.g. the summary of older turns. */
export type MessageRole = 'user' | 'assistant' | 'system';

/** One message of a conversation. Plain JSON: it is part of the session's persisted snapshot. */
export interface ConversationMessage {
  role: MessageRole;
  content: string;
  /** Epoch ms. */
  timestamp: number;
  /** Anything the caller wants kept with it (the session records the Claude session id and cost). */
  metadata?: { [key: string]: JsonValue };
}

/** Separates two messages in a formatted conversation. */
const BLOCK_SEPARATOR = '\n\n';

/** One message as a block: `[USER] content`. */
export function formatMessage(message: ConversationMessage): string {
  return `[${message.role.toUpperCase()}] ${message.content}`;
}

/** The messages as `[USER] …` / `[ASSISTANT] …` blocks, oldest first, separated by a blank line. */
export function formatConversation(messages: readonly ConversationMessage[]): string {
  return messages.map(formatMessage).join(BLOCK_SEPARATOR);
}

/** The length of {@link formatConversation}'s text, without building it. */
export function formattedLength(messages: readonly ConversationMessage[]): number {
  let length = 0;
  for (const message of messages) length += message.role.length + 3 + message.content.length;
  return length + Math.max(0, messages.length - 1) * BLOCK_SEPARATOR.length;
}

/**
 * Where each turn starts: a turn begins at a user or system message (a summary stands for the
 * turns it replaced) and holds the replies after it.
 */
export function turnStarts(messages: readonly ConversationMessage[]): number[] {
  const starts: number[] = [];
  messages.forEach((message, i) => {
    if (i === 0 || message.role !== 'assistant') starts.push(i);
  });
  return starts;
}

/** How many turns the messages hold. */
export function countTurns(messages: readonly ConversationMessage[]): number {
  return turnStarts(messages).length;
}

/** The messages of the last `turns` turns (all of them when there are no more). */
export function lastTurns<T extends ConversationMessage>(messages: readonly T[], turns: number): T[] {
  if (turns <= 0) return [];
  const starts = turnStarts(messages);
  if (starts.length <= turns) return messages.slice();
  return messages.slice(starts[starts.length - turns]);
}

/**
 * Splits the messages into the oldest turns and the newest ones whose formatted text fits in
 * `maxChars` (whole turns, newest first; none if the last turn alone is larger).
 */
export function splitByChars<T extends ConversationMessage>(messages: readonly T[], maxChars: number): { older: T[]; recent: T[] } {
  const starts = turnStarts(messages);
  let cut = messages.length;
  for (let t = starts.length - 1; t >= 0; t--) {
    if (formattedLength(messages.slice(starts[t])) > maxChars) break;
    cut = starts[t]!;
  }
  return { older: messages.slice(0, cut), recent: messages.slice(cut) };
}

/**
 * The prompt of transcript mode: the conversation so far, then the new message. Used when the
 * model cannot see the earlier turns itself (a fresh Claude session, another model).
 */
export function transcriptPrompt(history: readonly ConversationMessage[], prompt: string): string {
  if (history.length === 0) return prompt;
  return `The conversation so far, oldest first:${BLOCK_SEPARATOR}${formatConversation(history)}${BLOCK_SEPARATOR}[USER] ${prompt}`;
}
