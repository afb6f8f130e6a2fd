/**
 * The known name a misspelt one was probably meant to be (`promt` → `prompt`), for
 * "did you mean" hints in validation messages.
 *
 * @module
 */

/** Edits allowed between a name and its suggestion (a swap of neighbours counts as one). */
const MAX_EDITS = 2;
/** A name this long that starts a known one is taken as a shortening of it (`depends` → `depends_on`). */
const MIN_PREFIX = 4;

/**
 * Returns the known name closest to `name`, or `undefined` when none is close: at most two
 * edits away (fewer than the shorter name's length, so `ab` does not suggest `id`), case and
 * `-`/`_` ignored; or, failing that, the known name `name` starts.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = normalize(name);
  let best: string | undefined;
  let bestEdits = MAX_EDITS + 1;
  for (const candidate of known) {
    const other = normalize(candidate);
    const edits = editDistance(wanted, other, bestEdits);
    if (edits < bestEdits && edits < Math.min(wanted.length, other.length)) {
      best = candidate;
      bestEdits = edits;
    }
  }
  if (best !== undefined || wanted.length < MIN_PREFIX) return best;
  return known.find((candidate) => normalize(candidate).startsWith(wanted));
}

function normalize(name: string): string {
  return name.toLowerCase().replaceAll('-', '_');
}

/**
 * Optimal string alignment distance (Levenshtein plus swaps of neighbours), stopping early
 * once every path costs at least `limit`.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin >= limit) return limit;
    before = previous;
    previous = current;
  }
  return Math.min(previous[b.length]!, limit);
}
