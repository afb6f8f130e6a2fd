import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentMemory, AgentSession, InMemoryBackend, type AgentSessionOptions, type ExecutionRequest, type Executor } from '../src/index.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { failureOf } from './helpers/failure-of.js';
import { okResult } from './helpers/results.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

function session(extra: Partial<AgentSessionOptions> = {}): AgentSession {
  return new AgentSession({
    agentName: 'writer',
    memory: new AgentMemory(),
    context: { env: world.env, stateDir: world.stateDir },
    ...extra,
  });
}

/** The prompts the fake claude received, in order. */
function prompts(): string[] {
  return world.invocations().flatMap((i) => (typeof i.prompt === 'string' ? [i.prompt] : []));
}

/** The fake's invocation records (one per run, without the completion lines). */
function runs(): Array<Record<string, unknown>> {
  return world.invocations().filter((i) => typeof i.prompt === 'string');
}

function roles(session: AgentSession): string[] {
  return session.memory!.getHistory().map((m) => `[${m.role.toUpperCase()}] ${m.content}`);
}

describe('transcript mode', () => {
  it('prepends the conversation so far to the prompt, in a fresh Claude session', async () => {
    const s = session();
    await s.execute('Name a colour');
    const reply = await s.execute('And another? [[echo]]', { context: 'transcript' });

    const expected = 'The conversation so far, oldest first:\n\n[USER] Name a colour\n\n[ASSISTANT] Done: Name a colour\n\n[USER] And another? [[echo]]';
    expect(prompts()[1]).toBe(expected);
    expect(reply.output).toBe(expected);
    expect(runs()[1]!.resume).toBeNull();
    // the history records what the user asked, not the transcript around it
    expect(roles(s)).toEqual(['[USER] Name a colour', '[ASSISTANT] Done: Name a colour', '[USER] And another? [[echo]]', `[ASSISTANT] ${expected}`]);
  });

  it('includes only the last maxHistoryTurns turns, and none with includeHistory: false', async () => {
    const s = session();
    for (const n of [1, 2, 3]) await s.execute(`Question ${n} [[reply:answer ${n}]]`, { context: 'transcript' });
    await s.execute('Last one', { context: 'transcript', maxHistoryTurns: 1 });
    expect(prompts()[3]).toBe('The conversation so far, oldest first:\n\n[USER] Question 3 [[reply:answer 3]]\n\n[ASSISTANT] answer 3\n\n[USER] Last one');
    await s.execute('Alone', { context: 'transcript', includeHistory: false });
    expect(prompts()[4]).toBe('Alone');
  });

  it('a session keeps at most maxHistoryTurns turns', async () => {
    const s = session({ memory: new AgentMemory({ maxHistoryTurns: 2 }) });
    for (const n of [1, 2, 3]) await s.execute(`Question ${n} [[reply:answer ${n}]]`, { context: 'resume' });
    expect(roles(s)).toEqual([
      '[USER] Question 2 [[reply:answer 2]]',
      '[ASSISTANT] answer 2',
      '[USER] Question 3 [[reply:answer 3]]',
      '[ASSISTANT] answer 3',
    ]);
  });

  it('a failed prompt leaves no trace in the history', async () => {
    const s = session();
    await s.execute('Hello [[reply:hi]]');
    const error = await failureOf(s.execute('[[auth-failure]] again'));
    expect(error.code).toBe('AUTH_FAILED');
    expect(roles(s)).toEqual(['[USER] Hello [[reply:hi]]', '[ASSISTANT] hi']);
  });
});

describe('resume mode', () => {
  it('is the default once a Claude session exists: the prompt goes as is, with --resume <its id>', async () => {
    const s = session();
    const first = await s.execute('Start the plan');
    const second = await s.execute('Go on [[echo]]');

    expect(first.sessionId).toBeTruthy();
    expect(runs()[1]!.argv).toEqual(expect.arrayContaining(['--resume', first.sessionId]));
    expect(runs()[1]!.resume).toBe(first.sessionId);
    expect(second.output).toBe(`[resumed ${first.sessionId}] Go on [[echo]]`);
    expect(roles(s)).toHaveLength(4);
  });

  it('continueSession: false falls back to transcript mode (a new Claude session that is told the history)', async () => {
    const s = session();
    await s.execute('Start [[reply:started]]');
    await s.execute('Fresh start', { continueSession: false });
    expect(runs()[1]!.resume).toBeNull();
    expect(prompts()[1]).toContain('[USER] Start [[reply:started]]\n\n[ASSISTANT] started\n\n[USER] Fresh start');
  });
});

