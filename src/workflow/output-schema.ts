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
import { closestName } from './closest-name.js';

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

/**
 * Whether `path` (the keys below a task's `json`, array indexes as numbers) can exist in objects
 * matching `schema`: `null` when it can (or when the schema does not say: `$ref`, `anyOf`,
 * additional properties allowed...), else the problem, with the closest known key.
 */
export function schemaPathProblem(schema: JsonSchema, path: readonly string[]): string | null {
  let node: unknown = schema;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const at = i === 0 ? 'json' : `json.${path.slice(0, i).join('.')}`;
    if (typeof node !== 'object' || node === null) return null;
    const s = node as Record<string, unknown>;
    if (s.$ref !== undefined || s.anyOf !== undefined || s.oneOf !== undefined || s.allOf !== undefined) return null;
    const type = s.type;
    const isArray = type === 'array' || (type === undefined && s.items !== undefined);
    const isObject = type === 'object' || (type === undefined && s.properties !== undefined);
    if (isArray) {
      if (!/^\d+$/.test(key)) return `${at} is a list: index it with a number (${at}.0), not "${key}"`;
      node = Array.isArray(s.items) ? s.items[Number(key)] : s.items;
      continue;
    }
    if (isObject) {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      if (Object.hasOwn(properties, key)) {
        node = properties[key];
        continue;
      }
      const extra = s.additionalProperties;
      if (typeof extra === 'object' && extra !== null) {
        node = extra;
        continue;
      }
      // Declared properties are the fields a reader may count on (extra ones only when allowed explicitly).
      if (extra === true || (extra === undefined && s.properties === undefined)) return null;
      const known = Object.keys(properties);
      const near = closestName(key, known);
      return `${at} has no field "${key}"${near ? ` (did you mean "${near}"?)` : ''}; the schema's fields: ${known.join(', ') || 'none'}`;
    }
    if (typeof type === 'string') return `${at} is a ${type}: it has no field "${key}"`;
    return null;
  }
  return null;
}
