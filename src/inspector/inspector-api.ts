/**
 * The inspector's HTTP API for debugging a run from the page (issue 24): a task's details
 * (why it failed or was skipped, what it waits for, its attempts with their rendered prompts),
 * its whole output paged, an attempt's transcript, the run as of an entry (time travel), and
 * two actions: send a signal (the same durable inbox as `agents-sdk signal`) and rerun from a
 * task (`agents-sdk rerun --from`, a process of its own).
 *
 * Every answer is JSON; an error is `{ error }` with 400 (bad request), 404 (unknown run, task
 * or attempt) or 409 (not possible for this run).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import { nanoid } from 'nanoid';
import { commandOutputFileName } from '../actors/command-output.js';
import { promptFileBeside } from '../actors/prompt-file.js';
import { signalGroup } from '../actors/supervised-process.js';
import type { RunCheckpoint, StateBackend } from '../persistence/state-backend.js';
import { sendSignal } from '../signals/send-signal.js';
import type { TaskRecord } from '../workflow/workflow-result.js';
import { compactTask, type CompactTask, type RecordLike } from './inspection-protocol.js';
import type { RunView } from './run-view.js';

/** An answer: status and JSON body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** What the API reads and starts. */
export interface ApiContext {
  /** The run a page key names (`live-N`, `stored:<id>`). */
  findRun(key: string): Promise<RunView | undefined>;
  /** The state dir's backend (read-only), or null without one. */
  backend(): Promise<StateBackend | null>;
  /** A writable backend for one signal (closed after), or null without a state dir. */
  writableBackend(): Promise<StateBackend | null>;
  stateDir: string | undefined;
  /** The CLI script `rerun` runs (`dist/cli.js`). */
  cliPath: string;
  /** Rerun processes started: their process groups end with the server. */
  children: Set<number>;
}

/** Bytes of output a page gets at most per request. */
export const OUTPUT_PAGE_BYTES = 64 * 1024;
/** Lines of stderr a task's detail shows. */
const STDERR_LINES = 20;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const fail = (status: number, message: string): never => {
  throw new ApiError(status, message);
};

/**
 * Answers `/api/runs/:key/...` (below the run itself), or null when the path is none of the API's.
 */
export async function answerApi(method: string, path: string, query: URLSearchParams, body: () => Promise<string>, ctx: ApiContext): Promise<ApiAnswer | null> {
  const m = /^\/api\/runs\/([^/]+)\/(tasks\/([^/]+)(?:\/(output|transcript))?|snapshots|signal|rerun)$/.exec(path);
  if (!m) return null;
  try {
    const key = decodeURIComponent(m[1]!);
    const run = (await ctx.findRun(key)) ?? fail(404, `no run ${key}`);
    const what = m[2]!;
    if (what === 'snapshots') return { status: 200, body: snapshotOf(run, query.get('upTo')) };
    if (what === 'signal') return await signal(run, method, await body(), ctx);
    if (what === 'rerun') return await rerun(run, method, await body(), ctx);
    const taskId = decodeURIComponent(m[3]!);
    const checkpoint = await checkpointOf(run, ctx);
    const record = checkpoint?.records.find((r) => r.taskId === taskId);
    if (!record && !run.tasks.has(taskId)) fail(404, `run ${run.runId} has no task ${taskId}`);
    if (m[4] === 'output') return { status: 200, body: await output(ctx, run, taskId, record, query) };
    if (m[4] === 'transcript') return { status: 200, body: await transcript(ctx, run, taskId, record, query) };
    return { status: 200, body: await detail(ctx, run, taskId, record, checkpoint) };
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, body: { error: error.message } };
    throw error;
  }
}

async function checkpointOf(run: RunView, ctx: ApiContext): Promise<RunCheckpoint | undefined> {
  return (await ctx.backend())?.loadRun(run.runId).catch(() => undefined);
}

/** Where the state dir keeps a run's attempt files (a relative raw file path is under the run's dir). */
function resolveRunFile(ctx: { stateDir: string | undefined }, runId: string, file: string): string {
  return isAbsolute(file) || ctx.stateDir === undefined ? file : join(ctx.stateDir, runId, file);
}

