/**
 * The workflow a stored run goes on with (`resume`, `rerun`): the one it stored, unless it held
 * TypeScript functions (a condition in a workflow built in code), which a checkpoint stores as
 * markers (`"<function isBug>"`): such a run goes on only with the code that started it,
 * given again (`resume(runId, { workflow })`), and only if that code gives the same workflow.
 *
 * @module
 */
import { PermanentError, ValidationError } from '../errors.js';
import { functionMarkers } from './condition-function.js';
import type { Workflow } from './spec.js';
import { validateWorkflow } from './validate-workflow.js';

/**
 * The workflow run `runId` goes on with: `stored`, or, given the code's spec, that spec
 * validated (with the run's inputs; the stored `budget_usd` kept), once it is shown to be the
 * stored workflow (functions compared by their markers).
 *
 * @throws PermanentError `CODE_REQUIRED` when `stored` held functions and no spec is given,
 *   naming each task and field; ValidationError when the given spec is invalid, or differs from
 *   the stored one (naming the first place it does).
 */
export function workflowToGoOn(runId: string, stored: Workflow, given: unknown): Workflow {
  if (given === undefined) {
    const markers = functionMarkers(stored);
    if (markers.length === 0) return stored;
    const where = markers.map((m) => `task "${m.taskId}" ${m.field}: ${m.marker}`).join(', ');
    throw new PermanentError(
      'CODE_REQUIRED',
      `Run ${runId} was started from TypeScript with functions in its workflow (${where}); its checkpoint holds no code, so it resumes only from the code that started it: orchestrator.resume('${runId}', { workflow })`,
      { details: { runId, functions: markers } },
    );
  }
  const workflow = validateWorkflow(given, { inputs: stored.inputs });
  const withBudget = { ...workflow, budget_usd: stored.budget_usd };
  const difference = firstDifference(plain(withBudget), plain(stored), 'workflow');
  if (difference !== null) {
    throw new ValidationError(`The workflow given to go on with run ${runId} is not the one it was started with`, [difference], { details: { runId } });
  }
  return withBudget;
}

/** As stored: JSON (a function as its marker, `undefined` fields gone). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** The first place where two JSON values differ, with both values; `null` when they are equal. */
function firstDifference(a: unknown, b: unknown, path: string): { path: string; message: string } | null {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path + segment(a, key));
      if (found !== null) return found;
    }
    return null;
  }
  if (a === b) return null;
  return { path, message: `${JSON.stringify(a) ?? 'nothing'} in the code, ${JSON.stringify(b) ?? 'nothing'} in the run` };
}

/** `.key`; in a list, a task by its id (`.fix`), anything else by its index (`[2]`). */
function segment(container: object, key: string): string {
  if (!Array.isArray(container)) return `.${key}`;
  const id = (container[Number(key)] as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? `.${id}` : `[${key}]`;
}
