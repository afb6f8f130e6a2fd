/**
 * The CLI commands over stored state: `resume`, `list`, `status`, `migrate`.
 *
 * @module
 */
import { workspaceSection } from '../workspace/workspace-views.js';
import { declaredTaskOf } from '../workflow/fan-out.js';
import { declaredIdsOf, orderRecordIds } from '../workflow/record-ids.js';
import { describeUnits, recordsUnder, recordTree, unitStatus, unitWord, type RecordNode } from '../workflow/record-tree.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { totalTokens } from '../claude/stream-json.js';
import { PermanentError, ValidationError } from '../errors.js';
import { describeOutputCut } from '../execution-result.js';
import { migrateAdwState } from '../persistence/migrate-adw.js';
import { openStateBackend, SQLITE_FILE } from '../persistence/open-state-backend.js';
import { STATE_SCHEMA_VERSION, type RunCheckpoint, type StateBackend } from '../persistence/state-backend.js';
import type { Workflow } from '../workflow/spec.js';
import { attemptLogOf } from '../workflow/attempt-log.js';
import type { AttemptRecord, TaskRecord } from '../workflow/workflow-result.js';
import { EXIT, intOption, type CliIO } from './cli-support.js';
import { parseSince, parseStatuses } from './run-filters.js';
import { rawFileOf } from './logs-command.js';
import { finishedRunAdvice, resumeCommandLine } from './run-summary.js';
import { checkClaudeBinary, driveOrchestrated, replayExecutor, replayExecutorOf, runLogSettings, type LogOptions } from './run-command.js';
import { inheritedNote, replaySpeedOption, resumeLaunch } from './run-launch.js';
import { formatLiveTasks, liveTasks } from './live-status.js';
import { parseInspectTarget } from '../inspector/inspect-target.js';
import { createRunLogger } from '../logging/run-logger.js';

/** `--state-dir` and `--backend`, taken by every command over stored state. */
export interface StateOptions {
  stateDir?: string;
  backend?: string;
}

export async function withBackend<T>(
  options: StateOptions,
  access: 'read' | 'write',
  work: (backend: StateBackend, stateDir: string) => Promise<T>,
): Promise<T> {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const backend = await openStateBackend(options.backend ?? 'json', stateDir, { readonly: access === 'read' });
  try {
    return await work(backend, stateDir);
  } finally {
    await backend.close();
  }
}

/** Options of `agents-sdk resume`. */
export interface ResumeOptions extends StateOptions, LogOptions {
  json?: boolean;
  replay?: string;
  replaySpeed?: string;
  force?: boolean;
  /** Rerun the failed (and thereby skipped) tasks of a failed run. */
  retryFailed?: boolean;
  /** A new budget (USD) for a run that ended over budget. */
  budget?: string;
  /** `--inspect [target]`. */
  inspect?: string | boolean;
  /** `false` with `--no-cache`. */
  cache?: boolean;
  /** `--redis URL` / `--queue NAME`: attempts run on workers through BullMQ. */
  redis?: string;
  queue?: string;
  /** `--local`: run here the interrupted attempts of a run whose attempts ran on workers. */
  local?: boolean;
  /** `--live`: a run started with `--replay` resumes with the real agent. */
  live?: boolean;
}

