/**
 * Setting variables on `process.env` for a while, safely when calls overlap.
 *
 * Two overlapping "save, set, restore" calls leak: the second one saves the first one's
 * value and puts it back after the first has restored the original. The test files share
 * a worker (`isolate: false`), so a leaked `FAKE_CLAUDE_LOG` pointing into a removed
 * scratch dir made a later file's fake `claude` fail. Here each variable's original value
 * is kept once, with a count of the overrides holding it, and comes back when the last ends.
 */

const held = new Map<string, { original: string | undefined; holders: number }>();

/**
 * Sets `env` on `process.env`; returns a function (idempotent) that ends this override. A
 * variable gets its original value back once every override that set it has ended; while
 * overrides overlap, the latest value set is the one in force.
 */
export function overrideProcessEnv(env: Record<string, string>): () => void {
  const keys = Object.keys(env);
  for (const key of keys) {
    const entry = held.get(key);
    if (entry) entry.holders += 1;
    else held.set(key, { original: process.env[key], holders: 1 });
    process.env[key] = env[key];
  }
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    for (const key of keys) {
      const entry = held.get(key)!;
      entry.holders -= 1;
      if (entry.holders > 0) continue;
      held.delete(key);
      if (entry.original === undefined) delete process.env[key];
      else process.env[key] = entry.original;
    }
  };
}
