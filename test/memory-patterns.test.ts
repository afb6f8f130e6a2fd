/**
 * MemoryPatterns: skills kept until replaced, analyses cached for a TTL, one search over
 * everything, and cleanup of what expired.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryBackend } from '../src/index.js';
import { ANALYSIS_CACHE_PREFIX, MemoryPatterns, SKILL_PREFIX } from '../src/memory/memory-patterns.js';
import { failureOf } from './helpers/failure-of.js';

describe('MemoryPatterns', () => {
  let memory: InMemoryBackend;
  let patterns: MemoryPatterns;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    memory = new InMemoryBackend();
    patterns = new MemoryPatterns(memory);
  });
  afterEach(() => vi.useRealTimers());

  it('stores skills under skill:<name> and finds them by name or by words', async () => {
    await patterns.storeSkill('deploy', { steps: ['npm run build', 'kubectl rollout restart deploy/web'] });
    await patterns.storeSkill('release-notes', 'Collect merged PRs since the last tag, group them by label.');
    expect(await patterns.retrieveSkill('deploy')).toEqual({ steps: ['npm run build', 'kubectl rollout restart deploy/web'] });
    expect(await memory.retrieve(`${SKILL_PREFIX}deploy`)).toBeDefined();
    expect((await patterns.listSkills()).map((e) => e.key)).toEqual(['skill:deploy', 'skill:release-notes']);
    expect((await patterns.searchSkills('rollout')).map((r) => r.key)).toEqual(['skill:deploy']);
    expect(await patterns.forgetSkill('deploy')).toBe(true);
    expect(await patterns.retrieveSkill('deploy')).toBeUndefined();
  });

  it('caches an analysis under cache:analysis:<hash> for its TTL (default one day)', async () => {
    await patterns.cacheAnalysis('sha256-abc', { issues: 2 }, 600);
    await patterns.cacheAnalysis('sha256-def', { issues: 0 });
    expect(await memory.retrieve(`${ANALYSIS_CACHE_PREFIX}sha256-abc`)).toEqual({ issues: 2 });
    vi.advanceTimersByTime(600_000);
    expect(await patterns.getCachedAnalysis('sha256-abc')).toBeUndefined();
    expect(await patterns.getCachedAnalysis('sha256-def')).toEqual({ issues: 0 });
    vi.advanceTimersByTime(86_400_000);
    expect(await patterns.getCachedAnalysis('sha256-def')).toBeUndefined();
    expect(await patterns.cleanup()).toBe(2);
  });

  it('searches every memory at once, best first', async () => {
    await patterns.storeSkill('flaky-tests', 'Rerun flaky tests with --retry 3 before calling them failures.');
    await patterns.cacheAnalysis('h1', { summary: 'tests pass; one flaky test in auth' }, 60);
    await memory.store('note:standup', 'nothing about testing here');
    const results = await patterns.searchMemories('flaky tests', 5);
    expect(results.map((r) => r.key)).toEqual(['skill:flaky-tests', 'cache:analysis:h1']);
  });

  it('refuses an empty skill name or hash', async () => {
    expect((await failureOf(patterns.storeSkill('', 1))).code).toBe('VALIDATION_ERROR');
    expect((await failureOf(patterns.getCachedAnalysis(''))).message).toContain('analysis hash must be a non-empty string');
  });
});
