/**
 * Reads a workflow file (YAML or JSON) and validates it.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../errors.js';
import type { Workflow } from './spec.js';
import { validateWorkflow, type ValidateOptions } from './validate-workflow.js';

/** Parses the text of a workflow file; `.json` is parsed as JSON, anything else as YAML. */
export function parseWorkflowText(text: string, file: string): unknown {
  try {
    return extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, merge: true });
  } catch (error) {
    throw new ValidationError(`Cannot parse workflow file ${file}: ${(error as Error).message}`, [
      { path: file, message: (error as Error).message },
    ], { details: { file } });
  }
}

/** Options of {@link loadWorkflowFile}. */
export interface LoadWorkflowOptions extends Omit<ValidateOptions, 'source' | 'baseDir'> {
  /** Replaces the file's `max_parallel` before validation. */
  maxParallel?: number;
}

/**
 * Loads and validates a workflow file. A relative task `cwd` is relative to the file's directory.
 *
 * @throws ValidationError for a missing file, a parse error or an invalid workflow (naming the file).
 */
export async function loadWorkflowFile(file: string, options: LoadWorkflowOptions = {}): Promise<Workflow> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ValidationError(`Cannot read workflow file ${file}: ${why}`, [{ path: file, message: why }], { details: { file } });
  }
  const { maxParallel, ...validate } = options;
  const spec = parseWorkflowText(text, file);
  // An override is validated like the file's own value (`--max-parallel 5000` is reported as such).
  if (maxParallel !== undefined && typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
    (spec as Record<string, unknown>).max_parallel = maxParallel;
  }
  return validateWorkflow(spec, { ...validate, source: file, baseDir: dirname(resolve(file)) });
}
