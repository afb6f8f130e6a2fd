/**
 * The replay executor: a recorded failure comes back as the same typed error; lines are paced at
 * the recorded speed and a replay can be cancelled mid-way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReplayExecutor } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

describe('replay', () => {
  function recording(agent: string, lines: object[]): string {
    const dir = join(world.root, 'rec');
    mkdirSync(join(dir, agent), { recursive: true });
    writeFileSync(join(dir, agent, 'raw_output.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return dir;
  }
  const init = { type: 'system', subtype: 'init', session_id: 's-1', model: 'm', cwd: '/', tools: [] };

  it('replays a recorded failure as the same typed error', async () => {
    const dir = recording('a', [init, { type: 'result', subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: 529', session_id: 's-1', duration_ms: 10 }]);
    const replay = createReplayExecutor(dir, { speed: 0 });
    const error = await failureOf(replay({ kind: 'claude', prompt: 'x', agentName: 'a' }, { signal: new AbortController().signal, onEvent: () => {} }));
    expect([error.code, error.transient]).toEqual(['API_OVERLOADED', true]);
  });

  it('paces lines at the recorded speed and can be cancelled mid-way', async () => {
    const dir = recording('slow', [init, { type: 'assistant', message: { content: [{ type: 'text', text: 'hi' }] }, session_id: 's-1' }, { type: 'result', subtype: 'success', is_error: false, result: 'done', session_id: 's-1', duration_ms: 3000 }]);
    const controller = new AbortController();
    const seen: string[] = [];
    const run = createReplayExecutor(dir)({ kind: 'claude', prompt: 'x', agentName: 'slow' }, {
      signal: controller.signal,
      onEvent: (e) => seen.push(e.type),
    });
    setTimeout(() => controller.abort(), 1200);
    const started = Date.now();
    expect((await failureOf(run)).code).toBe('CANCELLED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(seen).toEqual(['init']);
  });
});
