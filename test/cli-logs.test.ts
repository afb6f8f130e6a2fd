/**
 * `agents-sdk logs`: a run's transcripts as a person reads them, attempt by attempt, from the
 * raw streams the fake claude wrote; `--raw`, `--json`, `--attempt`, unknown ids, and
 * `--follow` tailing a live run until it ends by itself.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, WorkflowOrchestrator, type TaskRecord } from '../src/index.js';
import { FileLineTail } from '../src/cli/file-tail.js';
import { formatTranscriptEntry, transcriptEntriesOf } from '../src/claude/transcript.js';
import { cli, cliProcess } from './helpers/cli.js';
import { runCli } from '../src/cli/run-cli.js';
import { fakeWorld, setProcessEnv, type FakeWorld } from './helpers/fake-claude.js';
import { checkpoint, record } from './helpers/records.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const state = () => ['--state-dir', world.stateDir];

/** Runs `plan` (two 529s, then a tool call and its answer) and the command `test` after it, retrying at once. */
async function retriedRun(runId: string): Promise<void> {
  const restore = setProcessEnv(world.env);
  try {
    const orchestrator = new WorkflowOrchestrator({ stateDir: world.stateDir, retry: { baseDelayMs: 0, maxDelayMs: 0, jitter: 'none' } });
    const result = await orchestrator.runWorkflow(
      {
        id: 'w',
        tasks: [
          { id: 'plan', prompt: '[[transient:2]] [[tool-turns:1]] Plan it', retry_count: 3 },
          { id: 'test', command: ['node', '-e', "console.log('12 passed')"], depends_on: ['plan'] },
        ],
      },
      { runId },
    );
    expect(result.status).toBe('completed');
    await orchestrator.stateBackend!.close();
  } finally {
    restore();
  }
}

