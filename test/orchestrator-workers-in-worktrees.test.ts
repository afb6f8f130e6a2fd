/**
 * examples/patterns/orchestrator-workers.yaml runs with `workspace: worktree` (replayed offline):
 * every implementer works in its own worktree on its own branch, started from the planner's
 * commit, and the integrator starts from the merge of all of them; the run's branch is the
 * integrator's commit. Both backends.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskResult, WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { gitIn, makeRepo, type TestRepo } from './helpers/git-repo.js';

const EXAMPLE = 'examples/patterns/orchestrator-workers.yaml';
const RECORDINGS = 'examples/recordings/patterns-orchestrator-workers';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

describe('examples/patterns/orchestrator-workers.yaml with workspace: worktree', () => {
  it.each(['json', 'sqlite'])('runs (%s backend): implementers in parallel worktrees, the integrator from their merge', async (backend) => {
    repo = makeRepo();
    const spec = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    const file = join(repo.dir, 'ow.yaml');
    writeFileSync(file, stringify({ ...spec, workspace: 'worktree', defaults: { cwd: repo.repo } }));
    const before = repo.checkout();
    const run = await cli(['run', file, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', 'ow', '--json', '--state-dir', repo.state, '--backend', backend]);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('completed')]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const tasks: Record<string, TaskResult> = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    const impl = [0, 1, 2].map((k) => tasks[`impl[${k}]`]!);
    for (const [k, instance] of impl.entries()) {
      expect(instance.branch).toBe(`agents-sdk-task/ow/impl@${k}`);
      expect(gitIn(repo.repo, 'rev-parse', `${instance.commit}~1`)).toBe(tasks.plan!.commit);
    }
    // The integrator's commit sits on the merge of the three implementers' commits.
    const start = gitIn(repo.repo, 'rev-parse', `${tasks.integrate!.commit}~1`);
    for (const instance of impl) expect(gitIn(repo.repo, 'merge-base', '--is-ancestor', instance.commit!, start)).toBe('');
    expect(result.workspace).toEqual({ branch: 'agents-sdk/ow', commit: tasks.integrate!.commit });
    expect(repo.checkout()).toEqual(before);
  });
});
