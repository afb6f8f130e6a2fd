/**
 * `agents-sdk run <file>` and `agents-sdk validate <file>`.
 *
 * @module
 */
import { dirtyRepositories } from '../workspace/workspace-preflight.js';
import type { Executor } from '../actors/executor.js';
import { createReplayExecutor } from '../actors/replay-executor.js';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { CLAUDE_CODE_PATH_ENV, findClaudeBinary } from '../claude/find-claude-binary.js';
import { ValidationError } from '../errors.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import type { RunLaunch, StateBackend } from '../persistence/state-backend.js';
import { replaySpeedOption, runLaunch } from './run-launch.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import { onLifecycleEvent, type LifecycleEvent } from '../event-bus.js';
import { loadWorkflowFile } from '../workflow/load-workflow.js';
import { planWorkflow } from '../workflow/plan-workflow.js';
import { formatWorkflowPlan } from './dry-run.js';
import { WorkflowOrchestrator } from '../workflow-orchestrator.js';
import type { Workflow } from '../workflow/spec.js';
import type { WorkflowResult } from '../workflow/workflow-result.js';
import { ProgressView, summaryTable } from './progress-view.js';
import { runWhereabouts, withStateOptionsInResume, type RunStorage } from './run-summary.js';
import { EXIT, intOption, isDirectory, type CliIO } from './cli-support.js';
import { LOG_FORMATS, LOG_LEVELS, createRunLogger, type LogFormat, type LogLevel } from '../logging/run-logger.js';
import { parseInspectTarget } from '../inspector/inspect-target.js';
import type { BullmqExecutor } from '../distributed/bullmq-executor.js';
import { lazyCliInspector } from './lazy-inspector.js';
import { count } from '../wording.js';

/** Parses repeated `--input key=value` options. */
export function parseInputs(values: string[] | undefined): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const pair of values ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError(`--input must be key=value, got "${pair}"`);
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return inputs;
}

/** The executor of `--replay DIR [--replay-speed X]`, or `undefined` without `--replay`. */
export function replayExecutor(dir: string | undefined, speedText: string | undefined): Executor | undefined {
  const speed = replaySpeedOption(speedText);
  if (speed !== undefined && dir === undefined) throw new ValidationError('--replay-speed needs --replay <dir>');
  if (dir === undefined) return undefined;
  return replayExecutorOf({ dir, ...(speed !== undefined && { speed }) });
}

/**
 * The executor of a replay setting (given, or stored with the run: `stored` names the run,
 * so that a recording directory gone since is explained).
 */
export function replayExecutorOf(replay: NonNullable<RunLaunch['replay']>, stored?: string): Executor {
  if (!isDirectory(replay.dir)) {
    throw new ValidationError(
      stored === undefined
        ? `--replay: ${replay.dir} is not a directory of recordings (e.g. examples/recordings/sdlc)`
        : `run ${stored} was replayed from ${replay.dir}, which is not a directory of recordings any more: resume it with --replay <dir>, or with --live to run the real agent`,
    );
  }
  return createReplayExecutor(replay.dir, replay.speed === undefined ? {} : { speed: replay.speed });
}

/** The memory store of `--backend` (checked by opening the state backend): the same kind, in the same state dir. */
export function memoryKind(backend: string | undefined): 'json' | 'sqlite' {
  return backend === 'sqlite' ? 'sqlite' : 'json';
}

/** `--log-format` and `--log-level` of `run` and `resume`, as parsed. */
export interface LogOptions {
  logFormat?: string;
  logLevel?: string;
}

/** What `--log-format` / `--log-level` ask for: structured logs on stderr, or none (`undefined`). */
export interface RunLogSettings {
  format: LogFormat;
  level: LogLevel;
}

/** Checks `--log-format` / `--log-level`; `undefined` without `--log-format` (the progress view only). */
export function runLogSettings(options: LogOptions): RunLogSettings | undefined {
  const { logFormat, logLevel } = options;
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ValidationError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  if (logFormat === undefined) {
    if (logLevel !== undefined) throw new ValidationError('--log-level needs --log-format json or pretty');
    return undefined;
  }
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) throw new ValidationError(`--log-format must be json or pretty, got "${logFormat}"`);
  return { format: logFormat as LogFormat, level: (logLevel ?? 'info') as LogLevel };
}

/** Options of `agents-sdk run`, as parsed (strings are checked here). */
export interface RunOptions extends LogOptions {
  input?: string[];
  maxParallel?: string;
  stateDir?: string;
  backend?: string;
  replay?: string;
  replaySpeed?: string;
  runId?: string;
  json?: boolean;
  /** Print the plan (waves, rendered prompts and commands) and start nothing. */
  dryRun?: boolean;
  /** `--inspect [target]`: `true` (the flag alone), `local`, `sky` or a `ws://` URL. */
  inspect?: string | boolean;
  /** `false` with `--no-cache`. */
  cache?: boolean;
  /** `--redis URL`: attempts run on workers through BullMQ. */
  redis?: string;
  /** `--queue NAME` with `--redis`. */
  queue?: string;
}

