/**
 * `AgentMemory`: what one agent remembers. Short-term values and the conversation history live
 * in an `@xstate/store` (an app can subscribe to them, and they are plain JSON, so they go into
 * the session's persisted snapshot); values stored with `persist` also go to a
 * {@link MemoryBackend}, which outlives the process.
 *
 * @module
 */
import { createStore } from '@xstate/store';
import { PermanentError, ValidationError } from '../errors.js';
import { formatConversation, lastTurns, type ConversationMessage, type MessageRole } from './conversation.js';
import type { JsonValue, MemoryBackend } from './memory-backend.js';
import { assertValidMemoryKey, jsonTextOf } from './memory-input.js';

/** Version of {@link AgentMemoryState}. */
export const AGENT_MEMORY_SCHEMA_VERSION = 1;

/** Default of {@link AgentMemoryOptions.maxHistoryTurns}. */
export const DEFAULT_MAX_HISTORY_TURNS = 20;

/** One short-term value. */
export interface ShortTermEntry {
  value: JsonValue;
  /** Epoch ms, or `null` for no expiry. */
  expiresAt: number | null;
}

/** The state of an {@link AgentMemory}: plain JSON, what `toJSON()` returns and `fromJSON()` takes. */
export interface AgentMemoryState {
  schemaVersion: number;
  /** Short-term values by key (own properties only: keys are user input). */
  values: { [key: string]: ShortTermEntry };
  /** The conversation, oldest first, at most `maxHistoryTurns` turns. */
  history: ConversationMessage[];
  /** The prompt being executed: it joins `history` with its reply, so a failed prompt leaves no trace. */
  pending: ConversationMessage | null;
}

/** Options of {@link AgentMemory}. */
export interface AgentMemoryOptions {
  /** Where `store(..., { persist: true })` writes and where `retrieve` looks after short-term; default none. */
  backend?: MemoryBackend | null;
  /** Turns of history kept (a turn: a user message and its replies); older turns are dropped. Default 20. */
  maxHistoryTurns?: number;
}

/** Options of {@link AgentMemory.store}. */
export interface MemoryStoreOptions {
  /** Also write the value to the backend (default false: short-term only). */
  persist?: boolean;
  /** Seconds until the value expires (> 0), short-term and in the backend; default never. */
  ttl?: number;
}

/** Options of {@link AgentMemory.getConversationContext}. */
export interface ConversationContextOptions {
  /** Only the last N messages (default all the history keeps). */
  lastN?: number;
}

function emptyState(): AgentMemoryState {
  return { schemaVersion: AGENT_MEMORY_SCHEMA_VERSION, values: {}, history: [], pending: null };
}

function createMemoryStore(initial: AgentMemoryState, maxTurns: number) {
  return createStore({
    context: initial,
    on: {
      set: (context, event: { key: string; entry: ShortTermEntry }) => ({ ...context, values: { ...context.values, [event.key]: event.entry } }),
      remove: (context, event: { key: string }) => {
        const values = { ...context.values };
        delete values[event.key];
        return { ...context, values };
      },
      append: (context, event: { messages: ConversationMessage[] }) => ({
        ...context,
        history: lastTurns([...context.history, ...event.messages], maxTurns),
      }),
      begin: (context, event: { message: ConversationMessage }) => ({ ...context, pending: event.message }),
      complete: (context, event: { reply: ConversationMessage }) =>
        context.pending === null
          ? context
          : { ...context, pending: null, history: lastTurns([...context.history, context.pending, event.reply], maxTurns) },
      abandon: (context) => (context.pending === null ? context : { ...context, pending: null }),
      replaceOldest: (context, event: { count: number; summary: ConversationMessage }) => ({
        ...context,
        history: [event.summary, ...context.history.slice(event.count)],
      }),
      clearHistory: (context) => ({ ...context, history: [], pending: null }),
      restore: (_context, event: { state: AgentMemoryState }) => event.state,
    },
  });
}

/** The `@xstate/store` behind an {@link AgentMemory}. */
export type AgentMemoryStore = ReturnType<typeof createMemoryStore>;

