/**
 * Workflows use memory: `cache:` answers a task from memory while its entry lives (keys made of
 * inputs, dependencies' outputs and `{{hash "<glob>"}}`, so a changed file misses), `remember:`
 * keeps a task's output, `{{memory.<key>}}` reads it (with a default, or the task fails naming
 * the key), and `--no-cache` runs everything again.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryBackend, JsonMemoryBackend, ValidationError, WorkflowOrchestrator, validateWorkflow, type JsonValue, type StoreOptions, type ValidationIssue, type WorkflowResult, type WorkflowSpecInput } from '../src/index.js';
import { hashFiles } from '../src/memory/file-hash.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

/** A command task that prints its argument (templates rendered) as is, without a newline. */
const echo = (text: string) => ['printf', '%s', text];
/** A command task that notes in `file` that it ran, then prints `text`. */
const noted = (file: string, text = 'ran') => ['sh', '-c', 'echo x >> "$1"; printf %s "$2"', 'sh', file, text];
const timesRun = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

/** The agent calls the fake claude logged (one line per run, with its prompt). */
const agentCalls = () => world.invocations().filter((line) => typeof line.prompt === 'string');

/** examples/cached-review.yaml and the project it reviews, copied where the test may change files. */
function copyExample(): string {
  cpSync('examples/cached-review.yaml', join(world.root, 'cached-review.yaml'));
  cpSync('examples/cached-review', join(world.root, 'cached-review'), { recursive: true });
  return join(world.root, 'cached-review.yaml');
}

/**
 * A first run of the example answered from its recordings (examples/recordings/cached-review,
 * instantly): it fills the cache as a live run would, without spawning an agent.
 */
async function coldReplay(file: string, ...extra: string[]): Promise<WorkflowResult> {
  const cold = await runJson(file, '--replay', 'examples/recordings/cached-review', '--replay-speed', '0', ...extra);
  expect(cold.taskResults.some((t) => t.cached)).toBe(false);
  expect(agentCalls()).toHaveLength(0);
  return cold;
}

async function runJson(file: string, ...extra: string[]): Promise<WorkflowResult> {
  const run = await cli(['run', file, '--json', '--state-dir', world.stateDir, ...extra], world.env);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as WorkflowResult;
}

const ran = (result: WorkflowResult) => result.taskResults.filter((t) => !t.cached).map((t) => t.taskId).sort();