/** `agents-sdk run <file>`. */
export async function runCommand(file: string, options: RunOptions, io: CliIO): Promise<number> {
  const maxParallel = intOption('max-parallel', options.maxParallel);
  const replay = replayExecutor(options.replay, options.replaySpeed);
  const logs = runLogSettings(options);
  parseInspectTarget(options.inspect);

  const inputs = parseInputs(options.input);
  const workflow = await loadWorkflowFile(file, { inputs, ...(maxParallel !== undefined && { maxParallel }) });
  if (options.dryRun) {
    const plan = planWorkflow(workflow);
    io.stdout(options.json ? `${JSON.stringify(plan, null, 2)}\n` : formatWorkflowPlan(plan));
    return EXIT.ok;
  }

  // Agent tasks run here with the real claude: a missing one is said now, not as a stored failed run.
  if (replay === undefined && options.redis === undefined) checkClaudeBinary(workflow);
  // Worktree tasks start from HEAD: uncommitted changes are not in it.
  for (const { root, head } of await dirtyRepositories(workflow)) {
    io.stderr(`note: ${root} has uncommitted changes; worktree tasks start from HEAD (${head}) without them\n`);
  }

  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  // Stored with the run: a plain `resume` drives it the same way (replayed, on workers...).
  const launch = runLaunch(options, { maxParallel, inputs, stateDir, backend: options.backend });
  const backend = await openStateBackend(options.backend ?? 'json', stateDir);
  try {
    return await driveOrchestrated(backend, stateDir, options, io, replay, logs, (o) =>
      o.runWorkflow(workflow, { ...(options.runId !== undefined && { runId: options.runId }), ...(options.cache === false && { cache: false }), launch }),
    );
  } finally {
    await backend.close();
  }
}

/**
 * Finds the Claude Code binary each agent task would start (`CLAUDE_CODE_PATH`, else `claude`
 * on `PATH`, the task's `env` over the process's), before anything is stored.
 *
 * @throws ValidationError naming what was looked for, the tasks that need it and the ways out.
 */
export function checkClaudeBinary(workflow: Workflow, notDone = 'The run was not started (nothing was stored)'): void {
  const agentTasks = workflow.tasks.filter((t) => t.kind === 'agent');
  const looked = new Map<string, { message: string; taskIds: string[] }>();
  for (const task of agentTasks) {
    const env = { ...process.env, ...task.env };
    const where = `${env[CLAUDE_CODE_PATH_ENV] ?? ''}\0${env.PATH ?? ''}`;
    const known = looked.get(where);
    if (known) {
      known.taskIds.push(task.id);
      continue;
    }
    try {
      findClaudeBinary(env);
    } catch (error) {
      looked.set(where, { message: (error as Error).message, taskIds: [task.id] });
      continue;
    }
    looked.set(where, { message: '', taskIds: [task.id] });
  }
  const missing = [...looked.values()].filter((l) => l.message !== '');
  if (missing.length === 0) return;
  const taskIds = missing.flatMap((m) => m.taskIds);
  const shown = taskIds.slice(0, 5).join(', ') + (taskIds.length > 5 ? `, and ${taskIds.length - 5} more` : '');
  throw new ValidationError(
    `${missing[0]!.message.replace(/\.$/, '')}. ${notDone}: its agent ${taskIds.length === 1 ? 'task' : 'tasks'} ${shown} need${taskIds.length === 1 ? 's' : ''} it ` +
      '(--replay DIR answers agent tasks from recorded streams; --redis URL runs them on workers)',
  );
}

/**
 * `run` and `resume`: an orchestrator over `backend` with the command's memory store, replay
 * executor and inspector, driven by {@link driveRun}; the inspector is stopped at the end.
 */
