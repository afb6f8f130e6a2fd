/**
 * Small pieces of the words the CLI, the logs and the inspector print: counts with the right
 * plural ("1 task", "3 tasks") and when a retry comes ("now", "in 250 ms", "in 2.5s").
 *
 * @module
 */

/** `1 task`, `2 tasks`; `plural` for nouns that do not take an -s (`1 directory`, `2 directories`). */
export function count(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/**
 * When something waited for comes, after `ms`: `now` (under half a millisecond), `in 250 ms`
 * (under a second: "in 0.0s" said nothing), `in 2.5s`.
 */
export function inTime(ms: number): string {
  if (!(ms >= 0.5)) return 'now';
  if (ms < 1000) return `in ${Math.round(ms)} ms`;
  return `in ${(ms / 1000).toFixed(1)}s`;
}