/** `agents-sdk resume <runId>`. */
export async function resumeCommand(runId: string, options: ResumeOptions, io: CliIO): Promise<number> {
  // The flags alone are checked before anything is opened (a bad --replay-speed is exit 2 at once).
  resumeLaunch(undefined, { ...options, replaySpeed: undefined }, { stateDir: '.', backend: undefined });
  if (options.replay !== undefined) replayExecutor(options.replay, options.replaySpeed);
  else replaySpeedOption(options.replaySpeed);
  const logs = runLogSettings(options);
  const budgetUsd = options.budget === undefined ? undefined : Number(options.budget);
  if (budgetUsd !== undefined && !(budgetUsd > 0)) throw new ValidationError(`--budget must be a positive amount of USD, got "${options.budget}"`);
  parseInspectTarget(options.inspect);
  if (options.local === true && options.redis !== undefined) throw new ValidationError('--local and --redis cannot be used together');
  const resumeOptions = {
    force: options.force === true,
    retryFailed: options.retryFailed === true,
    ...(budgetUsd !== undefined && { budgetUsd }),
    ...(options.cache === false && { cache: false }),
  };
  return withBackend(options, 'write', async (backend, stateDir) => {
    // The lock first, then the read: a run another process drives is LOCKED, and is never
    // read while that process writes it.
    const release = await backend.lockRun(runId, resumeOptions.force ? { force: true } : {});
    try {
      const stored = await backend.loadRun(runId);
      const readable = stored !== undefined && typeof stored.schemaVersion === 'number' && stored.schemaVersion <= STATE_SCHEMA_VERSION;
      const reopened = (resumeOptions.retryFailed && stored?.status === 'failed') || (budgetUsd !== undefined && stored?.status === 'budget_exceeded');
      const finished = readable && stored.status !== 'running' && stored.status !== 'cancelled' && stored.result !== undefined && !reopened;
      if (finished) {
        const advice = finishedRunAdvice(stored.status, resumeCommandLine(runId, { stateDirOption: options.stateDir, backendOption: options.backend }));
        io.stderr(`run ${runId} already finished (${stored.status}); nothing to run${advice ? `\n${advice}` : ''}\n`);
      }
      // Driven as it was started (replayed, on workers...) unless a flag says otherwise; a
      // finished run that is not reopened runs nothing, so it needs none of it.
      const { launch, inherited } = resumeLaunch(readable && !finished ? stored.launch : undefined, options, { stateDir, backend: options.backend });
      if (inherited.length > 0) {
        const note = inheritedNote(runId, inherited, launch);
        // With --log-format stderr carries only log lines: the note is one.
        if (logs) createRunLogger({ ...logs, write: io.stderr }).logger.info({ type: 'cli.resume_launch', runId, launch }, note.trimEnd());
        else io.stderr(note);
      }
      // The real agent is needed for what is left to run: a missing `claude` is said before anything changes.
      if (readable && !finished && !launch.replay && launch.redis === undefined) {
        const done = new Set(stored.records.filter((r) => r.status === 'completed').map((r) => r.taskId));
        checkClaudeBinary({ ...stored.workflow, tasks: stored.workflow.tasks.filter((t) => !done.has(t.id)) }, `Run ${runId} was not resumed (nothing was changed)`);
      }
      const replay = launch.replay ? replayExecutorOf(launch.replay, options.replay === undefined ? runId : undefined) : undefined;
      const remote = { ...(launch.redis !== undefined && { redis: launch.redis }), ...(launch.queue !== undefined && { queue: launch.queue }) };
      if (readable && options.local !== true) refuseLocalResumeOfRemoteRun(stateDir, stored, remote);
      const { redis: _redis, queue: _queue, ...rest } = options;
      return await driveOrchestrated(backend, stateDir, { ...rest, ...remote }, io, replay, logs, (o) => o.resume(runId, { ...resumeOptions, launch, lock: release }));
    } finally {
      // Released by the resume when it got that far; else here (a second release changes nothing).
      await release().catch(() => undefined);
    }
  });
}

/**
 * A run whose attempts ran on workers, with attempts cut short: resumed here, they would run
 * again while their jobs may still run (or have finished) on workers. `--redis` re-attaches to
 * them; `--local` says to run them here anyway.
 */
