/**
 * Argument parsing and dispatch of the `agents-sdk` command line.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { AgentSession } from '../agent-session.js';
import { AgentsSdkError, ValidationError } from '../errors.js';
import { EXIT, intOption, parseOrThrow, reportError, type CliIO } from './cli-support.js';
import type { SessionEvent } from '../events.js';
import { runCommand, validateCommand } from './run-command.js';
import { listCommand, migrateCommand, resumeCommand, statusCommand } from './state-commands.js';

const HELP = `agents-sdk: orchestrated, checkpointed Claude Code agents

Usage:
  agents-sdk run <workflow.yaml|json> [options]   run a workflow
  agents-sdk validate <workflow> [--input k=v]...  check a workflow without running it
  agents-sdk resume <run id>                      resume a run from its last checkpoint
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
  --stall-timeout <sec>    kill the agent when it prints nothing this long (default: 300)
  --state-dir <dir>        where raw outputs are recorded (default: agents)
  --skip-permissions       pass --dangerously-skip-permissions
  --json                   print only the result as JSON

Environment:
  CLAUDE_CODE_PATH         the Claude Code binary (default: \`claude\` on PATH)

Exit codes: 0 success, 1 failed, 2 invalid input.
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

async function execCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseOrThrow('exec', () =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
    model: { type: 'string' },
    agent: { type: 'string' },
    cwd: { type: 'string' },
    retries: { type: 'string' },
    'max-turns': { type: 'string' },
    timeout: { type: 'string' },
    'stall-timeout': { type: 'string' },
    'state-dir': { type: 'string' },
    'skip-permissions': { type: 'boolean' },
    json: { type: 'boolean' },
      },
    }),
  );
  const prompt = positionals.join(' ').trim();
  if (!prompt) throw new ValidationError('exec: a prompt is required, e.g. agents-sdk exec "Summarise README.md"');
  const retries = intOption('retries', values.retries) ?? 3;
  const maxTurns = intOption('max-turns', values['max-turns']);
  const timeout = intOption('timeout', values.timeout, 0);
  const stall = intOption('stall-timeout', values['stall-timeout'], 0);

  const session = new AgentSession({
    agentName: values.agent ?? 'agent',
    context: {
      ...(values.cwd !== undefined && { cwd: values.cwd }),
      ...(values['state-dir'] !== undefined && { stateDir: values['state-dir'] }),
    },
  });
  if (!values.json) session.onEvent((event) => io.stderr(describeSessionEvent(event)));
  const onAbort = (): void => session.cancel('Interrupted');
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await session.executeWithRetry(prompt, {
      maxRetries: retries,
      ...(values.model !== undefined && { model: values.model }),
      ...(maxTurns !== undefined && { maxTurns }),
      ...(timeout !== undefined && { timeoutMs: timeout * 1000 }),
      ...(stall !== undefined && { stallTimeoutMs: stall * 1000 }),
      ...(values['skip-permissions'] && { dangerouslySkipPermissions: true }),
    });
    io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.output}\n`);
    return EXIT.ok;
  } catch (error) {
    if (values.json && error instanceof AgentsSdkError) io.stdout(`${JSON.stringify(error.toJSON(), null, 2)}\n`);
    return reportError(error, io);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    session.stop();
  }
}

/** One human-readable line for a session event (progress output of `exec`). */
export function describeSessionEvent(event: SessionEvent): string {
  const who = `[${event.agentName}]`;
  switch (event.type) {
    case 'session.started':
      return `${who} attempt ${event.attempt}/${event.maxAttempts} started\n`;
    case 'session.retrying':
      return `${who} attempt ${event.attempt} failed (${event.error.code}): retrying in ${(event.delayMs / 1000).toFixed(1)}s\n`;
    case 'session.completed':
      return `${who} completed in ${(event.result.durationMs / 1000).toFixed(1)}s, $${event.result.costUsd.toFixed(4)}\n`;
    case 'session.failed':
      return `${who} failed (${event.error.code}): ${event.error.message}\n`;
    case 'session.progress': {
      const p = event.progress;
      if (p.type === 'init') return `${who} claude session ${p.sessionId}\n`;
      if (p.type === 'tool_use') return `${who} tool ${p.name}\n`;
      if (p.type === 'api_retry') return `${who} API retry (status ${p.errorStatus ?? '?'})\n`;
      return '';
    }
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
