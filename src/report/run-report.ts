/**
 * The run report's data: a stored run and its event log folded into plain data (tasks with
 * their attempts, the critical path, tokens and cost by task, agent and model, failures), which
 * `report-html.ts` draws. No HTML here.
 *
 * @module
 */
import { addDiffStats, type ReportWorkspace } from '../workspace/report-diff-stats.js';
import { declaredTaskOf, instanceId } from '../workflow/fan-out.js';
import { declaredIdsOf, orderRecordIds, parseRecordId } from '../workflow/record-ids.js';
import { readFileSync } from 'node:fs';
import { promptFileBeside } from '../actors/prompt-file.js';
import { rawFileOf } from '../cli/logs-command.js';
import { attemptLogOf } from '../workflow/attempt-log.js';
import { conditionText } from '../workflow/condition-function.js';
import { readRunEventLog, runEventLogPath, type RunEventLogEntry } from '../persistence/run-event-log.js';
import type { RunCheckpoint, StateBackend } from '../persistence/state-backend.js';
import { MetricsCollector, type MetricsGroup } from '../metrics/metrics-collector.js';
import type { PriceTable } from '../metrics/price-table.js';
import { PermanentError, type SerializedError } from '../errors.js';
import type { TokenUsage } from '../claude/stream-json.js';
import { emptyTaskRecord, type TaskRecord, type TaskStatus, type WorkflowResult } from '../workflow/workflow-result.js';

/**
 * How an attempt ended: `retried` (it failed and another attempt followed), `completed`,
 * `failed`, `cancelled`, `interrupted` (its process died; the run was resumed or never
 * finished), `running` (the run is still going).
 */
export type AttemptOutcome = 'completed' | 'failed' | 'retried' | 'cancelled' | 'interrupted' | 'running';

/** An error as the report shows it (a {@link SerializedError} without its partial result). */
export interface ReportError {
  code: string;
  message: string;
  stderrTail?: string;
  apiErrorStatus?: number | null;
}

/** One attempt of a task: a bar of the timeline. */
export interface ReportAttempt {
  /** 1-based, in the order the attempts started (across resumes). */
  attempt: number;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms; `null` while it runs. */
  endedAt: number | null;
  outcome: AttemptOutcome;
  /** It failed and was retried (`outcome` `retried`). */
  retry: boolean;
  /** Why it failed (retried and failed attempts). */
  error: ReportError | null;
}

/** A task of the report: its spec, record, attempts and costs. */
export interface ReportTask {
  id: string;
  kind: 'agent' | 'command';
  /** The agent name (`agent:`, else the task id); the task id for command tasks. */
  agent: string;
  /** The model; `command` for command tasks. */
  model: string;
  dependsOn: string[];
  status: TaskStatus;
  /** Attempts made, as the record counts them. */
  attemptCount: number;
  /**
   * The attempts, from the event log; without a log, one attempt spanning the record's start
   * and end (earlier attempts unknown); none for a task that never started.
   */
  attempts: ReportAttempt[];
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  tokens: TokenUsage;
  /** USD: recorded, or estimated from the price table (see {@link costEstimated}). */
  costUsd: number;
  costEstimated: boolean;
  error: ReportError | null;
  /** Why it was skipped (for a fan-out: what its instances did). */
  reason?: string;
  /** Its `when:` condition, as written. */
  when?: string;
  /** `when`: skipped because its `when:` condition was false (see `TaskRecord.skippedBy`). */
  skippedBy?: 'when';
  /** It failed with `allow_failure`: the run went on. */
  allowedFailure?: boolean;
  /** Its structured output (`output_schema`, `output: json`), when it gave one. */
  json?: unknown;
  /** A fan-out (`for_each`): its recorded list's length and its instances by status (their tokens and cost are its own). */
  fanout?: { items: number; byStatus: Record<string, number> };
  /** The instances of a fan-out (`impl[3]`, `impl[3].code` under `impl.code`), in item order. */
  instances?: ReportTask[];
  /** The iterations of a loop (`fix#2`, `fix_tests#2.test` under `fix_tests.test`), in order. */
  iterations?: ReportTask[];
  /** The group the task is in (its innermost, by full id), when it is in one. */
  group?: string;
  /** On the critical path. */
  critical: boolean;
  /** Each attempt's prompt as it was sent (agent tasks whose prompt files are there; see {@link loadRunReport}). */
  prompts?: ReportPrompt[];
  /** A `workspace: worktree` task: its commit and branch (with `git diff --stat`, see {@link loadRunReport}), or a failed attempt's kept worktree. */
  workspace?: ReportWorkspace;
}

