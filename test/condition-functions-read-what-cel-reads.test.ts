/**
 * `evaluateCondition` takes a CEL expression or a TypeScript function, and gives both the same
 * values and the same outcome shape: a function reads `inputs`, `tasks.<id>` (a group's task by
 * full id or through the group, a group's fields its last task's), and `item`, `index`,
 * `iteration` where they exist; the reason or error shows what it read. The loops' `until` is
 * evaluated by the same function (`field: 'until'`). A checkpoint's markers are found by task
 * and field.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow, type ConditionValues, type ExpressionValues, type TaskRecord } from '../src/index.js';
import { conditionText, functionLabel, functionMarkers, isFunctionMarker } from '../src/workflow/condition-function.js';
import { evaluateCondition, taskVariables } from '../src/workflow/expression.js';
import { emptyTaskRecord } from '../src/workflow/workflow-result.js';

function record(taskId: string, fields: Partial<TaskRecord>): TaskRecord {
  return { ...emptyTaskRecord(taskId), status: 'completed', attempts: 1, ...fields };
}

/** The values of a run with these records (and groups), as the orchestrator gives them. */
function valuesOf(records: TaskRecord[], extra: Partial<ExpressionValues> = {}): ExpressionValues {
  const byId = new Map(records.map((r) => [r.taskId, r]));
  return { inputs: { mode: 'fast' }, task: (id) => (byId.has(id) ? taskVariables(byId.get(id)!) : undefined), ...extra };
}

describe('a condition function reads what CEL reads', () => {
  const values = valuesOf([
    record('plan', { output: 'p', json: { steps: ['a', 'b', 'c'], owner: { name: 'ana' } } }),
    record('fix-tests', { status: 'failed', exitCode: 1, output: '2 failed' }),
  ]);

  it('true, or false with the values it read (deepest paths, arrays whole, task ids that are not names quoted)', () => {
    expect(evaluateCondition(({ tasks }) => tasks.plan!.json.steps.length === 3, values)).toMatchObject({ run: true });
    const outcome = evaluateCondition(
      function ready({ tasks, inputs }) {
        return tasks.plan!.json.owner.name === 'bob' && tasks['fix-tests']!.status === 'failed' && inputs.mode === 'fast' && tasks.plan!.json.steps.length > 5;
      },
      values,
    );
    expect(outcome).toMatchObject({ run: false, reason: 'when: <function ready> is false (tasks.plan.json.owner.name = "ana")' });
    const all = evaluateCondition(({ tasks, inputs }) => tasks['fix-tests']!.exit_code === 1 && inputs.mode === 'fast' && inputs.other === undefined && tasks.plan!.json.steps.length > 5, values);
    expect(all).toMatchObject({ run: false, reason: 'when: <function> is false (tasks["fix-tests"].exit_code = 1, inputs.mode = "fast", tasks.plan.json.steps = ["a","b","c"])' });
  });

  it('a key that is not a name is quoted, and a path is dropped only for a longer one through it', () => {
    const keyed = valuesOf([record('a', { json: { 'my-key': 1, n: 2 } }), record('ab', { output: 'x' })]);
    const outcome = evaluateCondition(({ tasks }) => tasks.ab!.output === 'x' && tasks.a!.json['my-key'] === 2, keyed);
    expect(outcome).toMatchObject({ run: false, reason: 'when: <function> is false (tasks.ab.output = "x", tasks.a.json["my-key"] = 1)' });
  });

  it('item, index and iteration where they exist; `until` is named as such', () => {
    const inLoop = valuesOf([], { extra: { item: { title: 'docs' }, index: 2, iteration: 3 } });
    const done = ({ item, index, iteration }: ConditionValues) => item.title === 'docs' && index === 2 && iteration! > 3;
    expect(evaluateCondition(done, inLoop, { field: 'until' })).toMatchObject({ run: false, reason: 'until: <function done> is false (index = 2, iteration = 3, item.title = "docs")' });
    expect(evaluateCondition('iteration >= 3', inLoop, { field: 'until', extraVariables: ['iteration'] })).toMatchObject({ run: true });
  });

  it('reads inherited members as they are, and symbols, without noting them', () => {
    const outcome = evaluateCondition(({ tasks }) => {
      const tags = [Object.prototype.toString.call(tasks), Object.prototype.toString.call(tasks.plan), tasks.plan!.json.hasOwnProperty('steps') as boolean];
      return tags.join() === '[object Object],[object Object],true';
    }, values);
    expect(outcome).toMatchObject({ run: true });
  });

  it('a group’s task by its full id or through the group, and a group’s fields are its last task’s (nested groups too)', () => {
    const grouped = valuesOf(
      [record('g.a', { output: 'first' }), record('g.h.z', { status: 'failed', output: 'last' })],
      { groups: { g: ['g.a', 'g.h'], 'g.h': ['g.h.z'] } },
    );
    const read: unknown[] = [];
    evaluateCondition(({ tasks }) => {
      const g = tasks.g as unknown as Record<string | symbol, Record<string, unknown>>;
      read.push(tasks['g.a']!.output, g.a!.output, (g.h as unknown as Record<string, Record<string, unknown>>).z!.output, tasks.g!.status, tasks.g!.output, g[Symbol.iterator]);
      return true;
    }, grouped);
    expect(read).toEqual(['first', 'first', 'last', 'failed', 'last', undefined]);
    expect(evaluateCondition(({ tasks }) => tasks.g!.status === 'completed', grouped)).toMatchObject({ run: false, reason: 'when: <function> is false (tasks.g.status = "failed")' });
  });

  it('a combined condition (a group’s and its task’s) stops at the first part that is false or fails', () => {
    const workflow = validateWorkflow({
      id: 'w',
      tasks: [
        { id: 'a', command: ['x'] },
        { id: 'g', depends_on: ['a'], when: 'tasks.a.status == "completed"', tasks: [{ id: 'c', when: ({ tasks }: ConditionValues) => tasks.a!.output === 'yes', command: ['y'] }] },
        { id: 'h', depends_on: ['a'], when: () => true, tasks: [{ id: 'c', when: 'tasks.a.json.x == 1', command: ['y'] }] },
      ],
    });
    const [, gc, hc] = workflow.tasks;
    expect(conditionText(gc!.when!)).toBe('(tasks.a.status == "completed") && <function>');
    // It stands for its parts: evaluated one by one, never called as a whole.
    expect(() => (gc!.when as (v: ConditionValues) => boolean)({} as ConditionValues)).toThrow('a combined condition is evaluated part by part');
    expect(evaluateCondition(gc!.when!, valuesOf([record('a', { status: 'failed' })]))).toMatchObject({ run: false, reason: 'when: tasks.a.status == "completed" is false (tasks.a.status = "failed")' });
    expect(evaluateCondition(gc!.when!, valuesOf([record('a', { output: 'no' })]))).toMatchObject({ run: false, reason: 'when: <function> is false (tasks.a.output = "no")' });
    expect(evaluateCondition(hc!.when!, valuesOf([record('a', { output: 'no' })]))).toMatchObject({ error: 'when: tasks.a.json.x == 1: No such key: x (tasks.a.json.x = (missing))' });
  });
});