/**
 * What one agent remembers: short-term values, the conversation history, and (with a backend)
 * values that outlive the process. Give it to an `AgentSession` as `memory` to record every
 * exchange and to run prompts with the history (`context: 'transcript'`).
 *
 * @example
 * ```ts
 * const memory = new AgentMemory({ backend: new JsonMemoryBackend('agents') });
 * await memory.store('plan', 'three steps');                       // short-term
 * await memory.store('skill:lint', 'npm run lint', { persist: true, ttl: 86_400 });
 * await memory.retrieve('skill:lint');                             // short-term first, then the backend
 * memory.subscribe((state) => render(state.history));
 * ```
 */
export class AgentMemory {
  /** The backend of persisted values, or `null`. */
  readonly backend: MemoryBackend | null;
  /** Turns of history kept. */
  readonly maxHistoryTurns: number;
  /** The `@xstate/store` holding short-term values and history (e.g. for `useSelector`). */
  readonly stateStore: AgentMemoryStore;

  constructor(options: AgentMemoryOptions = {}) {
    const maxTurns = options.maxHistoryTurns ?? DEFAULT_MAX_HISTORY_TURNS;
    if (!Number.isInteger(maxTurns) || maxTurns < 1) {
      throw new ValidationError('Invalid AgentMemory options', [{ path: 'maxHistoryTurns', message: `must be a positive integer (got ${String(maxTurns)})` }]);
    }
    this.backend = options.backend ?? null;
    this.maxHistoryTurns = maxTurns;
    this.stateStore = createMemoryStore(emptyState(), maxTurns);
  }

  /**
   * A memory restored from {@link AgentMemory.toJSON}'s state.
   *
   * @throws PermanentError `UNSUPPORTED_SCHEMA` for a state of a newer version; `CORRUPT_STATE` for one that is not a memory state.
   */
  static fromJSON(state: AgentMemoryState, options: AgentMemoryOptions = {}): AgentMemory {
    const memory = new AgentMemory(options);
    memory.restore(state);
    return memory;
  }

  /** The current state (plain JSON; never changed in place). */
  get state(): AgentMemoryState {
    return this.stateStore.getSnapshot().context;
  }

  /** The state, to persist (see {@link AgentMemory.fromJSON}). Expired short-term values are left out. */
  toJSON(): AgentMemoryState {
    const state = this.state;
    const now = Date.now();
    const expired = Object.keys(state.values).filter((key) => isExpired(state.values[key]!, now));
    if (expired.length === 0) return state;
    const values = { ...state.values };
    for (const key of expired) delete values[key];
    return { ...state, values };
  }

  /**
   * Replaces the state with one from {@link AgentMemory.toJSON} (history beyond
   * `maxHistoryTurns` is dropped).
   *
   * @throws PermanentError `UNSUPPORTED_SCHEMA` or `CORRUPT_STATE`, as {@link AgentMemory.fromJSON}.
   */
  restore(state: AgentMemoryState): void {
    if (state === null || typeof state !== 'object' || !Array.isArray(state.history) || typeof state.values !== 'object' || state.values === null) {
      throw new PermanentError('CORRUPT_STATE', 'Not an AgentMemory state: it needs `values` and `history`');
    }
    if (state.schemaVersion > AGENT_MEMORY_SCHEMA_VERSION) {
      throw new PermanentError('UNSUPPORTED_SCHEMA', `AgentMemory state has schema version ${state.schemaVersion}; this version reads up to ${AGENT_MEMORY_SCHEMA_VERSION}`);
    }
    this.stateStore.trigger.restore({
      state: {
        schemaVersion: AGENT_MEMORY_SCHEMA_VERSION,
        values: state.values,
        history: lastTurns(state.history, this.maxHistoryTurns),
        pending: state.pending ?? null,
      },
    });
  }

  /** Calls `listener` with the new state after every change; returns the unsubscribe function. */
  subscribe(listener: (state: AgentMemoryState) => void): () => void {
    const subscription = this.stateStore.subscribe((snapshot) => listener(snapshot.context));
    return () => subscription.unsubscribe();
  }

