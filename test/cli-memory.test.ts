/**
 * `agents-sdk memory`: set, get, list, search, delete and clear-expired over the memory store of
 * a state directory, on both persistent backends.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MemoryEntry, SearchResult } from '../src/index.js';
import { cli, cliProcess } from './helpers/cli.js';
import { sqliteAvailable } from './helpers/memory-stores.js';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-cli-memory-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(stateDir, { recursive: true, force: true });
});

const backends = sqliteAvailable ? ['json', 'sqlite'] : ['json'];

describe.each(backends)('agents-sdk memory on the %s backend', (backend) => {
  const memory = (...args: string[]) => cli(['memory', ...args, '--state-dir', stateDir, '--backend', backend]);

  it('set stores JSON or text, get prints it back (text as it is), delete forgets it', async () => {
    expect(await memory('set', 'skill:deploy', 'Build, then kubectl rollout restart.')).toMatchObject({ code: 0, stdout: 'stored skill:deploy\n' });
    expect((await memory('set', 'config', '{"depth": 2}')).code).toBe(0);
    expect((await memory('set', 'count', '42', '--json')).stdout).toBe('{"key":"count","value":42,"ttl":null}\n');

    expect(await memory('get', 'skill:deploy')).toMatchObject({ code: 0, stdout: 'Build, then kubectl rollout restart.\n' });
    expect(JSON.parse((await memory('get', 'config')).stdout)).toEqual({ depth: 2 });
    expect((await memory('get', 'skill:deploy', '--json')).stdout).toBe('"Build, then kubectl rollout restart."\n');

    expect(await memory('delete', 'count')).toMatchObject({ code: 0, stdout: 'deleted count\n' });
    const missing = await memory('get', 'count');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('agents-sdk: no memory under key "count" (never stored, deleted, or expired)\n');
    expect((await memory('delete', 'count')).code).toBe(1);
    expect((await memory('delete', 'config', '--json')).stdout).toBe('{"key":"config","deleted":true}\n');
  });

  it('list shows entries in key order, by prefix, with their expiry; --json gives the entries', async () => {
    expect((await memory('list')).stdout).toBe('no memories\n');
    await memory('set', 'skill:b', '"second"');
    await memory('set', 'skill:a', '"first"');
    await memory('set', 'cache:analysis:x', '{"ok":true}', '--ttl', '3600');
    const list = await memory('list');
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^cache:analysis:x\s+\{"ok":true\}\s+expires \d{4}-\d\d-\d\dT/),
      'skill:a           "first"',
      'skill:b           "second"',
      '',
    ]);
    const skills = JSON.parse((await memory('list', '--prefix', 'skill:', '--limit', '1', '--json')).stdout) as MemoryEntry[];
    expect(skills).toEqual([{ key: 'skill:a', value: 'first', createdAt: expect.any(Number), updatedAt: expect.any(Number), expiresAt: null }]);
  });

  it('search ranks the more relevant entry first, with its score', async () => {
    await memory('set', 'note:lunch', 'lunch, weather, plants, and briefly a deploy');
    await memory('set', 'skill:deploy', 'deploy: build, run the deploy script, watch the deploy dashboard');
    const search = await memory('search', 'deploy');
    expect(search.code).toBe(0);
    expect(search.stdout).toMatch(/^\S+\s+skill:deploy\s+"deploy: build.*\n\S+\s+note:lunch\s+/);
    const json = JSON.parse((await memory('search', 'deploy', '--prefix', 'note:', '--json')).stdout) as SearchResult[];
    expect(json.map((r) => r.key)).toEqual(['note:lunch']);
    expect(json[0]!.score).toBeGreaterThan(0);
    expect((await memory('search', 'zeppelin')).stdout).toBe('nothing found for "zeppelin"\n');
  });

  it('clear-expired removes what is past its TTL and says how many', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    await memory('set', 'short', '1', '--ttl', '1');
    await memory('set', 'kept', '2');
    vi.setSystemTime(1_002_000);
    expect((await memory('get', 'short')).code).toBe(1);
    expect((await memory('clear-expired')).stdout).toBe('removed 1 expired entry\n');
    expect((await memory('clear-expired', '--json')).stdout).toBe('{"removed":0}\n');
  });

  it('rejects bad input with exit code 2 and says why', async () => {
    const cases: Array<[string[], string]> = [
      [['set', 'k', 'v', '--ttl', '0'], '--ttl must be a positive number of seconds, got "0"'],
      [['set', 'k', 'v', '--ttl', 'soon'], '--ttl must be a positive number of seconds'],
      [['search', '  '], 'A memory search needs a query: it is empty'],
      [['list', '--limit', '0'], '--limit must be an integer >= 1'],
      [['set', 'a\tb', 'v'], 'Invalid memory key "a\\tb": it contains a control character'],
    ];
    for (const [args, said] of cases) {
      const run = await memory(...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(said);
    }
  });
});

describe('agents-sdk memory', () => {
  it('reading a store that does not exist creates nothing', async () => {
    expect((await cli(['memory', 'list', '--state-dir', stateDir])).stdout).toBe('no memories\n');
    expect((await cli(['memory', 'search', 'x', '--state-dir', stateDir])).code).toBe(0);
    expect((await cli(['memory', 'get', 'x', '--state-dir', stateDir])).code).toBe(1);
    expect(existsSync(join(stateDir, 'memory'))).toBe(false);
  });

  it('refuses an unknown backend, and lists its commands in --help', async () => {
    const run = await cli(['memory', 'list', '--state-dir', stateDir, '--backend', 'redis']);
    expect([run.code, run.stderr]).toEqual([2, 'agents-sdk: --backend must be json or sqlite, got "redis"\n']);
    const help = await cli(['memory', '--help']);
    for (const command of ['list', 'get', 'set', 'search', 'delete', 'clear-expired']) expect(help.stdout).toContain(command);
  });

  it('keeps memories across real processes', async () => {
    const set = await cliProcess(['memory', 'set', 'skill:x', 'remembered', '--state-dir', stateDir]);
    expect([set.exitCode, set.stderr]).toEqual([0, '']);
    const get = await cliProcess(['memory', 'get', 'skill:x', '--state-dir', stateDir]);
    expect([get.exitCode, get.stdout]).toEqual([0, 'remembered']);
  });
});