describe('agents-sdk logs', () => {
  it('prints every attempt of every task in the order they started: the 529s, the API retries, tool calls, text and results', async () => {
    await retriedRun('r1');
    const logs = await cli(['logs', 'r1', ...state()]);
    expect([logs.code, logs.stderr]).toEqual([0, '']);
    const out = logs.stdout;
    const dir = join(world.stateDir, 'r1', 'plan');
    // A header per attempt, naming its stream, in order, and the command task after the agent.
    const headers = out.split('\n').filter((l) => l.startsWith('== '));
    expect(headers).toEqual([
      expect.stringMatching(new RegExp(`^== plan · attempt 1 · started \\S+Z · ${join(dir, 'raw_output.jsonl')}$`)),
      expect.stringMatching(new RegExp(`^== plan · attempt 2 · started \\S+Z · ${join(dir, 'raw_output.attempt-2.jsonl')}$`)),
      expect.stringMatching(new RegExp(`^== plan · attempt 3 · started \\S+Z · ${join(dir, 'raw_output.attempt-3.jsonl')}$`)),
      expect.stringMatching(/^== test · attempt 1 · started \S+Z$/),
    ]);
    const [first, second, third, test] = out.split(/\n(?=== )/);
    for (const failed of [first!, second!]) {
      expect(failed).toMatch(/\nsession [0-9a-f-]{36}, model claude-sonnet-5, in /);
      expect(failed).toMatch(/\nAPI retry 1\/2 after 529 overloaded, next in (\d+ ms|\d\.\ds)\n/);
      expect(failed).toContain('\nerror (server_error): API Error: 529 Overloaded.');
      expect(failed).toMatch(/\nresult: error 529, 1 turn, 0 tokens, \$0\.0000, \d\.\ds\n/);
      // The result repeats the error text: it is not printed twice.
      expect(failed.match(/API Error: 529 Overloaded/g)).toHaveLength(2); // the error line and the attempt's end
      expect(failed).toMatch(/\n-- attempt \d failed after \d+\.\ds, 0 tokens, \$0\.0000: API_OVERLOADED: API Error: 529 Overloaded/);
    }
    expect(third).toContain('\ntool Bash: echo step-1\n  → step-1\nassistant: Done: Plan it\n');
    expect(third).toMatch(/\nresult: success, 2 turns, \d+ tokens, \$0\.\d{4}, \d\.\ds\n-- attempt 3 succeeded after \d+\.\ds, \d+ tokens, \$0\.\d{4}\n/);
    // (not a bare '529': the header's time or the session id may hold those digits)
    expect(third).not.toMatch(/529 [Oo]verloaded|error 529|API_OVERLOADED/);
    expect(test).toMatch(/\nstdout:\n {2}12 passed\n-- attempt 1 succeeded after \d+\.\ds\n$/);
  });

  it('one task, one attempt: --attempt N; --raw prints its stream-json lines exactly as stored', async () => {
    await retriedRun('r2');
    const second = await cli(['logs', 'r2', 'plan', '--attempt', '2', ...state()]);
    expect(second.code).toBe(0);
    expect(second.stdout.split('\n').filter((l) => l.startsWith('== '))).toEqual([expect.stringContaining('== plan · attempt 2 · ')]);
    expect(second.stdout).toContain('-- attempt 2 failed');

    const raw = await cli(['logs', 'r2', 'plan', '--attempt', '2', '--raw', ...state()]);
    expect(raw.code).toBe(0);
    expect(raw.stdout).toBe(readFileSync(join(world.stateDir, 'r2', 'plan', 'raw_output.attempt-2.jsonl'), 'utf8'));
    // Without --attempt: every attempt's lines, in order, and nothing else.
    const all = await cli(['logs', 'r2', 'plan', '--raw', ...state()]);
    const files = ['raw_output.jsonl', 'raw_output.attempt-2.jsonl', 'raw_output.attempt-3.jsonl'];
    expect(all.stdout).toBe(files.map((f) => readFileSync(join(world.stateDir, 'r2', 'plan', f), 'utf8')).join(''));
    // --attempt without a task: that attempt of every task that made one.
    const everyFirst = await cli(['logs', 'r2', '--attempt', '1', ...state()]);
    expect(everyFirst.stdout.split('\n').filter((l) => l.startsWith('== '))).toEqual([
      expect.stringContaining('== plan · attempt 1 · '),
      expect.stringContaining('== test · attempt 1 · '),
    ]);
  });

  it('--json prints one JSON object per transcript entry, each naming its run, task and attempt', async () => {
    await retriedRun('r3');
    const logs = await cli(['logs', 'r3', 'plan', '--json', ...state()]);
    expect(logs.code).toBe(0);
    const entries = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of entries) expect(e).toMatchObject({ runId: 'r3', taskId: 'plan', attempt: expect.any(Number), kind: expect.any(String) });
    const first = entries.filter((e) => e.attempt === 1).map((e) => e.kind);
    expect(first).toEqual(['attempt', 'prompt', 'init', 'api_retry', 'error', 'result', 'attempt_end']);
    expect(entries.find((e) => e.kind === 'api_retry')).toMatchObject({ attempt: 1, retry: 1, maxRetries: 2, errorStatus: 529, error: 'overloaded' });
    expect(entries.filter((e) => e.kind === 'attempt_end').map((e) => [e.attempt, e.status, (e.error as { code: string } | null)?.code ?? null])).toEqual([
      [1, 'failed', 'API_OVERLOADED'],
      [2, 'failed', 'API_OVERLOADED'],
      [3, 'succeeded', null],
    ]);
    expect(entries.find((e) => e.kind === 'attempt' && e.attempt === 3)).toMatchObject({
      status: 'succeeded',
      rawFile: join(world.stateDir, 'r3', 'plan', 'raw_output.attempt-3.jsonl'),
    });
    expect(entries.filter((e) => e.kind === 'tool_use')).toEqual([expect.objectContaining({ name: 'Bash', input: 'echo step-1' })]);
    expect(entries.filter((e) => e.kind === 'tool_result')).toEqual([expect.objectContaining({ isError: false, text: 'step-1' })]);
    expect(entries.filter((e) => e.kind === 'result').at(-1)).toMatchObject({ isError: false, numTurns: 2, text: 'Done: Plan it' });
  });

  it('an unknown run, task or attempt is exit 2 naming it; --raw with --json and a bad --attempt are usage errors', async () => {
    await retriedRun('r4');
    const run = await cli(['logs', 'nope', ...state()]);
    expect([run.code, run.stdout, run.stderr]).toEqual([2, '', 'agents-sdk: NOT_FOUND: Unknown run id "nope"\n']);
    const task = await cli(['logs', 'r4', 'nope', ...state()]);
    expect([task.code, task.stderr]).toEqual([2, 'agents-sdk: NOT_FOUND: Run r4 has no task "nope" (its tasks: plan, test)\n']);
    const attempt = await cli(['logs', 'r4', 'plan', '--attempt', '4', ...state()]);
    expect([attempt.code, attempt.stderr]).toEqual([2, 'agents-sdk: NOT_FOUND: Task plan of run r4 has no attempt 4 (it made 3)\n']);
    const anyAttempt = await cli(['logs', 'r4', '--attempt', '9', ...state()]);
    expect([anyAttempt.code, anyAttempt.stderr]).toEqual([2, 'agents-sdk: NOT_FOUND: No task of run r4 has an attempt 9\n']);
    expect((await cli(['logs', 'r4', '--attempt', '0', ...state()])).code).toBe(2);
    const both = await cli(['logs', 'r4', '--raw', '--json', ...state()]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('give one of them')]);
    expect((await cli(['logs', '../etc', ...state()])).code).toBe(2);
  });

  it('status lists the raw stream of each attempt', async () => {
    await retriedRun('r5');
    const status = await cli(['status', 'r5', ...state()]);
    const dir = join(world.stateDir, 'r5', 'plan');
    expect(status.stdout).toContain('raw output of each agent, per attempt');
    expect(status.stdout).toContain('as a transcript: agents-sdk logs r5');
    expect(status.stdout).toContain(`\n  plan  #1  failed (API_OVERLOADED)  ${join(dir, 'raw_output.jsonl')}\n`);
    expect(status.stdout).toContain(`\n  plan  #2  failed (API_OVERLOADED)  ${join(dir, 'raw_output.attempt-2.jsonl')}\n`);
    expect(status.stdout).toContain(`\n  plan  #3  succeeded                ${join(dir, 'raw_output.attempt-3.jsonl')}\n`);
    const json = JSON.parse((await cli(['status', 'r5', '--json', ...state()])).stdout) as { records: Array<TaskRecord & { rawOutput: string | null }> };
    const plan = json.records.find((r) => r.taskId === 'plan')!;
    expect(plan.rawOutput).toBe(join(dir, 'raw_output.attempt-3.jsonl'));
    expect(plan.attemptLog!.map((a) => a.rawFile)).toEqual([join(dir, 'raw_output.jsonl'), join(dir, 'raw_output.attempt-2.jsonl'), join(dir, 'raw_output.attempt-3.jsonl')]);
    expect(json.records.find((r) => r.taskId === 'test')!.rawOutput).toBeNull();
  });

  it('reads a run stored before attempt logs: its one stream is its last attempt; a run that started nothing says so', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    const { attemptLog: _none, ...old } = { ...record('a', 'completed'), attempts: 2 };
    await backend.saveCheckpoint('old', { ...checkpoint('old', ['a', 'b']), status: 'completed', records: [old, record('b', 'pending')] });
    await backend.close();
    mkdirSync(join(world.stateDir, 'old', 'a'), { recursive: true });
    writeFileSync(join(world.stateDir, 'old', 'a', 'raw_output.jsonl'), `${JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'hello' }] } })}\n`);
    const logs = await cli(['logs', 'old', ...state()]);
    expect(logs.stdout).toMatch(/^== a · attempt 2 · started \S+ · \S+\/old\/a\/raw_output\.jsonl\nassistant: hello\n-- attempt 2 succeeded/);
    expect(JSON.parse((await cli(['status', 'old', '--json', ...state()])).stdout).records[0].rawOutput).toBe(join(world.stateDir, 'old', 'a', 'raw_output.jsonl'));

    const empty = new JsonStateBackend(world.stateDir);
    const pending: TaskRecord = { ...record('a', 'pending', 0), attempts: 0, startedAt: null, endedAt: null, durationMs: null, attemptLog: [] };
    await empty.saveCheckpoint('empty', { ...checkpoint('empty', ['a']), records: [pending] });
    await empty.close();
    const none = await cli(['logs', 'empty', ...state()]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', 'logs: no task of run empty has started yet\n']);
  });
});