export async function driveOrchestrated(
  backend: StateBackend,
  stateDir: string,
  options: { backend?: string; stateDir?: string; json?: boolean; inspect?: string | boolean; redis?: string; queue?: string },
  io: CliIO,
  replay: Executor | undefined,
  logs: RunLogSettings | undefined,
  start: (orchestrator: WorkflowOrchestrator) => Promise<WorkflowResult>,
): Promise<number> {
  if (options.queue !== undefined && options.redis === undefined) throw new ValidationError('--queue needs --redis <url>');
  if (options.redis !== undefined && replay) throw new ValidationError('--redis and --replay cannot be used together');
  let remote: BullmqExecutor | undefined;
  let inspector: Awaited<ReturnType<typeof lazyCliInspector>> = null;
  try {
    if (options.redis !== undefined) {
      // Loaded only here: BullMQ and ioredis are a third of the CLI's start-up otherwise.
      const { createBullmqExecutor } = await import('../distributed/bullmq-executor.js');
      remote = createBullmqExecutor({ connection: options.redis, ...(options.queue !== undefined && { queue: options.queue }) });
      // An unreachable Redis is a clear error now (exit 2), not a run whose attempts hang.
      await remote.ready();
    }
    const executor = replay ?? remote;
    inspector = await lazyCliInspector(options.inspect, io);
    const orchestrator = new WorkflowOrchestrator(backend, {
      stateDir,
      memory: memoryKind(options.backend),
      ...(executor && { executor }),
      ...(inspector && { inspect: inspector.inspect }),
    });
    return await driveRun(orchestrator, io, options.json === true, start, { stateDir, stateDirOption: options.stateDir, backendOption: options.backend }, logs);
  } finally {
    await inspector?.stop();
    await remote?.close();
  }
}

/**
 * Runs (or resumes) with live progress, Ctrl-C cancelling, and the summary or JSON at the end,
 * followed by where the run's files are and how to resume it (given `storage`).
 * With `logs`, a log line per event of `orchestrator.bus` goes to stderr instead of the plain
 * progress lines (a TTY keeps its live block, drawn again below each line), and so do the
 * CLI's own notes that would go to stderr. Resolves with the exit code.
 */
