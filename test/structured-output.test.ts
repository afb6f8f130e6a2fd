/**
 * Structured output, as the README describes it: `output_schema:` on an agent task (Claude
 * Code's `--json-schema`, through the fake `claude` speaking as CLI 2.1.197 does), `output: json`
 * and `output_schema` on a command task, the record's `json` read by dependants through
 * `{{tasks.<id>.json...}}`, kept across a resume on both backends, and the validation errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type AgentsSdkError, type WorkflowResult } from '../src/index.js';
import { backendFactories } from './helpers/backends.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const backends = backendFactories().map((b) => (b.name.startsWith('Sqlite') ? 'sqlite' : 'json'));

const VERDICT = `{type: object, required: [verdict, issues], properties: {verdict: {type: string, enum: [approved, changes]}, issues: {type: array, items: {type: string}}}}`;

function workflow(lines: string[], name = 'wf.yaml'): string {
  const file = join(world.root, name);
  writeFileSync(file, ['id: structured', ...lines, ''].join('\n'));
  return file;
}

async function run(file: string, extra: string[] = []): Promise<{ code: number; result: WorkflowResult; stderr: string }> {
  const out = await cli(['run', file, '--json', '--state-dir', world.stateDir, ...extra], world.env);
  return { code: out.code, result: JSON.parse(out.stdout) as WorkflowResult, stderr: out.stderr };
}

const task = (result: WorkflowResult, id: string) => result.taskResults.find((t) => t.taskId === id)!;

/** The raw stream lines of an attempt, parsed. */
function streamOf(runId: string, taskId: string, attempt = 1): Array<Record<string, unknown>> {
  const name = attempt > 1 ? `raw_output.attempt-${attempt}.jsonl` : 'raw_output.jsonl';
  return readFileSync(join(world.stateDir, runId, taskId, name), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('an agent task with output_schema', () => {
  it('passes the schema as --json-schema and keeps the StructuredOutput object as the record json; a dependant reads its fields', async () => {
    const file = workflow([
      'tasks:',
      '  - id: review',
      `    prompt: 'review the change [[structured:{"verdict":"changes","issues":["no tests","typo in README"]}]]'`,
      `    output_schema: ${VERDICT}`,
      '  - id: fix',
      '    prompt: "verdict={{tasks.review.json.verdict}} first={{tasks.review.json.issues.0}} all={{tasks.review.json.issues}} whole={{tasks.review.json}} [[echo]]"',
      '    depends_on: [review]',
    ]);
    const { code, result } = await run(file, ['--run-id', 's1']);
    expect(code).toBe(0);
    expect(task(result, 'review').json).toEqual({ verdict: 'changes', issues: ['no tests', 'typo in README'] });
    // the agent's result text is the same object as JSON
    expect(JSON.parse(task(result, 'review').output!)).toEqual(task(result, 'review').json);
    expect(task(result, 'fix').output).toBe(
      'verdict=changes first=no tests all=["no tests","typo in README"] whole={"verdict":"changes","issues":["no tests","typo in README"]} [[echo]]',
    );
    // what claude was given: the schema, as JSON
    const call = world.invocations().find((i) => String(i.prompt).startsWith('review'))!;
    const argv = call.argv as string[];
    const schema = JSON.parse(argv[argv.indexOf('--json-schema') + 1]!) as Record<string, unknown>;
    expect(schema.required).toEqual(['verdict', 'issues']);
    expect(world.invocations().find((i) => String(i.prompt).startsWith('verdict'))!.argv).not.toContain('--json-schema');
  });

  it('a mismatching StructuredOutput call is asked again by Claude Code: the attempt succeeds with the second object', async () => {
    const file = workflow([
      'tasks:',
      '  - id: review',
      `    prompt: 'review [[structured-invalid:{"verdict":"maybe"}]] [[structured:{"verdict":"approved","issues":[]}]]'`,
      `    output_schema: ${VERDICT}`,
    ]);
    const { code, result } = await run(file, ['--run-id', 's2']);
    expect(code).toBe(0);
    expect(task(result, 'review')).toMatchObject({ status: 'completed', attempts: 1, json: { verdict: 'approved', issues: [] } });
    const results = streamOf('s2', 'review').filter((l) => l.type === 'user');
    expect(JSON.stringify(results[0])).toContain("Output does not match required schema: root: must have required property 'issues', /verdict: must be equal to one of the allowed values");
  });

  it('a model that never calls StructuredOutput fails the attempt with OUTPUT_SCHEMA, retried under retry_count, then the task fails naming itself', async () => {
    const file = workflow([
      'tasks:',
      '  - id: review',
      '    prompt: "review [[structured-never]] [[reply:looks fine to me]]"',
      `    output_schema: ${VERDICT}`,
      '    retry_count: 2',
      '    retry_delay: 0.01',
    ]);
    const { code, result } = await run(file, ['--run-id', 's3']);
    expect(code).toBe(1);
    const review = task(result, 'review');
    expect(review.status).toBe('failed');
    expect(review.attempts).toBe(2);
    expect(review.attemptLog.map((a) => a.error?.code)).toEqual(['OUTPUT_SCHEMA', 'OUTPUT_SCHEMA']);
    expect(review.error).toMatchObject({ code: 'OUTPUT_SCHEMA', transient: true });
    expect(review.error!.message).toContain('Task "review"');
    expect(review.error!.message).toContain('never called the StructuredOutput tool');
    expect(review.error!.message).toContain('looks fine to me');
    expect(review.json).toBeUndefined();
  });

  it('a model that complies on the retry completes the task', async () => {
    const file = workflow([
      'tasks:',
      '  - id: review',
      '    prompt: "review [[structured-never:1]]"',
      `    output_schema: ${VERDICT}`,
      '    retry_delay: 0.01',
    ]);
    const { code, result } = await run(file, ['--run-id', 's4']);
    expect(code).toBe(0);
    // the fake's default object satisfies the schema: every property, the enum's first value
    expect(task(result, 'review')).toMatchObject({ status: 'completed', attempts: 2, json: { verdict: 'approved', issues: [] } });
    expect(task(result, 'review').attemptLog[0]!.error!.code).toBe('OUTPUT_SCHEMA');
  });

  it('reads its schema from a JSON or YAML file beside the workflow', async () => {
    writeFileSync(join(world.root, 'plan.schema.json'), JSON.stringify({ type: 'object', required: ['steps'], properties: { steps: { type: 'array', minItems: 2, items: { type: 'string' } } } }));
    writeFileSync(join(world.root, 'count.schema.yaml'), 'type: object\nrequired: [n]\nproperties: {n: {type: integer, minimum: 3}}\n');
    const file = workflow([
      'tasks:',
      '  - id: plan',
      '    prompt: "plan"',
      '    output_schema: plan.schema.json',
      '  - id: count',
      '    prompt: "count"',
      '    output_schema: ./count.schema.yaml',
    ]);
    const { code, result } = await run(file, ['--run-id', 's5']);
    expect(code).toBe(0);
    expect(task(result, 'plan').json).toEqual({ steps: ['text', 'text'] });
    expect(task(result, 'count').json).toEqual({ n: 3 });
  });
});

describe('a task answered from memory (cache:)', () => {
  it('gets its json back from the stored JSON text, for dependants to read', async () => {
    const file = workflow([
      'tasks:',
      '  - id: plan',
      `    prompt: 'plan [[structured:{"steps":["lint","test"]}]]'`,
      '    output_schema: {type: object, properties: {steps: {type: array}}}',
      '    cache: {key: plan}',
      '  - id: show',
      '    command: [echo, "{{tasks.plan.json.steps.1}}"]',
      '    depends_on: [plan]',
    ]);
    const first = await run(file, ['--run-id', 'm1']);
    expect(first.code).toBe(0);
    const second = await run(file, ['--run-id', 'm2']);
    expect(second.code).toBe(0);
    expect(task(second.result, 'plan')).toMatchObject({ cached: true, json: { steps: ['lint', 'test'] } });
    expect(task(second.result, 'show').output).toBe('test');
    expect(world.invocations().filter((i) => String(i.prompt).startsWith('plan'))).toHaveLength(1);
  });

  it('runs when its entry is not JSON (stored before it had a schema)', async () => {
    const stored = await cli(['memory', 'set', 'lint-plan', 'lint everything', '--state-dir', world.stateDir], world.env);
    expect(stored.code, stored.stderr).toBe(0);
    const file = workflow(['tasks:', '  - id: plan', `    prompt: 'plan [[structured:{"steps":["lint"]}]]'`, '    output_schema: {type: object}', '    cache: {key: lint-plan}']);
    const { code, result } = await run(file, ['--run-id', 'm3']);
    expect(code).toBe(0);
    expect(task(result, 'plan').cached).toBeUndefined();
    expect(task(result, 'plan').json).toEqual({ steps: ['lint'] });
    expect(world.invocations().filter((i) => String(i.prompt).startsWith('plan'))).toHaveLength(1);
  });
});

describe('a command task with output: json', () => {
  const node = (code: string) => `[node, -e, ${JSON.stringify(code)}]`;

  it('parses stdout as JSON, for dependants to read', async () => {
    const file = workflow([
      'tasks:',
      '  - id: list',
      `    command: ${node('console.log(JSON.stringify({items: [{title: "first"}, {title: "second", n: 2}]}))')}`,
      '    output: json',
      '  - id: show',
      '    command: [echo, "{{tasks.list.json.items.1.title}} {{tasks.list.json.items.1}} {{tasks.list.json.items.5.title}}."]',
      '    depends_on: [list]',
    ]);
    const { code, result } = await run(file, ['--run-id', 'c1']);
    expect(code).toBe(0);
    expect(task(result, 'list').json).toEqual({ items: [{ title: 'first' }, { title: 'second', n: 2 }] });
    expect(task(result, 'show').output).toBe('second {"title":"second","n":2} .');
    expect(task(result, 'show').json).toBeUndefined();
  });

  it('fails with OUTPUT_SCHEMA when stdout is not JSON, naming the parse error and the first bytes', async () => {
    const file = workflow(['tasks:', '  - id: list', '    command: [echo, "items: one, two"]', '    output: json', '    retry_count: 1']);
    const { code, result } = await run(file, ['--run-id', 'c2']);
    expect(code).toBe(1);
    const error = task(result, 'list').error!;
    expect(error.code).toBe('OUTPUT_SCHEMA');
    expect(error.message).toMatch(/^Task "list": stdout is not JSON \(output: json\): Unexpected token [^\n]*; stdout began/);
    expect(error.message).toContain('stdout began "items: one, two"');
  });

  it('with output_schema, checks the JSON and names each path that breaks it and what was expected', async () => {
    const file = workflow([
      'tasks:',
      '  - id: list',
      `    command: ${node('console.log(JSON.stringify({items: [{title: 7}], extra: true}))')}`,
      '    output_schema: {type: object, required: [items, total], additionalProperties: false, properties: {items: {type: array, items: {type: object, properties: {title: {type: string}}}}, total: {type: integer}}}',
      '    retry_count: 2',
      '    retry_delay: 0.01',
    ]);
    const { code, result } = await run(file, ['--run-id', 'c3']);
    expect(code).toBe(1);
    const list = task(result, 'list');
    expect(list.attempts).toBe(2);
    expect(list.error!.code).toBe('OUTPUT_SCHEMA');
    expect(list.error!.message).toContain('Task "list": stdout does not match its output_schema');
    expect(list.error!.message).toContain("(root): must have required property 'total'");
    expect(list.error!.message).toContain('(root): has unexpected property "extra"');
    expect(list.error!.message).toContain('/items/0/title: must be string');
  });

  it('takes schemas with the same $id and $refs inside them', async () => {
    const file = workflow([
      'tasks:',
      '  - id: a',
      '    command: [echo, \'{"n": 1}\']',
      '    output_schema: {$id: "https://example.com/out.json", type: object, properties: {n: {$ref: "#/definitions/count"}}, definitions: {count: {type: integer}}}',
      '  - id: b',
      '    command: [echo, \'{"n": "one"}\']',
      '    output_schema: {$id: "https://example.com/out.json", type: object, properties: {n: {type: string}}}',
    ]);
    const { code, result } = await run(file, ['--run-id', 'c5']);
    expect(code).toBe(0);
    expect([task(result, 'a').json, task(result, 'b').json]).toEqual([{ n: 1 }, { n: 'one' }]);
  });

  it('with output_schema alone, parses and checks stdout (output: json is implied)', async () => {
    const file = workflow(['tasks:', '  - id: n', `    command: ${node('console.log("[1, 2, 3]")')}`, '    output_schema: {type: array, items: {type: integer}}']);
    const { code, result } = await run(file, ['--run-id', 'c4']);
    expect(code).toBe(0);
    expect(task(result, 'n').json).toEqual([1, 2, 3]);
  });
});

describe('runCommand({ outputJson, outputSchema })', () => {
  const failure = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as AgentsSdkError);

  it('says so when stdout is empty, or was cut to its tail; lists at most five violations', async () => {
    const empty = await failure(runCommand({ command: ['true'], outputJson: true }));
    expect(empty).toMatchObject({ code: 'OUTPUT_SCHEMA', transient: true });
    expect(empty!.message).toMatch(/^Task "command": stdout is not JSON \(output: json\): .*; stdout was empty$/);

    const cut = await failure(runCommand({ command: ['node', '-e', 'console.log(JSON.stringify({a: "x".repeat(100)}))'], outputJson: true, maxOutputChars: 20, taskId: 'big' }));
    expect(cut!.message).toContain('Task "big": stdout is not JSON (output: json): stdout is larger than the record keeps');

    const many = await failure(
      runCommand({ command: ['echo', '[1,2,3,4,5,6,7]'], outputSchema: { type: 'array', items: { type: 'string' } }, taskId: 'nums' }),
    );
    expect(many!.message).toMatch(/^Task "nums": stdout does not match its output_schema: \/0: must be string; .*\/4: must be string; and 2 more$/);
    expect(many!.details!.violations).toHaveLength(7);
    expect(many!.result!.json).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe.each(backends)('the record json (%s backend)', (backend) => {
  it('survives a resume: a task rerun after a failure reads the json of a task completed before', async () => {
    const state = ['--backend', backend];
    const file = workflow([
      'tasks:',
      '  - id: plan',
      `    prompt: 'plan [[structured:{"steps":["a","b"]}]]'`,
      '    output_schema: {type: object, properties: {steps: {type: array, items: {type: string}}}}',
      '  - id: build',
      '    prompt: "build {{tasks.plan.json.steps.1}} [[transient:1]] [[echo]]"',
      '    depends_on: [plan]',
      '    retry_count: 1',
    ]);
    const first = await run(file, ['--run-id', 'r1', ...state]);
    expect(first.code).toBe(1);
    expect(task(first.result, 'build').status).toBe('failed');
    const resumed = await cli(['resume', 'r1', '--retry-failed', '--json', '--state-dir', world.stateDir, ...state], world.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as WorkflowResult;
    expect(task(result, 'build').output).toBe('build b [[transient:1]] [[echo]]');
    // plan ran once, in the first process; its json came from the stored record
    expect(world.invocations().filter((i) => String(i.prompt).startsWith('plan'))).toHaveLength(1);
    const status = await cli(['status', 'r1', '--json', '--state-dir', world.stateDir, ...state], world.env);
    expect(status.stdout).toContain('"steps"');
  });
});

describe('validate', () => {
  async function problems(lines: string[]): Promise<{ code: number; issues: Array<{ path: string; message: string }> }> {
    const out = await cli(['validate', workflow(lines), '--json'], world.env);
    return { code: out.code, issues: (JSON.parse(out.stdout) as { issues: Array<{ path: string; message: string }> }).issues };
  }

  it('refuses a schema that is not a valid JSON Schema, naming the task and field (exit 2)', async () => {
    const { code, issues } = await problems(['tasks:', '  - id: review', '    prompt: go', '    output_schema: {type: strng}']);
    expect(code).toBe(2);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('tasks.review.output_schema');
    expect(issues[0]!.message).toMatch(/^is not a valid JSON Schema: \(schema\)\/type must be equal to one of the allowed values/);
  });

  it('refuses a schema file that does not exist, or is not a schema', async () => {
    writeFileSync(join(world.root, 'list.json'), '[1, 2]');
    const { code, issues } = await problems([
      'tasks:',
      '  - id: a',
      '    prompt: go',
      '    output_schema: schemas/missing.json',
      '  - id: b',
      '    command: [echo, "{}"]',
      '    output_schema: list.json',
    ]);
    expect(code).toBe(2);
    expect(issues).toEqual([
      { path: 'tasks.a.output_schema', message: `schema file ${join(world.root, 'schemas/missing.json')} does not exist` },
      { path: 'tasks.b.output_schema', message: 'list.json must be a JSON Schema object (or the path of a file holding one)' },
    ]);
  });

  it('refuses a schema file that does not parse, and takes a 2019-09 one', async () => {
    writeFileSync(join(world.root, 'broken.yaml'), 'type: [object\n');
    writeFileSync(join(world.root, 'ok.json'), JSON.stringify({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', unevaluatedProperties: false }));
    const { code, issues } = await problems(['tasks:', '  - id: a', '    prompt: go', '    output_schema: broken.yaml', '  - id: b', '    prompt: go', '    output_schema: ok.json']);
    expect(code).toBe(2);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('tasks.a.output_schema');
    expect(issues[0]!.message).toContain(`cannot parse schema file ${join(world.root, 'broken.yaml')}`);
  });

  it('refuses {{tasks.<id>.json}} of a task that gives no JSON, and output: json on an agent task', async () => {
    const { code, issues } = await problems([
      'tasks:',
      '  - id: a',
      '    prompt: go',
      '  - id: b',
      '    command: [echo, "{{tasks.a.json.x}}"]',
      '    depends_on: [a]',
      '  - id: c',
      '    prompt: go',
      '    output: json',
    ]);
    expect(code).toBe(2);
    expect(issues).toContainEqual({
      path: 'tasks.b.command[1]',
      message: '{{tasks.a.json.x}}: task "a" gives no JSON (give it an output_schema, or output: json on a command)',
    });
    expect(issues).toContainEqual({ path: 'tasks.c.output', message: 'is a setting of command tasks (tasks with a `command`); an agent task gives JSON with output_schema' });
  });

  it('output: text contradicts output_schema on a command; output_schema is set per task, not in defaults', async () => {
    const { code, issues } = await problems([
      'defaults: {output_schema: {type: object}}',
      'tasks:',
      '  - id: a',
      '    command: [echo, "{}"]',
      '    output: text',
      '    output_schema: {type: object}',
    ]);
    expect(code).toBe(2);
    expect(issues).toContainEqual({ path: 'tasks.a.output', message: 'is text, but output_schema checks JSON: write output: json (or leave it out)' });
    expect(issues).toContainEqual({ path: 'defaults.output_schema', message: '`output_schema` is set in each task, not in `defaults`' });
  });

  it('accepts a 2020-12 schema and {{tasks.<id>.json}} of a task with one', async () => {
    const out = await cli(
      [
        'validate',
        workflow([
          'tasks:',
          '  - id: a',
          '    prompt: go',
          '    output_schema: {$schema: "https://json-schema.org/draft/2020-12/schema", type: object, prefixItems: [{type: string}]}',
          '  - id: b',
          '    prompt: "{{tasks.a.json}}"',
          '    depends_on: [a]',
        ]),
      ],
      world.env,
    );
    expect(out.code, out.stdout + out.stderr).toBe(0);
  });
});

describe('run --dry-run', () => {
  it('shows where a prompt reads json and what JSON each task gives', async () => {
    const file = workflow([
      'tasks:',
      '  - id: review',
      '    prompt: go',
      '    output_schema: {type: object, required: [verdict]}',
      '  - id: list',
      '    command: [echo, "[]"]',
      '    output: json',
      '  - id: fix',
      '    prompt: "fix {{tasks.review.json.verdict}} from {{tasks.review.json}}"',
      '    depends_on: [review]',
    ]);
    const out = await cli(['run', file, '--dry-run'], world.env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('  | fix <json.verdict of review> from <json of review>');
    expect(out.stdout).toContain('  output: JSON matching {"type":"object","required":["verdict"]}');
    expect(out.stdout).toMatch(/list \(command[^\n]*\)\n {2}\$ echo '\[\]'\n {2}output: JSON\n/);
  });
});

describe('agents-sdk exec --json-schema', () => {
  const exec = (...args: string[]) => cli(['exec', ...args, '--state-dir', world.stateDir], world.env);

  it('prints the object the agent gave, and --json has it as json', async () => {
    const schema = '{"type":"object","required":["answer"],"properties":{"answer":{"type":"integer"}}}';
    const plain = await exec('what is 6*7? [[structured:{"answer":42}]]', '--json-schema', schema);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('{"answer":42}\n');
    writeFileSync(join(world.root, 'answer.yaml'), 'type: object\nproperties: {answer: {type: integer}}\n');
    const json = await exec('what is 6*7? [[structured:{"answer":42}]]', '--json-schema', join(world.root, 'answer.yaml'), '--json');
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as { json: unknown; runId: string };
    expect(result.json).toEqual({ answer: 42 });
    const status = await cli(['status', result.runId, '--json', '--state-dir', world.stateDir], world.env);
    expect(status.stdout).toContain('"answer": 42');
  });

  it('fails with OUTPUT_SCHEMA when the agent never calls the tool, and refuses a schema that is not one (exit 2)', async () => {
    const never = await exec('answer [[structured-never]]', '--json-schema', '{"type":"object"}', '--retries', '1');
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('OUTPUT_SCHEMA');
    const bad = await exec('answer', '--json-schema', '{"type":"nope"}');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('exec: --json-schema is not a valid JSON Schema');
    const missing = await exec('answer', '--json-schema', 'nowhere.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`exec: --json-schema: schema file ${join(process.cwd(), 'nowhere.json')} does not exist`);
  });
});
