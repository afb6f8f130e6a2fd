/**
 * Awaits something that must fail with a typed agents-sdk error, and returns that error.
 */
import { expect } from 'vitest';
import { AgentsSdkError } from '../../src/index.js';

export async function failureOf(promise: Promise<unknown>): Promise<AgentsSdkError> {
  let failed = false;
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    failed = true;
    error = e;
  }
  if (!failed) throw new Error('expected a failure, but it succeeded');
  expect(error).toBeInstanceOf(AgentsSdkError);
  return error as AgentsSdkError;
}
