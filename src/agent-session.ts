/**
 * `AgentSession`: the session actor behind a small promise API, for users who do not want XState.
 *
 * @module
 */
import { createActor, type Actor, type InspectionEvent, type Observer, type Snapshot } from 'xstate';
import { createInspector, type Inspector, type InspectTarget } from './inspector/inspection-client.js';
import { CallbackManager, attachCallbacks } from './callbacks/callback-manager.js';
import { createExecutorActor, defaultExecutor, type ExecutionRequest, type Executor } from './actors/executor.js';
import { processRegistryDir, reapProcesses } from './actors/process-registry.js';
import { rawOutputFile, type ClaudeRunRequest } from './actors/claude-code-runner.js';
import { AgentsSdkError, CancelledError, PermanentError, deserializeError } from './errors.js';
import type { Events, SessionEvent } from './events.js';
import { createEventBus, publishLifecycleEvent, type EventBus } from './event-bus.js';
import type { ExecutionResult } from './execution-result.js';
import {
  agentSessionMachine,
  type AgentSessionContext,
  type AgentSessionInput,
  type AgentSessionState,
} from './machines/agent-session.machine.js';
import type { RetryPolicy } from './retry-policy.js';
import { closeAttempt, openAttempt, type AttemptLogHolder } from './workflow/attempt-log.js';
import type { AttemptRecord } from './workflow/workflow-result.js';
import { AgentMemory, DEFAULT_MAX_HISTORY_TURNS, type AgentMemoryState } from './memory/agent-memory.js';
import { countTurns, formattedLength, lastTurns, splitByChars, transcriptPrompt, type ConversationMessage } from './memory/conversation.js';
import type { MemoryBackend } from './memory/memory-backend.js';
import { summarizeHistory } from './memory/summarize-history.js';

/** Default of {@link AgentSessionOptions.maxHistoryChars}. */
export const DEFAULT_MAX_HISTORY_CHARS = 20_000;

/** Per-session settings (the seed's `context`). */
export interface AgentSessionSettings {
  cwd?: string;
  env?: Record<string, string>;
  /** Default model of every prompt (`sonnet`). */
  model?: string;
  /** Token budget (all kinds); a prompt once it is spent is refused with `TOKEN_BUDGET_EXCEEDED`. */
  tokenBudget?: number | null;
  /** Directory raw outputs are recorded under (`agents`). */
  stateDir?: string;
  /** Run directory under `stateDir` (default: the session id). */
  runId?: string;
  /** Defaults for `executeWithRetry`. */
  retry?: Partial<RetryPolicy>;
  /** Continue this Claude session on the first prompt. */
  claudeSessionId?: string;
}

/** Options of {@link AgentSession}. */
export interface AgentSessionOptions {
  sessionId?: string;
  agentName: string;
  context?: AgentSessionSettings;
  /** Replaces the default executor (Claude Code CLI / commands), e.g. for replay. */
  executor?: Executor;
  /**
   * Restores a session from `getPersistedSnapshot()`. One taken mid-execution runs its request
   * again, after killing the agent processes its previous life left running (`session.reaped`).
   */
  snapshot?: Snapshot<unknown>;
  /**
   * XState inspection: an observer (e.g. `createInspector().inspect`; you stop what you
   * create), or a target (`'local'`, `'sky'`, `'ws://host:port'`): then the session's own
   * forwarder, stopped by {@link AgentSession.stop}.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | InspectTarget;
  /** The priority bus the session's events are published on (see `bus`); default a new one. */
  bus?: EventBus<Events>;
  /**
   * Conversation memory: an {@link AgentMemory}, or a backend to make one over. With it the
   * session records every exchange (prompt and reply) in `memory`'s history, keeps that history
   * in its persisted snapshot, and can run prompts with it (`context: 'transcript'`). Without
   * it nothing is recorded. A restored snapshot's history is loaded into it.
   */
  memory?: AgentMemory | MemoryBackend;
  /**
   * Turns of history a transcript prompt includes; also the turns kept when the session makes
   * the {@link AgentMemory} itself (default: the memory's, 20).
   */
  maxHistoryTurns?: number;
  /**
   * Characters of history a transcript prompt includes (default 20,000). Past it the oldest
   * turns are summarized by one agent call (cached by content hash) and replaced by the summary.
   */
  maxHistoryChars?: number;
}

