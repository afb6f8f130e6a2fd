/**
 * The workflow's `defaults` block, which each task overrides, and top-level `x-` keys,
 * where YAML anchors can live.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkflowFile, validateWorkflow, type AgentTask, type CommandTask } from '../src/index.js';
import { problems } from './helpers/problems.js';

describe('defaults', () => {
  it('apply to every task that does not set its own value', () => {
    const wf = validateWorkflow({
      id: 'w',
      defaults: { model: 'opus', retry_count: 5, timeout: 600, max_turns: 20, append_system_prompt: 'Be brief.', dangerously_skip_permissions: true },
      tasks: [
        { id: 'a', prompt: 'x' },
        { id: 'b', prompt: 'x', model: 'haiku', retry_count: 1 },
      ],
    });
    const [a, b] = wf.tasks as AgentTask[];
    expect(a).toMatchObject({ model: 'opus', retry_count: 5, timeout: 600, max_turns: 20, append_system_prompt: 'Be brief.', dangerously_skip_permissions: true });
    expect(b).toMatchObject({ model: 'haiku', retry_count: 1, timeout: 600, max_turns: 20 });
    // the validated workflow carries the merged tasks, not the block
    expect(wf).not.toHaveProperty('defaults');
    expect(validateWorkflow(wf)).toEqual(wf);
  });

  it('merge env key by key (the task wins), and replace arrays whole', () => {
    const wf = validateWorkflow({
      id: 'w',
      defaults: { env: { CI: '1', LANG: 'C' }, allowed_tools: ['Read', 'Edit'] },
      tasks: [
        { id: 'a', prompt: 'x', env: { LANG: 'fr_FR', DEBUG: '1' }, allowed_tools: ['Read'] },
        { id: 'b', prompt: 'x' },
      ],
    });
    const [a, b] = wf.tasks as AgentTask[];
    expect(a!.env).toEqual({ CI: '1', LANG: 'fr_FR', DEBUG: '1' });
    expect(a!.allowed_tools).toEqual(['Read']);
    expect(b!.env).toEqual({ CI: '1', LANG: 'C' });
    expect(b!.allowed_tools).toEqual(['Read', 'Edit']);
  });

  it('give command tasks only the settings they have (cwd, env, retry_count, timeout), not agent ones', () => {
    const wf = validateWorkflow(
      { id: 'w', defaults: { model: 'opus', agent: 'worker', max_turns: 3, cwd: 'repo', env: { CI: '1' }, retry_count: 2, timeout: 60 }, tasks: [{ id: 't', command: ['npm', 'test'] }] },
      { baseDir: '/base' },
    );
    const task = wf.tasks[0] as CommandTask;
    expect(task).toEqual({ id: 't', kind: 'command', command: ['npm', 'test'], depends_on: [], cwd: '/base/repo', env: { CI: '1' }, retry_count: 2, timeout: 60 });
  });

  it('retry_delay is in seconds, from 0 to 60, in a task or in defaults', () => {
    const wf = validateWorkflow({ id: 'w', defaults: { retry_delay: 5 }, tasks: [{ id: 'a', prompt: 'x' }, { id: 'b', command: ['true'], retry_delay: 0.5 }] });
    expect(wf.tasks.map((t) => t.retry_delay)).toEqual([5, 0.5]);
    expect(problems({ id: 'w', tasks: [{ id: 'a', prompt: 'x', retry_delay: 2000 }] })).toEqual([
      'tasks.a.retry_delay: must be at most 60 (the longest wait between attempts); the unit is seconds',
    ]);
    expect(problems({ id: 'w', defaults: { retry_delay: -1 }, tasks: [{ id: 'a', prompt: 'x' }] })).toEqual([expect.stringMatching(/^defaults\.retry_delay: /)]);
  });

  it('a default cwd is relative to the same base as a task cwd', () => {
    const wf = validateWorkflow({ id: 'w', defaults: { cwd: 'app' }, tasks: [{ id: 'a', prompt: 'x' }, { id: 'b', prompt: 'x', cwd: '/abs' }] }, { baseDir: '/base' });
    expect(wf.tasks.map((t) => t.cwd)).toEqual(['/base/app', '/abs']);
  });

  it('an invalid default is reported once, as defaults.<field>, not again in every task', () => {
    expect(
      problems({
        id: 'w',
        defaults: { retry_count: 0, timeout: 3_600_000, allowed_tools: 'Read' },
        tasks: [
          { id: 'a', prompt: 'x' },
          { id: 'b', prompt: 'x' },
        ],
      }),
    ).toEqual([
      'defaults.retry_count: must be at least 1; got the number 0',
      'defaults.timeout: must be at most 604800 (7 days); the unit is seconds',
      'defaults.allowed_tools: must be a list of tool names, e.g. allowed_tools: [Read, Bash]; got the text "Read"',
    ]);
  });
});

describe('x- keys', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'agents-sdk-defaults-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are ignored at the top level, in code as in files', () => {
    const wf = validateWorkflow({ id: 'w', 'x-notes': { anything: [1, 2] }, tasks: [{ id: 'a', prompt: 'x' }] });
    expect(Object.keys(wf)).not.toContain('x-notes');
  });

  it('hold YAML anchors that tasks merge with <<, beside defaults, the task winning', async () => {
    const file = join(dir, 'anchors.yaml');
    writeFileSync(
      file,
      [
        'id: anchors',
        'x-reviewer: &reviewer',
        '  model: opus',
        '  allowed_tools: [Read, Grep]',
        '  env: { ROLE: reviewer }',
        'defaults: &defaults',
        '  model: sonnet',
        '  timeout: 900',
        '  env: { CI: "1" }',
        'tasks:',
        '  - id: build',
        '    prompt: Build it.',
        '  - id: review',
        '    <<: *reviewer',
        '    depends_on: [build]',
        '    prompt: Review it.',
        '  - id: second-opinion',
        '    <<: *reviewer',
        '    model: haiku',
        '    depends_on: [build]',
        '    prompt: Review it again.',
        '',
      ].join('\n'),
    );
    const wf = await loadWorkflowFile(file);
    const byId = Object.fromEntries((wf.tasks as AgentTask[]).map((t) => [t.id, t]));
    expect(byId.build).toMatchObject({ model: 'sonnet', timeout: 900, env: { CI: '1' } });
    expect(byId.review).toMatchObject({ model: 'opus', timeout: 900, allowed_tools: ['Read', 'Grep'], env: { CI: '1', ROLE: 'reviewer' } });
    expect(byId['second-opinion']).toMatchObject({ model: 'haiku', allowed_tools: ['Read', 'Grep'] });
  });

  it('the example workflow that uses them is valid', async () => {
    const wf = await loadWorkflowFile('examples/review-fleet.yaml');
    expect(wf.tasks.length).toBeGreaterThan(2);
    expect(wf.tasks.every((t) => t.cwd === undefined || t.cwd.startsWith('/'))).toBe(true);
  });
});
