/**
 * The CLI commands over stored state: `resume`, `list`, `status`, `migrate`.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { totalTokens } from '../claude/stream-json.js';
import { PermanentError, ValidationError } from '../errors.js';
import { describeOutputCut } from '../execution-result.js';
import { migrateAdwState } from '../persistence/migrate-adw.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import { STATE_SCHEMA_VERSION, type RunCheckpoint, type StateBackend } from '../persistence/state-backend.js';
import type { Workflow } from '../workflow/spec.js';
import { attemptLogOf } from '../workflow/attempt-log.js';
import type { AttemptRecord, TaskRecord } from '../workflow/workflow-result.js';
import { EXIT, type CliIO } from './cli-support.js';
import { rawFileOf } from './logs-command.js';
import { driveOrchestrated, replayExecutor, runLogSettings, type LogOptions } from './run-command.js';
import { parseInspectTarget } from '../inspector/inspect-target.js';

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
}

/** `agents-sdk resume <runId>`. */
export async function resumeCommand(runId: string, options: ResumeOptions, io: CliIO): Promise<number> {
  const replay = replayExecutor(options.replay, options.replaySpeed);
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
    const stored = await backend.loadRun(runId);
    const readable = stored !== undefined && typeof stored.schemaVersion === 'number' && stored.schemaVersion <= STATE_SCHEMA_VERSION;
    const reopened = (resumeOptions.retryFailed && stored?.status === 'failed') || (budgetUsd !== undefined && stored?.status === 'budget_exceeded');
    if (readable && stored.status !== 'running' && stored.status !== 'cancelled' && stored.result && !reopened) {
      io.stderr(`run ${runId} already finished (${stored.status}); nothing to run\n`);
    }
    if (readable && options.local !== true) refuseLocalResumeOfRemoteRun(stateDir, stored, options);
    return driveOrchestrated(backend, stateDir, options, io, replay, logs, (o) => o.resume(runId, resumeOptions));
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

/** `agents-sdk list`. */
export async function listCommand(options: StateOptions & { json?: boolean }, io: CliIO): Promise<number> {
  return withBackend(options, 'read', async (backend) => {
    const runs = [];
    for (const run of await backend.listRuns()) runs.push({ ...run, status: await displayStatus(backend, run.runId, run.status) });
    if (options.json) {
      io.stdout(`${JSON.stringify(runs, null, 2)}\n`);
      return EXIT.ok;
    }
    if (runs.length === 0) {
      io.stdout('no runs\n');
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
export async function statusCommand(runId: string, options: StateOptions & { json?: boolean }, io: CliIO): Promise<number> {
  return withBackend(options, 'read', async (backend, stateDir) => {
    const run = await backend.loadRun(runId);
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
    const status = await displayStatus(backend, runId, run.status);
    // A run that is not running any more ended when it was last written.
    const endedAt = run.status === 'running' ? null : run.updatedAt;
    const durationMs = run.result?.totalTimeMs ?? (endedAt === null ? null : endedAt - run.startedAt);
    const agents = new Set(run.workflow.tasks.filter((t) => t.kind === 'agent').map((t) => t.id));
    const files = run.records.map((r) => (agents.has(r.taskId) ? recordedAttempts(stateDir, runId, r) : []));
    // rawOutput: the last attempt's stream (each attempt's is its attemptLog entry's rawFile).
    const records = run.records.map((r, i) => ({ ...r, rawOutput: files[i]!.at(-1)?.file ?? null }));
    if (options.json) {
      const { runId: id, workflowId, startedAt, updatedAt } = run;
      io.stdout(`${JSON.stringify({ runId: id, workflowId, status, startedAt, updatedAt, endedAt, durationMs, records }, null, 2)}\n`);
      return EXIT.ok;
    }
    const hint = status === 'interrupted' ? ` (its process is gone: agents-sdk resume ${runId})` : '';
    const times = endedAt === null ? `updated ${iso(run.updatedAt)}` : `ended ${iso(endedAt)} (${seconds(durationMs)})`;
    io.stdout(`run ${run.runId} of workflow ${run.workflowId}: ${status}${hint}, started ${iso(run.startedAt)}, ${times}\n\n`);
    io.stdout(
      table(
        ['task', 'status', 'attempts', 'time', 'tokens', 'cost', 'note'],
        run.records.map((r) => [
          r.taskId,
          r.cached ? `${r.status} (cached)` : r.status,
          String(r.attempts),
          seconds(r.durationMs),
          String(totalTokens(r.tokens)),
          `$${r.costUsd.toFixed(4)}`,
          r.error ? `${r.error.code}: ${r.error.message}` : (r.reason ?? (r.outputCut ? describeOutputCut(r.outputCut) : waitNote(run.workflow, r))),
        ]),
      ),
    );
    const rows = run.records.flatMap((r, i) =>
      files[i]!.map(({ entry, file }) => [r.taskId, `#${entry.attempt}`, entry.error ? `${entry.status} (${entry.error.code})` : entry.status, file]),
    );
    if (rows.length > 0) {
      io.stdout(`\nraw output of each agent, per attempt (its Claude Code stream, one JSON line per message; as a transcript: agents-sdk logs ${runId}):\n`);
      const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]!.length)));
      for (const row of rows) io.stdout(`  ${row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join('  ')}\n`);
    }
    return EXIT.ok;
  });
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
async function displayStatus(backend: StateBackend, runId: string, status: string): Promise<string> {
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
