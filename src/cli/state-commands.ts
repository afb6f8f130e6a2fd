/**
 * The CLI commands over stored state: `resume`, `list`, `status`, `migrate`.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { totalTokens } from '../claude/stream-json.js';
import { PermanentError, ValidationError } from '../errors.js';
import { migrateAdwState } from '../persistence/migrate-adw.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import { STATE_SCHEMA_VERSION, type StateBackend } from '../persistence/state-backend.js';
import { WorkflowOrchestrator } from '../workflow-orchestrator.js';
import { EXIT, parseOrThrow, type CliIO } from './cli-support.js';
import { driveRun, replayExecutor } from './run-command.js';

const STATE_OPTIONS = {
  'state-dir': { type: 'string' },
  backend: { type: 'string' },
} as const;

async function withBackend<T>(
  values: { 'state-dir'?: string; backend?: string },
  access: 'read' | 'write',
  work: (backend: StateBackend, stateDir: string) => Promise<T>,
): Promise<T> {
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  const backend = await openStateBackend(values.backend ?? 'json', stateDir, { readonly: access === 'read' });
  try {
    return await work(backend, stateDir);
  } finally {
    await backend.close();
  }
}

function oneRunId(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new ValidationError(`${command}: expected exactly one run id, e.g. agents-sdk ${command} 3k9x2m7q1abc`);
  return positionals[0]!;
}

/** `agents-sdk resume <runId>`. */
export async function resumeCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseOrThrow('resume', () =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...STATE_OPTIONS, json: { type: 'boolean' }, replay: { type: 'string' }, 'replay-speed': { type: 'string' }, force: { type: 'boolean' }, 'retry-failed': { type: 'boolean' }, budget: { type: 'string' } },
    }),
  );
  const runId = oneRunId('resume', positionals);
  const replay = replayExecutor(values.replay, values['replay-speed']);
  const options = {
    force: values.force === true,
    retryFailed: values['retry-failed'] === true,
    ...(values.budget !== undefined && { budgetUsd: Number(values.budget) }),
  };
  return withBackend(values, 'write', async (backend, stateDir) => {
    const stored = await backend.loadRun(runId);
    const readable = stored !== undefined && typeof stored.schemaVersion === 'number' && stored.schemaVersion <= STATE_SCHEMA_VERSION;
    const reopened = (options.retryFailed && stored?.status === 'failed') || (options.budgetUsd !== undefined && stored?.status === 'budget_exceeded');
    if (readable && stored.status !== 'running' && stored.status !== 'cancelled' && stored.result && !reopened) {
      io.stderr(`run ${runId} already finished (${stored.status}); nothing to run\n`);
    }
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir, ...(replay && { executor: replay }) });
    return driveRun(orchestrator, io, values.json === true, (o) => o.resume(runId, options));
  });
}

/** `agents-sdk list`. */
export async function listCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseOrThrow('list', () => parseArgs({ args, strict: true, options: { ...STATE_OPTIONS, json: { type: 'boolean' } } }));
  return withBackend(values, 'read', async (backend) => {
    const runs = [];
    for (const run of await backend.listRuns()) runs.push({ ...run, status: await displayStatus(backend, run.runId, run.status) });
    if (values.json) {
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
export async function statusCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseOrThrow('status', () =>
    parseArgs({ args, allowPositionals: true, strict: true, options: { ...STATE_OPTIONS, json: { type: 'boolean' } } }),
  );
  const runId = oneRunId('status', positionals);
  return withBackend(values, 'read', async (backend) => {
    const run = await backend.loadRun(runId);
    if (!run) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"`, { details: { runId } });
    const status = await displayStatus(backend, runId, run.status);
    if (values.json) {
      io.stdout(`${JSON.stringify({ runId: run.runId, workflowId: run.workflowId, status, records: run.records }, null, 2)}\n`);
      return EXIT.ok;
    }
    const hint = status === 'interrupted' ? ` (its process is gone: agents-sdk resume ${runId})` : '';
    io.stdout(`run ${run.runId} of workflow ${run.workflowId}: ${status}${hint}, started ${iso(run.startedAt)}, updated ${iso(run.updatedAt)}\n\n`);
    io.stdout(
      table(
        ['task', 'status', 'attempts', 'time', 'tokens', 'cost', 'note'],
        run.records.map((r) => [
          r.taskId,
          r.status,
          String(r.attempts),
          r.durationMs === null ? '-' : `${(r.durationMs / 1000).toFixed(1)}s`,
          String(totalTokens(r.tokens)),
          `$${r.costUsd.toFixed(4)}`,
          r.error ? `${r.error.code}: ${r.error.message}` : (r.reason ?? ''),
        ]),
      ),
    );
    return EXIT.ok;
  });
}

/** `agents-sdk migrate --from <dir> [--dry-run]`. */
export async function migrateCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseOrThrow('migrate', () =>
    parseArgs({ args, strict: true, options: { ...STATE_OPTIONS, from: { type: 'string' }, 'dry-run': { type: 'boolean' } } }),
  );
  if (!values.from) throw new ValidationError('migrate: --from <dir> is required (the directory holding <id>/adw_state.json files)');
  const from = values.from;
  const dryRun = values['dry-run'] === true;
  const migrate = async (backend: StateBackend | null): Promise<number> => {
    const report = await migrateAdwState(from, backend, { dryRun });
    const verb = report.dryRun ? 'would import' : 'imported';
    for (const item of report.imported) io.stdout(`${verb} ${item.file} as ${item.key}\n`);
    for (const skip of report.skipped) io.stderr(`skipped ${skip.file}: ${skip.reason}\n`);
    io.stdout(`${report.dryRun ? 'dry run: ' : ''}${report.imported.length} ${verb}, ${report.skipped.length} skipped\n`);
    return report.skipped.length > 0 ? EXIT.failed : EXIT.ok;
  };
  // A dry run changes nothing: it does not even open (and so create) the backend.
  return dryRun ? migrate(null) : withBackend(values, 'write', migrate);
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

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n') + '\n';
}
