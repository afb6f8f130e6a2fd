/**
 * Per test file (a setup file): what a test file changes in its worker's shared state must be
 * put back by the end of the file. Files share their worker (`isolate: false`), so a leak would
 * change what a later file runs: the variables that steer the runtime and the fake `claude`,
 * fake timers, a mocked `Date.now`, the working directory; and no test writes into the
 * repository's own `agents/` (the default state dir). A leak is put back and reported as a
 * failure of the file that left it.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, vi } from 'vitest';

/** The repository's own state directory (the CLI's default, `agents` under the cwd): tests never write there. */
const REPO_AGENTS = join(fileURLToPath(new URL('../..', import.meta.url)), 'agents');

/** The entries of the repository's `agents/` (none when it does not exist). */
function repoAgents(): Set<string> {
  try {
    return new Set(readdirSync(REPO_AGENTS));
  } catch {
    return new Set();
  }
}

const WATCHED = /^(FAKE_|CLAUDE_|AGENTS_SDK_|ANTHROPIC_)/;

function watched(): Map<string, string> {
  return new Map(Object.entries(process.env).filter((e): e is [string, string] => WATCHED.test(e[0]) && e[1] !== undefined));
}

let before = new Map<string, string>();
let cwd = process.cwd();
let agentsBefore = new Set<string>();
beforeAll(() => {
  before = watched();
  cwd = process.cwd();
  agentsBefore = repoAgents();
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
  // A run, raw output or workers.json under the repository's own agents/: a state dir left to
  // its default (the cwd's agents/). Removed; named here (or by a file running beside this one).
  const written = [...repoAgents()].filter((entry) => !agentsBefore.has(entry));
  if (written.length > 0) {
    for (const entry of written) rmSync(join(REPO_AGENTS, entry), { recursive: true, force: true });
    leaks.push(`wrote into the repository's agents/ (a state dir left to its default; use a temporary directory): ${written.join(', ')}`);
  }
  if (leaks.length > 0) throw new Error(`This test file left its worker changed (now put back): ${leaks.join('; ')}`);
});
