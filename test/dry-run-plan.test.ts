/**
 * `run --dry-run`: the waves in which tasks would start at max_parallel, and each task's
 * prompt or command as it would be sent, with nothing started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, loadWorkflowFile, planWorkflow, validateWorkflow, type WorkflowSpecInput } from '../src/index.js';
import { formatWorkflowPlan } from '../src/cli/dry-run.js';

function waves(spec: WorkflowSpecInput, options: Parameters<typeof planWorkflow>[1] = {}): string[][] {
  return planWorkflow(validateWorkflow(spec), options).waves.map((w) => w.taskIds);
}

describe('planWorkflow: the start order', () => {
  it('starts independent tasks max_parallel at a time', () => {
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, prompt: 'x' }));
    expect(waves({ id: 'w', max_parallel: 2, tasks })).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(waves({ id: 'w', max_parallel: 2, tasks }, { maxParallel: 5 })).toEqual([['a', 'b', 'c', 'd', 'e']]);
  });

  it('starts a task once its dependencies are done, with no barrier between layers', () => {
    const spec = {
      id: 'w',
      max_parallel: 2,
      tasks: [
        { id: 'plan', prompt: 'x' },
        { id: 'lint', command: ['lint'] },
        { id: 'build', prompt: 'x', depends_on: ['plan'] },
        { id: 'docs', prompt: 'x', depends_on: ['lint'] },
        { id: 'ship', prompt: 'x', depends_on: ['build', 'docs'] },
      ],
    };
    expect(waves(spec)).toEqual([['plan', 'lint'], ['build', 'docs'], ['ship']]);
  });

  it('among ready tasks, starts the one with the longest remaining path first, as the orchestrator does', () => {
    // `lone` is declared first, but `head` leads a chain of three; once `mid` is done,
    // `lone` and `tail` each have one task left to run: declaration order decides.
    const spec = {
      id: 'w',
      max_parallel: 1,
      tasks: [
        { id: 'lone', prompt: 'x' },
        { id: 'head', prompt: 'x' },
        { id: 'mid', prompt: 'x', depends_on: ['head'] },
        { id: 'tail', prompt: 'x', depends_on: ['mid'] },
      ],
    };
    expect(waves(spec).flat()).toEqual(['head', 'mid', 'lone', 'tail']);
  });

  it('predicts the order in which a real run starts its tasks', async () => {
    const noop = [process.execPath, '-e', ''];
    const spec = {
      id: 'order',
      max_parallel: 1,
      tasks: [
        { id: 'lone', command: noop },
        { id: 'a', command: noop },
        { id: 'b', command: noop, depends_on: ['a'] },
        { id: 'c', command: noop, depends_on: ['a'] },
        { id: 'd', command: noop, depends_on: ['c'] },
      ],
    };
    const planned = planWorkflow(validateWorkflow(spec)).tasks.map((t) => t.id);
    const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-plan-'));
    try {
      const result = await new WorkflowOrchestrator({ stateDir }).runWorkflow(spec);
      const started = [...result.taskResults].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!)).map((t) => t.taskId);
      expect(planned).toEqual(['a', 'c', 'lone', 'b', 'd']);
      expect(started).toEqual(planned);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('uses estimates when given: a long task holds back its dependants, not the others', () => {
    const spec = {
      id: 'w',
      max_parallel: 2,
      tasks: [
        { id: 'slow', prompt: 'x' },
        { id: 'quick', prompt: 'x' },
        { id: 'after-slow', prompt: 'x', depends_on: ['slow'] },
        { id: 'after-quick', prompt: 'x', depends_on: ['quick'] },
      ],
    };
    const plan = planWorkflow(validateWorkflow(spec), { estimate: (t) => (t.id === 'slow' ? 5 : 1) });
    expect(plan.unitEstimates).toBe(false);
    expect(plan.waves).toEqual([
      { wave: 1, start: 0, taskIds: ['slow', 'quick'] },
      { wave: 2, start: 1, taskIds: ['after-quick'] },
      { wave: 3, start: 5, taskIds: ['after-slow'] },
    ]);
    expect(plan.length).toBe(6);
    expect(plan.tasks.find((t) => t.id === 'after-slow')).toMatchObject({ wave: 3, start: 5, end: 6 });
  });

  it('rejects a maxParallel below 1 and an estimate that is not a number of at least 0', () => {
    const wf = validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'x' }] });
    expect(() => planWorkflow(wf, { maxParallel: 0 })).toThrow(RangeError);
    expect(() => planWorkflow(wf, { estimate: () => Number.NaN })).toThrow(/estimate of task a/);
    expect(() => planWorkflow(wf, { estimate: () => -1 })).toThrow(RangeError);
  });

  it('plans a 10,000-task chain', () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, prompt: 'x', depends_on: i ? [`t${i - 1}`] : [] }));
    const plan = planWorkflow(validateWorkflow({ id: 'chain', tasks }));
    expect(plan.waves).toHaveLength(10_000);
    expect(plan.length).toBe(10_000);
  });
});

describe('planWorkflow: what each task would be sent', () => {
  const workflow = validateWorkflow(
    {
      id: 'w',
      inputs: { feature: 'search', branch: null },
      defaults: { timeout: 60, env: { CI: '1' } },
      tasks: [
        { id: 'plan', prompt: 'Plan {{inputs.feature}} on {{inputs.branch}}.', agent: 'planner', model: 'opus' },
        { id: 'build', prompt: 'Build:\n{{tasks.plan.output}}\n(continuing {{tasks.plan.session_id}}; keep \\{{literal}})', depends_on: ['plan'] },
        { id: 'test', command: ['npm', 'test', '--', '{{inputs.feature}}', '{{tasks.build.output}}'], depends_on: ['build'], cwd: '/repo', retry_delay: 0.5 },
      ],
    },
    { inputs: { branch: 'main' } },
  );

  it('renders inputs and shows task outputs as placeholders', () => {
    const plan = planWorkflow(workflow);
    const byId = Object.fromEntries(plan.tasks.map((t) => [t.id, t]));
    expect(byId.plan).toMatchObject({ kind: 'agent', agent: 'planner', model: 'opus', prompt: 'Plan search on main.', timeout: 60, env: { CI: '1' }, retryCount: 3 });
    expect(byId.build!.prompt).toBe('Build:\n<output of plan>\n(continuing <session id of plan>; keep {{literal}})');
    expect(byId.build!.agent).toBe('build');
    expect([byId.build!.retryDelay, byId.test!.retryDelay]).toEqual([undefined, 0.5]);
    expect(byId.test).toMatchObject({ kind: 'command', command: ['npm', 'test', '--', 'search', '<output of build>'], cwd: '/repo', dependsOn: ['build'] });
    expect(plan.inputs).toEqual({ feature: 'search', branch: 'main' });
  });

  it('is plain JSON, for --json', () => {
    const plan = planWorkflow(workflow);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('prints the waves, then each task with its prompt or command', () => {
    expect(formatWorkflowPlan(planWorkflow(workflow))).toBe(
      [
        'Dry run of w: 3 tasks in 3 waves, at most 5 at once. Nothing was started.',
        '',
        'Start order (if every task took the same time):',
        '  wave 1: plan',
        '  wave 2: build',
        '  wave 3: test',
        '',
        'plan (agent planner, model opus, timeout 60 s, 3 attempts)',
        '  env: CI=1',
        '  prompt:',
        '  | Plan search on main.',
        '',
        'build (agent build, model sonnet, after plan, timeout 60 s, 3 attempts)',
        '  env: CI=1',
        '  prompt:',
        '  | Build:',
        '  | <output of plan>',
        '  | (continuing <session id of plan>; keep {{literal}})',
        '',
        'test (command, after build, in /repo, timeout 60 s, 3 attempts, first retry within 0.5 s)',
        '  env: CI=1',
        "  $ npm test -- search '<output of build>'",
        '',
      ].join('\n'),
    );
  });

  it('prints start times for estimates, agent settings, and quotes what a shell would need quoted', () => {
    const wf = validateWorkflow({
      id: 'one',
      description: 'A single task.',
      tasks: [
        {
          id: 'a',
          prompt: 'x',
          max_turns: 4,
          allowed_tools: ['Read'],
          dangerously_skip_permissions: true,
          append_system_prompt: 'Be brief.\nVery.',
          retry_count: 1,
        },
        { id: 'b', command: ['echo', "it's", ''], depends_on: ['a'] },
      ],
    });
    const text = formatWorkflowPlan(planWorkflow(wf, { estimate: () => 2 }));
    expect(text).toContain('Dry run of one: 2 tasks in 2 waves, at most 5 at once. Nothing was started.\nA single task.\n');
    expect(text).toContain('Start order (by the given estimates):\n  wave 1 (at 0): a\n  wave 2 (at 2): b\n');
    expect(text).toContain('a (agent a, model sonnet, 1 attempt, max 4 turns, tools Read, permissions skipped)\n  appended to the system prompt:\n  | Be brief.\n  | Very.\n  prompt:\n  | x\n');
    expect(text).toContain(`  $ echo 'it'\\''s' ''\n`);
  });

  it('plans the example workflows', async () => {
    const sdlc = planWorkflow(await loadWorkflowFile('examples/sdlc.yaml'));
    expect(sdlc.waves.map((w) => w.taskIds)).toEqual([['plan'], ['build'], ['test', 'review'], ['document']]);
    const fleet = planWorkflow(await loadWorkflowFile('examples/review-fleet.yaml'));
    expect(fleet.waves.map((w) => w.taskIds)).toEqual([['tests', 'security', 'docs'], ['correctness'], ['summary']]);
  });
});
