/**
 * `{{tasks.<id>.output}}`, `{{tasks.<id>.session_id}}`, `{{tasks.<id>.status}}`, `{{tasks.<id>.exit_code}}`, `{{inputs.<name>}}`,
 * `{{events.<type>.payload}}` (or `.payload.<field>...`: the payload of the event a task waited
 * for; an object is rendered as JSON), `{{memory.<key>}}` (or `{{memory.<key> | "default"}}`: a
 * value of the memory store) and `{{hash "<path or glob>"}}` (sha256 of the files' contents) in
 * prompts, commands and memory keys. Memory and file hashes are read when the task runs, not
 * when the run renders it: `renderDeferred` leaves them as {@link DeferredRef}s. `\{{...}}` is not a placeholder: it renders as `{{...}}` (for Go templates,
 * Helm, Jinja and the like in commands and prompts); `\\{{...}}` is a backslash followed by
 * the placeholder's value.
 *
 * @module
 */

import { createHash } from 'node:crypto';

/**
 * A field of a task a template reads: `status` (`completed`, `failed`, `skipped`...) and
 * `exit_code` (empty when there is none) serve the dependants of an `allow_failure` task.
 */
export type TaskTemplateField = 'output' | 'session_id' | 'status' | 'exit_code' | 'outputs' | 'commit' | 'branch';

/** One reference found in a template. */
export type TemplateRef =
  | { kind: 'task'; taskId: string; field: TaskTemplateField; raw: string }
  /** `{{tasks.<id>.json}}` (the whole object, as JSON) or `{{tasks.<id>.json.<path>}}` (a field; array indexes as numbers). */
  | { kind: 'json'; taskId: string; path: string[]; raw: string }
  | { kind: 'input'; name: string; raw: string }
  | { kind: 'event'; eventType: string; path: string[]; raw: string }
  | { kind: 'memory'; key: string; default?: string; raw: string }
  | { kind: 'hash'; pattern: string; raw: string }
  /** A fan-out instance's `{{item}}` (as JSON unless a string) or `{{item.<path>}}`. */
  | { kind: 'item'; path: string[]; raw: string }
  /** A fan-out instance's `{{index}}` (from 0). */
  | { kind: 'index'; raw: string }
  /** A loop iteration's `{{iteration}}` (from 1). */
  | { kind: 'iteration'; raw: string }
  /** `{{workspace.ports}}`: the task's reserved ports, filled in when the attempt starts (see `ports:`). */
  | { kind: 'workspace'; field: 'ports'; raw: string }
  | { kind: 'invalid'; raw: string };

/** Memory keys as templates name them: `{{memory.review:last-summary}}`. */
export const MEMORY_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:\/-]*$/;

/** A placeholder; group 1 holds the backslashes before it (one escapes it, two are a literal backslash). */
const PLACEHOLDER = /(\\{0,2})\{\{\s*([^}]*?)\s*\}\}/g;

/** Lists the references of a template, including malformed ones (`kind: 'invalid'`). */
export function templateRefs(template: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match[1] !== '\\') refs.push(parseRef(match[2] ?? '', match[0].slice(match[1]!.length)));
  }
  return refs;
}

