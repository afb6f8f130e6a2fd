/**
 * Argument parsing of the `agents-sdk` command line (commander), and dispatch to the commands.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT, reportError, type CliIO } from './cli-support.js';
import { checkInspectFlagPlacement } from '../inspector/inspect-target.js';
// Each command's module is imported when it runs: `agents-sdk worker` alone loads BullMQ,
// `report` and `inspect` the page and layout code, and every process starts faster.
import type { DiagramCommandOptions } from './diagram-command.js';
import type { ExecOptions } from './exec-command.js';
import type { PromptOptions } from './prompt-command.js';
import type { ReportOptions } from './report-command.js';
import type { InspectOptions } from './inspect-command.js';
import type { SignalOptions } from './signal-command.js';
import type { LogsOptions } from './logs-command.js';
import { registerMemoryCommand } from './memory-command.js';
import type { WorkerCommandOptions } from './worker-command.js';
import type { StatsOptions } from './stats-command.js';
import type { RunOptions, ValidateCommandOptions } from './run-command.js';
import type { MigrateOptions, ResumeOptions, StateOptions } from './state-commands.js';
import type { ListOptions } from './state-commands.js';
import type { PruneOptions } from './prune-command.js';
import type { CleanOptions } from './clean-command.js';
import type { CancelOptions } from './cancel-command.js';
import type { EventsOptions } from './events-command.js';
import { applyConfigDefaults } from './cli-config.js';
import type { RerunCommandOptions } from './rerun-command.js';

const EXIT_CODES = `
Exit codes: 0 success, 1 failed (or another process holds the run), 2 invalid input,
3 the run's state could not be saved (disk full: the run stopped; free space, then resume).

Environment:
  CLAUDE_CODE_PATH         the Claude Code binary (default: \`claude\` on PATH)
  AGENTS_SDK_STATE_DIR     --state-dir when not given
  AGENTS_SDK_BACKEND       --backend when not given (json or sqlite)
  AGENTS_SDK_MAX_PARALLEL  --max-parallel when not given

  AGENTS_SDK_CONFIG        the configuration file (default: found upward, below)

Configuration file: agents-sdk.config.json (or .yaml), found upward from the working
directory: {"stateDir": "...", "backend": "sqlite", "maxParallel": 8}. A flag wins over the
environment, the environment over the file.
`;

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (exit) => (code = exit));
  try {
    checkInspectFlagPlacement(argv);
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    // Commander has printed its message (help, version, or the parse error) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
    return reportError(error, io);
  }
}

/**
 * The program: one subcommand per command, each with its own `--help`. Built per call,
 * since commander keeps parse state; it never exits the process nor writes to it directly.
 */
