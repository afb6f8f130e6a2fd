/**
 * Claude Code retries a failed API request itself (10 times by default: a persistent 529 took
 * about 3 minutes per attempt, with nothing for our retries or the live view to show). Every
 * agent gets `CLAUDE_CODE_MAX_RETRIES` (default 2), set by `api_retries` in a task or in
 * `defaults`; a user's own CLAUDE_CODE_MAX_RETRIES (the task's env or the process's) wins over
 * the default, `api_retries` over both.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_RETRIES_ENV, DEFAULT_API_RETRIES, agentEnv } from '../src/actors/claude-code-runner.js';
import { ValidationError, validateWorkflow } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function workflowFile(spec: unknown): string {
  const file = join(world.root, 'workflow.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** CLAUDE_CODE_MAX_RETRIES as each agent saw it, by the word its prompt starts with. */
function seen(): Record<string, unknown> {
  return Object.fromEntries(
    world.invocations().filter((i) => typeof i.prompt === 'string').map((i) => [(i.prompt as string).split(' ')[0], (i.env as Record<string, unknown>).CLAUDE_CODE_MAX_RETRIES]),
  );
}

describe('CLAUDE_CODE_MAX_RETRIES in the agent environment', () => {
  it('is 2 by default, api_retries of the task or of defaults otherwise', async () => {
    const spec = workflowFile({
      id: 'w',
      defaults: { api_retries: 5 },
      tasks: [
        { id: 'a', prompt: 'from-defaults [[reply:a]]' },
        { id: 'b', prompt: 'own [[reply:b]]', api_retries: 0 },
      ],
    });
    expect((await cli(['run', spec, '--state-dir', world.stateDir], world.env)).code).toBe(0);
    const plain = workflowFile({ id: 'w', tasks: [{ id: 'c', prompt: 'default [[reply:c]]' }] });
    expect((await cli(['run', plain, '--state-dir', world.stateDir], world.env)).code).toBe(0);
    expect((await cli(['exec', 'exec [[reply:d]]', '--state-dir', world.stateDir], world.env)).code).toBe(0);
    expect(seen()).toEqual({ 'from-defaults': '5', own: '0', default: String(DEFAULT_API_RETRIES), exec: '2' });
  });

  it("a user's explicit CLAUDE_CODE_MAX_RETRIES (process or task env) wins over the default; api_retries wins over it", async () => {
    const spec = workflowFile({
      id: 'w',
      tasks: [
        { id: 'a', prompt: 'process [[reply:a]]' },
        { id: 'b', prompt: 'task-env [[reply:b]]', env: { CLAUDE_CODE_MAX_RETRIES: '4' } },
        { id: 'c', prompt: 'setting [[reply:c]]', env: { CLAUDE_CODE_MAX_RETRIES: '4' }, api_retries: 1 },
      ],
    });
    expect((await cli(['run', spec, '--state-dir', world.stateDir], { ...world.env, CLAUDE_CODE_MAX_RETRIES: '7' })).code).toBe(0);
    expect(seen()).toEqual({ process: '7', 'task-env': '4', setting: '1' });
  });

  it('a persistent 529 fails the attempt after the retries it allows: with api_retries 0 Claude Code does not retry at all', async () => {
    const spec = workflowFile({ id: 'w', tasks: [{ id: 'down', prompt: 'down [[api-error:529]]', api_retries: 0, retry_count: 1 }] });
    const none = await cli(['run', spec, '--state-dir', world.stateDir], world.env);
    expect(none.code).toBe(1);
    expect(none.stderr).not.toContain('API retry');
    const two = await cli(['exec', 'down [[api-error:529]]', '--retries', '1', '--state-dir', world.stateDir], world.env);
    expect(two.stderr).toMatch(/API retry 1\/2 after 529/);
  });

  it('agentEnv: the request env with the variable decided', () => {
    expect(agentEnv({}, {})).toEqual({ [API_RETRIES_ENV]: '2' });
    expect(agentEnv({ env: { A: 'x' } }, { CLAUDE_CODE_MAX_RETRIES: '9' })).toEqual({ A: 'x', CLAUDE_CODE_MAX_RETRIES: '9' });
    expect(agentEnv({ env: { CLAUDE_CODE_MAX_RETRIES: '3' }, apiRetries: 0 }, {})).toEqual({ CLAUDE_CODE_MAX_RETRIES: '0' });
    // an empty value is no setting
    expect(agentEnv({}, { CLAUDE_CODE_MAX_RETRIES: '' })).toEqual({ CLAUDE_CODE_MAX_RETRIES: '2' });
  });
});

describe('the dry run', () => {
  it('shows a task\'s api_retries', async () => {
    const spec = workflowFile({ id: 'w', defaults: { api_retries: 1 }, tasks: [{ id: 'a', prompt: 'x' }, { id: 'b', prompt: 'y', api_retries: 0 }] });
    const run = await cli(['run', spec, '--dry-run']);
    expect(run.stdout).toContain('a (agent a, model sonnet, 3 attempts, 1 API retry by Claude Code)');
    expect(run.stdout).toContain('b (agent b, model sonnet, 3 attempts, 0 API retries by Claude Code)');
    expect(JSON.parse((await cli(['run', spec, '--dry-run', '--json'])).stdout).tasks[0]).toMatchObject({ id: 'a', apiRetries: 1 });
  });
});

describe('api_retries is validated', () => {
  const problems = (spec: unknown): string[] => {
    try {
      validateWorkflow(spec);
      return [];
    } catch (error) {
      return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  it('a whole number from 0 to 20, on agent tasks and in defaults', () => {
    expect(validateWorkflow({ id: 'w', defaults: { api_retries: 3 }, tasks: [{ id: 'a', prompt: 'x' }] }).tasks[0]).toMatchObject({ api_retries: 3 });
    expect(
      problems({
        id: 'w',
        defaults: { api_retries: 50 },
        tasks: [
          { id: 'a', prompt: 'x', api_retries: -1 },
          { id: 'b', prompt: 'x', api_retries: 1.5 },
          { id: 'c', prompt: 'x', api_retries: 'two' },
          { id: 'd', command: ['ls'], api_retries: 2 },
        ],
      }),
    ).toEqual([
      'defaults.api_retries: must be at most 20 (Claude Code retries each failed API request up to this many times)',
      'tasks.a.api_retries: must be at least 0; got the number -1',
      'tasks.b.api_retries: must be a whole number',
      'tasks.c.api_retries: must be a number; got the text "two"',
      'tasks.d.api_retries: is a setting of agent tasks (tasks with a `prompt`), not of command tasks',
    ]);
  });
});
