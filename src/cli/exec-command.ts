/**
 * `agents-sdk exec <prompt>`: one prompt through one agent session.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_STATE_DIR, rawOutputDir, rawOutputFileName } from '../actors/claude-code-runner.js';
import { AgentSession } from '../agent-session.js';
import { AgentsSdkError, ValidationError } from '../errors.js';
import { newRunId } from '../run-id.js';
import type { SessionEvent } from '../events.js';
import { describeApiRetry } from './progress-view.js';
import { EXIT, intOption, isDirectory, reportError, type CliIO } from './cli-support.js';
import { parseInspectTarget } from '../inspector/inspect-target.js';
import { lazyCliInspector } from './lazy-inspector.js';
import { openStateBackend } from '../persistence/open-state-backend.js';
import { execWorkflow, startExecRun, type ExecRun } from './exec-run-record.js';
import { inTime } from '../wording.js';
import { outputSchemaProblem, readOutputSchemaFile } from '../workflow/output-schema.js';

/** Options of `agents-sdk exec`, as parsed (strings are checked here). */
export interface ExecOptions {
  promptFile?: string;
  resume?: string;
  model?: string;
  agent?: string;
  cwd?: string;
  retries?: string;
  maxTurns?: string;
  timeout?: string;
  stallTimeout?: string;
  stateDir?: string;
  /** `--backend json|sqlite`: where the run is stored (default json). */
  backend?: string;
  skipPermissions?: boolean;
  /** `--json-schema <file or JSON>`: structured output (claude --json-schema). */
  jsonSchema?: string;
  json?: boolean;
  /** `--inspect [target]`. */
  inspect?: string | boolean;
}

/** `agents-sdk exec <prompt...>`, `exec -` (the prompt from stdin), `exec --prompt-file FILE`. */
export async function execCommand(words: string[], options: ExecOptions, io: CliIO): Promise<number> {
  const prompt = (await readPrompt(words, options.promptFile, io)).trim();
  if (!prompt) throw new ValidationError('exec: a prompt is required, e.g. agents-sdk exec "Summarise README.md" (or exec - to read it from stdin)');
  const retries = intOption('retries', options.retries) ?? 3;
  const maxTurns = intOption('max-turns', options.maxTurns);
  const timeout = positiveSeconds('timeout', options.timeout);
  // 0 is documented: never stall out (a tool that legitimately runs silent for hours).
  const stall = intOption('stall-timeout', options.stallTimeout, 0);
  if (options.cwd !== undefined && !isDirectory(options.cwd)) throw new ValidationError(`exec: --cwd ${options.cwd} is not a directory`);
  if (options.resume !== undefined && options.resume.trim() === '') throw new ValidationError('exec: --resume needs a Claude session id');
  parseInspectTarget(options.inspect);
  const jsonSchema = options.jsonSchema === undefined ? undefined : execJsonSchema(options.jsonSchema);

  const agentName = options.agent ?? 'agent';
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  // A run of its own under the state directory: that is where the raw stream is recorded, and
  // the run (one agent task, named after the agent) is stored, so that `status` and `logs` know it.
  const runId = newRunId();
  const workflow = execWorkflow({
    agentName,
    prompt,
    attempts: retries,
    ...(options.model !== undefined && { model: options.model }),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(maxTurns !== undefined && { maxTurns }),
    ...(timeout !== undefined && { timeoutS: timeout }),
    ...(options.skipPermissions && { dangerouslySkipPermissions: true }),
    ...(jsonSchema !== undefined && { outputSchema: jsonSchema }),
  });
  const backend = await openStateBackend(options.backend ?? 'json', stateDir);
  let stored: ExecRun;
  try {
    stored = await startExecRun(backend, runId, workflow);
  } catch (error) {
    await backend.close();
    throw error;
  }
  const inspector = await lazyCliInspector(options.inspect, io).catch(async (error: unknown) => {
    await stored.finish({ error }, []);
    await backend.close();
    throw error;
  });
  const session = new AgentSession({
    sessionId: runId,
    agentName,
    ...(inspector && { inspect: inspector.inspect }),
    context: {
      stateDir,
      runId,
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.resume !== undefined && { claudeSessionId: options.resume }),
    },
  });
  // The last attempt's stream (each attempt records its own: raw_output.attempt-<n>.jsonl after the first).
  const recorded = (): string | null => {
    const file = session.attemptLog.at(-1)?.rawFile ?? join(rawOutputDir({ stateDir, runId, agentName })!, rawOutputFileName(1));
    return existsSync(file) ? file : null;
  };
  const sayWhere = (): void => {
    const file = recorded();
    if (options.json) return;
    if (file) io.stderr(`[${agentName}] raw output: ${file}\n`);
    const where = options.stateDir === undefined ? '' : ` --state-dir ${options.stateDir}`;
    const kind = options.backend === undefined || options.backend === 'json' ? '' : ` --backend ${options.backend}`;
    io.stderr(`[${agentName}] run ${runId}: agents-sdk logs ${runId}${where}${kind} (or status)\n`);
  };
  if (!options.json) {
    session.onEvent((event) => {
      const line = describeSessionEvent(event);
      if (line) io.stderr(line);
    });
  }
  const onAbort = (): void => session.cancel('Interrupted');
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await session.executeWithRetry(prompt, {
      maxRetries: retries,
      ...(options.model !== undefined && { model: options.model }),
      ...(maxTurns !== undefined && { maxTurns }),
      ...(timeout !== undefined && { timeoutMs: timeout * 1000 }),
      ...(stall !== undefined && { stallTimeoutMs: stall * 1000 }),
      ...(options.skipPermissions && { dangerouslySkipPermissions: true }),
      ...(jsonSchema !== undefined && { jsonSchema }),
    });
    await stored.finish({ result }, session.attemptLog);
    sayWhere();
    io.stdout(options.json ? `${JSON.stringify({ ...result, runId, rawOutput: recorded() }, null, 2)}\n` : `${result.output}\n`);
    return EXIT.ok;
  } catch (error) {
    await stored.finish({ error }, session.attemptLog).catch(() => undefined);
    sayWhere();
    if (options.json && error instanceof AgentsSdkError) io.stdout(`${JSON.stringify({ ...error.toJSON(), runId, rawOutput: recorded() }, null, 2)}\n`);
    return reportError(error, io);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    session.stop();
    await stored.release();
    await backend.close();
    await inspector?.stop();
  }
}