export function refuseLocalResumeOfRemoteRun(stateDir: string, run: RunCheckpoint, options: { redis?: string; queue?: string }): void {
  let marker: { queue?: string; redis?: string };
  try {
    // WORKERS_FILE of distributed/bullmq-executor (not imported: it would load BullMQ).
    marker = JSON.parse(readFileSync(join(stateDir, run.runId, 'workers.json'), 'utf8')) as typeof marker;
  } catch {
    return;
  }
  const interrupted = run.records.filter((r) => r.status === 'running').map((r) => r.taskId);
  if (run.status !== 'running' || interrupted.length === 0) return;
  const queue = marker.queue && marker.queue !== 'agents-sdk' ? ` --queue ${marker.queue}` : '';
  if (options.redis !== undefined) {
    // Another queue would not find their jobs: they would run again.
    if (marker.queue === undefined || marker.queue === (options.queue ?? 'agents-sdk')) return;
    throw new ValidationError(
      `run ${run.runId} ran its attempts on queue "${marker.queue}", not "${options.queue ?? 'agents-sdk'}", and ${interrupted.join(', ')} ${interrupted.length === 1 ? 'was' : 'were'} cut short: resume it with --queue ${marker.queue}`,
    );
  }
  throw new ValidationError(
    `run ${run.runId} ran its attempts on workers (queue "${marker.queue ?? '?'}" on Redis ${marker.redis ?? '?'}) and ${interrupted.join(', ')} ${interrupted.length === 1 ? 'was' : 'were'} cut short: resume it with --redis redis://${marker.redis ?? '<host:port>'}${queue} to take their results instead of running them again, or with --local to run them here`,
  );
}

/** Options of `agents-sdk list`. */
export interface ListOptions extends StateOptions {
  json?: boolean;
  /** Statuses (repeatable or comma-separated): running, interrupted, completed, failed, cancelled, budget_exceeded, unreadable. */
  status?: string[];
  /** Only runs of this workflow id (repeatable). */
  workflow?: string[];
  /** Only runs started since: a duration back (2h, 7d) or an ISO date. */
  since?: string;
  /** At most this many runs, the newest. */
  limit?: string;
}

/** `agents-sdk list`. */
export async function listCommand(options: ListOptions, io: CliIO): Promise<number> {
  const statuses = parseStatuses(options.status);
  const workflows = new Set(options.workflow ?? []);
  const since = options.since === undefined ? undefined : parseSince('since', options.since);
  const limit = intOption('limit', options.limit) ?? Infinity;
  return withBackend(options, 'read', async (backend, stateDir) => {
    const hint = sqliteHint(options, stateDir);
    if (hint) io.stderr(`note: ${hint}\n`);
    const runs = [];
    for (const run of await backend.listRuns()) {
      if (runs.length >= limit) break;
      if (workflows.size > 0 && !workflows.has(run.workflowId)) continue;
      if (since !== undefined && !(run.startedAt >= since)) continue;
      const status = await displayStatus(backend, run.runId, run.status);
      if (statuses.size > 0 && !statuses.has(status)) continue;
      runs.push({ ...run, status });
    }
    if (options.json) {
      io.stdout(`${JSON.stringify(runs, null, 2)}\n`);
      return EXIT.ok;
    }
    if (runs.length === 0) {
      const filtered = statuses.size > 0 || workflows.size > 0 || since !== undefined;
      io.stdout(filtered ? 'no runs match\n' : 'no runs\n');
      return EXIT.ok;
    }
    io.stdout(
      table(
        ['run', 'workflow', 'status', 'started', 'tasks', 'cost'],
        runs.map((r) =>
          r.problem
            ? [r.runId, '-', r.status, '-', '-', '-']
            : [r.runId, r.workflowId, r.status, iso(r.startedAt), `${r.tasksDone}/${r.tasksTotal}`, `$${r.costUsd.toFixed(4)}`],
        ),
      ),
    );
    for (const r of runs) if (r.problem) io.stdout(`\nrun ${r.runId} is unreadable (${r.problem.code}): ${r.problem.message}\n`);
    return EXIT.ok;
  });
}