function parseRef(expr: string, raw: string): TemplateRef {
  const task = /^tasks\.([A-Za-z0-9][A-Za-z0-9_.-]*?)\.(output|outputs|session_id)$/.exec(expr);
  if (task) return { kind: 'task', taskId: task[1]!, field: task[2] as 'output' | 'outputs' | 'session_id', raw };
  const item = /^item((?:\.[A-Za-z0-9_-]+)*)$/.exec(expr);
  if (item) return { kind: 'item', path: item[1] ? item[1].slice(1).split('.') : [], raw };
  if (expr === 'index') return { kind: 'index', raw };
  if (expr === 'iteration') return { kind: 'iteration', raw };
  const json = /^tasks\.([A-Za-z0-9][A-Za-z0-9_.-]*?)\.json((?:\.[A-Za-z0-9_-]+)*)$/.exec(expr);
  if (json) return { kind: 'json', taskId: json[1]!, path: json[2] ? json[2].slice(1).split('.') : [], raw };
  const taskState = /^tasks\.([A-Za-z0-9][A-Za-z0-9_.-]*?)\.(status|exit_code|commit|branch)$/.exec(expr);
  if (taskState) return { kind: 'task', taskId: taskState[1]!, field: taskState[2] as 'status' | 'exit_code' | 'commit' | 'branch', raw };
  if (expr === 'workspace.ports') return { kind: 'workspace', field: 'ports', raw };
  const input = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (input) return { kind: 'input', name: input[1]!, raw };
  const event = /^events\.([A-Za-z0-9][A-Za-z0-9_:.-]*?)\.payload((?:\.[A-Za-z0-9_-]+)*)$/.exec(expr);
  if (event) return { kind: 'event', eventType: event[1]!, path: event[2] ? event[2].slice(1).split('.') : [], raw };
  const memory = /^memory\.(\S+?)(?:\s*\|\s*"([^"]*)")?$/.exec(expr);
  if (memory && MEMORY_KEY.test(memory[1]!)) {
    return { kind: 'memory', key: memory[1]!, ...(memory[2] !== undefined && { default: memory[2] }), raw };
  }
  const hash = /^hash\s+"([^"]+)"$/.exec(expr);
  if (hash) return { kind: 'hash', pattern: hash[1]!, raw };
  return { kind: 'invalid', raw };
}

/** Where template values come from (looked up only for the references a template has). */
export interface TemplateValues {
  /** The value of `{{inputs.<name>}}`, `undefined` when the workflow has no such input. */
  input(name: string): string | undefined;
  /** The value of `{{tasks.<taskId>.<field>}}`, `undefined` when it is not known yet. */
  task(taskId: string, field: TaskTemplateField): string | undefined;
  /** The payload of the latest event of this type the run received. */
  event?(eventType: string): unknown;
  /** A task's structured output (its record's `json`) as template text: see `jsonText`. */
  json?(taskId: string, path: readonly string[]): string | undefined;
  /** A fan-out instance's item (`{{item}}`, `{{item.<path>}}`): see `payloadText`. */
  item?(path: readonly string[]): string | undefined;
  /** A fan-out instance's index. */
  index?(): string | undefined;
  /** A loop iteration's number (from 1). */
  iteration?(): string | undefined;
}

