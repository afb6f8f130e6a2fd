/**
 * ExecutionResults for tests that provide their own executor.
 */
import type { ExecutionResult, Executor } from '../../src/index.js';

/** A successful result with output "ok" and no spend, with `overrides` on top. */
export function okResult(overrides: Partial<ExecutionResult> = {}): ExecutionResult {
  return {
    success: true,
    output: 'ok',
    sessionId: null,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
    costUsd: 0,
    durationMs: 0,
    cliDurationMs: null,
    numTurns: 0,
    exitCode: 0,
    stderrTail: '',
    ...overrides,
  };
}

/** An executor answering each request (a prompt, or a command's words joined) with `answer`, recording them in order. */
export function recordingExecutor(
  answer: (prompt: string, signal?: AbortSignal) => ExecutionResult | Promise<ExecutionResult>,
): Executor & { prompts: string[] } {
  const prompts: string[] = [];
  const executor: Executor = async (request, hooks) => {
    const prompt = request.kind === 'claude' ? String(request.prompt) : request.command.join(' ');
    prompts.push(prompt);
    return answer(prompt, hooks.signal);
  };
  return Object.assign(executor, { prompts });
}