  /**
   * Stores a value short-term; with `persist`, in the backend too (with the same `ttl`).
   *
   * @throws PermanentError `INVALID_KEY` for a key no backend takes (empty, too long, control characters).
   * @throws ValidationError for a value that is not JSON, a `ttl` that is not a positive number, or `persist` without a backend.
   */
  async store(key: string, value: JsonValue, options: MemoryStoreOptions = {}): Promise<void> {
    const { persist = false, ttl } = options;
    assertValidMemoryKey(key);
    // Kept as read back from JSON: it goes into snapshots, and later changes to the caller's object must not reach it.
    const copy = JSON.parse(jsonTextOf(key, value)) as JsonValue;
    const issues = [];
    if (ttl !== undefined && !(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))) issues.push({ path: 'ttl', message: `must be a positive number of seconds (got ${String(ttl)})` });
    if (persist && this.backend === null) issues.push({ path: 'persist', message: 'needs a backend (new AgentMemory({ backend }))' });
    if (issues.length > 0) throw new ValidationError(`Cannot store ${JSON.stringify(key)} in agent memory`, issues);
    this.stateStore.trigger.set({ key, entry: { value: copy, expiresAt: ttl === undefined ? null : Date.now() + ttl * 1000 } });
    if (persist) await this.backend!.store(key, copy, ttl === undefined ? {} : { ttl });
  }

  /** The value under `key`: the short-term one, else the backend's, else `undefined`. */
  async retrieve(key: string): Promise<JsonValue | undefined> {
    const values = this.state.values;
    if (Object.hasOwn(values, key)) {
      const entry = values[key]!;
      if (!isExpired(entry, Date.now())) return entry.value;
      this.stateStore.trigger.remove({ key });
    }
    return this.backend === null ? undefined : this.backend.retrieve(key);
  }

  /** Forgets `key`, short-term and in the backend; whether either had it. */
  async delete(key: string): Promise<boolean> {
    const had = Object.hasOwn(this.state.values, key);
    if (had) this.stateStore.trigger.remove({ key });
    const inBackend = this.backend === null ? false : await this.backend.delete(key);
    return had || inBackend;
  }

  /** Appends a message to the history (the oldest turns go past `maxHistoryTurns`). */
  addMessage(role: MessageRole, content: string, metadata?: ConversationMessage['metadata']): ConversationMessage {
    const message: ConversationMessage = { role, content, timestamp: Date.now(), ...(metadata !== undefined && { metadata }) };
    this.stateStore.trigger.append({ messages: [message] });
    return message;
  }

  /** The history, oldest first. */
  getHistory(): readonly ConversationMessage[] {
    return this.state.history;
  }

  /** The history (or its last `lastN` messages) as `[USER] …` / `[ASSISTANT] …` blocks separated by blank lines. */
  getConversationContext(options: ConversationContextOptions = {}): string {
    const history = this.state.history;
    const { lastN } = options;
    return formatConversation(lastN === undefined ? history : lastN <= 0 ? [] : history.slice(-lastN));
  }

  /** Forgets the history (short-term values stay). */
  clearHistory(): void {
    this.stateStore.trigger.clearHistory();
  }

  /**
   * Notes the prompt being executed; {@link AgentMemory.completeTurn} adds it to the history with
   * its reply. Used by `AgentSession`.
   */
  beginTurn(prompt: string, metadata?: ConversationMessage['metadata']): void {
    this.stateStore.trigger.begin({ message: { role: 'user', content: prompt, timestamp: Date.now(), ...(metadata !== undefined && { metadata }) } });
  }

  /** Adds the pending prompt and its reply to the history (nothing without a pending prompt). */
  completeTurn(reply: string, metadata?: ConversationMessage['metadata']): void {
    this.stateStore.trigger.complete({ reply: { role: 'assistant', content: reply, timestamp: Date.now(), ...(metadata !== undefined && { metadata }) } });
  }

  /** Drops the pending prompt (it failed). */
  abandonTurn(): void {
    this.stateStore.trigger.abandon();
  }

  /** Replaces the oldest `count` messages of the history with `summary`. */
  replaceOldest(count: number, summary: ConversationMessage): void {
    this.stateStore.trigger.replaceOldest({ count, summary });
  }
}

function isExpired(entry: ShortTermEntry, now: number): boolean {
  return entry.expiresAt !== null && entry.expiresAt <= now;
}
