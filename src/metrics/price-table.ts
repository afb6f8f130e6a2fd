/**
 * Per-model token prices, used to estimate the cost of a task whose record has tokens but no
 * cost (`costUsd` 0: an older record, a replay, a stream that ended before its `result` line).
 *
 * @module
 */
import type { TokenUsage } from '../claude/stream-json.js';

/** USD per million tokens of each kind. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

/** Prices by model name or alias (`sonnet`, `claude-sonnet-4-5`...). */
export type PriceTable = Record<string, ModelPrice>;

/**
 * A small default table, by model family alias.
 *
 * THESE PRICES ARE EXAMPLES, NOT A SOURCE OF TRUTH: they were list prices at one point in
 * time and will drift. Pass your own table (`new MetricsCollector({ prices })`) for figures you
 * rely on. A record's own `costUsd` (Claude Code's `total_cost_usd`) always wins over the table.
 */
export const DEFAULT_PRICES: PriceTable = {
  opus: { input: 15, output: 75, cacheRead: 1.5, cacheCreation: 18.75 },
  sonnet: { input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 },
  haiku: { input: 1, output: 5, cacheRead: 0.1, cacheCreation: 1.25 },
};

/**
 * The price of a model: an exact key first, then the longest key the model name contains
 * (`claude-sonnet-4-5` is priced as `sonnet`); `undefined` when none matches.
 */
export function priceOf(model: string, prices: PriceTable): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  const name = model.toLowerCase();
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if (name.includes(key.toLowerCase()) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : prices[best];
}

/** The cost in USD of `tokens` at `price`. */
export function costOf(tokens: TokenUsage, price: ModelPrice): number {
  return (
    (tokens.input * price.input + tokens.output * price.output + tokens.cacheRead * price.cacheRead + tokens.cacheCreation * price.cacheCreation) /
    1_000_000
  );
}