describe('function markers', () => {
  it('name a function by its name, or `<function>` for one written in place', () => {
    expect(functionLabel(function isBug() { return true; })).toBe('<function isBug>');
    expect(functionLabel(() => true)).toBe('<function>');
    const when = validateWorkflow({ id: 'w', tasks: [{ id: 'a', when: () => true, command: ['x'] }] }).tasks[0]!.when!;
    expect([functionLabel(when as () => boolean), JSON.stringify(when), conditionText('a == 1')]).toEqual(['<function>', '"<function>"', 'a == 1']);
  });

  it('are found in a stored workflow by task and field, `repeat.until` included; CEL is no marker', () => {
    expect(isFunctionMarker('tasks.a.output == "<function>"')).toBe(false);
    expect(isFunctionMarker(3)).toBe(false);
    const stored = {
      tasks: [
        { id: 'a', when: '<function isBug>' },
        { id: 'b', when: '(tasks.a.status == "completed") && <function>' },
        { id: 'c', when: 'tasks.a.output == "x"', repeat: { until: '<function approved>', max: 3 } },
        { id: 'd', repeat: { until: 'tasks.d.exit_code == 0', max: 3 } },
      ],
    };
    expect(functionMarkers(stored)).toEqual([
      { taskId: 'a', field: 'when', marker: '<function isBug>' },
      { taskId: 'b', field: 'when', marker: '(tasks.a.status == "completed") && <function>' },
      { taskId: 'c', field: 'repeat.until', marker: '<function approved>' },
    ]);
  });
});
