/**
 * `agents-sdk exec <prompt>`: one prompt through one agent session.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { AgentSession } from '../agent-session.js';
import { AgentsSdkError, ValidationError } from '../errors.js';
import type { SessionEvent } from '../events.js';
import { describeApiRetry } from './progress-view.js';
import { EXIT, intOption, isDirectory, parseOrThrow, reportError, type CliIO } from './cli-support.js';

/** `agents-sdk exec`. */
export async function execCommand(args: string[], io: CliIO): Promise<number> {
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
  if (values.cwd !== undefined && !isDirectory(values.cwd)) throw new ValidationError(`exec: --cwd ${values.cwd} is not a directory`);

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
