/**
 * A workflow written in TypeScript is typed: `defineWorkflow` accepts every control-flow field
 * (`output_schema`, `output: 'json'`, `when` as CEL or a function, `allow_failure`, groups,
 * `for_each`/`max_items`/`max_parallel`, `repeat: { until, max, on_exhausted }`) and a wrong field
 * name or type does not compile. The `@ts-expect-error` lines are checked by `tsc --noEmit`
 * (which covers test/): each fails the typecheck if its line compiles. The same mistakes are
 * caught at run time by validation, for a spec that is not typed.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  defineWorkflow,
  validateWorkflow,
  type ConditionFn,
  type ConditionValues,
  type RepeatDefinition,
  type TaskDefinition,
  type TaskValues,
  type WorkflowDefinition,
} from '../src/index.js';

describe('a workflow in TypeScript is typed', () => {
  it('takes every control-flow field, with a condition as CEL or as a function', () => {
    const spec = defineWorkflow({
      id: 'typed',
      inputs: { issue: null, mode: 'fast' },
      defaults: { retry_count: 2, model: 'haiku' },
      tasks: [
        { id: 'plan', prompt: 'Plan {{inputs.issue}}', output_schema: { type: 'object', properties: { steps: { type: 'array' } } } },
        { id: 'probe', command: ['./probe.sh'], output: 'json', allow_failure: true },
        { id: 'impl', depends_on: ['plan'], for_each: 'tasks.plan.json.steps', max_items: 50, max_parallel: 4, prompt: 'Do {{item}}' },
        { id: 'cel', depends_on: ['probe'], when: 'tasks.probe.status == "failed"', command: ['true'] },
        { id: 'fn', depends_on: ['probe'], when: ({ tasks, inputs }) => tasks.probe!.exit_code === 0 && inputs.mode === 'fast', command: ['true'] },
        {
          id: 'fix_tests',
          depends_on: ['impl'],
          when: ({ tasks }) => tasks.impl.status === 'completed',
          tasks: [
            { id: 'test', command: ['npm', 'test'], allow_failure: true },
            { id: 'resolve', depends_on: ['test'], when: ({ tasks }) => tasks['fix_tests.test']!.status === 'failed', prompt: 'Fix: {{tasks.fix_tests.test.output}}' },
          ],
        },
        { id: 'review', depends_on: ['fix_tests'], prompt: 'Review', repeat: { until: ({ tasks, iteration }) => tasks.review!.json.ok === true || iteration === 3, max: 3, on_exhausted: 'continue' } },
        { id: 'loop', depends_on: ['fix_tests'], command: ['true'], repeat: { until: 'tasks.loop.exit_code == 0', max: 4 } },
      ],
    });
    // The ids are the workflow's own: a condition function reads tasks.<id> typed.
    expectTypeOf(spec).toEqualTypeOf<WorkflowDefinition<'plan' | 'probe' | 'impl' | 'cel' | 'fn' | 'fix_tests' | 'review' | 'loop'>>();
    // A spec typed as any workflow is still a WorkflowDefinition.
    const untyped: WorkflowDefinition = { id: 'u', tasks: [{ id: 'a', command: ['x'], when: ({ tasks }) => tasks.whatever!.status === 'completed' }] };
    expectTypeOf(defineWorkflow(untyped)).toEqualTypeOf<WorkflowDefinition>();
    expectTypeOf<ConditionValues['tasks'][string]>().toEqualTypeOf<TaskValues>();
    expectTypeOf<TaskValues['status']>().toEqualTypeOf<'pending' | 'waiting' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'cancelled'>();
    expectTypeOf<TaskValues['exit_code']>().toEqualTypeOf<number | null>();
    expectTypeOf<ConditionFn>().returns.toEqualTypeOf<boolean>();
    expectTypeOf<RepeatDefinition['on_exhausted']>().toEqualTypeOf<'fail' | 'continue' | undefined>();
    expect(spec.tasks).toHaveLength(8);
  });

  it('does not compile a misspelt field, a wrong type, or a field of another kind of task', () => {
    const mistakes: TaskDefinition[] = [
      // @ts-expect-error `dependson` is not a field
      { id: 'a', prompt: 'x', dependson: ['b'] },
      // @ts-expect-error `when` is CEL text or a function, not a boolean
      { id: 'a', prompt: 'x', when: true },
      // @ts-expect-error a condition function returns a boolean
      { id: 'a', prompt: 'x', when: () => 'yes' },
      // @ts-expect-error a condition function is synchronous
      { id: 'a', prompt: 'x', when: async () => true },
      // @ts-expect-error `for_each` is CEL text
      { id: 'a', prompt: 'x', for_each: ['a', 'b'] },
      // @ts-expect-error `max_items` is a number
      { id: 'a', prompt: 'x', for_each: 'inputs.list', max_items: '10' },
      // @ts-expect-error `allow_failure` is a boolean
      { id: 'a', command: ['x'], allow_failure: 'yes' },
      // @ts-expect-error `output` is `text` or `json`
      { id: 'a', command: ['x'], output: 'yaml' },
      // @ts-expect-error `output` is a command task's field
      { id: 'a', prompt: 'x', output: 'json' },
      // @ts-expect-error a task is an agent or a command, not both
      { id: 'a', prompt: 'x', command: ['y'] },
      // @ts-expect-error `model` is an agent task's field
      { id: 'a', command: ['x'], model: 'opus' },
      // @ts-expect-error a group has no prompt
      { id: 'g', tasks: [{ id: 'a', command: ['x'] }], prompt: 'x' },
      // @ts-expect-error a group's tasks are typed too
      { id: 'g', tasks: [{ id: 'a', comand: ['x'] }] },
      // @ts-expect-error `repeat` needs `max`
      { id: 'a', prompt: 'x', repeat: { until: 'true' } },
      // @ts-expect-error `on_exhausted` is `fail` or `continue`
      { id: 'a', prompt: 'x', repeat: { until: 'true', max: 3, on_exhausted: 'ignore' } },
      // @ts-expect-error `repeat.until` is a condition
      { id: 'a', prompt: 'x', repeat: { until: 3, max: 3 } },
    ];
    // @ts-expect-error `max_paralel` is not a workflow field
    defineWorkflow({ id: 'w', max_paralel: 2, tasks: [{ id: 'a', command: ['x'] }] });
    // @ts-expect-error `on_failure` is `stop` or `continue`
    defineWorkflow({ id: 'w', on_failure: 'retry', tasks: [{ id: 'a', command: ['x'] }] });
    defineWorkflow({
      id: 'w',
      // @ts-expect-error a condition function reads tasks that exist (`classify`, not `clasify`)
      tasks: [{ id: 'classify', command: ['x'] }, { id: 'b', depends_on: ['classify'], when: ({ tasks }) => tasks.clasify.status === 'completed', command: ['y'] }],
    });
    // A function written apart declares the tasks it reads; a workflow without them does not compile.
    const isFeature = ({ tasks }: ConditionValues<'classify'>) => tasks.classify.json.route === 'feature';
    defineWorkflow({ id: 'w', tasks: [{ id: 'classify', command: ['x'] }, { id: 'b', depends_on: ['classify'], when: isFeature, command: ['y'] }] });
    // @ts-expect-error the workflow has no task `classify` for isFeature to read
    defineWorkflow({ id: 'w', tasks: [{ id: 'sort', command: ['x'] }, { id: 'b', depends_on: ['sort'], when: isFeature, command: ['y'] }] });
    // @ts-expect-error `depends_on` names the workflow's tasks (or a group's task `<group>.<child>`)
    defineWorkflow({ id: 'w', tasks: [{ id: 'build', command: ['x'] }, { id: 'ship', depends_on: ['biuld'], command: ['y'] }] });
    defineWorkflow({ id: 'w', tasks: [{ id: 'g', tasks: [{ id: 'c', command: ['x'] }] }, { id: 'ship', depends_on: ['g.c'], command: ['y'] }] });
    defineWorkflow({
      id: 'w',
      // @ts-expect-error a condition function reads `tasks.<id>` fields that exist
      tasks: [{ id: 'a', command: ['x'] }, { id: 'b', depends_on: ['a'], when: ({ tasks }) => tasks.a!.stauts === 'completed', command: ['y'] }],
    });

    // Without the types (a spec from JSON, or `as any`), validation names the same mistakes.
    const problems = mistakes.slice(0, 2).map((task) => {
      try {
        validateWorkflow({ id: 'w', tasks: [task] });
        return 'valid';
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(problems[0]).toContain('tasks.a.dependson: unknown field: did you mean `depends_on`?');
    expect(problems[1]).toContain('tasks.a.when: must be a CEL condition (text), e.g. when: tasks.test.status == "failed" (or, in a workflow built in code, a function); got true');
  });
});
