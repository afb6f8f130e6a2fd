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
    const message = tooDeep(error) ? nestingTooDeep(error) : (error as Error).message;
    throw new ValidationError(`Cannot parse workflow file ${file}: ${message}`, [{ path: file, message }], { details: { file } });
  }
}

/** A parser that ran out of stack: the file nests lists or maps thousands of levels deep. */
function tooDeep(error: unknown): boolean {
  return error instanceof RangeError || (error instanceof Error && /Maximum call stack size exceeded/.test(error.message));
}

function nestingTooDeep(error: unknown): string {
  const at = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
  const where = at ? ` (at line ${at.line}, column ${at.col})` : '';
  return `the nesting is too deep${where}: lists or maps inside each other thousands of levels deep; a workflow needs a few`;
}

/**
 * The file's bytes as text; bytes that are not UTF-8 are refused, naming the first one's line
 * and column (decoding them would replace them with U+FFFD, silently changing a prompt or a
 * command's argument).
 */
export function decodeWorkflowBytes(bytes: Uint8Array, file: string): string {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
    const line = bytes.subarray(0, lineStart).filter((b) => b === 0x0a).length + 1;
    const column = [...Buffer.from(bytes.subarray(lineStart, offset)).toString('utf8')].length + 1;
    const byte = `0x${bytes[offset]!.toString(16).toUpperCase().padStart(2, '0')}`;
    const message = `not UTF-8 text: byte ${byte} at line ${line}, column ${column} is not valid UTF-8 (save the file as UTF-8)`;
    throw new ValidationError(`Cannot read workflow file ${file}: ${message}`, [{ path: file, message }], { details: { file, line, column } });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return bytes.length;
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
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ValidationError(`Cannot read workflow file ${file}: ${why}`, [{ path: file, message: why }], { details: { file } });
  }
  const { maxParallel, ...validate } = options;
  const spec = parseWorkflowText(decodeWorkflowBytes(bytes, file), file);
  // An override is validated like the file's own value (`--max-parallel 5000` is reported as such).
  if (maxParallel !== undefined && typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
    (spec as Record<string, unknown>).max_parallel = maxParallel;
  }
  return validateWorkflow(spec, { ...validate, source: file, baseDir: dirname(resolve(file)) });
}
