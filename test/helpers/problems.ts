/**
 * The problems `validateWorkflow` reports for a spec, as `path: message` lines.
 */
import { expect } from 'vitest';
import { validateWorkflow, ValidationError } from '../../src/index.js';

/** Every problem of a spec that must be rejected (fails the test if it is accepted). */
export function problems(spec: unknown): string[] {
  try {
    validateWorkflow(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the spec to be rejected');
}
