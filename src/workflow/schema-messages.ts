/**
 * zod's messages ("Invalid input: expected array, received string") in words that say what to
 * write instead ("must be a list of arguments, e.g. command: [echo, hi]; got the text "echo hi"").
 * A message the schema sets itself (`must name a program`) is kept as it is.
 *
 * @module
 */
import type { z } from 'zod';

/** What a field holds, with an example, for the fields whose shape users get wrong. */
const SHAPES: Record<string, string> = {
  id: 'an id, e.g. id: build',
  command: 'a list of arguments, e.g. command: [echo, hi]',
  depends_on: 'a list of task ids, e.g. depends_on: [build]',
  allowed_tools: 'a list of tool names, e.g. allowed_tools: [Read, Bash]',
  runs_on: 'a list of worker tags, e.g. runs_on: [gpu]',
  tasks: 'a list of tasks, e.g. tasks: [{id: build, command: [make]}]',
  env: 'a map of variable names to text, e.g. env: {CI: "true"}',
  inputs: 'a map of input names to their defaults (null: required), e.g. inputs: {branch: main, ticket: null}',
  defaults: 'a map of settings every task takes, e.g. defaults: {retry_count: 2}',
  cache: 'a map with a key, e.g. cache: {key: "lint-{{inputs.branch}}", ttl: 3600}',
  remember: 'a map with a key, e.g. remember: {key: "lint-{{inputs.branch}}"}',
  wait_for: 'an event type or a map, e.g. wait_for: approval.granted, or wait_for: {event: approval.granted, timeout: 3600}',
  prompt: 'text, e.g. prompt: "Fix the failing test"',
  when: 'a CEL condition (text), e.g. when: tasks.test.status == "failed" (or, in a workflow built in code, a function)',
  until: 'a CEL condition (text), e.g. until: tasks.review.json.approved (or, in a workflow built in code, a function)',
  '': 'a map with an id and tasks, e.g. id: build, then tasks: [{id: compile, command: [make]}]',
};

/** Fields whose unit is the second (`timeout: soon` is told to write a number of seconds). */
const SECONDS = new Set(['timeout', 'retry_delay', 'estimate', 'ttl']);

/** zod's type names in words. */
const TYPES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
  null: 'null',
};

/** A message zod wrote itself (the schema's own messages are sentences already). */
const ZOD_DEFAULT = /^(Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid key|Invalid element|Invalid value|Invalid number)/;

/**
 * The message for one zod issue. `value` is what the issue's path points at in the input
 * (`undefined` when missing); `field` the last name in the path (`''` for the whole workflow).
 */
export function schemaMessage(issue: z.core.$ZodIssue, field: string, value: unknown): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const shape = SHAPES[field] ?? TYPES[issue.expected] ?? issue.expected;
      if (value === undefined) return `is required: ${shape}`;
      // A value of the wrong type but the right idea (a number in quotes) is told how to write it.
      const fix = fixFor(issue.expected, field, value);
      return `must be ${fix ? (TYPES[issue.expected] ?? issue.expected) : shape}${fix}; got ${describe(value)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${literal(issue.values[0])}; got ${describe(value)}`
        : `must be one of ${issue.values.map(literal).join(', ')}; got ${describe(value)}`;
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? Number(issue.minimum) <= 1 ? 'must not be empty' : `must have at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : issue.inclusive ? `must be at least ${issue.minimum}; got ${describe(value)}` : `must be greater than ${issue.minimum}; got ${describe(value)}`;
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `must have at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : issue.inclusive ? `must be at most ${issue.maximum}; got ${describe(value)}` : `must be less than ${issue.maximum}; got ${describe(value)}`;
    case 'invalid_union':
      return `must be ${SHAPES[field] ?? 'one of the forms this field takes'}; got ${describe(value)}`;
    case 'invalid_key':
      return field === '' ? 'is not a valid name' : `"${field}" is not a valid name here${issue.issues[0] ? `: ${keyRule(issue.issues[0])}` : ''}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `must match ${String(issue.pattern)}; got ${describe(value)}` : `is not a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

/** How to write it: a number in quotes, a value that should be text. */
function fixFor(expected: string, field: string, value: unknown): string {
  const name = field || 'it';
  if ((expected === 'number' || expected === 'int') && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return ` (write ${name}: ${value.trim()}, without quotes)`;
  }
  if (expected === 'number' && typeof value === 'string' && SECONDS.has(field)) return ` (in seconds, e.g. ${name}: 30)`;
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return ` (write ${name}: "${String(value)}", in quotes)`;
  if (expected === 'boolean' && typeof value === 'string') return ` (write ${name}: true or ${name}: false, without quotes)`;
  return '';
}

function keyRule(inner: z.core.$ZodIssue): string {
  return ZOD_DEFAULT.test(inner.message) ? 'use letters, digits and _, not starting with a digit' : inner.message;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What was written, in words: `the text "echo hi"`, `the number 5`, `a list`, `a map`. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (nothing)';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value === 'number' ? 'the number' : ''} ${String(value)}`.trim();
  if (Array.isArray(value)) return 'a list';
  return 'a map';
}
