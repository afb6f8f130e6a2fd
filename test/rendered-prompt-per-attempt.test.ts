import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { backendFactories } from './helpers/backends.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const backends = backendFactories().map((b) => (b.name.startsWith('Sqlite') ? 'sqlite' : 'json'));

/** plan, then build whose prompt reads plan's output and a memory entry; build fails once (a 529). */
function writeWorkflow(): string {
  const file = join(world.root, 'wf.yaml');
  writeFileSync(
    file,
    [
      'id: prompts',
      'tasks:',
      '  - id: plan',
      '    prompt: "plan [[reply:THE-PLAN]]"',
      '    remember: { key: style }',
      '  - id: build',
      '    prompt: "build {{tasks.plan.output}} in style {{memory.style}} [[transient:1]]"',
      '    depends_on: [plan]',
      '    retry_delay: 0.01',
      '',
    ].join('\n'),
  );
  return file;
}

describe.each(backends)('the prompt of every attempt, as sent (%s backend)', (backend) => {
  const state = (): string[] => ['--state-dir', world.stateDir, '--backend', backend];

  it('is kept beside each attempt raw stream, and logs and the report show it', async () => {
    const run = await cli(['run', writeWorkflow(), '--run-id', 'p1', ...state()], world.env);
    expect(run.code, run.stderr).toBe(0);
    const sent = 'build THE-PLAN in style THE-PLAN [[transient:1]]';
    // both attempts of build: templates and memory rendered, exactly what claude received
    const dir = join(world.stateDir, 'p1', 'build');
    expect(readFileSync(join(dir, 'prompt.md'), 'utf8')).toBe(sent);
    expect(readFileSync(join(dir, 'prompt.attempt-2.md'), 'utf8')).toBe(sent);
    expect(world.invocations().filter((i) => i.prompt === sent)).toHaveLength(2);
    expect(readFileSync(join(world.stateDir, 'p1', 'plan', 'prompt.md'), 'utf8')).toBe('plan [[reply:THE-PLAN]]');

    const logs = await cli(['logs', 'p1', 'build', ...state()], world.env);
    expect(logs.code, logs.stderr).toBe(0);
    // a prompt entry right under each attempt's header
    expect(logs.stdout).toMatch(/== build · attempt 1 · started [^\n]*\nprompt:\n {2}build THE-PLAN in style THE-PLAN/);
    expect(logs.stdout).toMatch(/== build · attempt 2 · started [^\n]*\nprompt:\n {2}build THE-PLAN/);

    const json = await cli(['logs', 'p1', 'build', '--attempt', '2', '--json', ...state()], world.env);
    const entries = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; text?: string; file?: string });
    expect(entries[1]).toMatchObject({ kind: 'prompt', text: sent, file: join(dir, 'prompt.attempt-2.md') });

    const only = await cli(['logs', 'p1', 'build', '--attempt', '1', '--prompt', ...state()], world.env);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout.split('\n').slice(1).join('\n')).toBe(`${sent}\n`);

    const report = await cli(['report', 'p1', '-o', '-', ...state()], world.env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('<section id="prompts">');
    expect(report.stdout).toMatch(/<details class="prompt" data-task-id="build" data-attempt="2">[\s\S]*?build THE-PLAN in style THE-PLAN/);
  });

  it('a long prompt is clipped in the transcript, whole with --prompt', async () => {
    const file = join(world.root, 'long.yaml');
    const long = 'x'.repeat(2_500);
    writeFileSync(file, `id: long\ntasks:\n  - id: big\n    prompt: "${long} [[reply:ok]]"\n`);
    expect((await cli(['run', file, '--run-id', 'l1', ...state()], world.env)).code).toBe(0);
    const logs = await cli(['logs', 'l1', ...state()], world.env);
    expect(logs.stdout).toContain('more characters: ');
    expect(logs.stdout).not.toContain(long);
    const whole = await cli(['logs', 'l1', '--prompt', ...state()], world.env);
    expect(whole.stdout).toContain(`${long} [[reply:ok]]`);
    expect(existsSync(join(world.stateDir, 'l1', 'big', 'prompt.md'))).toBe(true);
  });
});
