/**
 * The agent session: one actor per agent, running many prompts over its life.
 *
 * `idle` → `running` → `completed` | `failed`, with `running` → `retrying` → `running` on a
 * transient failure while attempts remain (exponential backoff with full jitter as a delayed
 * transition). From `completed` and `failed` the next `EXECUTE` starts again. The machine is
 * pure: the only side effect is the `executor` actor it invokes in `running`.
 *
 * @module
 */
import { assign, enqueueActions, setup } from 'xstate';
import { newRunId } from '../run-id.js';
import { createExecutorActor, type ExecutionRequest, type ExecutorEvent } from '../actors/executor.js';
import type { ReapedProcess } from '../actors/process-registry.js';
import { DEFAULT_MODEL, DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { addTokens, emptyTokens, totalTokens, type TokenUsage } from '../claude/stream-json.js';
import type { SerializedError } from '../errors.js';
import type { SessionEvent } from '../events.js';
import type { ExecutionResult } from '../execution-result.js';
import { backoffDelay, retryPolicy, type RetryPolicy } from '../retry-policy.js';

/** Version of the persisted context shape. */
export const SESSION_SCHEMA_VERSION = 1;

/** What a session is created with. Every field is optional but `agentName`. */
export interface AgentSessionInput {
  sessionId?: string;
  agentName: string;
  /** Run directory for raw outputs (`<stateDir>/<runId>/<agentName>/`); default the session id. */
  runId?: string;
  stateDir?: string;
  cwd?: string;
  env?: Record<string, string>;
  model?: string;
  /** Tokens (all kinds) this session may spend; an `EXECUTE` once it is reached is refused. */
  tokenBudget?: number | null;
  retry?: Partial<RetryPolicy>;
  /** Continue this Claude session on the first prompt (`--resume`). */
  claudeSessionId?: string | null;
  /** Later prompts continue the Claude session of the previous one (default true). */
  continueSession?: boolean;
  /**
   * Send session events to the parent actor as `SESSION.EVENT` (set by the orchestrator): all
   * but the first `session.started` of an execution, which the parent caused itself.
   */
  notifyParent?: boolean;
  /** Start executing this at once. */
  execute?: ExecutePayload;
  /**
   * Attempts of this work made before this session (by the orchestrator: earlier spawns of the
   * task, in an earlier process or before a cancel). Attempt `n` of an execution is attempt
   * `attemptsBefore + n` of the task: it names the raw files (`raw_output.attempt-<n>.jsonl`). Default 0.
   */
  attemptsBefore?: number;
}

/** The payload of `EXECUTE`. */
export interface ExecutePayload {
  /** A prompt, or a full request (`{ kind: 'command', command: [...] }` for a command). */
  request: ExecutionRequest | { kind?: undefined; prompt: string; model?: string };
  retry?: Partial<RetryPolicy>;
  /** `false`: start a fresh Claude session even if this session has one. */
  continueSession?: boolean;
}

/** How a session was set up: fixed for its life. */
export interface SessionSettings {
  /** Run directory for raw outputs (`<stateDir>/<runId>/<agentName>/`). */
  runId: string;
  stateDir: string;
  cwd: string | null;
  env: Record<string, string>;
  model: string;
  /** Later prompts continue the Claude session of the previous one. */
  continueSession: boolean;
  /** Session events also go to the parent actor. */
  notifyParent: boolean;
  /** The session's own retry policy; each `EXECUTE` may override it for that execution only. */
  retry: RetryPolicy;
  /** See {@link AgentSessionInput.attemptsBefore} (absent in snapshots older than it: 0). */
  attemptsBefore?: number;
}

/**
 * Context of the session machine: plain JSON, persisted as is. (Kept to 16 top-level keys:
 * XState copies the context on every `assign`, and V8 turns a larger copy into a slow
 * dictionary object.)
 */
export interface AgentSessionContext {
  schemaVersion: number;
  sessionId: string;
  agentName: string;
  settings: SessionSettings;
  tokenBudget: number | null;
  tokensUsed: number;
  tokens: TokenUsage;
  costUsd: number;
  retry: RetryPolicy;
  /** Attempt number within the current execution (0 before the first), counted as it starts. */
  attempt: number;
  /** Increases by one with every `EXECUTE`, accepted or refused. */
  executionId: number;
  nextDelayMs: number;
  /** The request being executed (with `resumeSessionId` fixed at `EXECUTE` time). */
  request: ExecutionRequest | null;
  lastError: SerializedError | null;
  lastResult: ExecutionResult | null;
  /** The latest Claude session id seen: later prompts `--resume` it. */
  claudeSessionId: string | null;
}

/** Events the session accepts. */
export type AgentSessionEvent =
  | ({ type: 'EXECUTE' } & ExecutePayload)
  | { type: 'CANCEL'; reason?: string }
  | { type: 'RETRY' }
  /** Agent processes of this session's previous life were reaped (sent by `AgentSession` on restore): reported as `session.reaped`. */
  | { type: 'PROCESSES.REAPED'; processes: ReapedProcess[] }
  | ExecutorEvent;

/** The event a session sends its parent when `notifyParent` is set. */
export interface SessionParentEvent {
  type: 'SESSION.EVENT';
  /** The actor id of the session (the task id, for the orchestrator). */
  childId: string;
  event: SessionEvent;
}

function baseOf(context: AgentSessionContext) {
  return { sessionId: context.sessionId, agentName: context.agentName, attempt: context.attempt, at: Date.now() };
}

function resolveRequest(context: AgentSessionContext, payload: ExecutePayload): ExecutionRequest {
  const request = payload.request;
  if (request.kind === 'command') return request;
  const continueSession = payload.continueSession ?? context.settings.continueSession;
  const resume = request.kind === 'claude' ? request.resumeSessionId : undefined;
  const out: ExecutionRequest = { ...request, kind: 'claude', model: request.model ?? context.settings.model };
  const resumeFrom = resume ?? (continueSession ? context.claudeSessionId : null);
  if (resumeFrom) out.resumeSessionId = resumeFrom;
  else delete out.resumeSessionId;
  return out;
}

/** The session's environment under the request's own (no copy when either is empty). */
function mergeEnv(base: Record<string, string>, own: Record<string, string> | undefined): Record<string, string> {
  if (own === undefined) return base;
  for (const _ in base) return { ...base, ...own };
  return own;
}

/** The agent session machine. Provide another `executor` with `machine.provide` to replace the runner. */
export const agentSessionMachine = setup({
  types: {
    context: {} as AgentSessionContext,
    input: {} as AgentSessionInput,
    events: {} as AgentSessionEvent,
    emitted: {} as SessionEvent,
  },
  actors: {
    executor: createExecutorActor(),
  },
  delays: {
    backoff: ({ context }) => context.nextDelayMs,
  },
  guards: {
    // `idle` is only ever the first state: a request there has not run yet.
    hasPendingRequest: ({ context }) => context.request !== null,
    budgetExhausted: ({ context }) => context.tokenBudget !== null && context.tokensUsed >= context.tokenBudget,
    canRetry: ({ context, event }) =>
      event.type === 'EXECUTOR.FAILED' && event.error.transient && context.attempt < context.retry.maxAttempts,
  },
  actions: {
    notify: enqueueActions(({ context, self, enqueue }, event: SessionEvent) => {
      enqueue.emit(event);
      // The parent started the execution itself: it hears of retries, progress and the end.
      if (context.settings.notifyParent && !(event.type === 'session.started' && event.attempt === 1)) {
        enqueue.sendParent({ type: 'SESSION.EVENT', childId: self.id, event } satisfies SessionParentEvent);
      }
    }),
    acceptRequest: assign(({ context, event }) => {
      if (event.type !== 'EXECUTE') return {};
      return {
        request: resolveRequest(context, event),
        retry: retryPolicy({ ...context.settings.retry, ...event.retry }),
        attempt: 1,
        executionId: context.executionId + 1,
        lastError: null,
      };
    }),
    refuseOverBudget: assign(({ context }) => ({
      executionId: context.executionId + 1,
      request: null,
      attempt: 0,
      lastError: {
        name: 'PermanentError',
        code: 'TOKEN_BUDGET_EXCEEDED' as const,
        message: `Session ${context.sessionId} (${context.agentName}) has used ${context.tokensUsed} of its ${context.tokenBudget} token budget; the prompt was refused`,
        transient: false,
        details: { tokensUsed: context.tokensUsed, tokenBudget: context.tokenBudget },
      },
    })),
    startAttempt: assign(({ context }) => ({ attempt: context.attempt + 1 })),
    recordProgress: assign(({ context, event }) => {
      if (event.type !== 'EXECUTOR.PROGRESS' || event.event.sessionId === null) return {};
      if (event.event.type !== 'init' && event.event.type !== 'result') return {};
      return event.event.sessionId === context.claudeSessionId ? {} : { claudeSessionId: event.event.sessionId };
    }),
    recordSuccess: assign(({ context, event }) => {
      if (event.type !== 'EXECUTOR.DONE') return {};
      const r = event.result;
      return {
        lastResult: r,
        lastError: null,
        tokens: addTokens(context.tokens, r.tokens),
        tokensUsed: context.tokensUsed + totalTokens(r.tokens),
        costUsd: context.costUsd + r.costUsd,
        claudeSessionId: r.sessionId ?? context.claudeSessionId,
      };
    }),
    recordFailure: assign(({ context, event }) => {
      if (event.type !== 'EXECUTOR.FAILED') return {};
      const partial = event.error.result;
      return {
        lastError: event.error,
        tokens: partial ? addTokens(context.tokens, partial.tokens) : context.tokens,
        tokensUsed: context.tokensUsed + (partial ? totalTokens(partial.tokens) : 0),
        costUsd: context.costUsd + (partial?.costUsd ?? 0),
      };
    }),
    recordCancel: assign(({ event }) => ({
      lastError: {
        name: 'CancelledError',
        code: 'CANCELLED' as const,
        message: event.type === 'CANCEL' && event.reason ? event.reason : 'Session was cancelled',
        transient: false,
      },
    })),
    planRetry: assign(({ context }) => ({ nextDelayMs: backoffDelay(context.attempt, context.retry) })),
  },
}).createMachine({
  id: 'agentSession',
  context: ({ input }) => {
    const sessionId = input.sessionId ?? newRunId();
    const retry = retryPolicy(input.retry);
    const context: AgentSessionContext = {
      schemaVersion: SESSION_SCHEMA_VERSION,
      sessionId,
      agentName: input.agentName,
      settings: {
        runId: input.runId ?? sessionId,
        stateDir: input.stateDir ?? DEFAULT_STATE_DIR,
        cwd: input.cwd ?? null,
        env: input.env ?? {},
        model: input.model ?? DEFAULT_MODEL,
        continueSession: input.continueSession ?? true,
        notifyParent: input.notifyParent ?? false,
        retry,
        attemptsBefore: input.attemptsBefore ?? 0,
      },
      tokenBudget: input.tokenBudget ?? null,
      tokensUsed: 0,
      tokens: emptyTokens(),
      costUsd: 0,
      retry,
      attempt: 0,
      executionId: 0,
      nextDelayMs: 0,
      request: null,
      lastError: null,
      lastResult: null,
      claudeSessionId: input.claudeSessionId ?? null,
    };
    if (input.execute) {
      context.request = resolveRequest(context, input.execute);
      context.retry = retryPolicy({ ...context.settings.retry, ...input.execute.retry });
      context.executionId = 1;
      context.attempt = 1;
    }
    return context;
  },
  initial: 'idle',
  on: {
    'PROCESSES.REAPED': {
      actions: { type: 'notify', params: ({ context, event }) => ({ ...baseOf(context), type: 'session.reaped', processes: event.processes }) },
    },
  },
  states: {
    idle: {
      always: { guard: 'hasPendingRequest', target: 'running' },
      on: {
        EXECUTE: [
          { guard: 'budgetExhausted', target: 'failed', actions: 'refuseOverBudget' },
          { target: 'running', actions: 'acceptRequest' },
        ],
      },
    },
    running: {
      // `attempt` is counted by the transitions into `running` (one assign less per attempt).
      entry: { type: 'notify', params: ({ context }) => ({ ...baseOf(context), type: 'session.started', maxAttempts: context.retry.maxAttempts }) },
      invoke: {
        // Named: the inspector shows `<session>.executor`, not `0.agentSession.running`.
        id: 'executor',
        src: 'executor',
        input: ({ context }) => {
          const request = context.request!;
          const env = mergeEnv(context.settings.env, request.env);
          if (request.kind === 'command') {
            return {
              ...request,
              cwd: request.cwd ?? context.settings.cwd ?? undefined,
              env,
              stateDir: request.stateDir ?? context.settings.stateDir,
              runId: request.runId ?? context.settings.runId,
              attempt: (context.settings.attemptsBefore ?? 0) + context.attempt,
            };
          }
          const out: ExecutionRequest = {
            ...request,
            stateDir: request.stateDir ?? context.settings.stateDir,
            runId: request.runId ?? context.settings.runId,
            agentName: request.agentName ?? context.agentName,
            attempt: (context.settings.attemptsBefore ?? 0) + context.attempt,
            env,
          };
          const cwd = request.cwd ?? context.settings.cwd;
          if (cwd) out.cwd = cwd;
          return out;
        },
      },
      on: {
        'EXECUTOR.PROGRESS': {
          actions: [
            'recordProgress',
            { type: 'notify', params: ({ context, event }) => ({ ...baseOf(context), type: 'session.progress', progress: event.event }) },
          ],
        },
        'EXECUTOR.DONE': { target: 'completed', actions: 'recordSuccess' },
        'EXECUTOR.FAILED': [
          {
            guard: 'canRetry',
            target: 'retrying',
            actions: [
              'recordFailure',
              'planRetry',
              {
                type: 'notify',
                params: ({ context, event }) => ({ ...baseOf(context), type: 'session.retrying', error: event.error, delayMs: context.nextDelayMs }),
              },
            ],
          },
          { target: 'failed', actions: 'recordFailure' },
        ],
        CANCEL: { target: 'failed', actions: 'recordCancel' },
      },
    },
    retrying: {
      after: { backoff: { target: 'running', actions: 'startAttempt' } },
      on: {
        // A restored snapshot loses the pending delayed event: RETRY retries at once.
        RETRY: { target: 'running', actions: 'startAttempt' },
        CANCEL: { target: 'failed', actions: 'recordCancel' },
      },
    },
    completed: {
      entry: { type: 'notify', params: ({ context }) => ({ ...baseOf(context), type: 'session.completed', result: context.lastResult! }) },
      on: {
        EXECUTE: [
          { guard: 'budgetExhausted', target: 'failed', actions: 'refuseOverBudget' },
          { target: 'running', actions: 'acceptRequest' },
        ],
      },
    },
    failed: {
      entry: { type: 'notify', params: ({ context }) => ({ ...baseOf(context), type: 'session.failed', error: context.lastError! }) },
      on: {
        EXECUTE: [
          { guard: 'budgetExhausted', target: 'failed', reenter: true, actions: 'refuseOverBudget' },
          { target: 'running', actions: 'acceptRequest' },
        ],
      },
    },
  },
});

/** The state values of a session. */
export type AgentSessionState = 'idle' | 'running' | 'retrying' | 'completed' | 'failed';
