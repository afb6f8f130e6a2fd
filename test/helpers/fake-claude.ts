/**
 * Test helpers around the fake `claude` executable (test/fixtures/fake-claude/claude).
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { overrideProcessEnv } from './process-env.js';

/** Absolute path of the fake `claude`. */
export const FAKE_CLAUDE = fileURLToPath(new URL('../fixtures/fake-claude/claude', import.meta.url));
/** The directory holding it, to put first on PATH. */
export const FAKE_CLAUDE_DIR = dirname(FAKE_CLAUDE);

/** A scratch directory with the fake's state dir, invocation log and a state dir for raw outputs. */
export interface FakeWorld {
  root: string;
  stateDir: string;
  log: string;
  /** Environment that points the runtime at the fake (via CLAUDE_CODE_PATH). */
  env: Record<string, string>;
  /** Parsed invocation log lines. */
  invocations(): Array<Record<string, unknown>>;
  cleanup(): void;
}

export function fakeWorld(): FakeWorld {
  const root = mkdtempSync(join(tmpdir(), 'agents-sdk-test-'));
  const log = join(root, 'fake-claude.log');
  const env = {
    CLAUDE_CODE_PATH: FAKE_CLAUDE,
    FAKE_CLAUDE_STATE_DIR: join(root, 'fake-state'),
    FAKE_CLAUDE_LOG: log,
  };
  return {
    root,
    stateDir: join(root, 'agents'),
    log,
    env,
    invocations: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (an orphan nobody has reaped yet) has stopped running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => boolean, ms = 10_000, every = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, every));
  }
  return check();
}

/**
 * Sets variables on `process.env` (the fake's, so that code under test finds it as a user's
 * would); returns a function that puts the previous values back.
 */
export function setProcessEnv(env: Record<string, string>): () => void {
  return overrideProcessEnv(env);
}

/**
 * Completions per task, from the fake's log (invocations joined with completions by pid); a
 * task is named by the `work on <task>` of its prompt.
 */
export function completionsPerTask(world: FakeWorld): Record<string, number> {
  const calls = world.invocations();
  const promptOf = new Map(calls.filter((c) => c.prompt).map((c) => [c.pid, String(c.prompt)]));
  const counts: Record<string, number> = {};
  for (const c of calls.filter((c) => c.event === 'completed')) {
    const task = /work on (\w+)/.exec(promptOf.get(c.pid) ?? '')?.[1] ?? '?';
    counts[task] = (counts[task] ?? 0) + 1;
  }
  return counts;
}