/** `agents-sdk status <runId>`. */
export async function statusCommand(runId: string, options: StateOptions & { json?: boolean; all?: boolean }, io: CliIO): Promise<number> {
  return withBackend(options, 'read', async (backend, stateDir) => {
    const run = await backend.loadRun(runId);
    if (!run) {
      const hint = sqliteHint(options, stateDir);
      throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"${hint ? `; ${hint}` : ''}`, { details: { runId } });
    }
    const status = await displayStatus(backend, runId, run.status);
    // A run that is not running any more ended when it was last written.
    const endedAt = run.status === 'running' ? null : run.updatedAt;
    const durationMs = run.result?.totalTimeMs ?? (endedAt === null ? null : endedAt - run.startedAt);
    const isAgent = (taskId: string) => declaredTaskOf(run.workflow.tasks, taskId)?.kind === 'agent';
    const agents = new Set(run.records.filter((r) => isAgent(r.taskId)).map((r) => r.taskId));
    // A fan-out's instances are listed under it, in item order, a loop's iterations in order.
    run.records = orderRecordIds(run.records, (r) => r.taskId, declaredIdsOf(run.workflow.tasks));
    const files = run.records.map((r) => (agents.has(r.taskId) ? recordedAttempts(stateDir, runId, r) : recordedStdout(stateDir, runId, r)));
    // rawOutput: the last attempt's stream (each attempt's is its attemptLog entry's rawFile);
    // for a command, the file of its last attempt whose stdout outgrew the record.
    const records = run.records.map((r, i) => ({ ...r, rawOutput: files[i]!.at(-1)?.file ?? null }));
    if (options.json) {
      const { runId: id, workflowId, startedAt, updatedAt } = run;
      const rerunOf = run.rerunOf && { rerunOf: run.rerunOf };
      const live = status === 'running' && { live: liveTasks(run, stateDir, Date.now()) };
      const workspace = run.result?.workspace && { workspace: run.result.workspace };
      io.stdout(`${JSON.stringify({ runId: id, workflowId, status, startedAt, updatedAt, endedAt, durationMs, ...rerunOf, ...live, ...workspace, records }, null, 2)}\n`);
      return EXIT.ok;
    }
    const hint = status === 'interrupted' ? ` (its process is gone: ${resumeCommandLine(runId, { stateDirOption: options.stateDir, backendOption: options.backend })})` : '';
    const times = endedAt === null ? `updated ${iso(run.updatedAt)}` : `ended ${iso(endedAt)} (${seconds(durationMs)})`;
    io.stdout(`run ${run.runId} of workflow ${run.workflowId}: ${status}${hint}, started ${iso(run.startedAt)}, ${times}\n`);
    if (run.rerunOf) io.stdout(`rerun of run ${run.rerunOf.runId} from task ${run.rerunOf.fromTask}${run.rerunOf.only ? ' (only)' : ''}\n`);
    io.stdout('\n');
    const { rows: taskRows, shown, folded } = statusRows(run, options.all === true);
    io.stdout(table(['task', 'status', 'attempts', 'time', 'tokens', 'cost', 'note'], taskRows));
    if (folded > 0) io.stdout(`(${folded} completed not listed: agents-sdk status ${runId} --all lists every instance and iteration)\n`);
    io.stdout(workspaceSection(run.records, run.result?.workspace));
    if (status === 'running') {
      const now = Date.now();
      io.stdout(formatLiveTasks(liveTasks(run, stateDir, now), now));
    }
    const rowsOf = (agent: boolean) =>
      run.records.flatMap((r, i) =>
        agents.has(r.taskId) !== agent || !shown.has(r.taskId)
          ? []
          : files[i]!.map(({ entry, file }) => [r.taskId, `#${entry.attempt}`, entry.error ? `${entry.status} (${entry.error.code})` : entry.status, file]),
      );
    const rows = rowsOf(true);
    if (rows.length > 0) {
      io.stdout(`\nraw output of each agent, per attempt (its Claude Code stream, one JSON line per message; as a transcript: agents-sdk logs ${runId}):\n`);
      printRows(rows, io);
    }
    const cut = rowsOf(false);
    if (cut.length > 0) {
      io.stdout(`\nstdout truncated in the record (it keeps the end; the whole stdout is in the file, printed by agents-sdk logs ${runId} <task>):\n`);
      printRows(cut, io);
    }
    return EXIT.ok;
  });
}

/** Instances or iterations of a fan-out or loop listed by `status` before the completed ones are left out (without `--all`). */
const STATUS_UNIT_ROWS = 20;

/**
 * The rows of `status`'s table: each record, under its group (a row of its own), fan-out or
 * loop, indented. A fan-out or loop with more than {@link STATUS_UNIT_ROWS} instances or
 * iterations lists only those not completed, unless `all`.
 */