/** The prompt of one attempt, as sent (after templates and memory). */
export interface ReportPrompt {
  attempt: number;
  /** At most {@link REPORT_PROMPT_CHARS} characters. */
  text: string;
  /** Characters left out of `text` (the whole prompt is in `file`). */
  clipped: number;
  file: string;
}

/** Characters of each prompt the report holds: a 2,000-task run's page stays a few MB at most. */
export const REPORT_PROMPT_CHARS = 4_000;

/** A failure the report lists: a failed task, or an attempt that failed and was retried. */
export interface ReportFailure {
  taskId: string;
  /** The attempt, when known. */
  attempt: number | null;
  /** `failed`: the task's final error; `retried`: an attempt's error before a retry. */
  kind: 'failed' | 'retried';
  /** A `failed` task with `allow_failure`: the run went on. */
  allowed?: boolean;
  /** Epoch ms, when known. */
  at: number | null;
  error: ReportError;
}

/** The report of a run: everything `renderRunReportHtml` draws, as plain JSON. */
export interface RunReport {
  runId: string;
  workflowId: string;
  description?: string;
  /** The run's status (`interrupted` when the caller found its process gone). */
  status: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms; `null` while it runs. */
  endedAt: number | null;
  durationMs: number | null;
  /** In the workflow's order (instances and iterations under their task). */
  tasks: ReportTask[];
  /** The workflow's groups by full id, each with its tasks' (and inner groups') full ids (see `Workflow.groups`). */
  groups?: Record<string, string[]>;
  /**
   * The longest chain of dependencies by actual duration (each task's `durationMs`, retries and
   * their waits included), first task first, through tasks that ran only. Ties go to the task
   * declared first.
   */
  criticalPath: string[];
  /** The sum of the critical path's durations (ms). */
  criticalPathMs: number;
  tokens: TokenUsage;
  /** USD, recorded plus estimated (see {@link costEstimatedUsd}). */
  costUsd: number;
  /** The part of {@link costUsd} estimated from the price table (records with tokens but no cost). */
  costEstimatedUsd: number;
  /** Per agent (agent tasks only) and per model (command tasks under `command`), largest cost first (see `MetricsCollector`). */
  byAgent: MetricsGroup[];
  byModel: MetricsGroup[];
  /** Tasks that failed and attempts that were retried, in time order. */
  failures: ReportFailure[];
  /** A completed run with worktree tasks: its result branch (see `WorkflowResult.workspace`). */
  workspace?: WorkflowResult['workspace'];
  /** `read`: attempts come from the event log; `torn`: its last line was cut (a crash); `missing`: from the records alone. */
  eventLog: 'read' | 'torn' | 'missing';
}

/** Options of {@link buildRunReport}. */
export interface BuildRunReportOptions {
  /** The status to show; default the stored one. */
  status?: string;
  /** Prices for records with tokens but no cost (default: `DEFAULT_PRICES`, examples). */
  prices?: PriceTable;
  /** `torn` when the log's last line was cut. */
  eventLogTorn?: boolean;
}

/**
 * The report of a stored run, from its checkpoint and its event log's entries (`null`: no log;
 * the attempts are then the records' start and end).
 */