describe('cache: a task answered from memory', () => {
  it('a second run on unchanged files makes no agent call and spends nothing; a changed file reruns only the tasks whose key covers it', async () => {
    const file = copyExample();
    const first = await runJson(file);
    const firstCalls = agentCalls().length;
    expect(first.status).toBe('completed');
    expect(firstCalls).toBe(5);
    expect(first.costUsd).toBeGreaterThan(0);

    const second = await runJson(file);
    const secondCalls = agentCalls().length - firstCalls;
    // The bench's bar (npm run bench): at least 40% fewer calls and 40% less spent.
    expect(secondCalls).toBeLessThanOrEqual(firstCalls * 0.6);
    expect(second.costUsd).toBeLessThanOrEqual(first.costUsd * 0.6);
    expect(secondCalls).toBe(0);
    expect(second.costUsd).toBe(0);
    expect(second.taskResults.every((t) => t.cached === true && t.costUsd === 0 && t.output !== null)).toBe(true);
    // A cached task completes with the output its entry holds.
    const outputs = (r: WorkflowResult) => Object.fromEntries(r.taskResults.map((t) => [t.taskId, t.output]));
    expect(outputs(second)).toEqual(outputs(first));

    appendFileSync(join(world.root, 'cached-review/src/cart.ts'), '\nexport const FREE_SHIPPING_CENTS = 5000;\n');
    const third = await runJson(file);
    expect(ran(third)).toEqual(['review-cart', 'summary']);
    const thirdPrompts = agentCalls().slice(firstCalls).map((call) => String(call.prompt));
    expect(thirdPrompts).toHaveLength(2);
    expect(thirdPrompts[0]).toMatch(/^Review src\/cart\.ts/);
    // The summary compares itself with the one it remembered (first run's: the second was cached).
    expect(thirdPrompts[1]).toContain(`Previous summary: ${outputs(first).summary}`);
  });

  it('shows cached tasks as cached in the progress lines, the summary, `status` and the result', async () => {
    const file = copyExample();
    await coldReplay(file, '--run-id', 'cold');
    const warm = await cli(['run', file, '--run-id', 'warm', '--state-dir', world.stateDir], world.env);
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stderr).toContain('review-cart: completed, cached (from memory, no agent call), $0.0000');
    expect(warm.stdout).toMatch(/review-cart\s+completed \(cached\)\s+1\s+\S+\s+0\s+\$0\.0000/);
    expect(warm.stdout).toMatch(/cached-review run warm: completed in \S+, 0 tokens, \$0\.0000, 5 tasks cached/);

    const status = await cli(['status', 'warm', '--state-dir', world.stateDir]);
    expect(status.stdout).toMatch(/summary\s+completed \(cached\)/);
    const cold = await cli(['status', 'cold', '--state-dir', world.stateDir]);
    expect(cold.stdout).not.toContain('(cached)');
    const json = JSON.parse((await cli(['status', 'warm', '--json', '--state-dir', world.stateDir])).stdout) as { records: Array<{ cached?: boolean }> };
    expect(json.records.every((r) => r.cached === true)).toBe(true);
  });

  it('--no-cache runs every task, and its outputs replace the entries', async () => {
    const file = copyExample();
    // The entries first hold the recorded answers; the live run's (the fake's) differ from them.
    const cold = await coldReplay(file);
    const refreshed = await runJson(file, '--no-cache');
    expect(agentCalls()).toHaveLength(5);
    expect(refreshed.taskResults.some((t) => t.cached)).toBe(false);
    const memory = new JsonMemoryBackend(world.stateDir);
    const summary = refreshed.taskResults.find((t) => t.taskId === 'summary')!;
    expect(summary.output).not.toEqual(cold.taskResults.find((t) => t.taskId === 'summary')!.output);
    const entries = await memory.list({ prefix: 'review:v1:summary:' });
    await memory.close();
    expect(entries.map((e) => e.value)).toEqual([summary.output]);
    expect((await runJson(file)).taskResults.every((t) => t.cached)).toBe(true);
  });

  it('resume --no-cache, like run', async () => {
    const file = copyExample();
    await coldReplay(file);
    // A run stopped before anything ran (its tasks all pending), continued without the cache
    // (answered from the recordings again: whether a task is cached does not depend on who answers).
    const signal = AbortSignal.abort();
    const stopped = await cli(['run', file, '--run-id', 'stopped', '--state-dir', world.stateDir], world.env, signal);
    expect(stopped.code).toBe(1);
    const replay = ['--replay', 'examples/recordings/cached-review', '--replay-speed', '0'];
    const resumed = await cli(['resume', 'stopped', '--no-cache', ...replay, '--json', '--state-dir', world.stateDir], world.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as WorkflowResult;
    expect(result.status).toBe('completed');
    expect(result.taskResults.some((t) => t.cached)).toBe(false);
  });

  it('--backend sqlite keeps the memory in <state-dir>/memory.sqlite', async () => {
    const file = copyExample();
    await coldReplay(file, '--backend', 'sqlite');
    const warm = await runJson(file, '--backend', 'sqlite');
    expect(warm.taskResults.every((t) => t.cached)).toBe(true);
    expect(existsSync(join(world.stateDir, 'memory.sqlite'))).toBe(true);
    expect(existsSync(join(world.stateDir, 'memory'))).toBe(false);
  });

  it('replays: a cache hit needs no recording', async () => {
    const file = copyExample();
    const replayed = await runJson(file, '--replay', 'examples/recordings/cached-review', '--replay-speed', '0');
    expect(replayed.costUsd).toBeGreaterThan(0);
    const empty = join(world.root, 'no-recordings');
    mkdirSync(empty);
    const cached = await runJson(file, '--replay', empty);
    expect(cached.taskResults.every((t) => t.cached)).toBe(true);
    expect(agentCalls()).toHaveLength(0);
  });

  it('skips commands too; an entry past its ttl is a miss', async () => {
    const memory = new InMemoryBackend();
    const o = new WorkflowOrchestrator(null, { memory, stateDir: world.stateDir });
    const log = join(world.root, 'ran.log');
    const spec: WorkflowSpecInput = { id: 'ttl', tasks: [{ id: 'slow', command: noted(log, 'answer'), cache: { key: 'slow-answer', ttl: 0.3 } }] };
    expect((await o.runWorkflow(spec)).taskResults[0]).toMatchObject({ output: 'answer' });
    const hit = (await o.runWorkflow(spec)).taskResults[0]!;
    expect(hit).toMatchObject({ status: 'completed', output: 'answer', cached: true, costUsd: 0, attempts: 1 });
    expect(timesRun(log)).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect((await o.runWorkflow(spec)).taskResults[0]!.cached).toBeUndefined();
    expect(timesRun(log)).toBe(2);
  });

  it('keys may use inputs and dependencies\' outputs; a long or multi-line output stands in a key as its sha256', async () => {
    const memory = new InMemoryBackend();
    const o = new WorkflowOrchestrator(null, { memory, stateDir: world.stateDir });
    const spec = (plan: string): WorkflowSpecInput => ({
      id: 'keys',
      inputs: { lang: 'ts' },
      tasks: [
        { id: 'plan', command: echo(plan) },
        { id: 'build', depends_on: ['plan'], command: echo('built'), cache: { key: 'build:{{inputs.lang}}:{{tasks.plan.output}}' } },
      ],
    });
    await o.runWorkflow(spec('short plan'));
    await o.runWorkflow(spec('step 1\nstep 2'));
    const keys = (await memory.list({ prefix: 'build:' })).map((e) => e.key);
    expect(keys).toContain('build:ts:short plan');
    expect(keys.some((k) => /^build:ts:sha256:[0-9a-f]{64}$/.test(k))).toBe(true);
    expect((await o.runWorkflow(spec('step 1\nstep 2'), { inputs: { lang: 'ts' } })).taskResults.find((t) => t.taskId === 'build')!.cached).toBe(true);
    expect((await o.runWorkflow(spec('step 1\nstep 2'), { inputs: { lang: 'go' } })).taskResults.find((t) => t.taskId === 'build')!.cached).toBeUndefined();
  });

  it('{{hash}} covers a glob (a new file changes it) or a directory, relative to the task\'s cwd; a missing path fails the task', async () => {
    const project = join(world.root, 'project');
    mkdirSync(join(project, 'src/deep'), { recursive: true });
    writeFileSync(join(project, 'src/a.ts'), 'a');
    writeFileSync(join(project, 'src/deep/b.ts'), 'b');
    const glob = await hashFiles('src/**/*.ts', project);
    expect(glob).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashFiles('src', project)).toBe(glob);
    expect(await hashFiles('src/*.md', project)).toBe(await hashFiles('nothing/**', project));
    writeFileSync(join(project, 'src/deep/c.ts'), '');
    expect(await hashFiles('src/**/*.ts', project)).not.toBe(glob);

    const o = new WorkflowOrchestrator(null, { memory: new InMemoryBackend(), stateDir: world.stateDir });
    const result = await o.runWorkflow({
      id: 'hash',
      tasks: [
        { id: 'show', cwd: project, command: echo('{{hash "src/a.ts"}}') },
        { id: 'missing', cwd: project, retry_count: 3, command: echo('{{hash "src/gone.ts"}}') },
      ],
      on_failure: 'continue',
    });
    const byId = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(byId.show!.output).toBe(await hashFiles('src/a.ts', project));
    expect(byId.missing).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'HASH_NO_MATCH' } });
    expect(byId.missing!.error!.message).toContain('src/gone.ts');
  });
});

