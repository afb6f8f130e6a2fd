/**
 * Exponential backoff with full jitter, as used by the session machine's `retrying` state.
 *
 * @module
 */

/** How a session retries transient failures. Plain JSON. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 3). `1` means no retry. */
  maxAttempts: number;
  /** Delay cap before the first retry, in ms (default 2000: the CLI already retried API errors itself). */
  baseDelayMs: number;
  /** Growth of the cap per retry (default 2). */
  factor: number;
  /** Largest delay, in ms (default 60000). */
  maxDelayMs: number;
  /** `full`: a random delay between 0 and the cap (AWS "full jitter"); `none`: exactly the cap. */
  jitter: 'full' | 'none';
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 2_000,
  factor: 2,
  maxDelayMs: 60_000,
  jitter: 'full',
};

/** Fills a partial policy with the defaults. */
export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (policy as Record<string, unknown>)[key] = value;
  }
  return policy;
}

/**
 * The delay before retry number `retry` (1 for the first retry).
 *
 * @param random - a number in [0, 1); injectable for tests.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: number = Math.random()): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** Math.max(0, retry - 1));
  return Math.round(policy.jitter === 'full' ? cap * random : cap);
}
