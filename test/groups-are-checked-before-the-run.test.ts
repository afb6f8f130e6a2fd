/**
 * A workflow with groups is checked before anything runs, each problem named with the task's
 * full id (`<group>.<child>`): a cycle inside a group, a child id clashing with another task, a
 * dependency that does not exist, a child a reference names that the group does not have,
 * fields a group does not take, an empty group.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../src/index.js';
import { problems } from './helpers/problems.js';


const group = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'g', tasks: [{ id: 'start', prompt: 'start' }, { id: 'fix', depends_on: ['start'], ...extra, tasks }] });

describe('groups are checked before the run', () => {
  it('a cycle inside a group is named with its path', () => {
    const found = problems(group([{ id: 'a', depends_on: ['b'], prompt: 'a' }, { id: 'b', depends_on: ['a'], prompt: 'b' }]));
    expect(found).toContainEqual('tasks.fix.a.depends_on: dependency cycle: fix.a → fix.b → fix.a');
  });

  it('a child id clashing with another task, or with a sibling', () => {
    const clash = { id: 'g', tasks: [{ id: 'fix.a', prompt: 'x' }, { id: 'fix', tasks: [{ id: 'a', prompt: 'a' }] }] };
    expect(problems(clash)).toContainEqual('tasks.fix.a.id: duplicate task id "fix.a"');
    expect(problems(group([{ id: 'a', prompt: 'a' }, { id: 'a', prompt: 'b' }]))).toContainEqual('tasks.fix.a.id: duplicate task id "fix.a"');
  });

  it('depends_on inside a group names a sibling or a full task id; anything else does not exist', () => {
    const outside = group([{ id: 'a', depends_on: ['start'], prompt: 'a' }]);
    expect(validateWorkflow(outside).tasks.find((t) => t.id === 'fix.a')!.depends_on).toEqual(['start']);
    expect(problems(group([{ id: 'a', depends_on: ['nope'], prompt: 'a' }]))).toContainEqual('tasks.fix.a.depends_on: unknown task "nope"');
  });

  it('a reference to a child the group does not have names the group’s tasks', () => {
    const spec = {
      id: 'g',
      tasks: [
        { id: 'fix', tasks: [{ id: 'test', prompt: 't' }, { id: 'resolve', prompt: 'r' }] },
        { id: 'ship', depends_on: ['fix'], when: 'tasks.fix.tset.status == "completed"', prompt: 'ship {{tasks.fix.resolv.output}}' },
      ],
    };
    const found = problems(spec);
    expect(found).toContainEqual('tasks.ship.when: tasks.fix.tset.status: group "fix" has no task "tset" (its tasks: test, resolve)');
    expect(found).toContainEqual('tasks.ship.prompt: tasks.fix.resolv.output: group "fix" has no task "resolv" (its tasks: test, resolve)');
  });

  it('a group takes no task settings (for_each and repeat it does); an empty group', () => {
    const found = problems(group([{ id: 'a', prompt: 'a' }], { for_each: '[1, 2]', model: 'opus' }));
    expect(found).toEqual(['tasks.fix.model: is not a field of a group (a group has id, tasks, depends_on, when, description, repeat, for_each, max_parallel, max_items, allow_failure; its tasks have the rest)']);
    expect(problems(group([]))).toContainEqual('tasks.fix.tasks: a group needs a list of at least one task');
    expect(problems(group([], { repeat: { until: 'true', max: 2 } }))).toContainEqual('tasks.fix.tasks: a group needs a list of at least one task');
  });

  it('a task of a group has no "." in its id', () => {
    expect(problems(group([{ id: 'a.b', prompt: 'a' }]))).toContainEqual('tasks.fix.a.b.id: a task of a group has an id without "." ("." joins a group\'s id and its tasks\' ids)');
  });
});
