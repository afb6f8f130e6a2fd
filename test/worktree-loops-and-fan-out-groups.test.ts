/**
 * Loops and fan-out groups in worktrees: iteration k of a looping task starts from iteration
 * k - 1's commit (so it refines its own work), a dependant of the loop from its last iteration's;
 * each instance of a fan-out group runs its tasks one after another in worktrees of its own,
 * and an integrator starts from the merge of every instance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type TaskResult, type WorkflowResult } from '../src/index.js';
import { gitIn, makeRepo, writeFileCommand, type TestRepo } from './helpers/git-repo.js';

let repo: TestRepo;
afterEach(() => repo?.cleanup());

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

/** Appends a line to log.txt and prints how many lines it has. */
const appendLine = ['node', '-e', 'const fs = require("fs"); fs.appendFileSync("log.txt", "x\\n"); process.stdout.write(String(fs.readFileSync("log.txt", "utf8").split("\\n").length - 1))'];

describe('worktrees in loops and fan-out groups', () => {
  it('a loop\'s iterations build on each other; its dependant starts from the last', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'refine',
        workspace: 'worktree',
        defaults: { cwd: repo.repo },
        tasks: [
          { id: 'fix', command: appendLine, repeat: { until: 'tasks.fix.output == "3"', max: 5 } },
          { id: 'ship', depends_on: ['fix'], command: appendLine },
        ],
      },
      { runId: 'lp' },
    );
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    expect([1, 2, 3].map((k) => tasks[`fix#${k}`]!.output)).toEqual(['1', '2', '3']);
    expect(tasks['fix#2']!.branch).toBe('agents-sdk-task/lp/fix@@2');
    expect(gitIn(repo.repo, 'rev-parse', `${tasks['fix#3']!.commit}~1`)).toBe(tasks['fix#2']!.commit);
    expect(tasks.ship!.output).toBe('4');
    expect(gitIn(repo.repo, 'show', 'agents-sdk/lp:log.txt')).toBe('x\nx\nx\nx');
  });

  it('each instance of a fan-out group works in its own worktrees; the integrator starts from all of them', async () => {
    repo = makeRepo();
    const orchestrator = new WorkflowOrchestrator({ stateDir: repo.state });
    const result = await orchestrator.runWorkflow(
      {
        id: 'units',
        workspace: 'worktree',
        defaults: { cwd: repo.repo },
        tasks: [
          {
            id: 'impl',
            for_each: '["a", "b"]',
            tasks: [
              { id: 'code', command: writeFileCommand('{{item}}.txt', 'code') },
              { id: 'test', depends_on: ['code'], command: writeFileCommand('{{item}}.test', 'test') },
            ],
          },
          { id: 'integrate', depends_on: ['impl'], command: writeFileCommand('done.txt', 'ok') },
        ],
      },
      { runId: 'fg' },
    );
    expect(result.status).toBe('completed');
    const tasks = byId(result);
    // test saw its own instance's code, not the other instance's.
    expect(tasks['impl[0].test']!.output).toBe('README.md a.test a.txt');
    expect(tasks['impl[1].test']!.output).toBe('README.md b.test b.txt');
    expect(tasks['impl[1].code']!.branch).toBe('agents-sdk-task/fg/impl@1.code');
    expect(tasks.integrate!.output).toBe('README.md a.test a.txt b.test b.txt done.txt');
  });
});