async function detail(ctx: ApiContext, run: RunView, taskId: string, record: TaskRecord | undefined, checkpoint: RunCheckpoint | undefined): Promise<unknown> {
  const task: CompactTask = record ? compactTask(record as unknown as RecordLike) : run.tasks.get(taskId)!;
  const error = record?.error ?? task.error;
  const stderr = (error as { stderrTail?: string } | null)?.stderrTail;
  const waitFor = checkpoint?.workflow.tasks.find((t) => t.id === taskId)?.wait_for;
  const attempts = await Promise.all(
    (record?.attemptLog ?? []).map(async (a) => {
      const raw = a.rawFile ? resolveRunFile(ctx, run.runId, a.rawFile) : null;
      const prompt = raw ? await readFile(promptFileBeside(raw), 'utf8').catch(() => null) : null;
      const outputBytes = raw ? await stat(raw).then((s) => s.size, () => null) : null;
      return { n: a.attempt, status: a.status, startedAt: a.startedAt, endedAt: a.endedAt, error: a.error ? { code: a.error.code, message: a.error.message } : null, prompt, outputBytes };
    }),
  );
  return {
    task,
    error: error ? { code: String(error.code ?? 'ERROR'), message: String(error.message ?? '') } : null,
    exitCode: record?.exitCode ?? null,
    stderrTail: stderr ? stderr.split('\n').slice(-STDERR_LINES).join('\n') : null,
    reason: record?.reason ?? task.reason ?? null,
    waitingFor: task.status === 'waiting' && waitFor ? { signal: waitFor.event, since: record?.waitingSince ?? null } : null,
    attempts,
  };
}

/** The attempt asked (`attempt=N`, default the last) of a task's record. */
function attemptOf(record: TaskRecord | undefined, query: URLSearchParams): NonNullable<TaskRecord['attemptLog']>[number] | null {
  const log = record?.attemptLog ?? [];
  const asked = query.get('attempt');
  if (asked === null) return log.at(-1) ?? null;
  return log.find((a) => String(a.attempt) === asked) ?? fail(404, `task ${record?.taskId ?? '?'} has no attempt ${asked} (it has ${log.length})`);
}

function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : fail(400, `${name} must be a whole number ≥ 0, got "${text}"`);
}

async function output(ctx: ApiContext, run: RunView, taskId: string, record: TaskRecord | undefined, query: URLSearchParams): Promise<unknown> {
  const offset = intParam(query, 'offset', 0);
  const limit = Math.min(intParam(query, 'limit', OUTPUT_PAGE_BYTES), OUTPUT_PAGE_BYTES);
  // A command's whole stdout (each attempt's is kept in a file), else the record's output.
  const attempt = attemptOf(record, query);
  const stdout = ctx.stateDir !== undefined && attempt ? join(ctx.stateDir, run.runId, taskId, commandOutputFileName(attempt.attempt)) : null;
  const file = stdout && existsSync(stdout) ? stdout : record?.outputFile ? resolveRunFile(ctx, run.runId, record.outputFile) : null;
  let whole: Buffer;
  let totalBytes: number;
  if (file && existsSync(file)) {
    totalBytes = (await stat(file)).size;
    const handle = await open(file, 'r');
    try {
      whole = Buffer.alloc(Math.max(0, Math.min(limit, totalBytes - offset)));
      await handle.read(whole, 0, whole.length, offset);
    } finally {
      await handle.close();
    }
  } else {
    // A failed command's stdout is in its error's result.
    const failedOutput = (record?.error as { result?: { output?: unknown } } | null | undefined)?.result?.output;
    const all = Buffer.from(record?.output ?? (typeof failedOutput === 'string' ? failedOutput : ''), 'utf8');
    totalBytes = all.length;
    whole = all.subarray(offset, offset + limit);
  }
  const end = offset + whole.length;
  return { taskId, text: whole.toString('utf8'), offset, nextOffset: end < totalBytes ? end : null, totalBytes };
}

async function transcript(ctx: ApiContext, run: RunView, taskId: string, record: TaskRecord | undefined, query: URLSearchParams): Promise<unknown> {
  const attempt = attemptOf(record, query);
  if (!attempt?.rawFile) fail(404, `task ${taskId} has no transcript${attempt ? ` for attempt ${attempt.attempt}` : ' (it never ran)'}`);
  const text = await readFile(resolveRunFile(ctx, run.runId, attempt!.rawFile!), 'utf8').catch(() => fail(404, `the transcript of task ${taskId} attempt ${attempt!.attempt} is gone from the state dir`));
  const lines = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return line;
      }
    });
  return { taskId, attempt: attempt!.attempt, lines };
}