/** The prompt: the words, all of stdin (`-`), or a file (`--prompt-file`); one source only. */
async function readPrompt(words: string[], promptFile: string | undefined, io: CliIO): Promise<string> {
  const fromStdin = words.length === 1 && words[0] === '-';
  if (promptFile !== undefined) {
    if (words.length > 0) throw new ValidationError('exec: give the prompt as words, as - (stdin) or with --prompt-file, not both');
    try {
      return await readFile(promptFile, 'utf8');
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new ValidationError(`exec: cannot read --prompt-file ${promptFile}: ${why}`);
    }
  }
  if (fromStdin) return io.readStdin ? io.readStdin() : readAll(process.stdin);
  return words.join(' ');
}

/* c8 ignore next 5 -- the process's own stdin: tests pass io.readStdin, the spawned CLI test covers this */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A time limit in whole seconds: 0 would silently mean "no limit", so it is refused. */
function positiveSeconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`--${name} must be > 0 seconds (a whole number), got "${value}"`);
  return n;
}

/** One human-readable line for a session event (progress output of `exec`). */
export function describeSessionEvent(event: SessionEvent): string {
  const who = `[${event.agentName}]`;
  switch (event.type) {
    case 'session.started':
      return `${who} attempt ${event.attempt}/${event.maxAttempts} started\n`;
    case 'session.retrying':
      return `${who} attempt ${event.attempt} failed (${event.error.code}): retrying ${inTime(event.delayMs)}\n`;
    case 'session.completed':
      return `${who} completed in ${(event.result.durationMs / 1000).toFixed(1)}s, $${event.result.costUsd.toFixed(4)}\n`;
    case 'session.failed':
      // The final failure is the command's error: printed once, by the error report.
      return '';
    case 'session.reaped':
      return `${who} agent processes left by an earlier run: ${event.processes.map((p) => `pid ${p.pid} ${p.outcome}`).join(', ')}\n`;
    case 'session.progress': {
      const p = event.progress;
      if (p.type === 'init') return `${who} claude session ${p.sessionId}\n`;
      if (p.type === 'tool_use') return `${who} tool ${p.name}\n`;
      if (p.type === 'api_retry') return `${who} ${describeApiRetry(p)}\n`;
      return '';
    }
  }
}

/** `--json-schema`: a JSON Schema given inline (`{...}`) or as a JSON or YAML file. */
function execJsonSchema(given: string): Record<string, unknown> {
  let schema: unknown;
  try {
    schema = given.trim().startsWith('{') ? JSON.parse(given) : readOutputSchemaFile(given, process.cwd());
  } catch (error) {
    throw new ValidationError(`exec: --json-schema: ${(error as Error).message}`);
  }
  const problem = outputSchemaProblem(schema);
  if (problem !== null) throw new ValidationError(`exec: --json-schema ${problem}`);
  return schema as Record<string, unknown>;
}
