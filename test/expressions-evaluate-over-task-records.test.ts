/**
 * CEL expressions over a run's inputs and task records: the value, or the error, each with the
 * values the expression saw; what an expression reads; variables a loop or fan-out adds.
 */
import { describe, expect, it } from 'vitest';
import { type ExpressionValues, type TaskRecord } from '../src/index.js';
import { checkExpression, evaluateCondition, evaluateExpression, taskVariables } from '../src/workflow/expression.js';
import { emptyTaskRecord } from '../src/workflow/workflow-result.js';

function record(taskId: string, fields: Partial<TaskRecord> & { json?: unknown }): TaskRecord {
  return { ...emptyTaskRecord(taskId), ...fields } as TaskRecord;
}

const records: Record<string, TaskRecord> = {
  classify: record('classify', { status: 'completed', output: 'bug', exitCode: 0, costUsd: 0.25, attempts: 2 }),
  review: record('review', { status: 'completed', output: '{"verdict":"approve"}', json: { verdict: 'approve', issues: [{ line: 3 }, { line: 9 }] } }),
  tests: record('tests', { status: 'failed', output: '2 failed', exitCode: 4 }),
  optional: record('optional', { status: 'skipped', skippedBy: 'when', reason: 'when: false is false' }),
};

const values: ExpressionValues = {
  inputs: { mode: 'fast', count: '3' },
  task: (id) => (records[id] ? taskVariables(records[id]!) : undefined),
};

describe('evaluating expressions', () => {
  it('reads inputs and every field of a task record', () => {
    expect(evaluateExpression('tasks.classify.output == "bug" && inputs.mode == "fast"', values)).toEqual({
      ok: true,
      value: true,
      seen: 'tasks.classify.output = "bug", inputs.mode = "fast"',
    });
    expect(evaluateExpression('tasks.classify.exit_code + tasks.classify.attempts', values)).toMatchObject({ ok: true, value: 2 });
    expect(evaluateExpression('tasks.classify.cost_usd * 4.0', values)).toMatchObject({ ok: true, value: 1 });
    expect(evaluateExpression('tasks.review.json.issues.map(i, i.line)', values)).toMatchObject({ ok: true, value: [3, 9] });
    expect(evaluateExpression('tasks["review"].json.verdict', values)).toMatchObject({ ok: true, value: 'approve', seen: 'tasks.review.json.verdict = "approve"' });
    expect(evaluateExpression('int(inputs.count) > 2', values)).toMatchObject({ ok: true, value: true });
    // a line printed by echo ends with its newline
    expect(evaluateExpression('tasks.tests.output + "\\n" == "2 failed\\n" && (tasks.tests.output + "\\n").trim() == "2 failed"', values)).toMatchObject({ ok: true, value: true });
    // a skipped task: empty output, no exit code, no json
    expect(evaluateExpression('[tasks.optional.status, tasks.optional.output]', values)).toMatchObject({ ok: true, value: ['skipped', ''] });
    expect(evaluateExpression('tasks.optional.exit_code == null && tasks.optional.json == null', values)).toMatchObject({ ok: true, value: true });
  });

  it('an evaluation error names what failed and the values seen', () => {
    const missing = evaluateExpression('tasks.review.json.score > 3', values);
    expect(missing).toEqual({ ok: false, error: 'No such key: score', seen: 'tasks.review.json.score = (missing)' });
    const unknownVar = evaluateExpression('nope == 1', values);
    expect(unknownVar).toMatchObject({ ok: false, error: 'Unknown variable: nope (column 1)' });
  });

  it('a condition: run, skip with the reason, or an error for a value that is not a boolean', () => {
    expect(evaluateCondition('tasks.tests.exit_code == 4', values)).toEqual({ run: true, seen: 'tasks.tests.exit_code = 4' });
    expect(evaluateCondition('tasks.tests.status == "completed"', values)).toEqual({
      run: false,
      reason: 'when: tasks.tests.status == "completed" is false (tasks.tests.status = "failed")',
      seen: 'tasks.tests.status = "failed"',
    });
    expect(evaluateCondition('tasks.tests.output', values)).toEqual({
      error: 'when: tasks.tests.output: gave "2 failed", not a boolean (tasks.tests.output = "2 failed")',
      problem: 'gave "2 failed", not a boolean',
      seen: 'tasks.tests.output = "2 failed"',
    });
    expect(evaluateCondition('size(tasks.tests.output) > "x"', values)).toMatchObject({ error: expect.stringContaining('when: size(tasks.tests.output) > "x": ') });
  });

  it('a loop or a fan-out adds its own variables (iteration, item, index)', () => {
    const extra = { extraVariables: ['item', 'index'] };
    expect(checkExpression('item.size > 2 && index < 3', extra).problems).toEqual([]);
    expect(checkExpression('item.size > 2').problems).toMatchObject([{ kind: 'unknown_name', name: 'item' }]);
    expect(evaluateExpression('item.name + ":" + string(index)', { ...values, extra: { item: { name: 'api' }, index: 2 } }, extra)).toMatchObject({ ok: true, value: 'api:2' });
  });

  it('lists what an expression reads', () => {
    const check = checkExpression('tasks.a.json.x.y == inputs.k || tasks["b-c"].status == "ok"');
    expect(check.problems).toEqual([]);
    expect(check.refs.filter((r) => r.kind !== 'variable')).toMatchObject([
      { kind: 'task', taskId: 'a', field: 'json', path: ['x', 'y'], text: 'tasks.a.json.x.y', offset: 0 },
      { kind: 'input', name: 'k', text: 'inputs.k' },
      { kind: 'task', taskId: 'b-c', field: 'status', path: [], text: 'tasks["b-c"].status' },
    ]);
    expect(check.type).toBe('bool');
  });
});
