/**
 * JSON Schemas of structured output (`output_schema:`): checked when the workflow is
 * validated (a schema ajv cannot compile is a validation error), read from a file relative to
 * the workflow file, and used to check a command task's JSON stdout (`output: json`). Agent
 * tasks hand theirs to Claude Code (`--json-schema`), which checks the model's answer itself.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';

/** A JSON Schema: a JSON object. */
export type JsonSchema = Record<string, unknown>;

// strict: false: keywords ajv does not know (`example`, vendor `x-` keys) are annotations, as
// JSON Schema says; a schema that breaks its meta-schema (`type: strng`) is still refused.
const OPTIONS = { strict: false, allErrors: true } as const;
let draft07: Ajv | undefined;
let draft2019: Ajv2019 | undefined;
let draft2020: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** The validator of the schema's `$schema` dialect (draft-07 unless it names 2019-09 or 2020-12). */
function ajvFor(schema: JsonSchema, own = false): Ajv | Ajv2019 | Ajv2020 {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (dialect.includes('2020-12')) return own ? new Ajv2020(OPTIONS) : (draft2020 ??= new Ajv2020(OPTIONS));
  if (dialect.includes('2019-09')) return own ? new Ajv2019(OPTIONS) : (draft2019 ??= new Ajv2019(OPTIONS));
  return own ? new Ajv(OPTIONS) : (draft07 ??= new Ajv(OPTIONS));
}

/** Compiles a schema (cached by its JSON text). @throws Error saying why it is not a valid JSON Schema. */
export function compileOutputSchema(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  const known = compiled.get(key);
  if (known) return known;
  // Two schemas with the same `$id` cannot live in one instance: one with an `$id` gets its own.
  const ajv = schema.$id === undefined ? ajvFor(schema) : ajvFor(schema, true);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    // ajv names the schema being checked `data`: `data/properties/a/type must be ...`.
    const message = (error as Error).message.replace(/^schema is invalid: /, '').replace(/\bdata(?=[/ .])/g, '(schema)');
    throw new Error(message);
  }
  compiled.set(key, validate);
  return validate;
}

/** Why a schema is not a valid JSON Schema, or `null` when ajv compiles it. */
export function outputSchemaProblem(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'must be a JSON Schema object (or the path of a file holding one)';
  try {
    compileOutputSchema(schema as JsonSchema);
    return null;
  } catch (error) {
    return `is not a valid JSON Schema: ${(error as Error).message}`;
  }
}

/**
 * Reads a schema file (`.json` as JSON, anything else as YAML), relative to `baseDir`.
 *
 * @throws Error saying what is wrong with the file (missing, unreadable, not JSON or YAML).
 */
export function readOutputSchemaFile(file: string, baseDir: string): unknown {
  const path = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `schema file ${path} does not exist` : `cannot read schema file ${path}: ${(error as Error).message}`);
  }
  try {
    return extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(`cannot parse schema file ${path}: ${(error as Error).message}`);
  }
}

/**
 * Where a value breaks a schema: one line per problem, naming the path (`/items/0/title`, or
 * `(root)`) and what was expected. Empty when it conforms.
 */
export function schemaViolations(schema: JsonSchema, value: unknown): string[] {
  const validate = compileOutputSchema(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describeViolation);
}

function describeViolation(error: ErrorObject): string {
  const at = error.instancePath === '' ? '(root)' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `${at}: must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${at}: has unexpected property "${params.additionalProperty}"`;
  }
  return `${at}: ${error.message ?? error.keyword}`;
}