export function buildRunReport(run: RunCheckpoint, events: readonly RunEventLogEntry[] | null, options: BuildRunReportOptions = {}): RunReport {
  const finished = run.status !== 'running';
  const endedAt = finished ? (run.result ? run.startedAt + run.result.totalTimeMs : run.updatedAt) : null;
  const metrics = new MetricsCollector(options.prices ? { prices: options.prices } : {}).addRun(run);
  const byTask = new Map(metrics.summary({ by: 'task' }).groups.map((g) => [g.key, g]));
  const records = new Map(run.records.map((r) => [r.taskId, r]));
  const logged = events ? attemptsFromLog(events, finished) : new Map<string, ReportAttempt[]>();

  type Spec = Pick<RunCheckpoint['workflow']['tasks'][number], 'id' | 'kind' | 'depends_on' | 'when'> & { agent?: string; model?: string };
  const reportTask = (spec: Spec, record: TaskRecord): ReportTask => {
    const cost = byTask.get(record.taskId);
    // Kept by a rerun: it ran in another run, before this one started; nothing of it is drawn here.
    const kept = record.keptFrom !== undefined;
    const out: ReportTask = {
      id: record.taskId,
      kind: spec.kind === 'group' ? 'command' : spec.kind,
      agent: spec.kind === 'agent' ? (spec.agent ?? spec.id) : spec.id,
      model: spec.kind === 'agent' ? spec.model! : spec.kind,
      dependsOn: [...spec.depends_on],
      status: record.status,
      attemptCount: record.attempts,
      attempts: kept ? [] : (logged.get(record.taskId) ?? attemptsFromRecord(record)),
      startedAt: kept ? null : record.startedAt,
      endedAt: kept ? null : record.endedAt,
      durationMs: kept ? null : durationOf(record),
      tokens: record.tokens,
      costUsd: cost?.costUsd ?? record.costUsd,
      costEstimated: (cost?.costEstimatedUsd ?? 0) > 0,
      error: record.error ? reportError(record.error) : null,
      critical: false,
    };
    if (record.reason !== undefined) out.reason = record.reason;
    if (spec.when !== undefined && record.taskId === spec.id) out.when = conditionText(spec.when);
    if (record.skippedBy !== undefined) out.skippedBy = record.skippedBy;
    if (record.allowedFailure) out.allowedFailure = true;
    if (record.json !== undefined) out.json = record.json;
    if (record.commit !== undefined || record.worktree !== undefined) {
      out.workspace = {
        ...(record.commit !== undefined && { commit: record.commit }),
        ...(record.branch !== undefined && { branch: record.branch }),
        ...(record.worktree !== undefined && { worktree: record.worktree }),
      };
    }
    if (kept) out.reason = `kept from run ${record.keptFrom} (not run again)`;
    return out;
  };
  // Instances and iterations, in order, by the fan-out or loop they belong to (`impl[3].code` and `impl[3]` to `impl`).
  const repeats = new Map<string, { instances: TaskRecord[]; iterations: TaskRecord[] }>();
  for (const record of orderRecordIds(run.records, (r) => r.taskId, declaredIdsOf(run.workflow.tasks))) {
    const { marks } = parseRecordId(record.taskId);
    if (marks.length === 0) continue;
    const owner = marks[0]!.declared;
    const entry = repeats.get(owner) ?? { instances: [], iterations: [] };
    (marks[0]!.kind === 'instance' ? entry.instances : entry.iterations).push(record);
    repeats.set(owner, entry);
  }
  // What an instance's or iteration's record runs: its task (a group's child), else its fan-out's or loop's.
  const specOf = (record: TaskRecord, owner: Spec): Spec => (declaredTaskOf(run.workflow.tasks, record.taskId) as Spec | undefined) ?? owner;
  const groupOf = new Map<string, string>();
  for (const [group, children] of Object.entries(run.workflow.groups ?? {})) for (const child of children) groupOf.set(child, group);

  const tasks: ReportTask[] = run.workflow.tasks.map((spec) => {
    const record = records.get(spec.id) ?? emptyTaskRecord(spec.id);
    const out = reportTask(spec, record);
    const group = groupOf.get(spec.id);
    if (group !== undefined) out.group = group;
    const repeated = repeats.get(spec.id);
    // A group's task keeps its own `when` (the fan-out's or loop's is the unit's as a whole).
    const unitTask = (r: TaskRecord): ReportTask => {
      const own = specOf(r, spec);
      const task = reportTask(own, r);
      if (own !== spec && own.when !== undefined) task.when = conditionText(own.when);
      return task;
    };
    if (repeated && repeated.instances.length > 0) out.instances = repeated.instances.map(unitTask);
    if (repeated && repeated.iterations.length > 0) out.iterations = repeated.iterations.map(unitTask);
    if (record.items !== undefined) {
      // A fan-out: what its instances (impl[0]...) did, and spent.
      const byStatus: Record<string, number> = {};
      const spent: TokenUsage[] = [];
      for (let k = 0; k < record.items.length; k++) {
        const instance = records.get(instanceId(spec.id, k));
        const status = instance?.status ?? 'pending';
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (instance) spent.push(instance.tokens);
      }
      out.fanout = { items: record.items.length, byStatus };
      out.tokens = sumTokens(spent);
      out.reason ??= `fan-out of ${record.items.length} item${record.items.length === 1 ? '' : 's'}: ${Object.entries(byStatus).map(([status, n]) => `${n} ${status}`).join(', ') || 'none'}`;
    }
    return out;
  });

  const path = criticalPath(tasks);
  // A set: `includes` on the path for every task was quadratic on long chains.
  const onPath = new Set(path.ids);
  for (const t of tasks) t.critical = onPath.has(t.id);
  const summary = metrics.summary({ by: 'agent' });
  // Command tasks are no agents: the by-agent table counts agent tasks only (by model, they are `command`).
  const agents = new MetricsCollector(options.prices ? { prices: options.prices } : {})
    .addRun({ ...run, records: run.records.filter((r) => declaredTaskOf(run.workflow.tasks, r.taskId)?.kind === 'agent') })
    .summary({ by: 'agent' });
  const report: RunReport = {
    runId: run.runId,
    workflowId: run.workflowId,
    status: options.status ?? run.status,
    startedAt: run.startedAt,
    endedAt,
    durationMs: endedAt === null ? null : endedAt - run.startedAt,
    tasks,
    criticalPath: path.ids,
    criticalPathMs: path.ms,
    tokens: sumTokens(tasks.map((t) => t.tokens)),
    costUsd: summary.total.costUsd,
    costEstimatedUsd: summary.total.costEstimatedUsd,
    byAgent: agents.groups,
    byModel: metrics.summary({ by: 'model' }).groups,
    failures: failuresOf(tasks.flatMap((t) => [t, ...(t.instances ?? []), ...(t.iterations ?? [])])),
    eventLog: events === null ? 'missing' : options.eventLogTorn ? 'torn' : 'read',
  };
  if (run.workflow.description !== undefined) report.description = run.workflow.description;
  if (run.workflow.groups !== undefined) report.groups = run.workflow.groups;
  if (run.result?.workspace !== undefined) report.workspace = run.result.workspace;
  return report;
}

