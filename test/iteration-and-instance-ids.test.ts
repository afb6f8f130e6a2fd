/**
 * The ids of instances and iterations (`impl[3]`, `impl[3].code`, `fix#2`,
 * `fix_tests#2.test`): what they say, the task each stands for (what `logs` and `stats` look
 * up), records ordered under their declared task, and `{{iteration}}` where a loop gives it.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../src/index.js';
import { declaredTaskOf, instanceId, iterationId, parseInstanceId, parseUnitId, withInstancesUnderTheirTask } from '../src/workflow/fan-out.js';
import { renderTemplate } from '../src/workflow/template.js';
import { memoryKeyValues } from '../src/workflow/template.js';

const workflow = validateWorkflow({
  id: 'ids',
  tasks: [
    { id: 'impl', for_each: '[1]', command: ['impl'] },
    { id: 'fix', command: ['fix'], repeat: { until: 'true', max: 2 } },
    { id: 'fix_tests', repeat: { until: 'true', max: 2 }, tasks: [{ id: 'test', command: ['test'] }, { id: 'resolve', depends_on: ['test'], prompt: 'resolve' }] },
    { id: 'grp', for_each: '[1]', tasks: [{ id: 'code', prompt: 'code' }] },
  ],
});

describe('instance and iteration ids', () => {
  it('are made and read back', () => {
    expect([instanceId('impl', 3), instanceId('impl', 3, 'code'), iterationId('fix', 2), iterationId('fix_tests', 2, 'test')]).toEqual(['impl[3]', 'impl[3].code', 'fix#2', 'fix_tests#2.test']);
    expect(parseUnitId('fix_tests#2.test')).toEqual({ of: 'fix_tests', kind: 'iteration', index: 2, child: 'test' });
    expect(parseUnitId('impl[3]')).toEqual({ of: 'impl', kind: 'instance', index: 3 });
    expect(parseUnitId('outer.g[0].inner.b')).toEqual({ of: 'outer.g', kind: 'instance', index: 0, child: 'inner.b' });
    expect(parseUnitId('plain.task')).toBeNull();
    expect(parseInstanceId('impl[3].code')).toEqual({ of: 'impl', index: 3 });
    expect(parseInstanceId('fix#2')).toBeNull();
  });

  it('stand for the task that runs: the declared task, or its group’s task of that name', () => {
    const kind = (id: string) => declaredTaskOf(workflow.tasks, id)?.kind;
    expect([kind('fix#2'), kind('impl[0]'), kind('fix_tests#2.test'), kind('fix_tests#1.resolve'), kind('grp[0].code')]).toEqual(['command', 'command', 'command', 'agent', 'agent']);
    // An id the workflow does not make is none.
    for (const id of ['fix_tests#2', 'fix_tests#2.nope', 'fix[0]', 'impl#1', 'fix#1.test', 'nope#1']) expect(declaredTaskOf(workflow.tasks, id), id).toBeUndefined();
  });

  it('order records under their declared task, by item or iteration, a group’s tasks as added', () => {
    const ids = ['fix_tests', 'fix_tests#2.test', 'fix', 'fix#2', 'fix_tests#1.test', 'fix_tests#1.resolve', 'fix#1', 'after'];
    expect(withInstancesUnderTheirTask(ids.map((taskId) => ({ taskId }))).map((r) => r.taskId)).toEqual([
      'fix_tests',
      'fix_tests#1.test',
      'fix_tests#1.resolve',
      'fix_tests#2.test',
      'fix',
      'fix#1',
      'fix#2',
      'after',
    ]);
  });

  it('{{iteration}} renders in a loop, stays as written elsewhere, and goes into a memory key as it is', () => {
    const base = { input: () => undefined, task: () => undefined };
    expect(renderTemplate('try {{iteration}}', { ...base, iteration: () => '2' })).toBe('try 2');
    expect(renderTemplate('try {{iteration}}', base)).toBe('try {{iteration}}');
    expect(memoryKeyValues({ ...base, iteration: () => '3' }).iteration!()).toBe('3');
  });
});