describe('summarizing a transcript past maxHistoryChars', () => {
  // Each step is one turn of about 150 formatted characters: three of them pass the 400 limit.
  // (Summaries are cached in the process: each test has a schema of its own.)
  const stepsOf = (schema: string) => [1, 2, 3, 4].map((n) => `Step ${n}: ${`migrate the next table of the ${schema} schema; `.repeat(2)}[[reply:answer ${n}]]`);

  async function converse(s: AgentSession, steps: string[]): Promise<void> {
    for (const step of steps) await s.execute(step, { context: 'transcript', maxHistoryChars: 400 });
  }

  /**
   * An in-process stand-in for the fake claude, for the tests about the summary cache (the test
   * above runs the summary through the fake itself): it notes each prompt in `sent` and answers
   * as the fake does, with the last [[reply:...]] the prompt holds.
   */
  function answeringLikeTheFake(sent: string[]): Executor {
    return async (request: ExecutionRequest) => {
      const prompt = request.kind === 'claude' ? request.prompt : '';
      sent.push(prompt);
      const reply = [...prompt.matchAll(/\[\[reply:(.*?)\]\]/g)].at(-1)?.[1];
      return okResult({ output: reply ?? `Done: ${prompt.slice(0, 60)}` });
    };
  }

  it('summarizes the oldest turns with one agent call and puts the summary in their place', async () => {
    const s = session();
    const steps = stepsOf('billing');
    await converse(s, steps);

    const sent = prompts();
    // four prompts and one summary, made before the fourth prompt
    expect(sent).toHaveLength(5);
    const summaryPrompt = sent[3]!;
    expect(summaryPrompt).toMatch(/^Summarize the conversation below/);
    expect(summaryPrompt).toContain(`[USER] ${steps[0]}\n\n[ASSISTANT] answer 1\n\n[USER] ${steps[1]}\n\n[ASSISTANT] answer 2`);
    expect(summaryPrompt).not.toContain('Step 3');
    // The fake answers with the last [[reply:...]] it reads, so the summary is "answer 2".
    expect(sent[4]).toBe(
      `The conversation so far, oldest first:\n\n[SYSTEM] Summary of 2 earlier turns: answer 2\n\n[USER] ${steps[2]}\n\n[ASSISTANT] answer 3\n\n[USER] ${steps[3]}`,
    );
    expect(roles(s)).toEqual([
      '[SYSTEM] Summary of 2 earlier turns: answer 2',
      `[USER] ${steps[2]}`,
      '[ASSISTANT] answer 3',
      `[USER] ${steps[3]}`,
      '[ASSISTANT] answer 4',
    ]);
    expect(s.memory!.getHistory()[0]!.metadata).toMatchObject({ summary: true, turns: 2 });
  });

  it('the same turns summarized again come from the cache: no second call', async () => {
    const sent: string[] = [];
    const executor = answeringLikeTheFake(sent);
    const steps = stepsOf('accounts');
    const first = session({ executor });
    await converse(first, steps);
    expect(sent).toHaveLength(5);
    expect(sent[3]).toMatch(/^Summarize/);
    expect(roles(first)[0]).toBe('[SYSTEM] Summary of 2 earlier turns: answer 2');
    const again = session({ executor });
    await converse(again, steps);
    expect(sent).toHaveLength(9);
    expect(sent.filter((p) => p.startsWith('Summarize'))).toHaveLength(1);
    expect(roles(again)[0]).toBe('[SYSTEM] Summary of 2 earlier turns: answer 2');
  });

  it('with a backend, the summary is cached there under cache:summary:<hash>', async () => {
    const sent: string[] = [];
    const executor = answeringLikeTheFake(sent);
    const backend = new InMemoryBackend();
    const steps = stepsOf('shipping');
    await converse(session({ memory: backend, executor }), steps);
    const cached = await backend.list({ prefix: 'cache:summary:' });
    expect(cached.map((e) => [e.key, e.value])).toEqual([[expect.stringMatching(/^cache:summary:[0-9a-f]{64}$/), 'answer 2']]);
    expect(cached[0]!.expiresAt).not.toBeNull();

    const again = session({ memory: backend, executor });
    await converse(again, steps);
    expect(sent).toHaveLength(9);
    expect(sent.filter((p) => p.startsWith('Summarize'))).toHaveLength(1);
    expect(again.memory!.backend).toBe(backend);
  });

  it('a summary that cannot be made drops the oldest turns, and the prompt still runs', async () => {
    const sent: string[] = [];
    const s = new AgentSession({
      agentName: 'writer',
      memory: new AgentMemory(),
      executor: async (request: ExecutionRequest) => {
        const prompt = request.kind === 'claude' ? request.prompt : '';
        sent.push(prompt);
        if (prompt.startsWith('Summarize')) throw new Error('no summaries today');
        return okResult({ output: 'noted' });
      },
    });
    // each turn is 114 characters: before the fourth prompt, three pass the 300 limit
    for (const n of [1, 2, 3, 4]) await s.execute(`Fact ${n}: ${'x'.repeat(80)}`, { maxHistoryChars: 300 });
    expect(sent).toHaveLength(5);
    expect(sent[3]).toMatch(/^Summarize/);
    expect(sent[4]).toBe(`The conversation so far, oldest first:\n\n[USER] Fact 3: ${'x'.repeat(80)}\n\n[ASSISTANT] noted\n\n[USER] Fact 4: ${'x'.repeat(80)}`);
    expect(roles(s)).toHaveLength(8);
  });

  it('cancel() while the summary runs cancels the prompt; a prompt meanwhile is refused as busy', async () => {
    let summaries = 0;
    const s = new AgentSession({
      agentName: 'writer',
      memory: new AgentMemory(),
      maxHistoryChars: 100,
      executor: (request, hooks) => {
        if (request.kind === 'claude' && request.prompt.startsWith('Summarize')) {
          summaries++;
          return new Promise((_, reject) => hooks.signal.addEventListener('abort', () => reject(new Error('aborted'))));
        }
        return Promise.resolve(okResult({ output: 'y'.repeat(60) }));
      },
    });
    await s.execute('first');
    await s.execute('second');
    const third = s.execute('third');
    expect((await failureOf(s.execute('fourth'))).code).toBe('SESSION_BUSY');
    await new Promise((r) => setTimeout(r, 10));
    expect(summaries).toBe(1);
    s.cancel();
    expect((await failureOf(third)).code).toBe('CANCELLED');
  });
});