/**
 * How a prompt gets the conversation so far. `resume`: the Claude session continues
 * (`--resume`), so the model has it already. `transcript`: a fresh Claude session whose prompt
 * starts with the formatted history (`[USER] …` / `[ASSISTANT] …`).
 */
export type ConversationContextMode = 'resume' | 'transcript';

/** Options of one prompt. */
export type ExecuteOptions = Omit<ClaudeRunRequest, 'prompt' | 'resumeSessionId' | 'processOwner'> & {
  /** `false`: start a fresh Claude session instead of continuing this session's (default true). */
  continueSession?: boolean;
  /**
   * How the prompt gets the conversation so far: `resume` (the default once there is a Claude
   * session to continue) or `transcript` (the default before; a fresh Claude session, the
   * history prepended: for another model, or when the Claude session is gone).
   */
  context?: ConversationContextMode;
  /** `false`: a transcript prompt leaves the history out (default true; needs `memory`). */
  includeHistory?: boolean;
  /** Turns of history this transcript prompt includes (default the session's). */
  maxHistoryTurns?: number;
  /** Characters of history this transcript prompt includes before older turns are summarized (default the session's). */
  maxHistoryChars?: number;
};

/** Options of {@link AgentSession.executeWithRetry}. */
export type ExecuteWithRetryOptions = ExecuteOptions & {
  /** Attempts in all, the first included, like a task's `retry_count` (default 3). */
  maxRetries?: number;
  /** Growth of the backoff per retry (default 2). */
  backoffFactor?: number;
  /** First backoff cap in ms (default 2000). */
  baseDelayMs?: number;
  /** Largest backoff in ms (default 60000). */
  maxDelayMs?: number;
  jitter?: RetryPolicy['jitter'];
};

/**
 * One agent: runs prompts through Claude Code one at a time, keeping the Claude session
 * (`--resume`), tokens and cost across prompts.
 *
 * @example
 * ```ts
 * const session = new AgentSession({ agentName: 'planner', context: { cwd: repo } });
 * const plan = await session.executeWithRetry('Plan the change', { model: 'opus' });
 * const more = await session.execute('Now list the risks'); // continues the same Claude session
 *
 * // With conversation memory: every exchange is recorded, and a prompt can carry the history itself
 * const reviewer = new AgentSession({ agentName: 'reviewer', memory: new AgentMemory({ maxHistoryTurns: 10 }) });
 * await reviewer.execute('Review the plan', { context: 'transcript', model: 'opus' });
 * ```
 */
export class AgentSession {
  /** The underlying XState actor, for inspection and embedding. */
  readonly actor: Actor<typeof agentSessionMachine>;
  /** `onStart` / `onProgress` / `onComplete` / `onError` callbacks, fed by this session's events; prompts settle once they are done. */
  readonly callbacks = new CallbackManager();
  /**
   * Every event of the session (`session.*`) on a priority bus, `source` = the session id;
   * failures and reaps `high`, progress `low`, the rest `normal`. Prompts settle once its
   * handlers have.
   */
  readonly bus: EventBus<Events>;
  private stopped = false;
  /** The attempts of the latest execution (see {@link AgentSession.attemptLog}). */
  private readonly latest: AttemptLogHolder = { attemptLog: [], sessionId: null };
  private readonly inspection: Inspector | null;
  /**
   * The session's conversation memory (see {@link AgentSessionOptions.memory}), or `null`:
   * every completed prompt adds its exchange to `memory.getHistory()`.
   */
  readonly memory: AgentMemory | null;
  /** Runs side calls (summaries) as the session's executor would. */
  private readonly executor: Executor;
  /** A prompt is being prepared (its history summarized) before it is sent. */
  private preparing = false;
  /** Aborts the side call in flight on `cancel()` / `stop()`. */
  private sideCall: AbortController | null = null;
  private readonly maxHistoryTurns: number;
  private readonly maxHistoryChars: number;