/** The transcript of stream lines as `logs` prints it. */
function transcript(lines: string[]): string {
  let shown = '';
  const out: string[] = [];
  for (const line of lines) {
    for (const entry of transcriptEntriesOf(line)) {
      out.push(formatTranscriptEntry(entry, shown));
      if (entry.kind === 'text' || entry.kind === 'error') shown = entry.text;
    }
  }
  return out.join('\n');
}

const sample = (name: string): string[] => readFileSync(new URL(`./fixtures/claude-samples/${name}.jsonl`, import.meta.url), 'utf8').split('\n');

describe('the transcript of a stream', () => {
  it('reads the real Claude Code samples: auth failure, max turns, API retries, a tool round trip', () => {
    expect(transcript(sample('auth-failure'))).toMatch(/\nerror \(authentication_failed\): Not logged in · Please run \/login\nresult: error, 1 turn, 0 tokens, \$0\.0000, \d\.\ds$/);
    expect(transcript(sample('max-turns'))).toMatch(
      /\ntool Bash: echo TOOLOUT-\$\(\(6\*7\)\)\n {2}→ TOOLOUT-42\nresult: error \(error_max_turns\), 2 turns, 50 tokens, \$0\.0004, \d\.\ds\n {2}Reached maximum number of turns \(1\)$/,
    );
    expect(transcript(sample('api-401-retrying'))).toContain('\nAPI retry 2/10 after 401 authentication_failed, next in 1.2s');
    expect(transcript(sample('success'))).toMatch(/^session [0-9a-f-]{36}, model claude-sonnet-5, in \/home\/user\/project\nassistant: Hello from the local mock API\.\nresult: success/);
  });

  it('keeps a tool result short, marks a failed one, indents multi-line text and skips what is not a message', () => {
    const long = 'x'.repeat(500);
    const lines = [
      'Warning: not JSON',
      '{"type":"rate_limit_event"}',
      JSON.stringify({ type: 'system', subtype: 'init', session_id: 's1' }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'line one\nline two' }, { type: 'tool_use', id: 't1', name: 'Read', input: { file_path: '/a.ts' } }] } }),
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: long }], is_error: true }] } }),
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't2', content: { odd: 1 } }, { type: 'tool_result', tool_use_id: 't3' }] } }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't4', name: 'Mystery' }] } }),
      JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'A summary\nin two lines', num_turns: 1 }),
      JSON.stringify({ type: 'assistant', error: 'unknown', message: { content: [] } }),
      JSON.stringify({ type: 'result', subtype: 'error_during_execution', is_error: true, errors: ['boom'] }),
    ];
    expect(transcript(lines)).toBe(
      [
        'session s1',
        'assistant: line one\n  line two',
        'tool Read: /a.ts',
        `  ✗ ${'x'.repeat(199)}…`,
        '  → {"odd":1}',
        '  → (no output)',
        'tool Mystery',
        'result: success, 1 turn, 0 tokens, $0.0000\n  A summary\n  in two lines',
        'error (unknown): unknown',
        'result: error (error_during_execution), 0 turns, 0 tokens, $0.0000\n  boom',
      ].join('\n'),
    );
  });
});

