/**
 * Workflows in TypeScript: `when` may be a function of the values a CEL expression reads
 * (`inputs`, `tasks.<id>` with status/output/json/exit_code/cost_usd/attempts). A false
 * function skips its task with the reason (`when: <function isBug> is false (...)` and the
 * values it read); a throw or a non-boolean fails the task with EXPRESSION_ERROR. The
 * checkpoint stores `"<function name>"` in place of the function, so such a run resumes (and
 * reruns) only from the code that started it: without it, the library and the CLI say which
 * task and field need it. Runs go through the library with command tasks and the fake `claude`,
 * on both backends.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PermanentError,
  ValidationError,
  WorkflowOrchestrator,
  defineWorkflow,
  planWorkflow,
  validateWorkflow,
  type ConditionValues,
  type StateBackend,
  type TaskResult,
  type WorkflowResult,
} from '../src/index.js';
import { workflowDiagram } from '../src/visual/diagram.js';
import { backendFactories } from './helpers/backends.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { overrideProcessEnv } from './helpers/process-env.js';

let world: FakeWorld;
let restoreEnv: () => void;
const backends: StateBackend[] = [];
beforeEach(() => {
  world = fakeWorld();
  restoreEnv = overrideProcessEnv(world.env);
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  restoreEnv();
  world.cleanup();
});

function byId(result: WorkflowResult): Record<string, TaskResult> {
  return Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
}

const print = (text: string) => ['node', '-e', 'process.stdout.write(process.argv[1])', text];

function isFeature({ tasks }: ConditionValues): boolean {
  return tasks.classify!.json.route === 'feature';
}

/** A classifier (the fake agent's structured output) and two branches on its route, then a join. */
const triage = () =>
  defineWorkflow({
    id: 'triage',
    inputs: { team: 'core' },
    tasks: [
      {
        id: 'classify',
        prompt: 'Classify the issue [[structured:{"route":"bug"}]]',
        output_schema: { type: 'object', required: ['route'], properties: { route: { type: 'string' } } },
      },
      {
        id: 'fix',
        depends_on: ['classify'],
        when: ({ tasks, inputs }) => tasks.classify!.json.route === 'bug' && inputs.team === 'core' && tasks.classify!.status === 'completed',
        command: print('fixed'),
      },
      { id: 'feature', depends_on: ['classify'], when: isFeature, command: print('built') },
      { id: 'reply', depends_on: ['fix', 'feature'], command: print('reply: {{tasks.fix.output}}{{tasks.feature.output}}') },
    ],
  });

