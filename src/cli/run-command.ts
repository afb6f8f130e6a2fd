/**
 * `agents-sdk run <file>` and `agents-sdk validate <file>`.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { Executor } from '../actors/executor.js';
import { createReplayExecutor } from '../actors/replay-executor.js';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { ValidationError } from '../errors.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import type { TaskEvent, WorkflowEvent } from '../events.js';
import { loadWorkflowFile } from '../workflow/load-workflow.js';
import { WorkflowOrchestrator } from '../workflow-orchestrator.js';
import type { WorkflowResult } from '../workflow/workflow-result.js';
import { ProgressView, summaryTable } from './progress-view.js';
import { runWhereabouts, type RunStorage } from './run-summary.js';
import { EXIT, intOption, isDirectory, parseOrThrow, type CliIO } from './cli-support.js';

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
  const speed = speedText === undefined ? undefined : Number(speedText);
  if (speed !== undefined && !(speed >= 0)) throw new ValidationError(`--replay-speed must be a number >= 0, got "${speedText}"`);
  if (speed !== undefined && dir === undefined) throw new ValidationError('--replay-speed needs --replay <dir>');
  if (dir === undefined) return undefined;
  if (!isDirectory(dir)) throw new ValidationError(`--replay: ${dir} is not a directory of recordings (e.g. examples/recordings/sdlc)`);
  return createReplayExecutor(dir, speed === undefined ? {} : { speed });
}

/** `agents-sdk run`. */
export async function runCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseOrThrow('run', () =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        input: { type: 'string', multiple: true },
        'max-parallel': { type: 'string' },
        'state-dir': { type: 'string' },
        replay: { type: 'string' },
        'replay-speed': { type: 'string' },
        'run-id': { type: 'string' },
        json: { type: 'boolean' },
        backend: { type: 'string' },
      },
    }),
  );
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new ValidationError('run: expected exactly one workflow file, e.g. agents-sdk run examples/sdlc.yaml');
  const maxParallel = intOption('max-parallel', values['max-parallel']);
  const replay = replayExecutor(values.replay, values['replay-speed']);

  const workflow = await loadWorkflowFile(file, { inputs: parseInputs(values.input), ...(maxParallel !== undefined && { maxParallel }) });

  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  const backend = await openStateBackend(values.backend ?? 'json', stateDir);
  const orchestrator = new WorkflowOrchestrator(backend, {
    stateDir,
    ...(replay && { executor: replay }),
  });
  try {
    return await driveRun(
      orchestrator,
      io,
      values.json === true,
      (o) => o.runWorkflow(workflow, values['run-id'] !== undefined ? { runId: values['run-id'] } : {}),
      { stateDir, stateDirOption: values['state-dir'], backendOption: values.backend },
    );
  } finally {
    await backend.close();
  }
}

/**
 * Runs (or resumes) with live progress, Ctrl-C cancelling, and the summary or JSON at the end,
 * followed by where the run's files are and how to resume it (given `storage`).
 * Resolves with the exit code.
 */
export async function driveRun(
  orchestrator: WorkflowOrchestrator,
  io: CliIO,
  json: boolean,
  work: (orchestrator: WorkflowOrchestrator) => Promise<WorkflowResult>,
  storage?: RunStorage,
): Promise<number> {
  const progress = showProgress(orchestrator, io, json);
  const onAbort = (): void => {
    progress.log('interrupted: cancelling the run (agents are being stopped)...');
    void orchestrator.cancel();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  let result: WorkflowResult;
  try {
    const running = work(orchestrator);
    // Interrupted while the file was read or the backend opened: the run starts cancelled.
    if (io.signal?.aborted) onAbort();
    result = await running;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    progress.stop();
  }
  io.stdout(json ? `${JSON.stringify(result, null, 2)}\n` : `${io.isTTY ? '\n' : ''}${summaryTable(result)}`);
  // With --json stdout carries only the result.
  if (storage) (json ? io.stderr : io.stdout)(runWhereabouts(result, storage));
  return result.success ? EXIT.ok : EXIT.failed;
}

/** The live progress of a run: `log` prints a message above the live block, `stop` ends it. */
export interface ProgressDisplay {
  log(message: string): void;
  stop(): void;
}

/** Wires the progress view to the orchestrator's bus. */
export function showProgress(orchestrator: WorkflowOrchestrator, io: CliIO, json: boolean): ProgressDisplay {
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
  const handler = (_type: unknown, event: unknown): void => {
    const line = view.apply(event as TaskEvent | WorkflowEvent);
    // Reaped processes are always worth a line.
    if (line && (!live || (event as WorkflowEvent).type === 'workflow.reaped')) log(line);
  };
  orchestrator.events.on('*', handler);
  let timer: NodeJS.Timeout | undefined;
  if (live) {
    timer = setInterval(draw, 200);
    timer.unref();
    // A resized terminal reflows the block: redraw at once, at the new width.
    process.on('SIGWINCH', draw);
  }
  return {
    log,
    stop: () => {
      orchestrator.events.off('*', handler);
      if (timer) {
        clearInterval(timer);
        process.off('SIGWINCH', draw);
        draw();
      }
    },
  };
}

/** `agents-sdk validate`. */
export async function validateCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseOrThrow('validate', () =>
    parseArgs({ args, allowPositionals: true, strict: true, options: { input: { type: 'string', multiple: true }, 'max-parallel': { type: 'string' } } }),
  );
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new ValidationError('validate: expected exactly one workflow file');
  // The same options as `run`, checked the same way.
  const maxParallel = intOption('max-parallel', values['max-parallel']);
  const workflow = await loadWorkflowFile(file, { inputs: parseInputs(values.input), ...(maxParallel !== undefined && { maxParallel }) });
  const agents = workflow.tasks.filter((t) => t.kind === 'agent').length;
  io.stdout(
    `${file}: valid workflow "${workflow.id}": ${workflow.tasks.length} tasks (${agents} agent, ${workflow.tasks.length - agents} command), ` +
      `max_parallel ${workflow.max_parallel}, on_failure ${workflow.on_failure}\n`,
  );
  return EXIT.ok;
}
