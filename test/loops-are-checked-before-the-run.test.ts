/**
 * Loops (`repeat`) and fan-outs over a group are checked before anything runs, each problem
 * naming the task and field: `max` missing, 0, 101 or not whole; an `until` reading a task
 * outside the loop that the loop does not depend on; a cycle inside a looping group; `item` /
 * `index` outside a fan-out and `iteration` / `previous` outside a loop; a `for_each` on a group
 * that gives no list; for_each and repeat together; a loop inside a looping group. A good one
 * is kept as one task with its body.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../src/index.js';
import { problems } from './helpers/problems.js';

const loopTask = (repeat: unknown) => ({ id: 'w', tasks: [{ id: 'fix', command: ['fix'], repeat }] });

describe('loops are checked before the run', () => {
  it('max is required, a whole number from 1 to 100 (on a task and on a group)', () => {
    expect(problems(loopTask({ until: 'true' }))).toEqual(['tasks.fix.repeat.max: is required: the most iterations the loop may run (1 to 100)']);
    expect(problems(loopTask({ until: 'true', max: 0 }))).toEqual(['tasks.fix.repeat.max: must be at least 1 (the most iterations the loop may run, up to 100)']);
    expect(problems(loopTask({ until: 'true', max: 101 }))).toEqual(['tasks.fix.repeat.max: must be at most 100']);
    const group = { id: 'w', tasks: [{ id: 'g', repeat: { until: 'true', max: 2.5 }, tasks: [{ id: 'a', command: ['a'] }] }] };
    expect(problems(group)).toEqual(['tasks.g.repeat.max: must be a whole number']);
    expect(problems(loopTask({ max: 3 }))).toContainEqual(expect.stringMatching(/^tasks\.fix\.repeat\.until: /));
    expect(problems(loopTask({ until: 'true', max: 'three' }))).toEqual([expect.stringMatching(/^tasks\.fix\.repeat\.max: /)]);
  });

  it('an until naming a task outside the loop that the loop does not depend on', () => {
    const spec = {
      id: 'w',
      tasks: [
        { id: 'other', command: ['x'] },
        { id: 'b', command: ['x'] },
        // Its own tasks (by local or full id, previous too) and its dependencies are fine.
        { id: 'g', depends_on: ['b'], repeat: { until: 'tasks.other.status == "completed" && tasks.b.output == "" && tasks.a.output == "" && tasks.g.a.output == "" && tasks.a.previous.output == ""', max: 3 }, tasks: [{ id: 'a', command: ['x'] }] },
      ],
    };
    expect(problems(spec)).toEqual([
      'tasks.g.repeat.until: tasks.other.status at column 1 of `tasks.other.status == "completed" && tasks.b.output == "" && tasks.a.output == "" && tasks["g.a"].output == "" && tasks.a.previous.output == ""`: task "other" is not a (transitive) dependency of task "g" (add "other" to its depends_on) (an until reads the loop\'s own tasks and what the loop depends on)',
    ]);
  });

  it('a cycle inside a looping group; a dependency that is no sibling', () => {
    const spec = { id: 'w', tasks: [{ id: 'g', repeat: { until: 'true', max: 3 }, tasks: [{ id: 'a', depends_on: ['b'], command: ['x'] }, { id: 'b', depends_on: ['a', 'zzz'], command: ['x'] }] }] };
    const found = problems(spec);
    expect(found).toContain('tasks.g.a.depends_on: dependency cycle: a → b → a');
    expect(found).toContain('tasks.g.b.depends_on: unknown task "zzz"');
  });

  it('item and index outside a fan-out, iteration and previous outside a loop', () => {
    const spec = {
      id: 'w',
      tasks: [
        { id: 'a', command: ['x'], when: 'item.kind == "x"' },
        { id: 'b', command: ['{{iteration}}'], when: 'iteration > 1' },
        { id: 'c', command: ['{{tasks.a.previous.output}}'], depends_on: ['a'] },
        { id: 'g', repeat: { until: 'true', max: 2 }, tasks: [{ id: 'd', command: ['{{item}}', '{{index}}'], when: 'index == 0' }] },
      ],
    };
    expect(problems(spec)).toEqual([
      'tasks.b.command[0]: {{iteration}} is only known in a loop (a task or group with repeat:)',
      "tasks.c.command[0]: {{tasks.a.previous.output}}: previous is only known in a loop (a task with repeat: reads its own, a looping group's tasks their siblings')",
      'tasks.a.when: `item` at column 1 of `item.kind == "x"` is only known inside a fan-out (a task\'s templates, or the tasks of a group with for_each)',
      'tasks.b.when: `iteration` at column 1 of `iteration > 1` is only known inside a loop (a task or group with repeat)',
      'tasks.g.d.command[0]: {{item}} is only known in a fan-out (a task or group with for_each:)',
      'tasks.g.d.command[1]: {{index}} is only known in a fan-out (a task or group with for_each:)',
      'tasks.g.d.when: `index` at column 1 of `index == 0` is only known inside a fan-out (a task\'s templates, or the tasks of a group with for_each)',
    ]);
  });

  it('a group’s tasks read their siblings (by dependency), previous in a loop, and what the group depends on', () => {
    const spec = {
      id: 'w',
      tasks: [
        { id: 'pre', command: ['x'] },
        {
          id: 'g',
          repeat: { until: 'true', max: 2 },
          tasks: [
            { id: 'a', command: ['{{tasks.nope.output}}', '{{tasks.b.output}}', '{{tasks.b.previous.output}}'], when: 'tasks.b.previous.stauts == "x" || tasks.b.previous.status == "x"' },
            { id: 'b', depends_on: ['a'], command: ['{{tasks.pre.output}}', '{{tasks.g.a.output}}'] },
          ],
        },
      ],
    };
    expect(problems(spec)).toEqual([
      'tasks.g.a.command[0]: {{tasks.nope.output}}: task "nope" does not exist',
      'tasks.g.a.command[1]: {{tasks.b.output}}: task "b" is not a (transitive) dependency of this task',
      'tasks.g.b.command[0]: {{tasks.pre.output}}: task "pre" is not a (transitive) dependency of this task',
      'tasks.g.a.when: tasks.b.previous.stauts at column 1 of `tasks.b.previous.stauts == "x" || tasks.b.previous.status == "x"`: unknown field "stauts" of task "b" (did you mean `status`?); its fields: status, output, json, exit_code, cost_usd, attempts (and previous, in a loop)',
    ]);
  });

  it('a for_each on a group that gives no list; for_each with repeat; publish on a loop; a loop inside a loop', () => {
    expect(problems({ id: 'w', tasks: [{ id: 'g', for_each: '"abc"', tasks: [{ id: 'a', command: ['{{item}}'] }] }] })).toEqual([
      'tasks.g.for_each: `"abc"` gives a string, not a list (for_each runs the task once per item of a list)',
    ]);
    const both = {
      id: 'w',
      tasks: [
        { id: 'g', for_each: '[1]', repeat: { until: 'true', max: 2 }, tasks: [{ id: 'a', command: ['x'] }] },
        { id: 't', command: ['x'], publish: 'x.done', wait_for: 'go', repeat: { until: 'true', max: 2 } },
      ],
    };
    expect(problems(both)).toEqual([
      'tasks.g.repeat: a task (or group) has either for_each or repeat, not both',
      'tasks.t.wait_for: a loop (repeat) cannot wait for an event yet: put wait_for on a task it depends on',
      'tasks.t.publish: a loop (repeat) cannot publish yet: put publish on a task that depends on it',
    ]);
    const nested = { id: 'w', tasks: [{ id: 'g', repeat: { until: 'true', max: 2 }, tasks: [{ id: 'a', command: ['x'], repeat: { until: 'true', max: 2 } }, { id: 'b', for_each: '[1]', tasks: [{ id: 'c', command: ['x'] }] }] }] };
    expect(problems(nested)).toEqual(['tasks.g.a: a loop or fan-out inside a looping group is not supported yet', 'tasks.g.b: a loop or fan-out inside a looping group is not supported yet']);
    const inFanout = { id: 'w', tasks: [{ id: 'g', for_each: '[1]', tasks: [{ id: 'a', command: ['x'], repeat: { until: 'true', max: 2 } }] }] };
    expect(problems(inFanout)).toEqual(['tasks.g.a: a loop or fan-out inside a fan-out group is not supported yet']);
  });

  it('a group’s own tasks are checked as tasks, named under the group', () => {
    const spec = {
      id: 'w',
      tasks: [
        { id: 'g', repeat: { until: 'true', max: 2 }, tasks: ['nope', { id: 'x' }, { id: 'y', prompt: 5 }, { id: 'w', command: ['w'] }, { id: 'z', depends_on: ['w'], command: ['z'], when: 'zzzzzz == 1 || tasks.w.qqqqqq == 1' }] },
        { id: 'h', repeat: { until: 'true', max: 2 }, tasks: 'nope' },
        { id: 'fan', for_each: '[1]', command: ['x'], output: 'json' },
        { id: 'after', depends_on: ['fan'], command: ['x'], when: 'tasks.fan.json.a == 1' },
        // A group's JSON is its last-declared task's; a child's, its own.
        { id: 'k', for_each: '[1]', tasks: [{ id: 'p', command: ['p'], output: 'json' }, { id: 'q', command: ['q'] }] },
        { id: 'read', depends_on: ['k'], command: ['{{tasks.k.p.json}}', '{{tasks.k.json}}', '{{tasks.k.q.json}}'] },
      ],
    };
    expect(problems(spec)).toEqual([
      'tasks.g.tasks[0]: must be an object with an id and a prompt or a command',
      'tasks.g.x: needs a `prompt` (agent task) or a `command` (command task)',
      'tasks.g.y.prompt: must be text (write prompt: "5", in quotes); got the number 5',
      'tasks.h.tasks: a group needs a list of at least one task',
      'tasks.read.command[1]: {{tasks.k.json}}: task "k" gives no JSON (give it an output_schema, or output: json on a command)',
      'tasks.read.command[2]: {{tasks.k.q.json}}: task "k.q" gives no JSON (give it an output_schema, or output: json on a command)',
      'tasks.g.z.when: unknown name "zzzzzz" at column 1 of `zzzzzz == 1 || tasks.w.qqqqqq == 1`; an expression reads inputs, tasks and iteration',
      'tasks.g.z.when: tasks.w.qqqqqq at column 16 of `zzzzzz == 1 || tasks.w.qqqqqq == 1`: unknown field "qqqqqq" of task "w"; its fields: status, output, json, exit_code, cost_usd, attempts (and previous, in a loop)',
    ]);
  });

  it('a looping or fan-out group is kept as one task with its body; plain groups inside it are flattened; outside, its children read through it', () => {
    const workflow = validateWorkflow({
      id: 'w',
      tasks: [
        {
          id: 'outer',
          tasks: [
            {
              id: 'g',
              description: 'one per item',
              when: '1 == 1',
              for_each: '[1, 2]',
              max_parallel: 2,
              tasks: [
                { id: 'a', command: ['{{item}}', '{{index}}'], when: 'item > 0 && index == 0' },
                { id: 'inner', depends_on: ['a'], tasks: [{ id: 'b', command: ['{{tasks.outer.g.a.output}}'], cache: { key: 'k-{{tasks.outer.g.a.output}}' } }] },
              ],
            },
          ],
        },
        { id: 'after', depends_on: ['outer'], command: ['{{tasks.outer.g.outputs}}', '{{tasks.outer.g.a.outputs}}'], when: 'tasks.outer.g.a.status == "x" || tasks.outer.g.status == "x"' },
      ],
    });
    expect(workflow.tasks.map((t) => [t.id, t.kind, t.depends_on])).toEqual([
      ['outer.g', 'group', []],
      ['after', 'command', ['outer.g']],
    ]);
    const group = workflow.tasks[0]!;
    expect(group.kind === 'group' && group.body.map((t) => [t.id, t.depends_on, t.kind === 'command' && t.command])).toEqual([
      ['a', [], ['{{item}}', '{{index}}']],
      ['inner.b', ['a'], ['{{tasks.a.output}}']],
    ]);
    expect(workflow.tasks[1]!.when).toBe('tasks["outer.g.a"].status == "x" || tasks["outer.g"].status == "x"');
    // The looping or fan-out group is no plain group: it is not in `groups` (its tasks exist per instance).
    expect(workflow.groups).toEqual({ outer: ['outer.g'] });
    // Validating a validated workflow gives it back (the CLI and resume do).
    expect(validateWorkflow(workflow)).toEqual(workflow);
  });
});