describe('agents-sdk logs --follow', () => {
  it('waits for a run that does not exist yet, then follows it to its end', async () => {
    let stdout = '';
    let stderr = '';
    let waiting!: () => void;
    const isWaiting = new Promise<void>((r) => (waiting = r));
    const following = runCli(['logs', 'later', '--follow', '--wait-timeout', '120', ...state()], {
      stdout: (t) => (stdout += t),
      stderr: (t) => {
        stderr += t;
        if (stderr.includes('does not exist yet')) waiting();
      },
      isTTY: false,
    });
    await isWaiting;
    expect(existsSync(join(world.stateDir, 'later'))).toBe(false);
    const orchestrator = new WorkflowOrchestrator({ stateDir: world.stateDir });
    const result = await orchestrator.runWorkflow({ id: 'w', tasks: [{ id: 'hello', command: ['node', '-e', "console.log('hi there')"] }] }, { runId: 'later' });
    await orchestrator.stateBackend!.close();
    expect(result.status).toBe('completed');
    expect(await following).toBe(0);
    expect(stderr).toBe('logs: run later does not exist yet; waiting up to 120s for it to start (--wait-timeout)\n');
    expect(stdout).toMatch(/^== hello · attempt 1 · started \S+Z\nstdout:\n {2}hi there\n-- attempt 1 succeeded after \d+\.\ds\n$/);
  });

  it('gives up on a run that does not start within --wait-timeout: NOT_FOUND, saying how to wait longer', async () => {
    const run = await cli(['logs', 'never', '--follow', '--wait-timeout', '1', ...state()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('NOT_FOUND: Run "never" did not start within 1s; give --wait-timeout <seconds> to wait longer');
    // Without waiting, at once, as before.
    const now = await cli(['logs', 'never', '--follow', '--wait-timeout', '0', ...state()]);
    expect([now.code, now.stderr]).toEqual([2, expect.stringContaining('Unknown run id "never"')]);
  });

  it('tails a live run: prints lines written after it started, new tasks as they start, and exits by itself when the run ends', async () => {
    const gate = join(world.root, 'gate');
    const workflow = join(world.root, 'live.yaml');
    // `wait` holds the run until the test opens the gate; `talk` starts only then, so everything it writes comes after `logs --follow` started.
    writeFileSync(
      workflow,
      JSON.stringify({
        id: 'live',
        tasks: [
          { id: 'wait', command: ['node', '-e', 'const t = setInterval(() => require("fs").existsSync(process.argv[1]) && clearInterval(t), 50)', gate] },
          { id: 'talk', prompt: '[[tool-turns:2]] [[delay:1200]] [[split-lines]] Talk slowly', depends_on: ['wait'] },
        ],
      }),
    );
    const run = cliProcess(['run', workflow, '--run-id', 'live', ...state()], { env: world.env });
    const backend = new JsonStateBackend(world.stateDir);
    const waiting = async (): Promise<boolean> => (await backend.loadRun('live').catch(() => undefined))?.records[0]?.status === 'running';
    let started = false;
    for (let i = 0; i < 600 && !started; i++) {
      started = await waiting();
      if (!started) await new Promise((r) => setTimeout(r, 50));
    }
    await backend.close();
    expect(started).toBe(true);

    // Without --follow: what there is now, and that the attempt is still running.
    const now = await cli(['logs', 'live', ...state()]);
    expect(now.stdout).toMatch(/^== wait · attempt 1 · started \S+Z\n-- attempt 1 is still running \(agents-sdk logs live wait --follow\)\n$/);

    const following = cli(['logs', 'live', '--follow', ...state()]);
    // Give the follower a poll or two before the rest of the run happens.
    await new Promise((r) => setTimeout(r, 600));
    writeFileSync(gate, '');
    const [logs, done] = await Promise.all([following, run]);
    expect(done.exitCode).toBe(0);
    expect([logs.code, logs.stderr]).toEqual([0, '']);
    const out = logs.stdout;
    expect(out).toMatch(/^== wait · attempt 1 · started \S+Z\n-- attempt 1 succeeded after \d+\.\ds\n/);
    expect(out).toContain(`\n== talk · attempt 1 · started `);
    // Split lines arrive torn: each entry is printed once, whole.
    expect(out.match(/\ntool Bash: echo step-1\n {2}→ step-1\n/g)).toHaveLength(1);
    expect(out.match(/\ntool Bash: echo step-2\n {2}→ step-2\n/g)).toHaveLength(1);
    expect(out).toContain('\nassistant: Done: Talk slowly\n');
    expect(out).toMatch(/\nresult: success, 3 turns, \d+ tokens, \$0\.\d{4}, \d\.\ds\n-- attempt 1 succeeded after \d+\.\ds, \d+ tokens, \$0\.\d{4}\n$/);
  }, 90_000);

  it('stops at Ctrl-C; a followed run whose process is gone ends the follow, saying it was interrupted', async () => {
    const backend = new JsonStateBackend(world.stateDir);
    // A record from before attempt logs, of an attempt that was running when its process died.
    const { attemptLog: _none, ...running } = record('a', 'running', 0);
    await backend.saveCheckpoint('held', { ...checkpoint('held', ['a']), records: [running] });
    const release = await backend.lockRun('held'); // a live holder: this process
    const controller = new AbortController();
    const following = cli(['logs', 'held', '--follow', ...state()], {}, controller.signal);
    await new Promise((r) => setTimeout(r, 400));
    controller.abort();
    const stopped = await following;
    expect([stopped.code, stopped.stdout]).toEqual([0, expect.stringMatching(/^== a · attempt 1 · started \S+ · \S+\/held\/a\/raw_output\.jsonl\n$/)]);

    await release();
    const gone = await cli(['logs', 'held', '--follow', ...state()]);
    expect(gone.stderr).toBe('logs: run held is interrupted: its process is gone (agents-sdk resume held)\n');
    expect(gone.stdout).toMatch(/\nstderr:\n {2}\(no raw stream was recorded at \S+\)\n-- attempt 1 did not finish: the run's process is gone\n$/);
    await backend.close();
  });

  it('a torn last line is held until its newline is written', () => {
    const file = join(world.root, 'growing.jsonl');
    const tail = new FileLineTail(file);
    expect(tail.read()).toEqual([]); // not there yet
    writeFileSync(file, '{"a":1}\n{"b":');
    expect(tail.read()).toEqual(['{"a":1}']);
    expect(tail.read()).toEqual([]);
    appendFileSync(file, '2}\n{"c":"é');
    expect(tail.read()).toEqual(['{"b":2}']);
    appendFileSync(file, '"}\n');
    expect(tail.read()).toEqual(['{"c":"é"}']);
    appendFileSync(file, '{"d":');
    tail.read();
    expect(tail.rest()).toBe('{"d":');
    expect(tail.rest()).toBeNull();
    // Written anew (shorter): read from the start again.
    writeFileSync(file, '{"e":5}\n');
    expect(tail.read()).toEqual(['{"e":5}']);
  });
});
