/**
 * A misspelt field is reported as an unknown field with the name probably meant, at task
 * level, at top level and in `defaults`, and does not set off a cascade of false errors.
 */
import { describe, expect, it } from 'vitest';
import { problems } from './helpers/problems.js';
import { closestName } from '../src/workflow/closest-name.js';

describe('a misspelt task field', () => {
  it('`promt` is named, with `prompt` suggested, and nothing else is reported', () => {
    expect(
      problems({
        id: 'w',
        tasks: [
          { id: 'a', promt: 'hello' },
          { id: 'b', prompt: 'use {{tasks.a.output}}', depends_on: ['a'] },
        ],
      }),
    ).toEqual(['tasks.a.promt: unknown field: did you mean `prompt`?']);
  });

  it('a misspelt `command` is named too, and its task still exists for depends_on', () => {
    expect(
      problems({
        id: 'w',
        tasks: [
          { id: 'build', comand: ['make'] },
          { id: 'test', command: ['make', 'test', '{{tasks.build.output}}'], depends_on: ['build'] },
        ],
      }),
    ).toEqual(['tasks.build.comand: unknown field: did you mean `command`?']);
  });

  it('names every misspelt field of a task that is otherwise valid, and still checks its templates', () => {
    expect(problems({ id: 'w', tasks: [{ id: 'a', prompt: '{{tasks.nowhere.output}}', modle: 'opus', dependson: [], retries: 2 }] })).toEqual([
      'tasks.a.modle: unknown field: did you mean `model`?',
      'tasks.a.dependson: unknown field: did you mean `depends_on`?',
      expect.stringMatching(/^tasks\.a\.retries: unknown field \(known: id, depends_on, retry_count, /),
      'tasks.a.prompt: {{tasks.nowhere.output}}: task "nowhere" does not exist',
    ]);
  });

  it('an agent setting on a command task says whose setting it is', () => {
    expect(problems({ id: 'w', tasks: [{ id: 'a', command: ['ls'], model: 'opus' }] })).toEqual([
      'tasks.a.model: is a setting of agent tasks (tasks with a `prompt`), not of command tasks',
    ]);
  });

  it('a task with neither prompt nor command nor a near miss still says what it needs', () => {
    expect(problems({ id: 'w', tasks: [{ id: 'a', model: 'opus' }] })).toEqual(['tasks.a: needs a `prompt` (agent task) or a `command` (command task)']);
  });
});

describe('a misspelt workflow field', () => {
  it('is named with its suggestion, or with the fields there are and the x- convention', () => {
    expect(problems({ id: 'w', max_paralel: 2, task: [], tasks: [{ id: 'a', prompt: 'x' }], anchors: {} })).toEqual([
      'max_paralel: unknown field: did you mean `max_parallel`?',
      'task: unknown field: did you mean `tasks`?',
      expect.stringMatching(/^anchors: unknown field \(known: id, description, tasks, .*\); top-level keys starting with `x-` are ignored \(for YAML anchors\)$/),
    ]);
  });

  it('in defaults is named as defaults.<field>, and per-task fields are refused there', () => {
    expect(problems({ id: 'w', defaults: { modle: 'opus', prompt: 'x', depends_on: [] }, tasks: [{ id: 'a', prompt: 'x' }] })).toEqual([
      'defaults.modle: unknown field: did you mean `model`?',
      'defaults.prompt: `prompt` is set in each task, not in `defaults`',
      'defaults.depends_on: `depends_on` is set in each task, not in `defaults`',
    ]);
  });
});

describe('closestName', () => {
  const known = ['id', 'prompt', 'model', 'depends_on', 'retry_count', 'allowed_tools', 'cwd', 'env'];

  it('takes up to two edits, a swap of neighbours counting as one, case and dashes ignored', () => {
    expect(closestName('promt', known)).toBe('prompt');
    expect(closestName('modle', known)).toBe('model');
    expect(closestName('cdw', known)).toBe('cwd');
    expect(closestName('Depends-On', known)).toBe('depends_on');
    expect(closestName('retry_cont', known)).toBe('retry_count');
  });

  it('takes a shortening of at least four letters', () => {
    expect(closestName('depends', known)).toBe('depends_on');
    expect(closestName('allowed', known)).toBe('allowed_tools');
  });

  it('suggests nothing when nothing is close (short names need a closer match)', () => {
    expect(closestName('ab', known)).toBeUndefined();
    expect(closestName('x', known)).toBeUndefined();
    expect(closestName('banana', known)).toBeUndefined();
    expect(closestName('ids', known)).toBe('id');
  });
});