describe('a restored session', () => {
  it('keeps its history: the persisted snapshot carries the memory', async () => {
    const s = session();
    const first = await s.execute('Remember the number 42');
    const snapshot = JSON.parse(JSON.stringify(s.getPersistedSnapshot()));
    s.stop();

    const restored = new AgentSession({ agentName: 'writer', snapshot, context: { env: world.env, stateDir: world.stateDir } });
    expect(restored.memory!.getHistory()).toEqual(s.memory!.getHistory());
    expect(restored.claudeSessionId).toBe(first.sessionId);
    await restored.execute('Which number? [[echo]]', { context: 'transcript' });
    expect(prompts()[1]).toContain('[USER] Remember the number 42\n\n[ASSISTANT] Done: Remember the number 42\n\n[USER] Which number?');
  });

  it('restored mid-prompt, records that prompt with the reply it gets this time', async () => {
    const first = new AgentSession({ agentName: 'writer', memory: new AgentMemory(), executor: () => new Promise(() => {}) });
    void first.execute('Interrupted question').catch(() => undefined);
    const snapshot = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const restored = new AgentSession({ agentName: 'writer', snapshot, executor: async () => okResult({ output: 'answered after all' }) });
    await restored.settled();
    expect(roles(restored)).toEqual(['[USER] Interrupted question', '[ASSISTANT] answered after all']);
  });

  it('loads the history into the memory it is given', async () => {
    const s = session();
    await s.execute('One [[reply:1]]');
    const snapshot = JSON.parse(JSON.stringify(s.getPersistedSnapshot()));
    const memory = new AgentMemory({ maxHistoryTurns: 5 });
    const restored = new AgentSession({ agentName: 'writer', snapshot, memory, context: { env: world.env, stateDir: world.stateDir } });
    expect(restored.memory).toBe(memory);
    expect(memory.getConversationContext()).toBe('[USER] One [[reply:1]]\n\n[ASSISTANT] 1');
  });
});
