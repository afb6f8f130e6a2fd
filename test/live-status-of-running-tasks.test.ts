import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { cli, cliProcess } from './helpers/cli.js';
import { eventually, fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { backendFactories } from './helpers/backends.js';
import type { LiveTask } from '../src/cli/live-status.js';
import { readLiveAttempt } from '../src/claude/live-attempt.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const backends = backendFactories().map((b) => (b.name.startsWith('Sqlite') ? 'sqlite' : 'json'));

describe.each(backends)('status of a live run (%s backend)', (backend) => {
  it('shows each running task: the tool its agent is in, its turn, tokens and cost so far, and since when its stream is silent', async () => {
    const state = ['--state-dir', world.stateDir, '--backend', backend];
    const gate = join(world.root, 'gate');
    const workflow = join(world.root, 'live.yaml');
    writeFileSync(
      workflow,
      JSON.stringify({
        id: 'live',
        tasks: [
          // the agent stops in the middle of its first tool call until the gate opens
          { id: 'talk', prompt: `[[tool-turns:2]] [[tool-wait:${gate}]] Work` },
          { id: 'wait', command: ['node', '-e', 'const t = setInterval(() => require("fs").existsSync(process.argv[1]) && clearInterval(t), 20)', gate] },
        ],
      }),
    );
    const run = cliProcess(['run', workflow, '--run-id', 'live', ...state], { env: world.env });
    // Whatever happens, the agent leaves its tool and the run ends with the test.
    onTestFinished(() => {
      run.kill();
    });
    const raw = join(world.stateDir, 'live', 'talk', 'raw_output.jsonl');
    expect(await eventually(() => existsSync(raw) && readFileSync(raw, 'utf8').includes('"tool_use"'), 30_000)).toBe(true);

    const read = async (): Promise<{ status: string; live: LiveTask[] }> => {
      const out = await cli(['status', 'live', '--json', ...state]);
      expect(out.code, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as { status: string; live: LiveTask[] };
    };
    // the records of both tasks say running once the first checkpoint writes are in (read
    // while they are written: a read that fails then is tried again; once both agents wait,
    // nothing is written and every read must succeed)
    let first: { status: string; live: LiveTask[] } | null = null;
    for (let i = 0; i < 200 && !(first && first.live.length === 2); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const out = await cli(['status', 'live', '--json', ...state]);
      first = out.code === 0 ? (JSON.parse(out.stdout) as { status: string; live: LiveTask[] }) : null;
    }
    if (!first) throw new Error('status of the live run never answered');
    expect(first.status).toBe('running');
    const talk = first.live.find((t) => t.taskId === 'talk')!;
    expect(talk).toMatchObject({ kind: 'agent', attempt: 1, tool: 'Bash', toolInput: 'echo step-1', turn: 1, costEstimated: true });
    expect(talk.tokens.input + talk.tokens.output + talk.tokens.cacheRead + talk.tokens.cacheCreation).toBeGreaterThan(1000);
    expect(talk.costUsd).toBeGreaterThan(0);
    expect(talk.sinceLastLineMs).toBeGreaterThanOrEqual(0);
    expect(first.live.find((t) => t.taskId === 'wait')).toMatchObject({ kind: 'command', tool: null, lastLineAt: null });

    // the agent is silent while its tool runs: the time since its last line grows
    await new Promise((r) => setTimeout(r, 300));
    const second = (await read()).live.find((t) => t.taskId === 'talk')!;
    expect(second.lastLineAt).toBe(talk.lastLineAt);
    expect(second.sinceLastLineMs!).toBeGreaterThanOrEqual(talk.sinceLastLineMs! + 250);

    const text = await cli(['status', 'live', ...state]);
    expect(text.stdout).toContain('running now');
    expect(text.stdout).toMatch(/talk\s+#1\s+\d+\.\ds\s+Bash: echo step-1\s+1\s+\d+\s+~\$0\.\d{4}\s+\d+\.\ds ago/);
    expect(text.stdout).toMatch(/wait\s+#1\s+\d+\.\ds\s+\(command\)/);

    writeFileSync(gate, '');
    const done = await run;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    // a finished run has nothing running
    const after = await cli(['status', 'live', '--json', ...state]);
    expect((JSON.parse(after.stdout) as { live?: unknown }).live).toBeUndefined();
    expect((await cli(['status', 'live', ...state])).stdout).not.toContain('running now');
  }, 90_000);
});

describe('readLiveAttempt', () => {
  const usage = { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0 };
  const assistant = (id: string, content: unknown[]) => JSON.stringify({ type: 'assistant', message: { id, model: 'claude-sonnet-4-5', usage, content }, session_id: 's' });

  it('counts a message written as several lines once, follows tool calls to their results, and takes the result line cost', () => {
    const file = join(world.root, 'raw_output.jsonl');
    const lines = [
      JSON.stringify({ type: 'system', subtype: 'init', session_id: 's', model: 'claude-sonnet-4-5' }),
      // one API message, two content blocks: two lines with the same id and usage
      assistant('m1', [{ type: 'text', text: 'Let me look.' }]),
      assistant('m1', [{ type: 'tool_use', id: 'tu1', name: 'Read', input: { file_path: '/repo/a.ts' } }]),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(readLiveAttempt(file)).toMatchObject({ tool: 'Read', toolInput: '/repo/a.ts', turn: 1, tokens: { input: 100, output: 10, cacheRead: 1000 }, costEstimated: true, lines: 3 });
    // (3 × 100 + 15 × 10 + 0.3 × 1000) / 1e6 at the sonnet price of the table
    expect(readLiveAttempt(file)!.costUsd).toBeCloseTo(0.00075, 8);

    lines.push(JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 'tu1', content: 'x' }] }, session_id: 's' }));
    writeFileSync(file, `${lines.join('\n')}\n${assistant('m2', [{ type: 'text', text: 'Do' }]).slice(0, 30)}`);
    // the tool has its result; a half-written last line is not counted
    expect(readLiveAttempt(file)).toMatchObject({ tool: null, turn: 1 });

    lines.push(assistant('m2', [{ type: 'text', text: 'Done.' }]), JSON.stringify({ type: 'result', subtype: 'success', is_error: false, total_cost_usd: 0.5, session_id: 's' }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(readLiveAttempt(file)).toMatchObject({ tool: null, turn: 2, costUsd: 0.5, costEstimated: false });
    expect(readLiveAttempt(join(world.root, 'missing.jsonl'))).toBeNull();
  });
});