for (const factory of backendFactories()) {
  describe(`when as a function (${factory.name})`, () => {
    const orchestrator = async () => {
      const backend = await factory.create(world.stateDir);
      backends.push(backend);
      return new WorkflowOrchestrator({ stateBackend: backend, stateDir: world.stateDir, retry: { baseDelayMs: 1, jitter: 'none' } });
    };

    it('routes on a function of the classifier’s json: the branch taken runs, the other is skipped with the values its function read', async () => {
      const o = await orchestrator();
      const result = await o.runWorkflow(triage(), { runId: 'route' });
      const tasks = byId(result);
      expect(result.status).toBe('completed');
      expect(tasks.fix).toMatchObject({ status: 'completed', output: 'fixed' });
      expect(tasks.feature).toMatchObject({ status: 'skipped', skippedBy: 'when', reason: 'when: <function isFeature> is false (tasks.classify.json.route = "bug")' });
      expect(tasks.reply).toMatchObject({ status: 'completed', output: 'reply: fixed' });

      // The checkpoint holds no code: the function's marker stands in its place.
      const stored = (await o.stateBackend!.loadRun('route'))!.workflow;
      expect(JSON.parse(JSON.stringify(stored.tasks.map((t) => t.when ?? null)))).toEqual([null, '<function>', '<function isFeature>', null]);
      // The CLI reads such a run as any other.
      const backendFlag = factory.name.startsWith('Sqlite') ? ['--backend', 'sqlite'] : [];
      const status = await cli(['status', 'route', '--state-dir', world.stateDir, ...backendFlag]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('when: <function isFeature> is false (tasks.classify.json.route = "bug")');
    });

    it('a failed run whose workflow held functions goes on only with its code: without it CODE_REQUIRED names the task and field; other code is refused', async () => {
      const flag = join(world.root, 'flag');
      const spec = () =>
        defineWorkflow({
          id: 'gate',
          tasks: [
            { id: 'probe', command: ['node', '-e', 'process.exit(require("fs").existsSync(process.argv[1]) ? 0 : 3)', flag], retry_count: 1 },
            { id: 'deploy', depends_on: ['probe'], when: ({ tasks }) => tasks.probe!.exit_code === 0, command: print('deployed') },
          ],
        });
      const o = await orchestrator();
      const first = await o.runWorkflow(spec(), { runId: 'gate' });
      expect(first.status).toBe('failed');

      const error = await o.resume('gate', { retryFailed: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).toMatchObject({ code: 'CODE_REQUIRED', details: { functions: [{ taskId: 'deploy', field: 'when', marker: '<function>' }] } });
      expect((error as Error).message).toContain('task "deploy" when: <function>');

      // The CLI cannot hold the code either: a clear error (exit 2), nothing run or changed.
      const run = await cli(['resume', 'gate', '--retry-failed', '--state-dir', world.stateDir, ...(factory.name.startsWith('Sqlite') ? ['--backend', 'sqlite'] : [])]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('CODE_REQUIRED');
      expect(run.stderr).toContain('task "deploy" when: <function>');

      const changed = spec();
      changed.tasks[1] = { ...changed.tasks[1]!, command: print('deployed twice') } as (typeof changed.tasks)[number];
      const refused = await o.resume('gate', { retryFailed: true, workflow: changed }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).issues).toEqual([
        { path: 'workflow.tasks.deploy.command[3]', message: '"deployed twice" in the code, "deployed" in the run' },
      ]);

      const extended = spec();
      extended.tasks[1] = { ...extended.tasks[1]!, allow_failure: true } as (typeof extended.tasks)[number];
      await expect(o.resume('gate', { retryFailed: true, workflow: extended })).rejects.toMatchObject({
        issues: [{ path: 'workflow.tasks.deploy.allow_failure', message: 'true in the code, nothing in the run' }],
      });

      const { when: _dropped, ...unconditional } = spec().tasks[1] as { when?: unknown };
      await expect(o.resume('gate', { retryFailed: true, workflow: { ...spec(), tasks: [spec().tasks[0]!, unconditional as (typeof extended.tasks)[number]] } })).rejects.toMatchObject({
        issues: [{ path: 'workflow.tasks.deploy.when', message: 'nothing in the code, "<function>" in the run' }],
      });

      writeFileSync(flag, '');
      const resumed = await o.resume('gate', { retryFailed: true, workflow: spec() });
      expect(resumed.status).toBe('completed');
      expect(byId(resumed).deploy).toMatchObject({ status: 'completed', output: 'deployed' });

      // rerun too: from the code, or not at all.
      await expect(o.rerun('gate', { from: 'deploy', runId: 'gate-2' })).rejects.toMatchObject({ code: 'CODE_REQUIRED' });
      const again = await o.rerun('gate', { from: 'deploy', runId: 'gate-3', workflow: spec() });
      expect(byId(again).deploy).toMatchObject({ status: 'completed', output: 'deployed' });
    });
  });
}

describe('when as a function: errors', () => {
  const run = async (when: (v: ConditionValues) => unknown) => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const result = await o.runWorkflow(
      { id: 'errs', tasks: [{ id: 'a', command: print('{"n":1}'), output: 'json' }, { id: 'b', depends_on: ['a'], when, command: print('b') }] },
      { runId: 'errs' },
    );
    return byId(result).b!;
  };

  it('a function that throws fails its task with EXPRESSION_ERROR naming the task, the function, the error and what it read', async () => {
    const b = await run(function needsMissing({ tasks }) {
      return tasks.a!.json.missing.deeper === 1;
    });
    expect(b.status).toBe('failed');
    expect(b.error).toMatchObject({ code: 'EXPRESSION_ERROR', details: { taskId: 'b', field: 'when', expression: '<function needsMissing>' } });
    expect(b.error!.message).toBe(
      'Task "b": when: <function needsMissing>: threw TypeError: Cannot read properties of undefined (reading \'deeper\') (tasks.a.json.missing = (missing))',
    );
  });

  it('a thrown value that is not an Error is named as it is', async () => {
    const b = await run(() => {
      throw 'no route'; // eslint-disable-line no-throw-literal
    });
    expect(b.error!.message).toBe('Task "b": when: <function>: threw no route');
  });

  it('a result that is not a boolean is an error, and a Promise says conditions are synchronous', async () => {
    expect((await run(({ tasks }) => tasks.a!.output)).error!.message).toBe('Task "b": when: <function>: gave "{\\"n\\":1}", not a boolean (tasks.a.output = "{\\"n\\":1}")');
    expect((await run(async () => true)).error!.message).toBe('Task "b": when: <function>: gave a Promise (a condition function must be synchronous), not a boolean');
  });

  it('a function cannot change what it reads: the records stay as they were', async () => {
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const result = await o.runWorkflow(
      defineWorkflow({
        id: 'pure',
        tasks: [
          { id: 'a', command: print('{"n":1}'), output: 'json' },
          {
            id: 'b',
            depends_on: ['a'],
            when: ({ tasks }) => {
              const a = tasks.a!;
              a.json.n = 2;
              return a.json.n === 2;
            },
            command: print('b saw {{tasks.a.json.n}}'),
          },
          { id: 'c', depends_on: ['b'], when: ({ tasks }) => Reflect.set(tasks, 'a', null) || Reflect.deleteProperty(tasks, 'a'), command: print('c') },
        ],
      }),
    );
    const tasks = byId(result);
    expect(tasks.b).toMatchObject({ status: 'completed', output: 'b saw 1' });
    expect(tasks.c).toMatchObject({ status: 'skipped', reason: 'when: <function> is false' });
  });
});

describe('when as a function, in groups', () => {
  it('a group’s function and its task’s CEL both hold; the task reads a child by full id, a group’s field is its last task’s', async () => {
    const seen: unknown[] = [];
    const o = new WorkflowOrchestrator(null, { stateDir: world.stateDir });
    const spec = defineWorkflow({
      id: 'grouped',
      tasks: [
        { id: 'build', command: print('ok') },
        {
          id: 'checks',
          depends_on: ['build'],
          when: function built({ tasks }) {
            return tasks.build!.output === 'ok';
          },
          tasks: [
            { id: 'lint', command: print('clean') },
            { id: 'test', depends_on: ['lint'], when: 'tasks.checks.lint.output == "clean"', command: print('green') },
          ],
        },
        {
          id: 'ship',
          depends_on: ['checks'],
          when: ({ tasks }) => {
            const untyped = tasks as unknown as Record<string, Record<string, Record<string, unknown>>>;
            seen.push(tasks['checks.lint']!.output, untyped.checks!.lint!.output, tasks.checks!.output, 'checks' in tasks, 'nope' in tasks, (tasks as Record<string, unknown>).nope);
            return tasks.checks!.status === 'completed';
          },
          command: print('shipped'),
        },
        {
          id: 'skipped_group',
          depends_on: ['build'],
          when: 'tasks.build.output == "ok"',
          tasks: [{ id: 'inner', when: function never() { return false; }, command: print('x') }],
        },
      ],
    });
    const workflow = validateWorkflow(spec);
    expect(JSON.parse(JSON.stringify(workflow.tasks.find((t) => t.id === 'checks.test')!.when))).toBe('<function built> && (tasks["checks.lint"].output == "clean")');
    const result = await o.runWorkflow(spec);
    const tasks = byId(result);
    expect(tasks['checks.test']).toMatchObject({ status: 'completed' });
    expect(tasks.ship).toMatchObject({ status: 'completed', output: 'shipped' });
    expect(seen).toEqual(['clean', 'clean', 'green', true, false, undefined]);
    expect(tasks['skipped_group.inner']).toMatchObject({ status: 'skipped', reason: 'when: <function never> is false' });
  });
});

describe('a function condition is shown by its name', () => {
  it('dry run and diagram show `<function name>`, and validation does not read a function as CEL', () => {
    const workflow = validateWorkflow(triage());
    expect(planWorkflow(workflow).tasks.find((t) => t.id === 'feature')!.when).toBe('<function isFeature>');
    expect(workflowDiagram(workflow)).toContain('when: #60;function isFeature#62;');
    // A validated workflow validates again (runWorkflow does so), its functions kept.
    const again = validateWorkflow(workflow);
    expect(again.tasks[2]!.when).toBe(workflow.tasks[2]!.when);
  });

  it('the checkpoint file itself holds the marker', async () => {
    const o = new WorkflowOrchestrator({ stateDir: world.stateDir });
    await o.runWorkflow(triage(), { runId: 'file' });
    const text = readFileSync(join(world.stateDir, 'file', 'checkpoint.json'), 'utf8');
    expect(text).toMatch(/"when": ?"<function isFeature>"/);
  });
});
