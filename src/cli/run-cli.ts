/**
 * Argument parsing and dispatch of the `agents-sdk` command line.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';
import { EXIT, reportError, type CliIO } from './cli-support.js';
import { execCommand } from './exec-command.js';
import { runCommand, validateCommand } from './run-command.js';
import { listCommand, migrateCommand, resumeCommand, statusCommand } from './state-commands.js';

const HELP = `agents-sdk: orchestrated, checkpointed Claude Code agents

Usage:
  agents-sdk run <workflow.yaml|json> [options]   run a workflow
  agents-sdk validate <workflow> [--input k=v]... [--max-parallel N]
                                                  check a workflow without running it
  agents-sdk resume <run id> [--replay DIR] [--force]
                                                  resume a run from its last checkpoint
  agents-sdk list                                 list stored runs
  agents-sdk status <run id>                      one row per task of a run
  agents-sdk migrate --from <dir> [--dry-run]     import ADW state (<dir>/<id>/adw_state.json)
  agents-sdk exec <prompt> [options]              run one prompt through an agent session
  agents-sdk --help | --version

state options (run, resume, list, status, migrate):
  --state-dir <dir>        state directory (default: agents)
  --backend json|sqlite    state backend (default: json; sqlite: <state-dir>/agents.sqlite)

run options:
  --input <key=value>      a workflow input (repeatable)
  --max-parallel <n>       override the workflow's max_parallel
  --replay <dir>           answer agent tasks from recorded raw_output.jsonl streams
                           (<dir>/<task id>/raw_output.jsonl) instead of a live claude
  --replay-speed <x>       1 = recorded pace (default), 10 = ten times faster, 0 = instant
  --run-id <id>            the run id (default: generated)
  --json                   print only the WorkflowResult as JSON on stdout

exec options:
  --model <name>           model alias or id (default: sonnet)
  --agent <name>           agent name, used for the raw output directory (default: agent)
  --cwd <dir>              working directory of the agent
  --retries <n>            attempts in all, retrying transient failures (default: 3)
  --max-turns <n>          passed to claude --max-turns
  --timeout <seconds>      kill the agent after this long (default: 1800)
  --stall-timeout <sec>    kill the agent when it prints nothing this long (default: 660)
  --state-dir <dir>        where raw outputs are recorded (default: agents)
  --skip-permissions       pass --dangerously-skip-permissions
  --json                   print only the result as JSON

Environment:
  CLAUDE_CODE_PATH         the Claude Code binary (default: \`claude\` on PATH)

Exit codes: 0 success, 1 failed, 2 invalid input, 3 the run's state could not be saved
(disk full: the run stopped; free space, then resume).
`;

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout(HELP);
        return command === undefined ? EXIT.invalidInput : EXIT.ok;
      case '--version':
      case '-v':
        io.stdout(`${packageVersion()}\n`);
        return EXIT.ok;
      case 'exec':
        return await execCommand(rest, io);
      case 'run':
        return await runCommand(rest, io);
      case 'validate':
        return await validateCommand(rest, io);
      case 'resume':
        return await resumeCommand(rest, io);
      case 'list':
        return await listCommand(rest, io);
      case 'status':
        return await statusCommand(rest, io);
      case 'migrate':
        return await migrateCommand(rest, io);
      default:
        throw new ValidationError(`Unknown command "${command}". Run \`agents-sdk --help\` for the list of commands.`);
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
