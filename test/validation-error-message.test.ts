import { describe, expect, it } from 'vitest';
import { ValidationError, WorkflowOrchestrator } from '../src/index.js';
import { failureOf } from './helpers/failure-of.js';

describe('ValidationError message', () => {
  it('names the first three problems and how many more there are; issues keeps them all', () => {
    const issues = Array.from({ length: 5 }, (_, i) => ({ path: `tasks.t${i}.depends_on`, message: `unknown task "x${i}"` }));
    const error = new ValidationError('Invalid workflow in w.yaml: 5 problems', issues);
    expect(error.message).toBe(
      'Invalid workflow in w.yaml: 5 problems: tasks.t0.depends_on: unknown task "x0"; tasks.t1.depends_on: unknown task "x1"; ' +
        'tasks.t2.depends_on: unknown task "x2"; and 2 more',
    );
    expect(error.summary).toBe('Invalid workflow in w.yaml: 5 problems');
    expect(error.issues).toHaveLength(5);
    expect(error.toJSON().details).toEqual({ issues });
  });

  it('does not repeat a problem its summary already says, nor add anything without issues', () => {
    const parse = new ValidationError('Cannot read workflow file w.yaml: no such file', [{ path: 'w.yaml', message: 'no such file' }]);
    expect(parse.message).toBe('Cannot read workflow file w.yaml: no such file');
    expect(parse.unsaidIssues).toEqual([]);
    expect(new ValidationError('--input must be key=value, got "x"').message).toBe('--input must be key=value, got "x"');
  });

  it('is what a library caller sees from runWorkflow', async () => {
    const error = await failureOf(new WorkflowOrchestrator(null).runWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'x', depends_on: ['b'] }] }));
    expect(error.message).toBe('Invalid workflow: 1 problem: tasks.a.depends_on: unknown task "b"');
  });
});
