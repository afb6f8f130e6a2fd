/**
 * The memory layer of a workflow's executor: reads `{{memory.<key>}}` and hashes
 * `{{hash "<path or glob>"}}` when a task runs, answers a task with `cache:` from memory while
 * its entry lives (no agent call, no command), and stores what `cache:` and `remember:` keep.
 * The orchestrator machine stays pure: it renders everything else and hands these over as
 * {@link TaskMemoryRequest}; `WorkflowOrchestrator` wraps its executor in this layer.
 *
 * @module
 */
import { emptyTokens } from '../claude/stream-json.js';
import { AgentsSdkError, PermanentError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import type { Executor, ExecutionRequest } from '../actors/executor.js';
import type { Workflow } from '../workflow/spec.js';
import { hasDeferredRefs, payloadText, type DeferredText } from '../workflow/template.js';
import { hashFiles } from './file-hash.js';
import type { MemoryBackend } from './memory-backend.js';

/** A memory key with its TTL, rendered but for its hashes. */
export interface DeferredMemoryEntry {
  key: string | DeferredText;
  /** Seconds. */
  ttl?: number;
}

/**
 * What the memory layer needs of one task's execution (see `ExecutionRequest.memory`). Plain
 * JSON. `prompt` and `command` are given only when they have memory or hash references: the
 * request's own `prompt` / `command` then show them unresolved, as written.
 */
export interface TaskMemoryRequest {
  runId: string;
  taskId: string;
  prompt?: DeferredText;
  /** Each argument: rendered text, or text with references to resolve. */
  command?: Array<string | DeferredText>;
  cache?: DeferredMemoryEntry;
  remember?: DeferredMemoryEntry;
}

/** The memory of one run, as the layer sees it. */
export interface RunMemory {
  /** The store (opened on first use). */
  backend(): Promise<MemoryBackend>;
  /** `false` (`--no-cache`): `cache:` entries are not read, every task runs; its result is still stored. */
  readCache: boolean;
}

/**
 * Wraps an executor in the memory layer. `runMemory` gives the memory of a run by id; a request
 * without `memory` goes straight to `inner`.
 */
export function createMemoryExecutor(inner: Executor, runMemory: (runId: string) => RunMemory | undefined): Executor {
  return async (request, hooks) => {
    const memory = request.memory;
    if (memory === undefined) return inner(request, hooks);
    const started = performance.now();
    const { memory: _memory, ...plain } = request;
    const run = runMemory(memory.runId);
    if (!run) {
      throw new PermanentError('BACKEND_UNAVAILABLE', `Task "${memory.taskId}" uses memory, but run ${memory.runId} has no memory store`, {
        details: { taskId: memory.taskId, runId: memory.runId },
      });
    }
    // Opened on first use: a task that only hashes files needs no store.
    let opened: Promise<MemoryBackend> | undefined;
    const store = (): Promise<MemoryBackend> => (opened ??= openStore(run, memory.taskId));
    const text = new DeferredResolver(store, memory.taskId, plain.cwd ?? process.cwd());
    // Keys describe what the task starts from: both are rendered before it runs.
    const cacheKey = memory.cache && (await text.key(memory.cache.key, 'cache'));
    const rememberKey = memory.remember && (await text.key(memory.remember.key, 'remember'));
    const keep = async (result: ExecutionResult): Promise<void> => {
      const writes: Array<[string, number | undefined]> = [];
      if (cacheKey !== undefined && !result.cached) writes.push([cacheKey, memory.cache!.ttl]);
      if (rememberKey !== undefined) writes.push([rememberKey, memory.remember!.ttl]);
      if (writes.length === 0) return;
      const backend = await store();
      for (const [key, ttl] of writes) {
        try {
          await backend.store(key, result.output, ttl === undefined ? {} : { ttl });
        } catch (error) {
          throw new PermanentError('MEMORY_WRITE_FAILED', `Task "${memory.taskId}" completed, but its output could not be stored in memory under "${key}": ${messageOf(error)}`, {
            cause: error,
            details: { taskId: memory.taskId, key },
            result,
          });
        }
      }
    };

    if (cacheKey !== undefined && run.readCache) {
      const hit = await (await store()).retrieve(cacheKey);
      if (hit !== undefined) {
        const result = cachedResult(payloadText(hit), Math.round(performance.now() - started));
        // An entry that cannot give the structured output the task promises: the task runs instead.
        if (withCachedJson(plain as ExecutionRequest, result)) {
          await keep(result);
          return result;
        }
      }
    }
    const ready = { ...plain } as ExecutionRequest;
    if (memory.prompt && ready.kind === 'claude') ready.prompt = await text.render(memory.prompt);
    if (memory.command && ready.kind === 'command') ready.command = await Promise.all(memory.command.map((arg) => text.render(arg)));
    const result = await inner(ready, hooks);
    if (result.success) await keep(result);
    return result;
  };
}

/** Whether a workflow reads or writes memory (`{{memory.<key>}}`, `{{hash "..."}}`, `cache:`, `remember:`). */
export function usesMemory(workflow: Workflow): boolean {
  return workflow.tasks.some(
    (declared) => (declared.kind === 'group' ? declared.body : [declared]).some(
      (task) => task.cache !== undefined || task.remember !== undefined || (task.kind === 'agent' ? hasDeferredRefs(task.prompt) : task.command.some(hasDeferredRefs)),
    ),
  );
}

/** Whether a request promises structured output (an agent's `output_schema`, a command's `output: json`). */
function wantsJson(request: ExecutionRequest): boolean {
  return request.kind === 'claude' ? request.jsonSchema !== undefined : request.outputJson === true || request.outputSchema !== undefined;
}

/**
 * A cached result's `json`: structured output is stored as its JSON text (an agent's result
 * text is that JSON too). False when the task promises JSON and the entry is not JSON.
 */
function withCachedJson(request: ExecutionRequest, result: ExecutionResult): boolean {
  if (!wantsJson(request)) return true;
  try {
    result.json = JSON.parse(result.output);
    return true;
  } catch {
    return false;
  }
}

/** A task completed from its memory entry: no process ran, nothing was spent. */
function cachedResult(output: string, durationMs: number): ExecutionResult {
  return {
    success: true,
    output,
    sessionId: null,
    tokens: emptyTokens(),
    costUsd: 0,
    durationMs,
    cliDurationMs: null,
    numTurns: 0,
    exitCode: null,
    stderrTail: '',
    cached: true,
  };
}

async function openStore(run: RunMemory, taskId: string): Promise<MemoryBackend> {
  try {
    return await run.backend();
  } catch (error) {
    if (error instanceof AgentsSdkError) throw error;
    throw new PermanentError('BACKEND_UNAVAILABLE', `Task "${taskId}" uses memory, but the memory store could not be opened: ${messageOf(error)}`, {
      cause: error,
      details: { taskId },
    });
  }
}

/** Resolves the memory and hash references of one execution (each file pattern hashed once). */
class DeferredResolver {
  private readonly hashes = new Map<string, Promise<string>>();

  constructor(
    private readonly store: () => Promise<MemoryBackend>,
    private readonly taskId: string,
    private readonly cwd: string,
  ) {}

  /** A memory key: an empty one is a mistake of the workflow, not a key. */
  async key(text: string | DeferredText, field: 'cache' | 'remember'): Promise<string> {
    const key = await this.render(text);
    if (key.trim() === '') {
      throw new PermanentError('INVALID_KEY', `Task "${this.taskId}": its ${field}.key renders to an empty key`, { details: { taskId: this.taskId, field } });
    }
    return key;
  }

  async render(text: string | DeferredText): Promise<string> {
    if (typeof text === 'string') return text;
    const parts = await Promise.all(text.map((part) => (typeof part === 'string' ? part : 'hash' in part ? this.hash(part.hash) : this.memory(part.memory, part.default))));
    return parts.join('');
  }

  private hash(pattern: string): Promise<string> {
    let hash = this.hashes.get(pattern);
    if (!hash) {
      hash = hashFiles(pattern, this.cwd).catch((error: unknown) => {
        if (error instanceof AgentsSdkError) throw error;
        throw new PermanentError('HASH_NO_MATCH', `Task "${this.taskId}": {{hash "${pattern}"}} could not be computed: ${messageOf(error)}`, {
          cause: error,
          details: { taskId: this.taskId, pattern, cwd: this.cwd },
        });
      });
      this.hashes.set(pattern, hash);
    }
    return hash;
  }

  private async memory(key: string, fallback: string | undefined): Promise<string> {
    const value = await (await this.store()).retrieve(key);
    if (value !== undefined) return payloadText(value);
    if (fallback !== undefined) return fallback;
    throw new PermanentError(
      'MEMORY_KEY_MISSING',
      `Task "${this.taskId}": {{memory.${key}}}: no memory entry "${key}" (or it expired); store it first (a task's remember:), or give a default: {{memory.${key} | "none yet"}}`,
      { details: { taskId: this.taskId, key } },
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
