/**
 * examples/adw/sdlc-loops.yaml: ADW's SDLC with its two loops (test → resolve, at most 4; review
 * → patch, at most 3), replayed offline from recordings: the first test run fails and is
 * resolved, the second passes; the first review finds an issue that is patched, the second
 * approves; document runs after both loops. ADW's agent names and slash commands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskResult, WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';

const EXAMPLE = 'examples/adw/sdlc-loops.yaml';
const RECORDINGS = 'examples/recordings/adw-sdlc-loops';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-adw-loops-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

describe('examples/adw/sdlc-loops.yaml', () => {
  it('validates; --dry-run shows both loops with their bounds', async () => {
    const validate = await cli(['validate', EXAMPLE]);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
    expect(validate.stdout).toContain('5 tasks (3 agent, 0 command, 2 looping or fan-out group)');
    const dry = await cli(['run', EXAMPLE, '--dry-run']);
    expect(dry.stdout).toContain('test_loop (repeat ≤ 4)');
    expect(dry.stdout).toContain('review_loop (repeat ≤ 3)');
    expect(dry.stdout).toContain('repeat ≤ 4: until tasks.test.json.passed');
  });

  it('replays offline: test → resolve until the tests pass, review → patch until approved, then document', async () => {
    const state = ['--state-dir', stateDir];
    const run = await cli(['run', EXAMPLE, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', 'adw', '--json', ...state]);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('completed')]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const tasks: Record<string, TaskResult> = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(result.status).toBe('completed');
    expect(tasks.test_loop).toMatchObject({ status: 'completed', iteration: 2 });
    expect(tasks['test_loop#1.test']).toMatchObject({ json: { passed: false } });
    expect(tasks['test_loop#1.resolve']!.output).toContain('Resolved');
    expect(tasks['test_loop#2.resolve']).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    expect(tasks.review_loop).toMatchObject({ status: 'completed', iteration: 2 });
    expect(tasks['review_loop#2.patch']).toMatchObject({ status: 'skipped', skippedBy: 'when' });
    const order = result.taskResults.map((t) => t.taskId);
    expect(order.indexOf('document')).toBeGreaterThan(order.indexOf('review_loop'));
    expect(order.indexOf('review_loop#1.review')).toBeGreaterThan(order.indexOf('test_loop'));

    const resolve = await cli(['logs', 'adw', 'test_loop#1.resolve', '--prompt', ...state]);
    expect(resolve.stdout).toContain('/resolve_failed_test ["test/theme.test.tsx > ThemeProvider follows the system');
    const patch = await cli(['logs', 'adw', 'review_loop#1.patch', '--prompt', ...state]);
    expect(patch.stdout).toContain('/patch a1b2c3d4 ["src/theme.tsx:31: the matchMedia listener is never removed on unmount"]');
  });
});
