import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_CLAUDE, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** How each attempt of the fake ended: ok, 529 or permanent. */
async function outcome(prompt: string, stateDir: string): Promise<string> {
  const run = await execa(FAKE_CLAUDE, ['-p', prompt, '--output-format', 'stream-json', '--verbose'], {
    reject: false,
    env: { FAKE_CLAUDE_STATE_DIR: stateDir, FAKE_CLAUDE_RANDOM_FAILURES: 'transient=0.3,permanent=0.2,seed=9' },
  });
  if (run.exitCode === 0) return 'ok';
  return run.stdout.includes('"api_error_status":529') ? '529' : run.stdout.includes('random permanent failure') ? 'permanent' : `other ${run.exitCode}`;
}

describe('the fake claude: FAKE_CLAUDE_RANDOM_FAILURES', () => {
  it('fails a seeded share of attempts, the same task and attempt the same way in every run', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => `task ${i}`);
    // two attempts of each task, one after the other (the second draws again); tasks at once
    const runOf = async (dir: string): Promise<string[]> =>
      (await Promise.all(prompts.map(async (p) => [await outcome(p, dir), await outcome(p, dir)]))).flat();
    const first = await runOf(join(world.root, 'a'));
    const second = await runOf(join(world.root, 'b'));
    expect(second).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', '529', 'permanent']));
    // attempts are drawn one by one: some task's second attempt differs from its first
    expect(prompts.some((_, i) => first[2 * i] !== first[2 * i + 1])).toBe(true);
  }, 60_000);
});
