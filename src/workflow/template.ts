/**
 * `{{tasks.<id>.output}}`, `{{tasks.<id>.session_id}}`, `{{inputs.<name>}}` and
 * `{{events.<type>.payload}}` (or `.payload.<field>...`: the payload of the event a task waited
 * for; an object is rendered as JSON) in prompts and commands. `\{{...}}` is not a placeholder: it renders as `{{...}}` (for Go templates,
 * Helm, Jinja and the like in commands and prompts); `\\{{...}}` is a backslash followed by
 * the placeholder's value.
 *
 * @module
 */

/** One reference found in a template. */
export type TemplateRef =
  | { kind: 'task'; taskId: string; field: 'output' | 'session_id'; raw: string }
  | { kind: 'input'; name: string; raw: string }
  | { kind: 'event'; eventType: string; path: string[]; raw: string }
  | { kind: 'invalid'; raw: string };

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
  const task = /^tasks\.([A-Za-z0-9][A-Za-z0-9_.-]*?)\.(output|session_id)$/.exec(expr);
  if (task) return { kind: 'task', taskId: task[1]!, field: task[2] as 'output' | 'session_id', raw };
  const input = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (input) return { kind: 'input', name: input[1]!, raw };
  const event = /^events\.([A-Za-z0-9][A-Za-z0-9_:.-]*?)\.payload((?:\.[A-Za-z0-9_-]+)*)$/.exec(expr);
  if (event) return { kind: 'event', eventType: event[1]!, path: event[2] ? event[2].slice(1).split('.') : [], raw };
  return { kind: 'invalid', raw };
}

/** Where template values come from (looked up only for the references a template has). */
export interface TemplateValues {
  input(name: string): string | undefined;
  task(taskId: string, field: 'output' | 'session_id'): string | undefined;
  /** The payload of the latest event of this type the run received. */
  event?(eventType: string): unknown;
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

/** Replaces every reference; validation guarantees they all resolve. */
export function renderTemplate(template: string, values: TemplateValues): string {
  if (!template.includes('{{')) return template;
  return template.replace(PLACEHOLDER, (raw, slashes: string, expr: string) => {
    if (slashes === '\\') return raw.slice(1);
    const placeholder = raw.slice(slashes.length);
    const lead = slashes === '' ? '' : '\\';
    const ref = parseRef(expr.trim(), placeholder);
    if (ref.kind === 'input') return lead + (values.input(ref.name) ?? '');
    if (ref.kind === 'task') return lead + (values.task(ref.taskId, ref.field) ?? '');
    if (ref.kind === 'event') return lead + payloadText(values.event?.(ref.eventType), ref.path);
    return lead + placeholder;
  });
}
