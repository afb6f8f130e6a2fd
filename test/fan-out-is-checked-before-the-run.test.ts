/**
 * `validate` checks a fan-out before anything runs: its `for_each` is CEL over the task's
 * (transitive) dependencies and gives a list, `max_items` and `max_parallel` are in range and
 * only on a fan-out, `{{item}}` and `{{index}}` only inside one, `{{tasks.<id>.outputs}}` only
 * of one. Each problem names the task and field.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError, validateWorkflow, type WorkflowSpecInput } from '../src/index.js';

const echo = ['node', '-e', '1'];

function problems(spec: WorkflowSpecInput): string[] {
  try {
    validateWorkflow(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

/** plan → fan (a fan-out with `extra`) → after; `other` stands apart. */
function fanout(extra: Record<string, unknown>, after: Record<string, unknown> = {}): WorkflowSpecInput {
  return {
    id: 'fan',
    tasks: [
      { id: 'plan', command: echo, output: 'json' },
      { id: 'other', command: echo },
      { id: 'fan', depends_on: ['plan'], command: [...echo, '{{item}}', '{{item.title}}', '{{index}}'], ...extra },
      { id: 'after', depends_on: ['fan'], command: [...echo, '{{tasks.fan.outputs}}'], ...after },
    ],
  };
}

describe('for_each is validated', () => {
  it('accepts a list expression over a dependency, with max_items and max_parallel', () => {
    expect(problems(fanout({ for_each: 'tasks.plan.json.subtasks', max_items: 50, max_parallel: 2 }))).toEqual([]);
    expect(problems(fanout({ for_each: '[1, 2, 3]' }))).toEqual([]);
  });

  it('a syntax error, a task that is not a dependency, a value that is not a list', () => {
    expect(problems(fanout({ for_each: 'tasks.plan.json.' }))[0]).toMatch(/^tasks\.fan\.for_each: syntax error at column/);
    expect(problems(fanout({ for_each: 'tasks.other.json.list' }))).toEqual([
      'tasks.fan.for_each: tasks.other.json.list at column 1 of `tasks.other.json.list`: task "other" is not a (transitive) dependency of task "fan" (add "other" to its depends_on)',
    ]);
    expect(problems(fanout({ for_each: '"abc"' }))).toEqual(['tasks.fan.for_each: `"abc"` gives a string, not a list (for_each runs the task once per item of a list)']);
  });

  it('a fan-out cannot wait for an event or publish one (yet)', () => {
    const found = problems(fanout({ for_each: '[1]', wait_for: 'go', publish: 'done' }));
    expect(found).toContain('tasks.fan.wait_for: a fan-out task (for_each) cannot wait for an event yet: put wait_for on a task it depends on');
    expect(found).toContain('tasks.fan.publish: a fan-out task (for_each) cannot publish yet: put publish on a task that depends on it');
  });

  it('max_items is a whole number from 1 to 100000; max_parallel at least 1; both only on a fan-out', () => {
    expect(problems(fanout({ for_each: '[1]', max_items: 0 }))).toEqual(['tasks.fan.max_items: must be at least 1']);
    expect(problems(fanout({ for_each: '[1]', max_items: 100001 })).join('\n')).toContain('must be at most 100000');
    expect(problems(fanout({ for_each: '[1]', max_items: 1.5 })).join('\n')).toContain('must be a whole number');
    expect(problems(fanout({ for_each: '[1]', max_parallel: 0 })).join('\n')).toContain('must be at least 1');
    expect(problems(fanout({ for_each: '[1]' }, { max_items: 5 }))).toContain('tasks.after.max_items: is only for a fan-out task (one with for_each:)');
  });

  it('{{item}} and {{index}} outside a fan-out, and {{tasks.<id>.outputs}} of a task that is none', () => {
    const found = problems(fanout({}, { command: [...echo, '{{item}}', '{{index}}', '{{tasks.plan.outputs}}'], depends_on: ['fan', 'plan'] }));
    expect(found).toContain('tasks.fan.command[3]: {{item}} is only known in a fan-out (a task or group with for_each:)');
    expect(found).toContain('tasks.fan.command[5]: {{index}} is only known in a fan-out (a task or group with for_each:)');
    expect(found).toContain('tasks.after.command[3]: {{item}} is only known in a fan-out (a task or group with for_each:)');
    expect(found.find((p) => p.startsWith('tasks.after.command[5]'))).toContain('task "plan" is not a fan-out');
  });
});