describe('memory that cannot be used fails the task, typed', () => {
  it('a key that renders empty is INVALID_KEY', async () => {
    const o = new WorkflowOrchestrator(null, { memory: new InMemoryBackend(), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'empty-key', inputs: { suffix: '' }, tasks: [{ id: 'a', command: echo('x'), cache: { key: '{{inputs.suffix}}' } }] });
    expect(result.taskResults[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'INVALID_KEY' } });
    expect(result.taskResults[0]!.error!.message).toContain('cache.key renders to an empty key');
  });

  it('a store that cannot be opened is BACKEND_UNAVAILABLE; the next run tries again', async () => {
    const blocker = join(world.root, 'not-a-dir');
    writeFileSync(blocker, '');
    const o = new WorkflowOrchestrator(null, { memory: 'sqlite', stateDir: join(blocker, 'state') });
    const spec: WorkflowSpecInput = { id: 'no-store', tasks: [{ id: 'a', command: echo('x'), remember: { key: 'k' } }] };
    for (let run = 0; run < 2; run++) {
      const result = await o.runWorkflow(spec);
      expect(result.taskResults[0]).toMatchObject({ status: 'failed', error: { code: 'BACKEND_UNAVAILABLE' } });
    }
  });
});

describe('remember: a task keeps its output', () => {
  it('stores the output once the task completes; a later run reads it with {{memory.<key>}}', async () => {
    const memory = new InMemoryBackend();
    const o = new WorkflowOrchestrator(null, { memory, stateDir: world.stateDir });
    await o.runWorkflow({ id: 'learn', tasks: [{ id: 'note', command: echo('use pnpm'), remember: { key: 'project:tooling', ttl: 3600 } }] });
    const [entry] = await memory.list({ prefix: 'project:' });
    expect(entry).toMatchObject({ key: 'project:tooling', value: 'use pnpm' });
    expect(entry!.expiresAt! - entry!.createdAt).toBe(3_600_000);

    const result = await o.runWorkflow({ id: 'use', tasks: [{ id: 'build', command: echo('tooling: {{memory.project:tooling}}') }] });
    expect(result.taskResults[0]!.output).toBe('tooling: use pnpm');
  });

  it('an agent prompt reads memory too; a failed task remembers nothing', async () => {
    const restore = setProcessEnv(world.env);
    try {
      const memory = new InMemoryBackend();
      await memory.store('style', 'small functions');
      const o = new WorkflowOrchestrator(null, { memory, stateDir: world.stateDir });
      const result = await o.runWorkflow({
        id: 'agent',
        on_failure: 'continue',
        tasks: [
          { id: 'write', prompt: '[[echo]] Follow: {{memory.style}}', remember: { key: 'last-write' } },
          { id: 'broken', prompt: '[[is-error]] try', retry_count: 1, remember: { key: 'last-broken' } },
        ],
      });
      expect(result.taskResults.find((t) => t.taskId === 'write')!.output).toBe('[[echo]] Follow: small functions');
      expect(agentCalls().map((call) => call.prompt)).toContain('[[echo]] Follow: small functions');
      expect(await memory.retrieve('last-write')).toBe('[[echo]] Follow: small functions');
      expect(await memory.retrieve('last-broken')).toBeUndefined();
    } finally {
      restore();
    }
  });

  it('a store that cannot write fails the task with MEMORY_WRITE_FAILED, keeping what it spent', async () => {
    class FullStore extends InMemoryBackend {
      override async store(_key: string, _value: JsonValue, _options?: StoreOptions): Promise<void> {
        throw new Error('ENOSPC: no space left on device');
      }
    }
    const o = new WorkflowOrchestrator(null, { memory: new FullStore(), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'full', tasks: [{ id: 'note', command: echo('x'), remember: { key: 'k' } }] });
    expect(result.taskResults[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'MEMORY_WRITE_FAILED', transient: false } });
    expect(result.taskResults[0]!.error!.message).toContain('under "k": ENOSPC');
    // The execution's result rides on the error: its output, tokens and cost are not lost.
    expect(result.taskResults[0]!.error!.result).toMatchObject({ success: true, output: 'x' });
  });
});