/** A payload (or a field of it) as template text: strings as they are, anything else as JSON. */
export function payloadText(payload: unknown, path: readonly string[] = []): string {
  let value = payload;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return '';
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `{{tasks.<id>.json}}`: the whole object as JSON text; with a path, the field (a string as it is, anything else as JSON). */
export function jsonText(json: unknown, path: readonly string[]): string {
  if (path.length > 0) return payloadText(json, path);
  return json === undefined ? '' : JSON.stringify(json);
}

/**
 * Replaces every reference; validation guarantees they all resolve. Memory and hash references
 * are left as written (see `renderDeferred`).
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  if (!template.includes('{{')) return template;
  return template.replace(PLACEHOLDER, (raw, slashes: string, expr: string) => {
    if (slashes === '\\') return raw.slice(1);
    const placeholder = raw.slice(slashes.length);
    const lead = slashes === '' ? '' : '\\';
    return lead + valueOf(parseRef(expr.trim(), placeholder), values);
  });
}

function valueOf(ref: TemplateRef, values: TemplateValues): string {
  if (ref.kind === 'input') return values.input(ref.name) ?? '';
  if (ref.kind === 'task') return values.task(ref.taskId, ref.field) ?? '';
  if (ref.kind === 'event') return payloadText(values.event?.(ref.eventType), ref.path);
  if (ref.kind === 'json') return values.json?.(ref.taskId, ref.path) ?? '';
  if (ref.kind === 'item') return values.item?.(ref.path) ?? ref.raw;
  if (ref.kind === 'index') return values.index?.() ?? ref.raw;
  if (ref.kind === 'iteration') return values.iteration?.() ?? ref.raw;
  return ref.raw;
}

/** A reference read when the task runs: a memory value or a hash of files. Plain JSON. */
export type DeferredRef = { memory: string; default?: string } | { hash: string };

/**
 * A template rendered but for its {@link DeferredRef}s: text and references in order. The
 * rendered text stays text: a task output that contains `{{memory.x}}` is never read as a reference.
 */
export type DeferredText = Array<string | DeferredRef>;

/**
 * Renders a template like {@link renderTemplate}, except that memory and hash references are
 * kept as {@link DeferredRef}s, to be resolved when the task runs. A template without any is
 * returned as a string (the rendered text).
 */
export function renderDeferred(template: string, values: TemplateValues): string | DeferredText {
  if (!template.includes('{{')) return template;
  const parts: DeferredText = [];
  let text = '';
  let last = 0;
  let deferred = false;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const [raw, slashes = '', expr = ''] = match;
    text += template.slice(last, match.index);
    last = match.index + raw.length;
    if (slashes === '\\') {
      text += raw.slice(1);
      continue;
    }
    if (slashes !== '') text += '\\';
    const ref = parseRef(expr.trim(), raw.slice(slashes.length));
    if (ref.kind === 'memory' || ref.kind === 'hash') {
      deferred = true;
      if (text !== '') parts.push(text);
      text = '';
      parts.push(ref.kind === 'memory' ? { memory: ref.key, ...(ref.default !== undefined && { default: ref.default }) } : { hash: ref.pattern });
    } else text += valueOf(ref, values);
  }
  text += template.slice(last);
  if (!deferred) return text;
  if (text !== '') parts.push(text);
  return parts;
}

/** Deferred text as written in a template: its references as placeholders again. */
export function deferredSource(text: string | DeferredText): string {
  if (typeof text === 'string') return text;
  return text
    .map((part) => {
      if (typeof part === 'string') return part;
      if ('hash' in part) return `{{hash "${part.hash}"}}`;
      return `{{memory.${part.memory}${part.default === undefined ? '' : ` | "${part.default}"`}}}`;
    })
    .join('');
}

/** Longest value a memory key carries as it is; a longer one (or one with a line break) stands as its sha256. */
export const KEY_FRAGMENT_MAX = 100;

/**
 * The values of a memory key template (`cache.key`, `remember.key`): a value that is short and on
 * one line as it is (`lang:typescript`), any other (a dependency's multi-line output) as
 * `sha256:<hex>`, so that the key stays a key and still changes whenever the value does.
 */
export function memoryKeyValues(values: TemplateValues): TemplateValues {
  return {
    input: (name) => keyFragment(values.input(name)),
    task: (taskId, field) => keyFragment(values.task(taskId, field)),
    event: (eventType) => {
      const payload = values.event?.(eventType);
      return typeof payload === 'string' ? keyFragment(payload) : payload;
    },
    json: (taskId, path) => keyFragment(values.json?.(taskId, path)),
    item: (path) => keyFragment(values.item?.(path)),
    index: () => values.index?.(),
    iteration: () => values.iteration?.(),
  };
}

function keyFragment(value: string | undefined): string | undefined {
  if (value === undefined || (value.length <= KEY_FRAGMENT_MAX && !/[\u0000-\u001f\u007f-\u009f]/.test(value))) return value;
  return `sha256:${createHash('sha256').update(value).digest('hex')}`;
}

/** Whether a template has memory or hash references. */
export function hasDeferredRefs(template: string): boolean {
  return template.includes('{{') && templateRefs(template).some((ref) => ref.kind === 'memory' || ref.kind === 'hash');
}