function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('agents-sdk');
  // Inherited by the subcommands declared below.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`agents-sdk: ${text.replace(/^error: /, '')}`),
    })
    .showSuggestionAfterError()
    .showHelpAfterError('(agents-sdk --help lists the commands)');
  // --state-dir, --backend and --max-parallel not given: from AGENTS_SDK_* or agents-sdk.config.{json,yaml}.
  program.hook('preAction', (_program, action) => applyConfigDefaults(action));
  program
    .description('orchestrated, checkpointed Claude Code agents')
    .version(packageVersion(), '-v, --version', 'print the version')
    .addHelpText('after', EXIT_CODES);

  const command = (nameAndArgs: string, description: string): Command => {
    const sub = program.command(nameAndArgs).description(description);
    return sub.showHelpAfterError(`(agents-sdk ${sub.name()} --help lists its options)`);
  };
  const stateOptions = (sub: Command): Command =>
    sub
      .option('--state-dir <dir>', 'state directory (default: agents)')
      .option('--backend <kind>', 'state (and memory) backend: json or sqlite (<state-dir>/agents.sqlite) (default: json)');
  const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
  const logOptions = (sub: Command): Command =>
    sub
      .option('--log-format <format>', 'json or pretty: a log line per run event on stderr, through pino (default: none, the progress view)')
      .option('--log-level <level>', 'with --log-format: trace, debug (with progress), info, warn, error or silent (default: info)');

  stateOptions(logOptions(
    command('run', 'run a workflow')
      .argument('<workflow>', 'the workflow file (YAML or JSON)')
      .option('--input <key=value>', 'a workflow input (repeatable)', collect)
      .option('--max-parallel <n>', "override the workflow's max_parallel")
      .option('--replay <dir>', 'answer agent tasks from recorded streams (<dir>/<task id>/raw_output.jsonl) instead of a live claude')
      .option('--replay-speed <x>', '1 = recorded pace (default), 10 = ten times faster, 0 = instant')
      .option('--run-id <id>', 'the run id, a new one (default: generated)')
      .option('--inspect [target]', 'send the run to an inspector: local (default: agents-sdk inspect on port 4747), ws://host:port or sky')
      .option('--no-cache', "don't read tasks' cache: entries: every task runs (its output still replaces the entry)")
      .option('--dry-run', 'print the plan (tasks in the waves they would start in, rendered prompts and commands) and start nothing')
      .option('--json', 'print only the WorkflowResult (with --dry-run: the plan) as JSON on stdout')
      .option('--redis <url>', 'run task attempts on workers (agents-sdk worker) through BullMQ on this Redis')
      .option('--queue <name>', 'with --redis: the queue (default: agents-sdk)'),
  )).action(async (file: string, options: RunOptions) => setExit(await (await import('./run-command.js')).runCommand(file, options, io)));

  command('validate', 'check a workflow without running it (the same checks as run)')
    .argument('<workflow>', 'the workflow file (YAML or JSON)')
    .option('--input <key=value>', 'a workflow input (repeatable)', collect)
    .option('--max-parallel <n>', "override the workflow's max_parallel")
    .option('--no-inputs', 'lint without input values: a required input that is not given is no problem (for CI)')
    .option('--json', 'print {valid, workflowId, tasks, ...} or {valid: false, issues} as JSON on stdout')
    .action(async (file: string, options: ValidateCommandOptions) => setExit(await (await import('./run-command.js')).validateCommand(file, options, io)));

  stateOptions(logOptions(
    command('resume', 'resume a run from its last checkpoint, driven as it was started (--replay, --redis...) unless told otherwise')
      .argument('<run-id>', 'the run to resume')
      .option('--replay <dir>', 'answer agent tasks from recorded streams instead of a live claude')
      .option('--replay-speed <x>', '1 = recorded pace (default), 10 = ten times faster, 0 = instant')
      .option('--force', 'take over a lock held on another host (a crashed machine or replaced container)')
      .option('--retry-failed', 'rerun the failed tasks of a failed run (and those skipped because of them), keeping completed ones')
      .option('--budget <usd>', 'continue a run that ended over budget under this new cap (USD)')
      .option('--no-cache', "don't read tasks' cache: entries: every task runs (its output still replaces the entry)")
      .option('--inspect [target]', 'send the run to an inspector: local (default: agents-sdk inspect on port 4747), ws://host:port or sky')
      .option('--json', 'print only the WorkflowResult as JSON on stdout')
      .option('--redis <url>', 'run task attempts on workers (agents-sdk worker) through BullMQ on this Redis')
      .option('--queue <name>', 'with --redis: the queue (default: agents-sdk)')
      .option('--local', 'a run whose attempts ran on workers: run its interrupted attempts here (instead of --redis, which takes their results)')
      .option('--live', 'a run started with --replay: resume it with the real agent (by default it is replayed again)'),
  )).action(async (runId: string, options: ResumeOptions) => setExit(await (await import('./state-commands.js')).resumeCommand(runId, options, io)));

  stateOptions(logOptions(
    command('rerun', 'a new run made from a stored one: keeps the tasks not downstream of --from, runs that task and its dependants again')
      .argument('<run-id>', 'the run to rerun (it is not changed)')
      .option('--from <task>', 'the task to run again, with every task downstream of it (required)')
      .option('--only', 'run only --from again: its dependants keep their old records and outputs')
      .option('--run-id <id>', 'the new run id (default: generated)')
      .option('--replay <dir>', 'answer agent tasks from recorded streams instead of a live claude')
      .option('--replay-speed <x>', '1 = recorded pace (default), 10 = ten times faster, 0 = instant')
      .option('--no-cache', "don't read tasks' cache: entries: every task runs (its output still replaces the entry)")
      .option('--inspect [target]', 'send the run to an inspector: local (default: agents-sdk inspect on port 4747), ws://host:port or sky')
      .option('--json', 'print only the WorkflowResult as JSON on stdout')
      .option('--redis <url>', 'run task attempts on workers (agents-sdk worker) through BullMQ on this Redis')
      .option('--queue <name>', 'with --redis: the queue (default: agents-sdk)')
      .option('--live', 'a run replayed from recordings: rerun it with the real agent (by default it is replayed again)')
      .option('--local', 'a run whose attempts ran on workers: run the new attempts here'),
  )).action(async (runId: string, options: RerunCommandOptions) => setExit(await (await import('./rerun-command.js')).rerunCommand(runId, options, io)));

  stateOptions(
    command('list', 'list stored runs, newest first')
      .option('--json', 'print the runs as JSON')
      .option('--status <status>', 'only runs in this status: running, interrupted, completed, failed, cancelled, budget_exceeded or unreadable (repeatable, or comma-separated)', collect)
      .option('--workflow <id>', 'only runs of this workflow id (repeatable)', collect)
      .option('--since <when>', 'only runs started since: a duration back (30m, 2h, 7d) or an ISO date (2026-12-01)')
      .option('--limit <n>', 'at most n runs, the newest'),
  ).action(async (options: ListOptions) => setExit(await (await import('./state-commands.js')).listCommand(options, io)));

  stateOptions(
    command('prune', 'delete whole runs (state, event log, raw outputs) that ended longer ago than --older-than; never a live one')
      .option('--older-than <duration>', 'runs last written longer ago than this: 30d, 12h, 2w (required)')
      .option('--status <status>', 'only runs in this status: completed, failed, cancelled, budget_exceeded, interrupted or unreadable (repeatable, or comma-separated; default: all but unreadable)', collect)
      .option('--dry-run', 'print what would be deleted, delete nothing')
      .option('--json', 'print the deleted (or, with --dry-run, the chosen) runs as JSON'),
  ).action(async (options: PruneOptions) => setExit(await (await import('./prune-command.js')).pruneCommand(options, io)));

  stateOptions(
    command('clean', "remove the git worktrees a run left (workspace: worktree); its branches too with --branches; never a live run's")
      .argument('<run-id>', 'the run')
      .option('--branches', 'also delete its branches (agents-sdk/<run-id> and agents-sdk-task/<run-id>/*)')
      .option('--json', 'print what was removed as JSON'),
  ).action(async (runId: string, options: CleanOptions) => setExit(await (await import('./clean-command.js')).cleanCommand(runId, options, io)));

  stateOptions(
    command('status', "one row per task of a run, with where each agent's raw output is")
      .argument('<run-id>', 'the run')
      .option('--json', 'print the run (times, status, one record per task) as JSON')
      .option('--all', 'list every instance of a fan-out and iteration of a loop (by default, past 20, only those not completed)'),
  ).action(async (runId: string, options: StateOptions & { json?: boolean; all?: boolean }) => setExit(await (await import('./state-commands.js')).statusCommand(runId, options, io)));

  stateOptions(
    command('signal', 'send an event to a run: its tasks with wait_for: <type> start (a run that is not running gets it on resume)')
      .argument('<run-id>', 'the run')
      .argument('<type>', 'the event type, e.g. approval.granted')
      .option('--data <json>', 'the payload, as JSON ({{events.<type>.payload}} in prompts)')
      .option('--force', 'store it even though no task of the run waits for this type (refused otherwise, naming the types they wait for)')
      .option('--json', 'print the stored signal as JSON'),
  ).action(async (runId: string, type: string, options: SignalOptions) => setExit(await (await import('./signal-command.js')).signalCommand(runId, type, options, io)));

  stateOptions(
    command('cancel', 'cancel a run from any terminal or machine: its driving process stops it within a second; a run not running is marked cancelled')
      .argument('<run-id>', 'the run')
      .option('--reason <text>', 'why, kept in the cancelled tasks\' error')
      .option('--force', 'kill the driving process (by the pid in the run\'s lock, this host only) when it has not ended the run within --timeout')
      .option('--timeout <seconds>', 'how long to wait for the driving process to end the run (default: 10)')
      .option('--json', 'print what was done as JSON'),
  ).action(async (runId: string, options: CancelOptions) => setExit(await (await import('./cancel-command.js')).cancelCommand(runId, options, io)));

  stateOptions(
    command('events', "a run's history from its event log, one line per event (like temporal workflow show)")
      .argument('<run-id>', 'the run')
      .option('--follow', 'print new events as they come, until the run ends')
      .option('--type <type>', 'only events of this type (task.failed) or kind (task, workflow.*); repeatable', collect)
      .option('--task <id>', "only this task's events; repeatable", collect)
      .option('--json', 'print the events as stored, one JSON object per line'),
  ).action(async (runId: string, options: EventsOptions) => setExit(await (await import('./events-command.js')).eventsCommand(runId, options, io)));

  stateOptions(
    command('logs', "the agents' transcripts of a run, attempt by attempt: text, tool calls and results, errors, API retries")
      .argument('<run-id>', 'the run')
      .argument('[task-id]', 'only this task (default: every task that started, in the order they started)')
      .option('--attempt <n>', "only this attempt (its number in the task's attempt log)")
      .option('--follow', 'tail a live run: print what is written as it comes, until the run ends')
      .option('--wait-timeout <seconds>', 'with --follow, how long to wait for a run that does not exist yet (default 60; 0: do not wait)')
      .option('--raw', 'print the stream-json lines as stored')
      .option('--prompt', 'print only the prompt of each attempt, whole, as it was sent (after templates and memory)')
      .option('--json', 'print one JSON object per transcript entry (JSON lines)'),
  ).action(async (runId: string, taskId: string | undefined, options: LogsOptions) => setExit(await (await import('./logs-command.js')).logsCommand(runId, taskId, options, io)));

  stateOptions(
    command('stats', 'metrics of stored runs: runs, success rate, retries, tokens, cost and latency (p50, p95) per agent, model, task...')
      .argument('[run-id...]', 'the runs (default: every stored run)')
      .option('--last <n>', 'the n newest stored runs')
      .option('--by <group>', 'agent, model, task, workflow or session (default: agent)')
      .option('--json', 'print the summary as JSON'),
  ).action(async (runIds: string[], options: StatsOptions) => setExit(await (await import('./stats-command.js')).statsCommand(runIds, options, io)));

  stateOptions(
    command('report', 'one self-contained HTML page of a run: timeline of the attempts, task graph with the critical path, tokens and cost, failures')
      .argument('<run-id>', 'the run')
      .option('-o, --output <file>', 'where to write it; - prints it (default: <state-dir>/<run-id>/report.html)'),
  ).action(async (runId: string, options: ReportOptions) => setExit(await (await import('./report-command.js')).reportCommand(runId, options, io)));

  stateOptions(
    command('diagram', "the workflow's task graph as Mermaid or Graphviz dot, coloured by a run's statuses with --run")
      .argument('<workflow>', 'the workflow file (YAML or JSON)')
      .option('--run <run-id>', 'colour each task by its status in this stored run')
      .option('--format <format>', 'mermaid or dot (default: mermaid)')
      .option('--input <key=value>', 'a workflow input (repeatable)', collect),
  ).action(async (file: string, options: DiagramCommandOptions) => setExit(await (await import('./diagram-command.js')).diagramCommand(file, options, io)));

  stateOptions(
    command('migrate', 'import ADW state (<dir>/<id>/adw_state.json)')
      .option('--from <dir>', 'the directory holding <id>/adw_state.json files')
      .option('--dry-run', 'print what would be imported, change nothing'),
  ).action(async (options: MigrateOptions) => setExit(await (await import('./state-commands.js')).migrateCommand(options, io)));

  command('exec', 'run one prompt through an agent session: progress on stderr, the final text on stdout')
    .argument('[prompt...]', 'the prompt; - reads it from stdin')
    .option('--prompt-file <file>', 'read the prompt from a file')
    .option('--resume <session-id>', 'continue this Claude session (claude --resume)')
    .option('--model <name>', 'model alias or id (default: sonnet)')
    .option('--agent <name>', 'agent name, names the raw output directory (default: agent)')
    .option('--cwd <dir>', 'working directory of the agent')
    .option('--retries <n>', 'attempts in all, retrying transient failures (default: 3)')
    .option('--max-turns <n>', 'passed to claude --max-turns')
    .option('--timeout <seconds>', 'kill the agent after this long, > 0 (default: 1800)')
    .option('--stall-timeout <seconds>', 'kill the agent when it prints nothing this long; 0 = never (default: 660)')
    .option('--state-dir <dir>', 'where the run is stored (status and logs know its id) and the raw output recorded, <dir>/<new id>/<agent>/raw_output.jsonl (default: agents)')
    .option('--backend <kind>', 'where the run is stored: json or sqlite (<state-dir>/agents.sqlite) (default: json)')
    .option('--skip-permissions', 'pass --dangerously-skip-permissions')
    .option('--json-schema <schema>', 'structured output: a JSON Schema (inline JSON or a .json/.yaml file) passed to claude --json-schema; the object is printed')
    .option('--inspect [target]', 'send the session to an inspector: local (default: agents-sdk inspect on port 4747), ws://host:port or sky')
    .option('--json', 'print only the result (or the error) as JSON, with rawOutput: its path')
    .action(async (words: string[], options: ExecOptions) => setExit(await (await import('./exec-command.js')).execCommand(words, options, io)));

  command('prompt', "ADW's prompt_claude_code: an AgentPromptRequest (JSON) on stdin; what the original prints, then the AgentPromptResponse as the last stdout line")
    .option('--json', 'read the request and print the response as JSON (required)')
    .option('--adw-version <v>', "the ADW version to answer as: tac-5, tac-6 or tac-7 (default: tac-7)")
    .option('--adw-root <dir>', 'the ADW project root, holding adws/ and agents/: prompts are saved under its agents/ (default: the current directory)')
    .option('--with-retry', "tac-7's prompt_claude_code_with_retry: retry a retryable retry_code")
    .option('--max-retries <n>', 'with --with-retry: retries after the first attempt (default: 3)')
    .option('--retry-delays <s,...>', 'with --with-retry: seconds before each retry (default: 1,3,5)')
    .option('--sdk-dir <dir>', "agents-sdk's own files with USE_AGENTS_SDK on: every attempt's stream, the session cache (default: <adw-root>/.agents-sdk)")
    .action(async (options: PromptOptions) => setExit(await (await import('./prompt-command.js')).promptCommand(options, io)));

  stateOptions(
    command('inspect', 'serve the live inspector on localhost: task graph, actors and their statecharts, events, transcripts; finished runs replayed')
      .option('--port <n>', 'the port (default: 4747; 0: any free port)'),
  ).action(async (options: InspectOptions) => setExit(await (await import('./inspect-command.js')).inspectCommand(options, io)));

  registerMemoryCommand(program, io, setExit);

  command('worker', 'run task attempts of runs started with --redis: takes them from the queue, streams progress back')
    .option('--redis <url>', 'the Redis of the runs, redis://host:port (required)')
    .option('--queue <name>', 'the queue (default: agents-sdk)')
    .option('--concurrency <n>', 'attempts run at once on this machine (default: 1)')
    .option('--cwd <dir>', 'working directory of attempts (and base of relative ones)')
    .option('--tag <tag>', 'a tag of this worker (repeatable): it also takes the tasks whose runs_on names only its tags', collect)
    .option('--lock-duration <ms>', 'how long a job stays locked unrenewed; a killed worker is noticed within about twice this (default: 30000)')
    .action(async (options: WorkerCommandOptions) => setExit(await (await import('./worker-command.js')).workerCommand(options, io)));

  return program;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