describe('{{memory.<key>}} in prompts and commands', () => {
  it('a missing key fails the task with an error naming the key, without retrying', async () => {
    const o = new WorkflowOrchestrator(null, { memory: new InMemoryBackend(), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'missing', tasks: [{ id: 'read', retry_count: 3, command: echo('{{memory.release:notes}}') }] });
    const task = result.taskResults[0]!;
    expect(result.status).toBe('failed');
    expect(task).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'MEMORY_KEY_MISSING', transient: false, details: { key: 'release:notes', taskId: 'read' } } });
    expect(task.error!.message).toContain('no memory entry "release:notes"');
    expect(task.error!.message).toContain('{{memory.release:notes | "none yet"}}');
  });

  it('a default stands in for a missing key', async () => {
    const o = new WorkflowOrchestrator(null, { memory: new InMemoryBackend(), stateDir: world.stateDir });
    const result = await o.runWorkflow({ id: 'default', tasks: [{ id: 'read', command: echo('notes: {{memory.release:notes | "none yet"}}') }] });
    expect(result.taskResults[0]!.output).toBe('notes: none yet');
  });

  it("a dependency's output or an input that looks like a placeholder stays text", async () => {
    const memory = new InMemoryBackend();
    await memory.store('secret', 'do not leak');
    const o = new WorkflowOrchestrator(null, { memory, stateDir: world.stateDir });
    const result = await o.runWorkflow({
      id: 'inject',
      inputs: { text: '{{memory.secret}}' },
      tasks: [
        // \\{{...}} is a literal {{...}}: the output is the placeholder's text.
        { id: 'a', command: echo('\\{{memory.secret}}') },
        { id: 'b', depends_on: ['a'], command: echo('{{tasks.a.output}} / {{inputs.text}} / {{memory.secret}}') },
      ],
    });
    expect(result.taskResults.find((t) => t.taskId === 'a')!.output).toBe('{{memory.secret}}');
    expect(result.taskResults.find((t) => t.taskId === 'b')!.output).toBe('{{memory.secret}} / {{memory.secret}} / do not leak');
  });
});

