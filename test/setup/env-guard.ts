/**
 * Per test file (a setup file): the variables that steer the runtime and the fake `claude`
 * must be the same after the file as before it. Files share their worker (`isolate: false`),
 * so a leak would change what a later file runs; it is put back and reported as a failure.
 */
import { afterAll, beforeAll } from 'vitest';

const WATCHED = /^(FAKE_|CLAUDE_|AGENTS_SDK_|ANTHROPIC_)/;

function watched(): Map<string, string> {
  return new Map(Object.entries(process.env).filter((e): e is [string, string] => WATCHED.test(e[0]) && e[1] !== undefined));
}

let before = new Map<string, string>();
beforeAll(() => {
  before = watched();
});
afterAll(() => {
  const after = watched();
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();
  for (const key of changed) {
    const value = before.get(key);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (changed.length > 0) throw new Error(`This test file left process.env changed (now put back): ${changed.join(', ')}`);
});