function statusRows(run: RunCheckpoint, all: boolean): { rows: string[][]; shown: Set<string>; folded: number } {
  const tree = recordTree(run.records, {
    idOf: (r) => r.taskId,
    declaredIds: declaredIdsOf(run.workflow.tasks),
    groups: run.workflow.groups,
  });
  const rows: string[][] = [];
  const shown = new Set<string>();
  let folded = 0;
  const status = (r: TaskRecord): string => r.status;
  const walk = (node: RecordNode<TaskRecord>, depth: number): void => {
    const indent = '  '.repeat(depth);
    const r = node.record;
    if (node.children.length === 0) {
      const leaf = r!;
      // A leaf is a record (a unit without one has children).
      shown.add(leaf.taskId);
      rows.push([
        indent + leaf.taskId,
        statusLabel(leaf),
        String(leaf.attempts),
        seconds(leaf.durationMs),
        String(totalTokens(leaf.tokens)),
        `$${leaf.costUsd.toFixed(4)}`,
        leaf.error ? `${leaf.error.code}: ${leaf.error.message}` : (leaf.reason ?? (leaf.keptFrom ? `kept from run ${leaf.keptFrom}` : leaf.outputCut ? describeOutputCut(leaf.outputCut) : waitNote(run.workflow, leaf) || truncationNote(leaf))),
      ]);
      return;
    }
    // A group, fan-out, loop, or an instance or iteration of a group: its tasks' totals, and what they did.
    const under = recordsUnder(node);
    const items = r?.items?.length;
    const loop = r?.iteration === undefined ? 'loop' : `loop: iteration ${r.iteration}${r.exhausted ? ' (exhausted: until never held)' : ''}`;
    const what = node.kind === 'fanout' ? `fan-out of ${items ?? node.children.length} item${(items ?? node.children.length) === 1 ? '' : 's'}` : node.kind === 'loop' ? loop : node.kind === 'group' ? 'group' : unitWord(node.kind);
    if (r) shown.add(r.taskId);
    rows.push([
      indent + node.id,
      r?.error || r?.status === 'skipped' ? statusLabel(r) : unitStatus(node, status),
      r ? String(r.attempts) : '',
      seconds(r?.durationMs ?? null),
      String(under.reduce((n, x) => n + totalTokens(x.tokens), 0)),
      `$${under.reduce((n, x) => n + x.costUsd, 0).toFixed(4)}`,
      r?.status === 'skipped' ? (r.reason ?? 'skipped') : `${what}${r?.iteration === undefined ? ':' : ';'} ${describeUnits(node, status, items)}${r?.error ? `; ${r.error.code}: ${r.error.message}` : ''}`,
    ]);
    const many = (node.kind === 'fanout' || node.kind === 'loop') && !all && node.children.length > STATUS_UNIT_ROWS;
    for (const child of node.children) {
      if (many && unitStatus(child, status) === 'completed') {
        folded++;
        continue;
      }
      walk(child, depth + 1);
    }
  };
  for (const root of tree) walk(root, 0);
  return { rows, shown, folded };
}

/** `completed (cached)`, `failed (allowed)`, or the status. */
function statusLabel(r: TaskRecord): string {
  return r.cached ? `${r.status} (cached)` : r.allowedFailure ? `${r.status} (allowed)` : r.status;
}

/** What a `wait_for` task waits for (or waited for: the signal that let it start). */
function waitNote(workflow: Workflow, record: TaskRecord): string {
  const wait = workflow.tasks.find((t) => t.id === record.taskId)?.wait_for;
  if (!wait) return '';
  if (record.status === 'waiting') {
    const until = wait.timeout !== undefined && record.waitingSince !== undefined ? `, until ${iso(record.waitingSince + wait.timeout * 1000)}` : '';
    return `waiting for ${wait.event}${until}`;
  }
  return record.signal ? `started on ${record.signal.type} from ${record.signal.source}` : '';
}