describe('validation of cache:, remember: and memory placeholders', () => {
  function issuesOf(spec: unknown): string[] {
    try {
      validateWorkflow(spec);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((i: ValidationIssue) => `${i.path}: ${i.message}`);
    }
    throw new Error('expected the spec to be rejected');
  }

  it('names each problem with its task and field', () => {
    const issues = issuesOf({
      id: 'bad',
      tasks: [
        { id: 'a', command: ['true'] },
        { id: 'b', command: ['true'], cache: { key: 'b:{{memory.x}}' } },
        { id: 'c', command: ['true'], remember: { key: 'c:{{tasks.a.output}}' } },
        { id: 'd', command: ['true'], cache: { key: 'd', tll: 60 } },
        { id: 'e', command: ['true'], cache: { key: 'e', ttl: 0 } },
        { id: 'f', command: ['true'], remember: { key: '  ' } },
        { id: 'g', prompt: 'use {{memory.}} and {{hash src/a.ts}}' },
      ],
    });
    expect(issues).toEqual([
      'tasks.d.cache.tll: unknown field: did you mean `ttl`?',
      'tasks.e.cache.ttl: must be greater than 0; got the number 0',
      'tasks.f.remember.key: must not be empty',
      "tasks.b.cache.key: {{memory.x}}: a memory key is made of inputs, dependencies' outputs and {{hash \"...\"}}, not of memory",
      'tasks.c.remember.key: {{tasks.a.output}}: task "a" is not a (transitive) dependency of this task',
      expect.stringMatching(/^tasks\.g\.prompt: unknown placeholder \{\{memory\.\}\}/),
      expect.stringMatching(/^tasks\.g\.prompt: unknown placeholder \{\{hash src\/a\.ts\}\}/),
    ]);
  });

  it('accepts keys of inputs, transitive dependencies\' outputs and file hashes', () => {
    const wf = validateWorkflow({
      id: 'ok',
      inputs: { lang: 'ts' },
      tasks: [
        { id: 'a', command: ['true'] },
        { id: 'b', depends_on: ['a'], command: ['true'] },
        { id: 'c', depends_on: ['b'], prompt: 'x {{memory.notes | "none"}}', cache: { key: 'c:{{inputs.lang}}:{{tasks.a.output}}:{{hash "src/**/*.ts"}}', ttl: 60 } },
      ],
    });
    expect(wf.tasks[2]).toMatchObject({ cache: { key: 'c:{{inputs.lang}}:{{tasks.a.output}}:{{hash "src/**/*.ts"}}', ttl: 60 } });
  });
});
