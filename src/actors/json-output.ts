/**
 * A command's stdout as structured output (`output: json`, `output_schema`): parsed as JSON and
 * checked against the task's schema. What does not parse or conform fails the attempt with
 * `OUTPUT_SCHEMA`, saying why (the parse error and the first bytes; the paths that break the schema).
 *
 * @module
 */
import { TransientError } from '../errors.js';
import type { ExecutionResult } from '../execution-result.js';
import { schemaViolations } from '../workflow/output-schema.js';

/** Characters of stdout quoted when it is not JSON. */
const QUOTED_CHARS = 120;
/** Schema violations named in the message (the error's details list them all). */
const NAMED_VIOLATIONS = 5;

/**
 * The command's stdout parsed as JSON, checked against `outputSchema` when there is one.
 *
 * @throws TransientError `OUTPUT_SCHEMA` carrying the result.
 */
export function parseJsonOutput(request: { taskId?: string; outputSchema?: Record<string, unknown> }, result: ExecutionResult): unknown {
  const task = request.taskId ?? 'command';
  let value: unknown;
  try {
    if (result.truncated) throw new Error(`stdout is larger than the record keeps (${result.outputBytes ?? 'unknown'} bytes); only its tail was kept`);
    value = JSON.parse(result.output);
  } catch (error) {
    const start = result.output.slice(0, QUOTED_CHARS);
    const shown = result.output.trim() === '' ? 'stdout was empty' : `stdout began ${JSON.stringify(start)}${result.output.length > QUOTED_CHARS ? '…' : ''}`;
    throw new TransientError('OUTPUT_SCHEMA', `Task "${task}": stdout is not JSON (output: json): ${(error as Error).message.replace(/\n/g, '\\n')}; ${shown}`, {
      result,
      details: { taskId: task },
    });
  }
  if (request.outputSchema === undefined) return value;
  const violations = schemaViolations(request.outputSchema, value);
  if (violations.length === 0) return value;
  const named = violations.slice(0, NAMED_VIOLATIONS).join('; ');
  const more = violations.length > NAMED_VIOLATIONS ? `; and ${violations.length - NAMED_VIOLATIONS} more` : '';
  throw new TransientError('OUTPUT_SCHEMA', `Task "${task}": stdout does not match its output_schema: ${named}${more}`, {
    result: { ...result, json: value },
    details: { taskId: task, violations },
  });
}
