/**
 * `validate` checks every `when:` expression before anything runs: CEL syntax (with the column),
 * unknown names, tasks that do not exist or are not (transitive) dependencies, unknown fields,
 * undeclared inputs, a value that cannot be a condition. Each problem names the task and field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError, validateWorkflow, type WorkflowSpecInput } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const echo = ['node', '-e', '1'];

/** A chain a → b → c, and d on its own; `when` goes on c. */
function withWhen(when: string): WorkflowSpecInput {
  return {
    id: 'checked',
    inputs: { mode: 'fast' },
    tasks: [
      { id: 'a', command: echo },
      { id: 'b', depends_on: ['a'], command: echo },
      { id: 'c', depends_on: ['b'], when, command: echo },
      { id: 'd', command: echo },
    ],
  };
}

function problems(when: string): string[] {
  try {
    validateWorkflow(withWhen(when));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('when: expressions are validated', () => {
  it('accepts expressions over inputs and transitive dependencies', () => {
    expect(problems('tasks.a.output == "x" && tasks.b.exit_code == 0 && inputs.mode == "fast"')).toEqual([]);
    expect(problems('tasks.a.status != "failed" || tasks["b"].cost_usd < 0.5 || tasks.b.attempts > 1')).toEqual([]);
    expect(problems('has(tasks.a.json.verdict) && tasks.a.json.verdict == "ok"')).toEqual([]);
    expect(problems('["x", "y"].exists(v, v == tasks.a.output)')).toEqual([]);
  });

  it('a syntax error names the column', () => {
    expect(problems('tasks.a.output == ')).toEqual(['tasks.c.when: syntax error at column 19 of `tasks.a.output == `: Unexpected token: EOF']);
    expect(problems('tasks.a.output == "x" &&& true')).toEqual([
      'tasks.c.when: syntax error at column 25 of `tasks.a.output == "x" &&& true`: Unexpected character: &',
    ]);
  });

  it('an unknown name, with the one probably meant', () => {
    expect(problems('taks.a.output == "x"')).toEqual([
      'tasks.c.when: unknown name "taks" at column 1 of `taks.a.output == "x"` (did you mean `tasks`?); an expression reads inputs and tasks',
    ]);
  });

  it('an unknown task, and a task that is not a dependency, naming both', () => {
    expect(problems('tasks.zz.output == "x"')).toEqual(['tasks.c.when: tasks.zz.output at column 1 of `tasks.zz.output == "x"`: task "zz" does not exist']);
    expect(problems('tasks.B.output == "x"')).toEqual([
      'tasks.c.when: tasks.B.output at column 1 of `tasks.B.output == "x"`: task "B" does not exist (did you mean "b"?)',
    ]);
    expect(problems('true && tasks.d.status == "completed"')).toEqual([
      'tasks.c.when: tasks.d.status at column 9 of `true && tasks.d.status == "completed"`: task "d" is not a (transitive) dependency of task "c" (add "d" to its depends_on)',
    ]);
  });

  it('an unknown field of a task, with its fields', () => {
    expect(problems('tasks.a.outptu == "x"')).toEqual([
      'tasks.c.when: tasks.a.outptu at column 1 of `tasks.a.outptu == "x"`: unknown field "outptu" of task "a" (did you mean `output`?); its fields: status, output, json, exit_code, cost_usd, attempts',
    ]);
    expect(problems('tasks.a.output.text == "x"')[0]).toContain('tasks.a.output has no fields (only json does)');
  });

  it('an input the workflow does not declare, and an expression that is not a condition', () => {
    expect(problems('inputs.mood == "x"')).toEqual(['tasks.c.when: inputs.mood at column 1 of `inputs.mood == "x"`: the workflow has no input "mood"']);
    expect(problems('"yes"')).toEqual(['tasks.c.when: `"yes"` gives a string, not a boolean (a condition is true or false)']);
    expect(problems('tasks == 1')[0]).toContain('tasks must be followed by a task id');
  });

  it('a multi-line expression names the line and column', () => {
    expect(problems('tasks.a.output == "x" &&\n  tasks.q.status == "ok"')[0]).toContain('at line 2, column 3 of');
  });

  it('agents-sdk validate reports them with exit code 2; allow_failure must be a boolean', async () => {
    const file = join(world.root, 'bad.yaml');
    writeFileSync(
      file,
      ['id: bad', 'tasks:', '  - id: a', '    command: [node, -e, "1"]', '    allow_failure: "yes"', '  - id: b', '    depends_on: [a]', '    when: tasks.a.output ==', '    command: [node, -e, "1"]', ''].join('\n'),
    );
    const out = await cli(['validate', file]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('tasks.b.when: syntax error at column');
    expect(out.stderr).toContain('tasks.a.allow_failure');
  });
});

describe('a path into a task output_schema', () => {
  const schema = {
    type: 'object',
    required: ['verdict'],
    properties: {
      verdict: { type: 'string', enum: ['approved', 'changes'] },
      issues: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } } } },
      meta: { type: 'object', additionalProperties: true },
    },
  };
  function issuesOf(when: string, prompt = 'fix it'): string[] {
    try {
      validateWorkflow({
        id: 'paths',
        tasks: [
          { id: 'review', command: echo, output_schema: schema },
          { id: 'fix', depends_on: ['review'], when, prompt },
        ],
      });
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
    }
  }

  it('is checked in expressions and templates, with a did-you-mean', () => {
    expect(issuesOf('tasks.review.json.verdict == "changes"')).toEqual([]);
    expect(issuesOf('tasks.review.json.meta.anything == "x"')).toEqual([]);
    expect(issuesOf('tasks.review.json.verdikt == "changes"')).toEqual([
      expect.stringMatching(/^tasks\.fix\.when: tasks\.review\.json\.verdikt at .*: task "review"'s output_schema: json has no field "verdikt" \(did you mean "verdict"\?\); the schema's fields: verdict, issues, meta$/),
    ]);
    expect(issuesOf('true', 'first: {{tasks.review.json.issues.0.title}}')).toEqual([]);
    expect(issuesOf('true', 'first: {{tasks.review.json.issues.0.titel}}')).toEqual([
      'tasks.fix.prompt: {{tasks.review.json.issues.0.titel}}: task "review"\'s output_schema: json.issues.0 has no field "titel" (did you mean "title"?); the schema\'s fields: title',
    ]);
    expect(issuesOf('true', '{{tasks.review.json.issues.first}}')).toEqual([
      'tasks.fix.prompt: {{tasks.review.json.issues.first}}: task "review"\'s output_schema: json.issues is a list: index it with a number (json.issues.0), not "first"',
    ]);
    expect(issuesOf('true', '{{tasks.review.json.verdict.x}}')).toEqual([
      'tasks.fix.prompt: {{tasks.review.json.verdict.x}}: task "review"\'s output_schema: json.verdict is a string: it has no field "x"',
    ]);
  });
});
