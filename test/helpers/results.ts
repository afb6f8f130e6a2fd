/**
 * ExecutionResults for tests that provide their own executor.
 */
import type { ExecutionResult } from '../../src/index.js';

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