  constructor(options: AgentSessionOptions) {
    // A session restored mid-execution runs its request again, but first ends the agent its
    // previous life left running (that process died, its agent did not): the first execution
    // waits for that.
    let reaping: Promise<void> | null = null;
    let executor = options.executor;
    if (options.snapshot !== undefined) {
      const inner = options.executor ?? defaultExecutor;
      executor = async (request, hooks) => {
        if (reaping !== null) await reaping;
        reaping = null;
        return inner(request, hooks);
      };
    }
    this.executor = executor ?? defaultExecutor;
    const machine = executor ? agentSessionMachine.provide({ actors: { executor: createExecutorActor(executor) } }) : agentSessionMachine;
    const ctx = options.context ?? {};
    const input: AgentSessionInput = { agentName: options.agentName };
    if (options.sessionId !== undefined) input.sessionId = options.sessionId;
    if (ctx.cwd !== undefined) input.cwd = ctx.cwd;
    if (ctx.env !== undefined) input.env = ctx.env;
    if (ctx.model !== undefined) input.model = ctx.model;
    if (ctx.tokenBudget !== undefined) input.tokenBudget = ctx.tokenBudget;
    if (ctx.stateDir !== undefined) input.stateDir = ctx.stateDir;
    if (ctx.runId !== undefined) input.runId = ctx.runId;
    if (ctx.retry !== undefined) input.retry = ctx.retry;
    if (ctx.claudeSessionId !== undefined) input.claudeSessionId = ctx.claudeSessionId;
    this.inspection = typeof options.inspect === 'string' ? createInspector({ target: options.inspect }) : null;
    const inspect = this.inspection ? this.inspection.inspect : (options.inspect as Exclude<AgentSessionOptions['inspect'], string>);
    const { memory: savedMemory, ...snapshot } = (options.snapshot ?? {}) as Snapshot<unknown> & { memory?: AgentMemoryState };
    this.memory = sessionMemory(options, savedMemory);
    this.maxHistoryTurns = options.maxHistoryTurns ?? this.memory?.maxHistoryTurns ?? DEFAULT_MAX_HISTORY_TURNS;
    this.maxHistoryChars = options.maxHistoryChars ?? DEFAULT_MAX_HISTORY_CHARS;
    this.actor = createActor(machine, {
      input,
      ...(options.snapshot !== undefined && { snapshot }),
      ...(inspect !== undefined && { inspect }),
    });
    this.bus = options.bus ?? createEventBus<Events>();
    this.actor.on('*', (event) => publishLifecycleEvent(this.bus, event));
    attachCallbacks(this, this.callbacks);
    this.actor.on('*', (event) => this.noteAttempt(event));
    // Registered before start: a session restored mid-prompt records that prompt's reply too.
    if (this.memory !== null) {
      const memory = this.memory;
      this.actor.on('session.completed', ({ result }) => memory.completeTurn(result.output, { claudeSessionId: result.sessionId, costUsd: result.costUsd }));
      this.actor.on('session.failed', () => memory.abandonTurn());
    }
    const restored = this.actor.getSnapshot();
    if (options.snapshot && (restored.value === 'running' || restored.value === 'retrying')) reaping = this.reapOrphans(restored.context);
    this.actor.start();
    // A snapshot taken mid-execution goes on: a `running` one runs its request again (its
    // process did not survive), a `retrying` one has lost its timer and retries now.
    // `settled()` awaits it.
    if (options.snapshot && restored.value === 'retrying') this.actor.send({ type: 'RETRY' });
  }

  /** `idle`, `running`, `retrying`, `completed` or `failed`. */
  get status(): AgentSessionState {
    return this.actor.getSnapshot().value as AgentSessionState;
  }

  /** The session's context (plain JSON). */
  get context(): AgentSessionContext {
    return this.actor.getSnapshot().context;
  }

  get sessionId(): string {
    return this.context.sessionId;
  }

  /** The latest Claude session id: the next prompt continues it. */
  get claudeSessionId(): string | null {
    return this.context.claudeSessionId;
  }