export async function driveRun(
  orchestrator: WorkflowOrchestrator,
  io: CliIO,
  json: boolean,
  work: (orchestrator: WorkflowOrchestrator) => Promise<WorkflowResult>,
  storage?: RunStorage,
  logs?: RunLogSettings,
): Promise<number> {
  const progress = showProgress(orchestrator, io, json, logs !== undefined);
  const runLogger = logs && createRunLogger({ ...logs, write: (line) => progress.log(line.replace(/\n$/, '')) });
  const detach = runLogger?.attach(orchestrator.bus);
  const onAbort = (): void => {
    const message = 'interrupted: cancelling the run (agents are being stopped)...';
    if (runLogger) runLogger.logger.warn({ type: 'cli.interrupted' }, message);
    else progress.log(message);
    void orchestrator.cancel();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  // `agents-sdk cancel` from elsewhere: say who asked, as for Ctrl-C.
  orchestrator.onCancelRequest = (_runId, request) => {
    const message = `${request.message.replace(/^The run was cancelled/, 'cancel requested')}: cancelling the run (agents are being stopped)...`;
    if (runLogger) runLogger.logger.warn({ type: 'cli.cancel_requested', source: request.source, reason: request.reason }, message);
    else progress.log(message);
  };
  let result: WorkflowResult;
  try {
    const running = work(orchestrator);
    // Interrupted while the file was read or the backend opened: the run starts cancelled.
    if (io.signal?.aborted) onAbort();
    result = await running;
  } catch (error) {
    // A failed state write ends with the resume command: the state options go with it.
    throw storage ? withStateOptionsInResume(error, storage) : error;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    orchestrator.onCancelRequest = undefined;
    detach?.();
    progress.stop();
  }
  io.stdout(json ? `${JSON.stringify(result, null, 2)}\n` : `${io.isTTY ? '\n' : ''}${summaryTable(result)}`);
  // With --json stdout carries only the result; with logs, stderr only log lines.
  if (storage && json && runLogger) runLogger.logger.info({ type: 'cli.whereabouts', runId: result.runId }, runWhereabouts(result, storage).trimEnd());
  else if (storage) (json ? io.stderr : io.stdout)(runWhereabouts(result, storage));
  return result.success ? EXIT.ok : EXIT.failed;
}

/** The live progress of a run: `log` prints a message above the live block, `stop` ends it. */
export interface ProgressDisplay {
  log(message: string): void;
  stop(): void;
}

/**
 * Wires the progress view to the orchestrator's events. `quiet`: no plain progress lines (the
 * logs say it); a TTY still shows the live block.
 */
export function showProgress(orchestrator: WorkflowOrchestrator, io: CliIO, json: boolean, quiet = false): ProgressDisplay {
  const view = new ProgressView();
  // With --json stdout carries only the result; progress goes to stderr as plain lines.
  const live = io.isTTY && !json;
  const draw = (): void => io.stdout(view.redraw(io.columns));
  // On a TTY the message takes the block's place and the block is drawn again below it.
  const log = (message: string): void => {
    if (live) io.stdout(view.clear(io.columns));
    io.stderr(`${message}\n`);
    if (live) draw();
  };
  const handler = (event: LifecycleEvent): void => {
    const line = view.apply(event as TaskEvent | WorkflowEvent);
    // Reaped processes are always worth a line.
    if (line && !quiet && (!live || (event as WorkflowEvent).type === 'workflow.reaped')) log(line);
  };
  const unsubscribe = onLifecycleEvent(orchestrator.bus, handler);
  let timer: NodeJS.Timeout | undefined;
  // Plain mode (CI logs): a task that printed nothing for a while gets a heartbeat line.
  let heartbeat: NodeJS.Timeout | undefined;
  if (!live && !quiet) {
    const silentMs = heartbeatMs();
    heartbeat = setInterval(() => {
      for (const line of view.heartbeat(silentMs)) log(line);
    }, Math.max(10, Math.round(silentMs / 5)));
    heartbeat.unref();
  }
  if (live) {
    timer = setInterval(draw, 200);
    timer.unref();
    // A resized terminal reflows the block: redraw at once, at the new width.
    process.on('SIGWINCH', draw);
  }
  return {
    log,
    stop: () => {
      unsubscribe();
      if (heartbeat) clearInterval(heartbeat);
      if (timer) {
        clearInterval(timer);
        process.off('SIGWINCH', draw);
        draw();
      }
    },
  };
}

/** Default silence (s) after which plain mode prints a heartbeat for a running task (checked every fifth: at most 30 s silent). */
export const DEFAULT_HEARTBEAT_SECONDS = 25;

/** `AGENTS_SDK_HEARTBEAT_SECONDS` (default {@link DEFAULT_HEARTBEAT_SECONDS}), in ms. */
function heartbeatMs(): number {
  const text = process.env.AGENTS_SDK_HEARTBEAT_SECONDS;
  if (text === undefined || text === '') return DEFAULT_HEARTBEAT_SECONDS * 1000;
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new ValidationError(`AGENTS_SDK_HEARTBEAT_SECONDS must be a number of seconds > 0, got "${text}"`);
  return value * 1000;
}

/** Options of `agents-sdk validate`. */
export interface ValidateCommandOptions {
  input?: string[];
  maxParallel?: string;
  /** `false` (`--no-inputs`): lint without input values; a required input without one is no problem. */
  inputs?: boolean;
  json?: boolean;
}

/** `agents-sdk validate <file>`. */
export async function validateCommand(file: string, options: ValidateCommandOptions, io: CliIO): Promise<number> {
  let workflow: Workflow;
  try {
    // The same options as `run`, checked the same way.
    const maxParallel = intOption('max-parallel', options.maxParallel);
    workflow = await loadWorkflowFile(file, {
      inputs: parseInputs(options.input),
      ...(maxParallel !== undefined && { maxParallel }),
      ...(options.inputs === false && { lintOnly: true }),
    });
    checkWorkingDirectories(workflow, file);
  } catch (error) {
    // With --json the problems are the answer: on stdout, and only there.
    if (!options.json || !(error instanceof ValidationError)) throw error;
    io.stdout(`${JSON.stringify({ valid: false, file, summary: error.summary, issues: error.issues }, null, 2)}\n`);
    return EXIT.invalidInput;
  }
  const agents = workflow.tasks.filter((t) => t.kind === 'agent').length;
  const commands = workflow.tasks.filter((t) => t.kind === 'command').length;
  // A looping or fan-out group is one task of its own kind.
  const groups = workflow.tasks.length - agents - commands;
  if (options.json) {
    const report = {
      valid: true,
      file,
      workflowId: workflow.id,
      tasks: { total: workflow.tasks.length, agent: agents, command: commands },
      maxParallel: workflow.max_parallel,
      onFailure: workflow.on_failure,
    };
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout(
    `${file}: valid workflow "${workflow.id}": ${count(workflow.tasks.length, 'task')} (${agents} agent, ${commands} command${groups > 0 ? `, ${groups} looping or fan-out group` : ''}), ` +
      `max_parallel ${workflow.max_parallel}, on_failure ${workflow.on_failure}\n`,
  );
  return EXIT.ok;
}

/**
 * `validate` checks what `run` would find when a task starts: a `cwd` that does not exist (or
 * is a file) fails its task there, so it is a problem here.
 *
 * @throws ValidationError naming each task and directory.
 */
function checkWorkingDirectories(workflow: Workflow, file: string): void {
  const issues = workflow.tasks
    .filter((task) => task.cwd !== undefined && !isDirectory(task.cwd))
    .map((task) => ({ path: `tasks.${task.id}.cwd`, message: `directory ${task.cwd} does not exist (or is not a directory): run would fail this task` }));
  if (issues.length > 0) {
    throw new ValidationError(`Invalid workflow in ${file}: ${count(issues.length, 'problem')}`, issues, { details: { file } });
  }
}
