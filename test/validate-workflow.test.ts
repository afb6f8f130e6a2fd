import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError, loadWorkflowFile, validateWorkflow, type ValidationIssue } from '../src/index.js';
import { renderTemplate } from '../src/workflow/template.js';

function issuesOf(spec: unknown, inputs?: Record<string, string>): ValidationIssue[] {
  try {
    validateWorkflow(spec, inputs ? { inputs } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected the spec to be rejected');
}

describe('validateWorkflow', () => {
  it('fills in the defaults', () => {
    const wf = validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'hi' }, { id: 'b', command: ['npm', 'test'], depends_on: ['a'] }] });
    expect(wf.max_parallel).toBe(5);
    expect(wf.on_failure).toBe('stop');
    expect(wf.tasks[0]).toMatchObject({ kind: 'agent', model: 'sonnet', retry_count: 3, depends_on: [] });
    expect(wf.tasks[1]).toMatchObject({ kind: 'command', command: ['npm', 'test'], retry_count: 3 });
    // a validated workflow validates again unchanged
    expect(validateWorkflow(wf)).toEqual(wf);
  });

  it('reports every problem at once, each with its task id and field', () => {
    const issues = issuesOf({
      id: 'w',
      max_parallel: 0,
      on_failur: 'stop',
      tasks: [
        { id: 'a', prompt: '   ' },
        { id: 'a', prompt: 'dup' },
        { id: 'b', prompt: 'x', command: ['ls'] },
        { id: 'c' },
        { id: 'd', prompt: 'x', depends_on: ['ghost'], retry_count: -1, modle: 'opus' },
        { id: 'e', command: [] },
        { id: 'f', prompt: 'x', timeout: 'soon' },
        'not a task',
      ],
    });
    const text = issues.map((i) => `${i.path}: ${i.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        'max_parallel: must be at least 1; got the number 0',
        'on_failur: unknown field: did you mean `on_failure`?',
        'tasks.a.prompt: must not be empty',
        'tasks.a.id: duplicate task id "a"',
        'tasks.b: has both `prompt` and `command`; a task is one or the other',
        'tasks.c: needs a `prompt` (agent task) or a `command` (command task)',
        'tasks.d.depends_on: unknown task "ghost"',
        'tasks.d.modle: unknown field: did you mean `model`?',
        'tasks.e.command: must name a program',
        'tasks[7]: must be an object with an id and a prompt or a command',
      ]),
    );
    expect(text.some((t) => t.startsWith('tasks.d.retry_count:'))).toBe(true);
    expect(text.some((t) => t.startsWith('tasks.f.timeout:'))).toBe(true);
  });

  it('names a dependency cycle', () => {
    const issues = issuesOf({
      id: 'w',
      tasks: [
        { id: 'a', prompt: 'x', depends_on: ['c'] },
        { id: 'b', prompt: 'x', depends_on: ['a'] },
        { id: 'c', prompt: 'x', depends_on: ['b'] },
        { id: 'self', prompt: 'x', depends_on: ['self'] },
      ],
    });
    expect(issues.map((i) => i.message)).toEqual(
      expect.arrayContaining(['dependency cycle: a → c → b → a', 'a task cannot depend on itself']),
    );
  });

  it('checks template references: transitive dependencies and given inputs only', () => {
    const issues = issuesOf({
      id: 'w',
      tasks: [
        { id: 'plan', prompt: 'x' },
        { id: 'build', prompt: '{{tasks.plan.output}}', depends_on: ['plan'] },
        { id: 'test', prompt: 'uses {{tasks.plan.output}} transitively', depends_on: ['build'] },
        { id: 'doc', prompt: 'sibling {{tasks.build.output}} and {{inputs.missing}} and {{nonsense}}' },
        { id: 'ghost', command: ['echo', '{{tasks.nowhere.session_id}}'] },
      ],
    });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'tasks.doc.prompt: {{tasks.build.output}}: task "build" is not a (transitive) dependency of this task',
      'tasks.doc.prompt: {{inputs.missing}} refers to input "missing", which was not given',
      'tasks.doc.prompt: unknown placeholder {{nonsense}} (use {{tasks.<id>.output}}, {{tasks.<id>.session_id}}, {{tasks.<id>.status}}, {{tasks.<id>.exit_code}}, {{tasks.<id>.commit}}, {{tasks.<id>.branch}}, {{tasks.<id>.json[.<path>]}}, {{workspace.ports}}, {{inputs.<name>}}, {{events.<type>.payload}}, {{memory.<key>}}, {{memory.<key> | "default"}} or {{hash "<path or glob>"}}; write \\{{...}} for a literal {{...}})',
      'tasks.ghost.command[1]: {{tasks.nowhere.session_id}}: task "nowhere" does not exist',
    ]);
  });

  it('resolves inputs: defaults, given values, required ones, undeclared ones', () => {
    const spec = { id: 'w', inputs: { feature: null, branch: 'main' }, tasks: [{ id: 'a', prompt: '{{inputs.feature}} on {{inputs.branch}}' }] };
    expect(issuesOf(spec).map((i) => i.path)).toEqual(['inputs.feature']);
    expect(validateWorkflow(spec, { inputs: { feature: 'search' } }).inputs).toEqual({ feature: 'search', branch: 'main' });
    expect(issuesOf(spec, { feature: 'x', brnch: 'dev' })[0]).toMatchObject({ path: 'inputs.brnch' });
    // without declared inputs any given input is usable
    expect(validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: '{{inputs.x}}' }] }, { inputs: { x: '1' } }).inputs).toEqual({ x: '1' });
  });

  it('rejects hostile or malformed ids', () => {
    for (const id of ['../x', '__proto__', '', 'a b', 'x'.repeat(200)]) {
      expect(issuesOf({ id: 'w', tasks: [{ id, prompt: 'x' }] }).length).toBeGreaterThan(0);
    }
    expect(issuesOf({ id: 'w', tasks: [] })[0]!.message).toMatch(/at least one task/);
    expect(issuesOf(null).length).toBeGreaterThan(0);
  });

  it('handles a 10,000-task chain without recursion limits', () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, prompt: 'x', depends_on: i ? [`t${i - 1}`] : [] }));
    expect(validateWorkflow({ id: 'chain', tasks }).tasks).toHaveLength(10_000);
    tasks[0]!.depends_on = ['t9999'];
    expect(issuesOf({ id: 'chain', tasks })[0]!.message).toMatch(/^dependency cycle: t0 → t9999 → t9998/);
  });
});

describe('renderTemplate', () => {
  it('replaces references and leaves everything else', () => {
    const values = { input: (n: string) => ({ who: 'you' })[n], task: (id: string, f: string) => `${id}.${f}` };
    expect(renderTemplate('hi {{ inputs.who }}, {{tasks.a.output}} {{tasks.a.session_id}} {{other}}', values)).toBe(
      'hi you, a.output a.session_id {{other}}',
    );
  });

  it('renders \\{{...}} as a literal {{...}}, which validation accepts', () => {
    const wf = validateWorkflow({
      id: 'w',
      inputs: { name: 'c1' },
      tasks: [{ id: 'a', command: ['docker', 'inspect', '-f', '\\{{.State.Running}}', '{{inputs.name}}', '\\{{inputs.name}}'] }],
    });
    const values = { input: (n: string) => wf.inputs[n], task: () => undefined };
    const task = wf.tasks[0]!;
    expect(task.kind === 'command' && task.command.map((arg) => renderTemplate(arg, values))).toEqual([
      'docker',
      'inspect',
      '-f',
      '{{.State.Running}}',
      'c1',
      '{{inputs.name}}',
    ]);
    // two backslashes: a literal backslash, then the placeholder's value (so it is checked too)
    expect(renderTemplate('C:\\\\{{inputs.name}}', values)).toBe('C:\\c1');
    expect(issuesOf({ id: 'w', tasks: [{ id: 'a', prompt: 'x \\\\{{inputs.nope}}' }] })[0]!.message).toContain('"nope", which was not given');
    expect(issuesOf({ id: 'w', tasks: [{ id: 'a', command: ['echo', '{{.State.Running}}'] }] })[0]!.message).toMatch(/write \\\{\{\.\.\.\}\} for a literal/);
  });
});

describe('validateWorkflow: review findings', () => {
  it('a problem elsewhere does not turn every input reference into an error', () => {
    const issues = issuesOf({ id: 'w', descripton: 'typo', inputs: { feature: 'dark mode' }, tasks: [{ id: 'plan', prompt: 'Plan {{inputs.feature}}' }] });
    expect(issues).toEqual([{ path: 'descripton', message: 'unknown field: did you mean `description`?' }]);
    // and given inputs are still checked against the declared ones
    expect(issuesOf({ id: 'w', max_parallel: 0, inputs: { feature: 'x' }, tasks: [{ id: 'a', prompt: 'hi' }] }, { nope: '1' }).map((i) => i.path)).toEqual([
      'max_parallel',
      'inputs.nope',
    ]);
  });

  it('input names that are Object.prototype members are inputs like any other', () => {
    const spec = { id: 'w', inputs: { constructor: null, toString: null }, tasks: [{ id: 'a', prompt: '{{inputs.constructor}} {{inputs.toString}}' }] };
    expect(issuesOf(spec).map((i) => i.path)).toEqual(['inputs.constructor', 'inputs.toString']);
    expect(validateWorkflow(spec, { inputs: { constructor: 'c', toString: 't' } }).inputs).toEqual({ constructor: 'c', toString: 't' });
    expect(issuesOf({ id: 'w', inputs: { feature: 'x' }, tasks: [{ id: 'a', prompt: 'hi' }] }, { hasOwnProperty: '1' })).toEqual([
      { path: 'inputs.hasOwnProperty', message: 'not an input of this workflow (it declares: feature)' },
    ]);
  });

  it('a given input needs a usable name even when the workflow declares none', () => {
    expect(issuesOf({ id: 'w', tasks: [{ id: 'a', prompt: 'hi' }] }, { 'my-key': 'x' })).toEqual([
      { path: 'inputs.my-key', message: 'an input name uses letters, digits and _, and does not start with a digit' },
    ]);
    expect(validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: '{{inputs.my_key}}' }] }, { inputs: { my_key: 'x' } }).inputs).toEqual({ my_key: 'x' });
  });

  it('caps timeout at 7 days, so milliseconds written by mistake are caught', () => {
    expect(issuesOf({ id: 'w', tasks: [{ id: 'a', prompt: 'hi', timeout: 3_600_000 }] })).toEqual([
      { path: 'tasks.a.timeout', message: 'must be at most 604800 (7 days); the unit is seconds' },
    ]);
    expect(validateWorkflow({ id: 'w', tasks: [{ id: 'a', prompt: 'hi', timeout: 604_800 }] }).tasks[0]!.timeout).toBe(604_800);
  });

  it('task ids and agent names may not take the names of the run state files', () => {
    const issues = issuesOf({
      id: 'w',
      tasks: [
        { id: 'journal-1.jsonl', prompt: 'x' },
        { id: 'checkpoint.json', prompt: 'x' },
        { id: 'ok', prompt: 'x', agent: 'run.lock' },
        { id: 'journal-notes.jsonl', prompt: 'x' },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual(['tasks.journal-1.jsonl.id', 'tasks.checkpoint.json.id', 'tasks.ok.agent']);
    expect(issues[0]!.message).toMatch(/run's state files/);
  });

  it('a validated workflow, inputs resolved, validates again unchanged (runWorkflow checks it again)', () => {
    const wf = validateWorkflow({ id: 'w', inputs: { who: null }, tasks: [{ id: 'a', prompt: 'hi {{inputs.who}}' }] }, { inputs: { who: 'me' } });
    expect(validateWorkflow(wf)).toEqual(wf);
    // and a change made to it since is caught
    wf.tasks[0]!.depends_on = ['zzz'];
    expect(issuesOf(wf).map((i) => i.message)).toEqual(['unknown task "zzz"']);
  });
});

describe('loadWorkflowFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-wf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads YAML and JSON', async () => {
    writeFileSync(join(dir, 'w.yaml'), 'id: w\ntasks:\n  - id: a\n    prompt: hello\n');
    writeFileSync(join(dir, 'w.json'), JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: ['ls'] }] }));
    expect((await loadWorkflowFile(join(dir, 'w.yaml'))).tasks[0]!.kind).toBe('agent');
    expect((await loadWorkflowFile(join(dir, 'w.json'))).tasks[0]!.kind).toBe('command');
  });

  it('names the file on a missing file, a parse error or an invalid workflow', async () => {
    await expect(loadWorkflowFile(join(dir, 'none.yaml'))).rejects.toThrow(/none\.yaml: no such file/);
    writeFileSync(join(dir, 'bad.yaml'), 'id: w\ntasks: [\n');
    await expect(loadWorkflowFile(join(dir, 'bad.yaml'))).rejects.toThrow(/Cannot parse workflow file .*bad\.yaml/);
    writeFileSync(join(dir, 'bad.json'), '{"id": ');
    await expect(loadWorkflowFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json/);
    writeFileSync(join(dir, 'invalid.yaml'), 'id: w\ntasks:\n  - id: a\n');
    await expect(loadWorkflowFile(join(dir, 'invalid.yaml'))).rejects.toThrow(/Invalid workflow in .*invalid\.yaml: 1 problem: tasks\./);
  });

  it('understands YAML merge keys, for tasks that share settings', async () => {
    writeFileSync(join(dir, 'merge.yaml'), ['id: w', 'tasks:', '  - &base', '    id: a', '    prompt: hi', '    model: opus', '    retry_count: 2', '  - <<: *base', '    id: b', ''].join('\n'));
    const wf = await loadWorkflowFile(join(dir, 'merge.yaml'));
    expect(wf.tasks.map((t) => [t.id, t.kind === 'agent' && t.model, t.retry_count])).toEqual([
      ['a', 'opus', 2],
      ['b', 'opus', 2],
    ]);
  });

  it('applies a max_parallel override before validation, naming the file when it is out of range', async () => {
    writeFileSync(join(dir, 'ok.yaml'), 'id: w\ntasks:\n  - id: a\n    prompt: hello\n');
    expect((await loadWorkflowFile(join(dir, 'ok.yaml'), { maxParallel: 7 })).max_parallel).toBe(7);
    await expect(loadWorkflowFile(join(dir, 'ok.yaml'), { maxParallel: 5000 })).rejects.toThrow(/Invalid workflow in .*ok\.yaml/);
  });
});