  /**
   * The attempts of the latest prompt, in order (a new prompt starts a new list): each one's
   * status, error (the 529 it was retried after), tokens, cost, duration and raw stream file.
   */
  get attemptLog(): AttemptRecord[] {
    return this.latest.attemptLog!;
  }

  /** Runs one prompt, one attempt. Resolves with the result; rejects with a typed error. */
  execute(prompt: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    return this.run(prompt, options, { maxAttempts: 1 });
  }

  /** Runs one prompt, retrying transient failures with exponential backoff. */
  executeWithRetry(prompt: string, options: ExecuteWithRetryOptions = {}): Promise<ExecutionResult> {
    const { maxRetries, backoffFactor, baseDelayMs, maxDelayMs, jitter, ...rest } = options;
    const retry: Partial<RetryPolicy> = { maxAttempts: maxRetries ?? this.context.settings.retry.maxAttempts };
    if (backoffFactor !== undefined) retry.factor = backoffFactor;
    if (baseDelayMs !== undefined) retry.baseDelayMs = baseDelayMs;
    if (maxDelayMs !== undefined) retry.maxDelayMs = maxDelayMs;
    if (jitter !== undefined) retry.jitter = jitter;
    return this.run(prompt, rest, retry);
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends SessionEvent['type']>(type: T, handler: (event: Extract<SessionEvent, { type: T }>) => void): () => void {
    const sub = this.actor.on(type, handler as (event: SessionEvent) => void);
    return () => sub.unsubscribe();
  }

  /** Subscribes to every session event (lifecycle and progress); returns the unsubscribe function. */
  onEvent(handler: (event: SessionEvent) => void): () => void {
    const sub = this.actor.on('*', handler);
    return () => sub.unsubscribe();
  }

  /** Cancels the running prompt: its process tree is killed and it rejects with `CANCELLED`. */
  cancel(reason?: string): void {
    this.sideCall?.abort();
    this.actor.send(reason === undefined ? { type: 'CANCEL' } : { type: 'CANCEL', reason });
  }

  /** The persisted snapshot (plain JSON), to restore the session later; with `memory`, its state too (`memory`). */
  getPersistedSnapshot(): Snapshot<unknown> {
    const snapshot = this.actor.getPersistedSnapshot();
    return this.memory === null ? snapshot : Object.assign({}, snapshot, { memory: this.memory.toJSON() });
  }

  /** Stops the actor (a running prompt is killed). */
  stop(): void {
    this.stopped = true;
    this.sideCall?.abort();
    this.actor.stop();
    void this.inspection?.stop();
  }

  /** Keeps {@link AgentSession.attemptLog} from the session's lifecycle events. */
  private noteAttempt(event: SessionEvent): void {
    const log = this.latest;
    switch (event.type) {
      case 'session.started':
        if (event.attempt === 1) log.attemptLog = [];
        openAttempt(log, event.at, () => this.rawFileOf(event.attempt));
        break;
      case 'session.progress':
        if (event.progress.sessionId) log.sessionId = event.progress.sessionId;
        break;
      case 'session.retrying':
        closeAttempt(log, 'failed', event.at, event.error);
        break;
      case 'session.completed':
        closeAttempt(log, 'succeeded', event.at, null, event.result);
        break;
      case 'session.failed':
        closeAttempt(log, event.error.code === 'CANCELLED' ? 'cancelled' : 'failed', event.at, event.error);
        break;
    }
  }

  /** Where attempt `attempt` of the current request records its stream (as the runner names it), or `null`. */
  private rawFileOf(attempt: number): string | null {
    const { request, settings, agentName } = this.context;
    if (request?.kind !== 'claude') return null;
    try {
      return rawOutputFile({
        stateDir: request.stateDir ?? settings.stateDir,
        runId: request.runId ?? settings.runId,
        agentName: request.agentName ?? agentName,
        attempt: (settings.attemptsBefore ?? 0) + attempt,
      });
    } catch {
      // an id the runner refuses too: the attempt fails with INVALID_KEY and records nothing
      return null;
    }
  }

  /**
   * Kills what is left of the agent processes this session registered in its previous life
   * (only its own: registry entries with its session id), and reports them as `session.reaped`.
   */
  private async reapOrphans(context: AgentSessionContext): Promise<void> {
    const request = context.request;
    const dir = processRegistryDir(request?.stateDir ?? context.settings.stateDir, request?.runId ?? context.settings.runId);
    // A registry is a safety net: failing to read one never fails the prompt.
    const processes = await reapProcesses(dir, { owner: context.sessionId }).catch(() => []);
    if (processes.length > 0 && !this.stopped) this.actor.send({ type: 'PROCESSES.REAPED', processes });
  }

  private run(prompt: string, options: ExecuteOptions, retry: Partial<RetryPolicy>): Promise<ExecutionResult> {
    if (this.stopped) return Promise.reject(new CancelledError(`Session ${this.sessionId} is stopped`));
    const state = this.preparing ? 'preparing a prompt' : this.status;
    if (state === 'running' || state === 'retrying' || this.preparing) {
      return Promise.reject(
        new PermanentError('SESSION_BUSY', `Session ${this.sessionId} (${this.context.agentName}) is already ${state}; wait for it before the next prompt`),
      );
    }
    const { continueSession, context, includeHistory, maxHistoryTurns, maxHistoryChars, ...request } = options;
    const resumable = (continueSession ?? this.context.settings.continueSession) && this.claudeSessionId !== null;
    const mode: ConversationContextMode = context ?? (resumable ? 'resume' : 'transcript');
    // A transcript carries the conversation itself: resuming too would show the model every turn twice.
    const send = (fullPrompt: string) => this.send(prompt, fullPrompt, request, retry, mode === 'transcript' ? false : continueSession);
    const memory = this.memory;
    if (memory === null || mode === 'resume' || includeHistory === false) return send(prompt);
    const turns = lastTurns(memory.getHistory(), maxHistoryTurns ?? this.maxHistoryTurns);
    const maxChars = maxHistoryChars ?? this.maxHistoryChars;
    if (formattedLength(turns) <= maxChars) return send(transcriptPrompt(turns, prompt));
    this.preparing = true;
    return this.fitHistory(memory, turns, maxChars, request.model ?? this.context.settings.model)
      .finally(() => {
        this.preparing = false;
      })
      .then((history) => send(transcriptPrompt(history, prompt)));
  }

  /** Sends one prompt (`fullPrompt`: with its transcript) to the machine; `prompt` is what the history records. */
  private send(prompt: string, fullPrompt: string, request: ExecuteOptions, retry: Partial<RetryPolicy>, continueSession: boolean | undefined): Promise<ExecutionResult> {
    const executionId = this.context.executionId + 1;
    const done = this.outcomeOf(executionId);
    this.memory?.beginTurn(prompt);
    this.actor.send({
      type: 'EXECUTE',
      // Listed in the process registry under this session, so that a restored session can end
      // the agent its previous life left behind.
      request: { kind: 'claude', prompt: fullPrompt, processRegistry: true, ...request, processOwner: this.sessionId },
      retry,
      ...(continueSession !== undefined && { continueSession }),
    });
    // Settles once the callbacks and bus handlers of this execution have run.
    return done.finally(() => Promise.all([this.callbacks.idle(), this.bus.idle()]));
  }

  /**
   * The history of a transcript that is over `maxChars`: its oldest turns summarized by one
   * agent call (or the cache), the summary replacing them in memory, the newest turns that fit
   * in half the limit kept as they are. A summary that cannot be made drops those turns
   * instead: the prompt still runs.
   */
  private async fitHistory(memory: AgentMemory, history: ConversationMessage[], maxChars: number, model: string): Promise<ConversationMessage[]> {
    const { older, recent } = splitByChars(history, Math.floor(maxChars / 2));
    const turns = countTurns(older);
    const prefix = `Summary of ${turns} earlier turn${turns === 1 ? '' : 's'}: `;
    try {
      const summary = await summarizeHistory(older, {
        run: (prompt) => this.runAside(prompt, model),
        maxChars: Math.max(1, Math.floor(maxChars / 2) - prefix.length - 9),
        model,
        backend: memory.backend,
      });
      const message: ConversationMessage = {
        role: 'system',
        content: prefix + summary.text,
        timestamp: Date.now(),
        metadata: { summary: true, turns, hash: summary.hash, costUsd: summary.result?.costUsd ?? 0 },
      };
      const current = memory.getHistory();
      const at = recent.length === 0 ? current.length : current.indexOf(recent[0]!);
      if (at > 0) memory.replaceOldest(at, message);
      return [message, ...recent];
    } catch (error) {
      if (this.stopped || (error instanceof AgentsSdkError && error.code === 'CANCELLED')) throw error;
      return recent;
    }
  }

  /** Runs a prompt beside the session (a summary): same executor and settings, a fresh Claude session, raw output under `<agentName>-summary`. */
  private async runAside(prompt: string, model: string): Promise<ExecutionResult> {
    const { settings, agentName, sessionId } = this.context;
    const request: ExecutionRequest = {
      kind: 'claude',
      prompt,
      model,
      env: settings.env,
      stateDir: settings.stateDir,
      runId: settings.runId,
      agentName: `${agentName}-summary`,
      processRegistry: true,
      processOwner: sessionId,
    };
    if (settings.cwd !== null) request.cwd = settings.cwd;
    const controller = new AbortController();
    this.sideCall = controller;
    try {
      return await this.executor(request, { signal: controller.signal, onEvent: () => {} });
    } catch (error) {
      // An executor may reject an aborted call with any error: the prompt was cancelled.
      if (controller.signal.aborted) throw new CancelledError(`Session ${sessionId} was cancelled while summarizing its history`);
      throw error;
    } finally {
      this.sideCall = null;
    }
  }

  /**
   * The outcome of the latest execution: waits while one is running or retrying (one restored
   * from a snapshot mid-run goes on by itself: this is how to await it), else resolves with
   * its result or rejects with its error.
   *
   * @throws PermanentError `NOT_FOUND` when the session has never executed anything.
   */
  settled(): Promise<ExecutionResult> {
    const { executionId, lastResult, lastError } = this.context;
    const state = this.status;
    if (state === 'running' || state === 'retrying') return this.outcomeOf(executionId);
    if (state === 'completed' && lastResult) return Promise.resolve(lastResult);
    if (state === 'failed') return Promise.reject(toError(lastError));
    return Promise.reject(new PermanentError('NOT_FOUND', `Session ${this.sessionId} has not executed anything yet`));
  }

  /** Resolves or rejects when execution `executionId` ends. */
  private outcomeOf(executionId: number): Promise<ExecutionResult> {
    if (this.stopped) return Promise.reject(new CancelledError(`Session ${this.sessionId} is stopped`));
    return new Promise<ExecutionResult>((resolve, reject) => {
      const sub = this.actor.subscribe({
        next: (snapshot) => {
          if (snapshot.context.executionId !== executionId) return;
          if (snapshot.value === 'completed') {
            sub.unsubscribe();
            resolve(snapshot.context.lastResult!);
          } else if (snapshot.value === 'failed') {
            sub.unsubscribe();
            reject(toError(snapshot.context.lastError));
          }
        },
        // stop() while a prompt runs: its process is killed, the caller must not wait forever.
        complete: () => reject(new CancelledError(`Session ${this.sessionId} was stopped`)),
        error: (error) => reject(error),
      });
    });
  }
}

/** The session's memory: the one given, one over the backend given, or one for a restored history. */
function sessionMemory(options: AgentSessionOptions, saved: AgentMemoryState | undefined): AgentMemory | null {
  const given = options.memory;
  const turns = options.maxHistoryTurns === undefined ? {} : { maxHistoryTurns: options.maxHistoryTurns };
  let memory: AgentMemory | null = null;
  if (given instanceof AgentMemory) memory = given;
  else if (given !== undefined) memory = new AgentMemory({ backend: given, ...turns });
  else if (saved !== undefined) memory = new AgentMemory(turns);
  if (memory !== null && saved !== undefined) memory.restore(saved);
  return memory;
}

function toError(error: AgentSessionContext['lastError']): AgentsSdkError {
  return error ? deserializeError(error) : new PermanentError('CRASHED', 'Session failed without an error');
}