/** The attempts of an agent task whose stream was recorded, with its file (`<state-dir>/<run>/<task>/raw_output[.attempt-<n>].jsonl`). */
function recordedAttempts(stateDir: string, runId: string, record: TaskRecord): Array<{ entry: AttemptRecord; file: string }> {
  return attemptLogOf(record)
    .map((entry) => ({ entry, file: rawFileOf(stateDir, runId, record.taskId, entry) }))
    .filter(({ file }) => existsSync(file));
}

/** A command whose stdout outgrew its record: how much it printed, and that the record keeps the end. */
function truncationNote(record: TaskRecord): string {
  if (!record.truncated) return '';
  const size = record.outputBytes === undefined ? '' : ` of ${record.outputBytes} bytes`;
  return `stdout truncated: the record keeps the last ${record.output?.length ?? 0} characters${size}`;
}

/** The attempts of a command task whose stdout outgrew the record, with the file holding it whole (`raw_stdout[.attempt-<n>].txt`). */
function recordedStdout(stateDir: string, runId: string, record: TaskRecord): Array<{ entry: AttemptRecord; file: string }> {
  return attemptLogOf(record)
    .filter((entry) => entry.rawFile !== null)
    .map((entry) => ({ entry, file: rawFileOf(stateDir, runId, record.taskId, entry) }));
}

/** Rows of task, attempt, status and file, the first three padded. */
function printRows(rows: string[][], io: CliIO): void {
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows) io.stdout(`  ${row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join('  ')}\n`);
}

/**
 * For a state directory read as JSON that holds an `agents.sqlite`: where its runs are (the
 * SQLite backend), and how to read them; `null` otherwise.
 */
export function sqliteHint(options: StateOptions, stateDir: string): string | null {
  if ((options.backend ?? 'json') !== 'json' || !existsSync(join(stateDir, SQLITE_FILE))) return null;
  return (
    `${stateDir} holds ${SQLITE_FILE}, a SQLite state database, but was read with the JSON backend: ` +
    'read its runs with --backend sqlite (or AGENTS_SDK_BACKEND=sqlite, or "backend": "sqlite" in agents-sdk.config.json)'
  );
}

/** Options of `agents-sdk migrate`. */
export interface MigrateOptions extends StateOptions {
  from?: string;
  dryRun?: boolean;
}

/** `agents-sdk migrate --from <dir> [--dry-run]`. */
export async function migrateCommand(options: MigrateOptions, io: CliIO): Promise<number> {
  if (!options.from) throw new ValidationError('migrate: --from <dir> is required (the directory holding <id>/adw_state.json files)');
  const from = options.from;
  const dryRun = options.dryRun === true;
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  if (resolve(stateDir) === resolve(from)) {
    // ADW keeps its runs in agents/, agents-sdk's default state directory: never write one into the other.
    throw new ValidationError(
      `migrate: the state directory ${resolve(stateDir)} is the --from directory; importing ADW's state into its own directory would mix the two: pass another --state-dir (e.g. --state-dir .agents-sdk)`,
    );
  }
  const migrate = async (backend: StateBackend | null): Promise<number> => {
    const report = await migrateAdwState(from, backend, { dryRun });
    const verb = report.dryRun ? 'would import' : 'imported';
    for (const item of report.imported) io.stdout(`${verb} ${item.file} as ${item.key}\n`);
    for (const skip of report.skipped) io.stderr(`skipped ${skip.file}: ${skip.reason}\n`);
    io.stdout(`${report.dryRun ? 'dry run: ' : ''}${report.imported.length} ${verb}, ${report.skipped.length} skipped\n`);
    return report.skipped.length > 0 ? EXIT.failed : EXIT.ok;
  };
  // A dry run changes nothing: it does not even open (and so create) the backend.
  return dryRun ? migrate(null) : withBackend(options, 'write', migrate);
}

/**
 * `running` for a run that a live process drives; `interrupted (resume it)` for one whose
 * process died (no live holder of its lock).
 */
export async function displayStatus(backend: StateBackend, runId: string, status: string): Promise<string> {
  if (status !== 'running') return status;
  // Only looks at the lock: taking it, even for an instant, could make a starting resume fail.
  return (await backend.lockHolder(runId)) ? 'running' : 'interrupted';
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n') + '\n';
}