/** Options of {@link loadRunReport}. */
export interface LoadRunReportOptions {
  /** The state directory, where the run's event log is (`<stateDir>/<runId>/events.jsonl`). */
  stateDir: string;
  prices?: PriceTable;
}

/**
 * Loads a stored run and its event log and builds its report. A run whose process is gone
 * (stored as `running`, its lock free) shows as `interrupted`.
 *
 * @throws PermanentError `NOT_FOUND` for an unknown run id; the backend's errors for unreadable state.
 */
export async function loadRunReport(backend: StateBackend, runId: string, options: LoadRunReportOptions): Promise<RunReport> {
  const run = await backend.loadRun(runId);
  if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
  let events: RunEventLogEntry[] | null = null;
  let torn = false;
  try {
    ({ events, torn } = await readRunEventLog(runEventLogPath(options.stateDir, runId)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const status = run.status === 'running' && (await backend.lockHolder(runId)) === null ? 'interrupted' : run.status;
  const report = buildRunReport(run, events, { status, eventLogTorn: torn, ...(options.prices && { prices: options.prices }) });
  addPrompts(report, run, options.stateDir);
  await addDiffStats(report.tasks, run.workflow);
  return report;
}

/** Reads each agent attempt's prompt file (`prompt[.attempt-<n>].md` beside its raw stream) into the report. */
function addPrompts(report: RunReport, run: RunCheckpoint, stateDir: string): void {
  const records = new Map(run.records.map((r) => [r.taskId, r]));
  for (const task of report.tasks) {
    const record = records.get(task.id);
    if (task.kind !== 'agent' || !record) continue;
    const prompts: ReportPrompt[] = [];
    for (const entry of attemptLogOf(record)) {
      const file = promptFileBeside(rawFileOf(stateDir, run.runId, task.id, entry));
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // not recorded (a run from before prompts were kept)
      }
      prompts.push({ attempt: entry.attempt, text: text.slice(0, REPORT_PROMPT_CHARS), clipped: Math.max(0, text.length - REPORT_PROMPT_CHARS), file });
    }
    if (prompts.length > 0) task.prompts = prompts;
  }
}

/** The attempts of each task, replayed from the log's task and workflow events. */
function attemptsFromLog(events: readonly RunEventLogEntry[], finished: boolean): Map<string, ReportAttempt[]> {
  const byTask = new Map<string, ReportAttempt[]>();
  const open = new Map<string, ReportAttempt>();
  const close = (taskId: string, at: number, outcome: AttemptOutcome, error: ReportError | null): void => {
    const attempt = open.get(taskId);
    if (!attempt) return;
    open.delete(taskId);
    Object.assign(attempt, { endedAt: Math.max(at, attempt.startedAt), outcome, retry: outcome === 'retried', error });
  };
  let lastAt: number | null = null;
  for (const e of events) {
    const taskId = e.taskId;
    if (e.type === 'workflow.started' && e.resumed === true) {
      // The previous process died with these attempts running.
      for (const id of [...open.keys()]) close(id, lastAt ?? e.at, 'interrupted', null);
    } else if (taskId !== undefined) {
      if (e.type === 'task.started') {
        close(taskId, e.at, 'interrupted', null);
        const list = byTask.get(taskId) ?? [];
        const attempt: ReportAttempt = { attempt: list.length + 1, startedAt: e.at, endedAt: null, outcome: 'running', retry: false, error: null };
        list.push(attempt);
        byTask.set(taskId, list);
        open.set(taskId, attempt);
      } else if (e.type === 'task.retrying') {
        close(taskId, e.at, 'retried', errorOf(e.error));
      } else if (e.type === 'task.completed') {
        close(taskId, e.at, 'completed', null);
      } else if (e.type === 'task.failed') {
        close(taskId, e.at, 'failed', errorOf((e.record as Partial<TaskRecord> | undefined)?.error));
      } else if (e.type === 'task.cancelled') {
        close(taskId, e.at, 'cancelled', null);
      }
    }
    lastAt = e.at;
  }
  // Still open: running, or cut short by a process that died and was not resumed.
  if (finished) for (const id of [...open.keys()]) close(id, lastAt!, 'interrupted', null);
  return byTask;
}

/** Without a log: one attempt from the record's start to its end. */
function attemptsFromRecord(record: TaskRecord): ReportAttempt[] {
  if (record.startedAt === null) return [];
  const outcome: AttemptOutcome =
    record.status === 'completed' || record.status === 'failed' || record.status === 'cancelled' ? record.status : 'running';
  return [
    {
      attempt: Math.max(1, record.attempts),
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      outcome,
      retry: false,
      error: record.error ? reportError(record.error) : null,
    },
  ];
}

function errorOf(value: unknown): ReportError | null {
  if (typeof value !== 'object' || value === null) return null;
  return reportError(value as SerializedError);
}

function reportError(error: SerializedError): ReportError {
  const out: ReportError = { code: String(error.code ?? 'ERROR'), message: String(error.message ?? '') };
  if (error.stderrTail) out.stderrTail = error.stderrTail;
  if (error.apiErrorStatus !== undefined) out.apiErrorStatus = error.apiErrorStatus;
  return out;
}

function durationOf(record: TaskRecord): number | null {
  if (record.durationMs !== null) return record.durationMs;
  return record.startedAt !== null && record.endedAt !== null ? record.endedAt - record.startedAt : null;
}

/**
 * The longest path by duration, over tasks that ran: `dist[t] = duration[t] + max(dist[dep])`
 * in topological order. Ties go to the task declared first.
 */
function criticalPath(tasks: ReportTask[]): { ids: string[]; ms: number } {
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const dist: Array<number | null> = tasks.map(() => null);
  const via: Array<number | null> = tasks.map(() => null);
  const remaining = tasks.map((t) => t.dependsOn.filter((d) => index.has(d)).length);
  const dependants: number[][] = tasks.map(() => []);
  tasks.forEach((t, i) => t.dependsOn.forEach((d) => index.has(d) && dependants[index.get(d)!]!.push(i)));
  const order = tasks.flatMap((_, i) => (remaining[i] === 0 ? [i] : []));
  for (let head = 0; head < order.length; head++) {
    const i = order[head]!;
    for (const j of dependants[i]!) if (--remaining[j]! === 0) order.push(j);
    const ms = tasks[i]!.durationMs;
    if (ms === null) continue;
    let best: number | null = null;
    for (const dep of tasks[i]!.dependsOn.map((d) => index.get(d)!).sort((a, b) => a - b)) {
      if (dist[dep] !== null && (best === null || dist[dep]! > dist[best]!)) best = dep;
    }
    dist[i] = ms + (best === null ? 0 : dist[best]!);
    via[i] = best;
  }
  let end: number | null = null;
  for (let i = 0; i < dist.length; i++) {
    const d = dist[i] ?? null;
    if (d !== null && (end === null || d > dist[end]!)) end = i;
  }
  if (end === null) return { ids: [], ms: 0 };
  const ids: string[] = [];
  for (let at: number | null = end; at !== null; at = via[at]!) ids.unshift(tasks[at]!.id);
  return { ids, ms: dist[end]! };
}

function failuresOf(tasks: ReportTask[]): ReportFailure[] {
  const out: ReportFailure[] = [];
  for (const t of tasks) {
    for (const a of t.attempts) if (a.retry && a.error) out.push({ taskId: t.id, attempt: a.attempt, kind: 'retried', at: a.endedAt, error: a.error });
    if (t.status === 'failed' && t.error) {
      const last = t.attempts.at(-1);
      out.push({ taskId: t.id, attempt: last?.attempt ?? null, kind: 'failed', at: t.endedAt, error: t.error, ...(t.allowedFailure && { allowed: true }) });
    }
  }
  return out.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity));
}

function sumTokens(list: TokenUsage[]): TokenUsage {
  const out: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 };
  for (const t of list) {
    out.input += t.input;
    out.output += t.output;
    out.cacheRead += t.cacheRead;
    out.cacheCreation += t.cacheCreation;
  }
  return out;
}
