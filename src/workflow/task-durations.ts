/**
 * Expected task durations, which weight the critical path the ready queue orders by. A task's
 * expected duration is its `estimate` (seconds) when the spec gives one; else the median of
 * its durations in earlier runs of the workflow; else the median of its agent's (`agent:`);
 * else the median of the other tasks' expected durations. When nothing is known about any
 * task, there are none, and the path is counted in tasks.
 *
 * The history of a workflow is one small value in the state backend (key
 * `task-durations.<workflowId>`: the last {@link HISTORY_SAMPLES} durations of each task and
 * agent), read once when a run starts and updated when it ends. A workflow without that value
 * yet (runs made before it existed) is read once from the stored runs instead: `listRuns`,
 * then `loadRun` of its latest few finished runs.
 *
 * @module
 */
import { declaredIdOf } from './record-ids.js';
import type { StateBackend } from '../persistence/state-backend.js';
import type { TaskRecord } from './workflow-result.js';
import type { Task } from './spec.js';

/** Durations kept per task and per agent (the most recent ones). */
export const HISTORY_SAMPLES = 5;
/** Version of the stored history's shape. */
export const DURATION_HISTORY_SCHEMA_VERSION = 1;
/** Finished runs read when a workflow has no stored history yet. */
const SCAN_RUNS = 5;

/** Recent durations (ms) of a workflow's completed tasks, oldest first. Plain JSON. */
export interface DurationHistory {
  schemaVersion: number;
  byTask: Record<string, number[]>;
  byAgent: Record<string, number[]>;
}

/** The value key a workflow's history is stored under. */
export function durationHistoryKey(workflowId: string): string {
  return `task-durations.${workflowId}`;
}

function emptyHistory(): DurationHistory {
  return { schemaVersion: DURATION_HISTORY_SCHEMA_VERSION, byTask: {}, byAgent: {} };
}

function isHistory(value: unknown): value is DurationHistory {
  const h = value as DurationHistory | null | undefined;
  return (
    typeof h === 'object' &&
    h !== null &&
    h.schemaVersion === DURATION_HISTORY_SCHEMA_VERSION &&
    typeof h.byTask === 'object' &&
    h.byTask !== null &&
    typeof h.byAgent === 'object' &&
    h.byAgent !== null
  );
}

/**
 * The history of `workflowId` in `backend` (not counting `runId`, the run about to start).
 * Never throws: a history that cannot be read is an empty one (it only orders the queue).
 */
export async function readDurationHistory(backend: StateBackend, workflowId: string, runId: string): Promise<DurationHistory> {
  try {
    const stored = await backend.load(durationHistoryKey(workflowId));
    if (isHistory(stored)) return stored;
    const history = emptyHistory();
    const runs = (await backend.listRuns())
      .filter((r) => r.workflowId === workflowId && r.runId !== runId && r.status !== 'running' && r.status !== 'unreadable')
      .slice(0, SCAN_RUNS)
      // listRuns is newest first; samples go in oldest first.
      .reverse();
    for (const summary of runs) {
      const run = await backend.loadRun(summary.runId).catch(() => undefined);
      if (run) addDurations(history, run.workflow.tasks, run.records);
    }
    return history;
  } catch {
    return emptyHistory();
  }
}

/** Adds the durations of `records`' completed tasks to `history` (in place; returns it). */
export function addDurations(history: DurationHistory, tasks: Task[], records: TaskRecord[]): DurationHistory {
  const agents = new Map<string, string>();
  for (const task of tasks) if (task.kind === 'agent' && task.agent !== undefined) agents.set(task.id, task.agent);
  for (const record of records) {
    if (record.status !== 'completed' || record.durationMs === null || !(record.durationMs >= 0)) continue;
    // A fan-out's instances count as its declared task (the whole fan-out's record does not: it is many runs).
    if (record.items !== undefined) continue;
    const taskId = declaredIdOf(record.taskId);
    push(history.byTask, taskId, record.durationMs);
    const agent = agents.get(taskId);
    if (agent !== undefined) push(history.byAgent, agent, record.durationMs);
  }
  return history;
}

function push(into: Record<string, number[]>, key: string, ms: number): void {
  const samples = Object.hasOwn(into, key) && Array.isArray(into[key]) ? into[key] : [];
  samples.push(ms);
  if (samples.length > HISTORY_SAMPLES) samples.splice(0, samples.length - HISTORY_SAMPLES);
  // An agent may be named `__proto__`: define it as an own key rather than set the prototype.
  if (key === '__proto__') Object.defineProperty(into, key, { value: samples, enumerable: true, writable: true, configurable: true });
  else into[key] = samples;
}

function medianOf(into: Record<string, number[]> | undefined, key: string): number | undefined {
  if (into === undefined || !Object.hasOwn(into, key)) return undefined;
  const samples = into[key];
  if (!Array.isArray(samples)) return undefined;
  return median(samples.filter((x) => typeof x === 'number' && Number.isFinite(x)));
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Each task's expected duration in ms (at least 1), by index, or `undefined` when nothing is
 * known about any task (the critical path is then counted in tasks).
 */
export function expectedDurationsMs(tasks: Task[], history?: DurationHistory): number[] | undefined {
  const known = tasks.map((task) => {
    if (task.estimate !== undefined) return task.estimate * 1000;
    const own = medianOf(history?.byTask, task.id);
    if (own !== undefined) return own;
    return task.kind === 'agent' && task.agent !== undefined ? medianOf(history?.byAgent, task.agent) : undefined;
  });
  const values = known.filter((ms): ms is number => ms !== undefined);
  if (values.length === 0) return undefined;
  const fallback = median(values)!;
  return known.map((ms) => Math.max(1, ms ?? fallback));
}
