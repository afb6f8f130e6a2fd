import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WorkflowResult } from '../src/index.js';
import { ProgressView, summaryTable } from '../src/cli/progress-view.js';
import { cli, cliProcess } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const SDLC = 'examples/sdlc.yaml';
const SDLC_RECORDINGS = 'examples/recordings/sdlc';

function writeSpec(name: string, text: string): string {
  const file = join(world.root, name);
  writeFileSync(file, text);
  return file;
}

describe('agents-sdk run', () => {
  it('replays the shipped sdlc example with no claude at all, through the same parsing and recording code', async () => {
    const run = await cli(['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--state-dir', world.stateDir, '--run-id', 'demo'], {
      CLAUDE_CODE_PATH: join(world.root, 'no-claude-here'),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^task\s+status/);
    expect(run.stdout).toContain('sdlc run demo: completed');
    for (const task of ['plan', 'build', 'test', 'review', 'document']) {
      expect(run.stdout).toMatch(new RegExp(`${task}\\s+completed`));
      // the replayed stream is recorded again, like a live run
      expect(existsSync(join(world.stateDir, 'demo', task, 'raw_output.jsonl'))).toBe(true);
    }
    expect(run.stderr).toContain('workflow sdlc run demo: 5 tasks');
    expect(run.stderr).toContain('document: completed');
  });

  it('--dry-run prints the waves and the rendered prompts, and starts nothing', async () => {
    const text = await cli(['run', 'examples/sdlc.yaml', '--dry-run', '--state-dir', world.stateDir], world.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('wave 3: test, review');
    expect(text.stdout).toContain('<output of plan>');
    const json = await cli(['run', 'examples/sdlc.yaml', '--dry-run', '--json', '--max-parallel', '1', '--state-dir', world.stateDir], world.env);
    const plan = JSON.parse(json.stdout) as { waves: Array<{ taskIds: string[] }> };
    expect(plan.waves.map((w) => w.taskIds)).toEqual([['plan'], ['build'], ['test'], ['review'], ['document']]);
    expect(world.invocations()).toEqual([]);
    expect(existsSync(world.stateDir)).toBe(false);
  });

  it('--json prints only the WorkflowResult on stdout', async () => {
    const run = await cli(['run', 'examples/plan-build.yaml', '--replay', 'examples/recordings/plan-build', '--replay-speed', '0', '--json', '--state-dir', world.stateDir]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    expect(result).toMatchObject({ workflowId: 'plan-build', status: 'completed', success: true });
    expect(result.taskResults.map((t) => t.taskId)).toEqual(['plan', 'build']);
    expect(result.taskResults[0]!.output).toContain('## Plan: dark mode toggle');
    expect(result.costUsd).toBeGreaterThan(0);
  });

  it('replays at the recorded pace unless told otherwise', async () => {
    const started = Date.now();
    const run = await cli(['run', 'examples/plan-build.yaml', '--replay', 'examples/recordings/plan-build', '--replay-speed', '10', '--state-dir', world.stateDir]);
    expect(run.code).toBe(0);
    // recorded: 2.4 s + 3.6 s; at 10× about 0.6 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('a --replay directory that does not exist is invalid input (exit 2), before anything runs', async () => {
    const run = await cli(['run', 'examples/plan-build.yaml', '--replay', join(world.root, 'nope'), '--state-dir', world.stateDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not a directory of recordings');
    expect(existsSync(world.stateDir) && readdirSync(world.stateDir).length > 0).toBe(false);
  });

  it('validate and run agree: inputs the workflow does not declare, --max-parallel out of range', async () => {
    const spec = writeSpec('plain.yaml', 'id: plain\ntasks:\n  - id: a\n    prompt: "{{inputs.my_key}} [[reply:ok]]"\n');
    const input = ['--input', 'my_key=x'];
    const state = ['--state-dir', world.stateDir];
    expect((await cli(['validate', spec, ...input])).code).toBe(0);
    const run = await cli(['run', spec, ...input, ...state], world.env);
    expect([run.code, run.stderr]).toEqual([0, expect.not.stringContaining('Invalid')]);
    for (const args of [['validate', spec, ...input], ['run', spec, ...input, ...state]]) {
      const tooMany = await cli([...args, '--max-parallel', '5000']);
      expect(tooMany.code).toBe(2);
      expect(tooMany.stderr).toMatch(/plain\.yaml[\s\S]*max_parallel/);
    }
  });

  it('an interrupt that arrives before the run starts still cancels it (exit 1)', async () => {
    const spec = writeSpec('w.yaml', 'id: w\ntasks:\n  - id: a\n    prompt: "[[reply:ok]]"\n');
    const controller = new AbortController();
    controller.abort();
    const run = await cli(['run', spec, '--json', '--state-dir', world.stateDir], world.env, controller.signal);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as WorkflowResult).status).toBe('cancelled');
    expect(world.invocations()).toHaveLength(0);
  });

  it('a missing recording is a clear error for that task', async () => {
    const spec = writeSpec('w.yaml', 'id: w\ntasks:\n  - id: plan\n    prompt: p\n  - id: unrecorded\n    prompt: q\n    depends_on: [plan]\n');
    const run = await cli(['run', spec, '--replay', 'examples/recordings/plan-build', '--replay-speed', '0', '--state-dir', world.stateDir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('unrecorded: REPLAY_MISSING: No recording for agent "unrecorded"');
  });

  it('runs live agents through claude (the fake here), with inputs and --max-parallel', async () => {
    const spec = writeSpec(
      'live.yaml',
      'id: live\ninputs:\n  who: null\ntasks:\n  - id: a\n    prompt: "hello {{inputs.who}} [[echo]]"\n  - id: b\n    command: ["node", "-e", "console.log(1)"]\n',
    );
    const run = await cli(['run', spec, '--input', 'who=world', '--max-parallel', '1', '--state-dir', world.stateDir, '--json'], world.env);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    expect(result.taskResults.find((t) => t.taskId === 'a')!.output).toBe('hello world [[echo]]');
  });

  it('exits 1 when the workflow fails', async () => {
    const spec = writeSpec('fail.yaml', 'id: fail\ntasks:\n  - id: a\n    prompt: "[[auth-failure]] x"\n');
    const run = await cli(['run', spec, '--state-dir', world.stateDir], world.env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('fail run');
    expect(run.stdout).toContain('a: AUTH_FAILED');
  });

  it('exits 2 with the message on stderr for invalid input', async () => {
    const missing = await cli(['run', join(world.root, 'nope.yaml')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('nope.yaml: no such file')]);
    const broken = await cli(['run', writeSpec('broken.yaml', 'tasks: [')]);
    expect([broken.code, broken.stderr]).toEqual([2, expect.stringContaining('Cannot parse workflow file')]);
    const invalid = await cli(['run', writeSpec('invalid.yaml', 'id: x\ntasks:\n  - id: a\n    prompt: hi\n    depends_on: [b]\n')]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('tasks.a.depends_on: unknown task "b"');
    const input = await cli(['run', SDLC, '--input', 'novalue']);
    expect([input.code, input.stderr]).toEqual([2, expect.stringContaining('--input must be key=value')]);
    expect((await cli(['run'])).code).toBe(2);
    expect((await cli(['run', SDLC, '--max-parallel', '0'])).code).toBe(2);
    expect((await cli(['run', SDLC, '--replay-speed', '2'])).code).toBe(2);
    expect((await cli(['run', SDLC, '--replay', 'x', '--replay-speed', 'fast'])).code).toBe(2);
  });

  it('prints a file that cannot be read or parsed once, and every problem of an invalid one once', async () => {
    const missing = await cli(['run', join(world.root, 'nope.yaml')]);
    expect(missing.stderr).toBe(`agents-sdk: Cannot read workflow file ${join(world.root, 'nope.yaml')}: no such file\n`);
    const broken = await cli(['run', writeSpec('broken.yaml', 'tasks: [')]);
    expect(broken.stderr.split('\n').filter((line) => line.includes('Flow sequence')).length).toBeGreaterThan(0);
    expect(broken.stderr.match(/Cannot parse workflow file/g)).toHaveLength(1);
    // the YAML error is in the summary line, not repeated as an issue below it
    expect(broken.stderr).not.toMatch(/\n {2}- /);
    const tasks = Array.from({ length: 5 }, (_, i) => `  - {id: t${i}, prompt: x, depends_on: [nope${i}]}`).join('\n');
    const invalid = await cli(['validate', writeSpec('five.yaml', `id: five\ntasks:\n${tasks}\n`)]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr.split('\n')[0]).toBe(`agents-sdk: Invalid workflow in ${join(world.root, 'five.yaml')}: 5 problems`);
    for (let i = 0; i < 5; i++) expect(invalid.stderr.match(new RegExp(`unknown task "nope${i}"`, 'g'))).toHaveLength(1);
  });

  it('cancels on interrupt and exits 1', async () => {
    const spec = writeSpec('hang.yaml', 'id: hang\ntasks:\n  - id: a\n    prompt: "[[hang]] x"\n');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);
    const run = await cli(['run', spec, '--state-dir', world.stateDir], world.env, controller.signal);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('hang run');
    expect(run.stdout).toMatch(/a\s+cancelled/);
    expect(run.stderr).toContain('interrupted');
  });

  it('works as a real process', async () => {
    const run = await cliProcess(['run', SDLC, '--replay', SDLC_RECORDINGS, '--replay-speed', '0', '--json', '--state-dir', world.stateDir]);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout).status).toBe('completed');
  });
});

describe('agents-sdk validate', () => {
  it('accepts the examples and reports problems with exit 2', async () => {
    const ok = await cli(['validate', SDLC]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid workflow "sdlc": 5 tasks (5 agent, 0 command), max_parallel 4');
    const bad = await cli(['validate', writeSpec('cycle.yaml', 'id: c\ntasks:\n  - {id: a, prompt: x, depends_on: [b]}\n  - {id: b, prompt: y, depends_on: [a]}\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('dependency cycle: a → b → a');
    expect((await cli(['validate'])).code).toBe(2);
  });

  it('--json prints whether the workflow is valid, its id and task counts, or its issues', async () => {
    const ok = await cli(['validate', SDLC, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({
      valid: true,
      file: SDLC,
      workflowId: 'sdlc',
      tasks: { total: 5, agent: 5, command: 0 },
      maxParallel: 4,
      onFailure: 'stop',
    });
    const file = writeSpec('bad.yaml', 'id: bad\ntasks:\n  - {id: a, prompt: x, depends_on: [b]}\n  - {id: c}\n');
    const bad = await cli(['validate', file, '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      file,
      summary: `Invalid workflow in ${file}: 2 problems`,
      issues: [
        { path: 'tasks.c', message: expect.stringContaining('needs a `prompt`') },
        { path: 'tasks.a.depends_on', message: 'unknown task "b"' },
      ],
    });
    // the issues are the answer: on stdout only
    expect(bad.stderr).toBe('');
    const unreadable = await cli(['validate', join(world.root, 'nope.yaml'), '--json']);
    expect([unreadable.code, JSON.parse(unreadable.stdout).valid]).toEqual([2, false]);
  });

  it('--no-inputs lints a workflow whose required inputs have no value, and still reports everything else', async () => {
    const spec = 'id: needs\ninputs:\n  feature: null\n  tone: calm\ntasks:\n  - id: plan\n    prompt: "Plan {{inputs.feature}} in a {{inputs.tone}} tone"\n';
    const file = writeSpec('needs.yaml', spec);
    const strict = await cli(['validate', file]);
    expect([strict.code, strict.stderr]).toEqual([2, expect.stringContaining('inputs.feature: required input not given')]);
    const lint = await cli(['validate', file, '--no-inputs']);
    expect([lint.code, lint.stdout]).toEqual([0, expect.stringContaining('valid workflow "needs": 1 task')]);
    const broken = writeSpec('broken-needs.yaml', `${spec}    depends_on: [ghost]\n  - id: x\n    prompt: "{{inputs.undeclared}}"\n`);
    const issues = JSON.parse((await cli(['validate', broken, '--no-inputs', '--json'])).stdout).issues as Array<{ path: string }>;
    expect(issues.map((i) => i.path).sort()).toEqual(['tasks.plan.depends_on', 'tasks.x.prompt']);
    // an input given with --no-inputs is still checked
    const unknown = await cli(['validate', file, '--no-inputs', '--input', 'colour=red']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('inputs.colour: not an input of this workflow')]);
  });
});

describe('ProgressView', () => {
  it('draws a live block that redraws in place and a summary table', async () => {
    const run = await cli(['run', 'examples/plan-build.yaml', '--replay', 'examples/recordings/plan-build', '--replay-speed', '0', '--json', '--state-dir', world.stateDir]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const view = new ProgressView(() => Date.parse(result.taskResults[1]!.endedAt!));
    view.apply({ type: 'workflow.started', workflowId: 'w', runId: 'r', at: 0, taskIds: ['plan', 'build'], resumed: false });
    view.apply({ type: 'task.started', workflowId: 'w', runId: 'r', taskId: 'plan', at: 0, attempt: 1, maxAttempts: 3 });
    view.apply({
      type: 'task.progress',
      workflowId: 'w',
      runId: 'r',
      taskId: 'plan',
      at: 0,
      attempt: 1,
      progress: { type: 'tool_use', sessionId: null, toolUseId: 't', name: 'Read', input: {} },
    });
    const first = view.redraw();
    expect(first).toContain('tasks: 1 running, 1 pending');
    expect(first).toMatch(/▶ plan\s+running\s+1\/3/);
    expect(first).toContain('tool Read');
    const second = view.redraw();
    expect(second.startsWith('\x1b[3A')).toBe(true);
    const table = summaryTable(result);
    expect(table.split('\n')[0]).toMatch(/^task\s+status\s+attempts\s+time\s+tokens\s+cost$/);
    expect(readFileSync(SDLC, 'utf8')).toContain('id: sdlc');
  });
});
