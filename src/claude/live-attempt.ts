/**
 * Where a running agent attempt is, read from its raw stream file by any process (`status` of
 * a live run): the tool it is in, its turn, tokens and cost so far, and when the stream last
 * said something (the file's modification time). The driver writes nothing more for it: the
 * stream file it records anyway is the live state.
 *
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { summarizeToolInput } from '../callbacks/callback-manager.js';
import { DEFAULT_PRICES, costOf as priceCost, priceOf, type PriceTable } from '../metrics/price-table.js';
import { addTokens, costOf as resultCost, emptyTokens, parseStreamLine, tokensFromUsage, type RawUsage, type ResultLine, type TokenUsage } from './stream-json.js';

/** What a running attempt has done so far. */
export interface LiveAttempt {
  /** The tool it is in (called, no result yet), or `null` (thinking, or between turns). */
  tool: string | null;
  /** The summary of that tool call's input (`npm test`, a file path), or `null`. */
  toolInput: string | null;
  /** Model turns so far (assistant messages). */
  turn: number;
  /** Tokens so far (the usage of each assistant message, summed). */
  tokens: TokenUsage;
  /** USD so far: the result's when it has one, else estimated from the price table (`costEstimated`). */
  costUsd: number;
  costEstimated: boolean;
  /** The model, from the stream. */
  model: string | null;
  /** When the stream file was last written (epoch ms). */
  lastLineAt: number;
  /** Stream lines so far. */
  lines: number;
}

/** Bytes read at a time. */
const CHUNK = 1 << 20;

/**
 * Reads a running attempt's raw stream (`raw_output[.attempt-<n>].jsonl`); `null` when the file
 * is not there (the agent has not started, or its stream is recorded on another machine).
 */
export function readLiveAttempt(rawFile: string, prices: PriceTable = DEFAULT_PRICES): LiveAttempt | null {
  let fd: number;
  let mtime: number;
  try {
    fd = openSync(rawFile, 'r');
    mtime = statSync(rawFile).mtimeMs;
  } catch {
    return null;
  }
  const state = new LiveState();
  try {
    const buffer = Buffer.alloc(CHUNK);
    let carry = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      const text = carry + buffer.toString('utf8', 0, n);
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const line of lines) state.line(line);
    }
    // A last line without its newline may be half written: taken only if it parses.
    if (carry !== '') state.line(carry);
  } finally {
    closeSync(fd);
  }
  return state.result(mtime, prices);
}

class LiveState {
  private readonly usage = new Map<string, TokenUsage>();
  private tool: { id: string; name: string; input: string | null } | null = null;
  private model: string | null = null;
  private resultCost: number | null = null;
  private lines = 0;

  line(text: string): void {
    if (text.trim() === '') return;
    this.lines += 1;
    // A tool result (often the biggest line) is only looked at for the tool it ends.
    if (text.startsWith('{"type":"user"')) {
      if (this.tool !== null && text.includes(this.tool.id)) this.tool = null;
      return;
    }
    const line = parseStreamLine(text);
    if (!line) return;
    if (line.type === 'system' && line.subtype === 'init' && typeof line.model === 'string') this.model = line.model;
    if (line.type === 'user') {
      if (this.tool !== null && text.includes(this.tool.id)) this.tool = null;
      return;
    }
    if (line.type === 'result') {
      this.resultCost = resultCost(line as ResultLine);
      this.tool = null;
      return;
    }
    if (line.type !== 'assistant') return;
    const message = line.message as { id?: unknown; model?: unknown; usage?: RawUsage; content?: unknown } | undefined;
    if (!message) return;
    if (typeof message.model === 'string' && message.model !== '<synthetic>') this.model = message.model;
    // Claude Code writes one line per content block of a message, each with the message's usage.
    const id = typeof message.id === 'string' ? message.id : `line-${this.lines}`;
    this.usage.set(id, tokensFromUsage(message.usage));
    if (!Array.isArray(message.content)) return;
    for (const block of message.content as Array<Record<string, unknown>>) {
      if (block?.type === 'tool_use') {
        this.tool = { id: String(block.id ?? ''), name: String(block.name ?? ''), input: block.input === undefined || block.input === null ? null : summarizeToolInput(block.input) || null };
      } else if (block?.type === 'text') this.tool = null;
    }
  }

  result(lastLineAt: number, prices: PriceTable): LiveAttempt {
    let tokens = emptyTokens();
    for (const u of this.usage.values()) tokens = addTokens(tokens, u);
    const price = this.model === null ? undefined : priceOf(this.model, prices);
    const estimated = this.resultCost === null;
    return {
      tool: this.tool?.name ?? null,
      toolInput: this.tool?.input ?? null,
      turn: this.usage.size,
      tokens,
      costUsd: this.resultCost ?? (price ? priceCost(tokens, price) : 0),
      costEstimated: estimated,
      model: this.model,
      lastLineAt,
      lines: this.lines,
    };
  }
}
