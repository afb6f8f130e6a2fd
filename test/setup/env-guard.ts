/**
 * Per test file (a setup file): what a test file changes in its worker's shared state must be
 * put back by the end of the file. Files share their worker (`isolate: false`), so a leak would
 * change what a later file runs: the variables that steer the runtime and the fake `claude`,
 * fake timers, a mocked `Date.now`, the working directory. A leak is put back and reported as a
 * failure of the file that left it.
 */
import { afterAll, beforeAll, vi } from 'vitest';

const WATCHED = /^(FAKE_|CLAUDE_|AGENTS_SDK_|ANTHROPIC_)/;

function watched(): Map<string, string> {
  return new Map(Object.entries(process.env).filter((e): e is [string, string] => WATCHED.test(e[0]) && e[1] !== undefined));
}

let before = new Map<string, string>();
let cwd = process.cwd();
beforeAll(() => {
  before = watched();
  cwd = process.cwd();
});
afterAll(() => {
  const leaks: string[] = [];
  const after = watched();
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();
  for (const key of changed) {
    const value = before.get(key);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (changed.length > 0) leaks.push(`process.env changed: ${changed.join(', ')}`);
  if (vi.isFakeTimers()) {
    vi.useRealTimers();
    leaks.push('fake timers still on');
  }
  if (vi.isMockFunction(Date.now)) {
    vi.restoreAllMocks();
    leaks.push('Date.now still mocked');
  }
  if (process.cwd() !== cwd) {
    leaks.push(`working directory changed to ${process.cwd()}`);
    process.chdir(cwd);
  }
  if (leaks.length > 0) throw new Error(`This test file left its worker changed (now put back): ${leaks.join('; ')}`);
});