/** The run as of entry `upTo` (default the last): each task's status, each actor's state, the orchestrator's compact context. */
export function snapshotOf(run: RunView, upTo: string | null): unknown {
  const n = upTo === null ? run.entries.length : Number(upTo);
  if (!Number.isInteger(n) || n < 0) fail(400, `upTo must be a whole number ≥ 0, got "${upTo}"`);
  const end = Math.min(n, run.entries.length);
  const graph: Record<string, string> = {};
  const tasks = new Map<string, CompactTask>();
  const actors: Record<string, { active: string[]; status: string }> = {};
  let totals = { tokens: 0, costUsd: 0, halt: null as string | null };
  for (let i = 0; i < end; i++) {
    const e = run.entries[i]!;
    if (e.k === 'task') {
      graph[e.task.id] = e.task.status;
      tasks.set(e.task.id, e.task);
    } else if (e.k === 'actor' || e.k === 'state') actors[e.id] = { active: e.active, status: e.status };
    else if (e.k === 'totals') totals = { tokens: e.tokens, costUsd: e.costUsd, halt: e.halt };
  }
  const counts: Record<string, number> = {};
  for (const status of Object.values(graph)) counts[status] = (counts[status] ?? 0) + 1;
  return {
    index: end,
    graph,
    actors,
    context: { $agentsSdk: 'run', runId: run.runId, workflowId: run.workflowId, tasks: [...tasks.values()], counts, ...totals },
  };
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text || '{}') as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // said below
  }
  return fail(400, 'the body must be a JSON object');
}

async function signal(run: RunView, method: string, text: string, ctx: ApiContext): Promise<ApiAnswer> {
  if (method !== 'POST') fail(405, 'POST a signal: {"name": ..., "payload": ...}');
  const { name, payload } = parseBody(text);
  if (typeof name !== 'string' || name === '') fail(400, 'the signal needs a name: {"name": "approved"}');
  const backend = (await ctx.writableBackend()) ?? fail(409, `no state dir: the inspector cannot reach run ${run.runId}'s inbox (start it with --state-dir)`);
  try {
    await sendSignal(backend, run.runId, name as string, payload, { source: 'inspector' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    fail(code === 'NOT_FOUND' ? 404 : 409, error instanceof Error ? error.message : String(error));
  } finally {
    await backend.close();
  }
  return { status: 202, body: { ok: true } };
}

async function rerun(run: RunView, method: string, text: string, ctx: ApiContext): Promise<ApiAnswer> {
  if (method !== 'POST') fail(405, 'POST a rerun: {"from": "<task id>"}');
  const { from } = parseBody(text);
  if (typeof from !== 'string' || from === '') fail(400, 'a rerun needs the task to start from: {"from": "build"}');
  if (ctx.stateDir === undefined) fail(409, `no state dir: the inspector cannot rerun ${run.runId} (start it with --state-dir)`);
  const checkpoint = (await checkpointOf(run, ctx)) ?? fail(409, `run ${run.runId} has no checkpoint in ${ctx.stateDir}: nothing to rerun`);
  if (!checkpoint.workflow.tasks.some((t) => t.id === from)) fail(404, `run ${run.runId} has no task ${from as string}`);
  const runId = `${run.runId}-rerun-${nanoid(6)}`;
  const child = execa(process.execPath, [ctx.cliPath, 'rerun', run.runId, '--from', from as string, '--run-id', runId, '--state-dir', ctx.stateDir!], {
    detached: true,
    stdio: 'ignore',
    reject: false,
    cleanup: false,
  });
  if (child.pid !== undefined) {
    const pid = child.pid;
    ctx.children.add(pid);
    void child.then(() => ctx.children.delete(pid));
  }
  return { status: 202, body: { runId } };
}

/** Ends the rerun processes still going (their whole process groups). */
export function endChildren(children: Set<number>): void {
  for (const pid of children) signalGroup(pid, 'SIGTERM');
  children.clear();
}
