/**
 * `{{tasks.<id>.output}}`, `{{tasks.<id>.session_id}}` and `{{inputs.<name>}}` in prompts
 * and commands. `\{{...}}` is not a placeholder: it renders as `{{...}}` (for Go templates,
 * Helm, Jinja and the like in commands and prompts).
 *
 * @module
 */

/** One reference found in a template. */
export type TemplateRef =
  | { kind: 'task'; taskId: string; field: 'output' | 'session_id'; raw: string }
  | { kind: 'input'; name: string; raw: string }
  | { kind: 'invalid'; raw: string };

/** A placeholder, or (with group 1) an escaped one. */
const PLACEHOLDER = /(\\?)\{\{\s*([^}]*?)\s*\}\}/g;

/** Lists the references of a template, including malformed ones (`kind: 'invalid'`). */
export function templateRefs(template: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match[1] === '') refs.push(parseRef(match[2] ?? '', match[0]));
  }
  return refs;
}

function parseRef(expr: string, raw: string): TemplateRef {
  const task = /^tasks\.([A-Za-z0-9][A-Za-z0-9_.-]*?)\.(output|session_id)$/.exec(expr);
  if (task) return { kind: 'task', taskId: task[1]!, field: task[2] as 'output' | 'session_id', raw };
  const input = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (input) return { kind: 'input', name: input[1]!, raw };
  return { kind: 'invalid', raw };
}

/** Where template values come from (looked up only for the references a template has). */
export interface TemplateValues {
  input(name: string): string | undefined;
  task(taskId: string, field: 'output' | 'session_id'): string | undefined;
}

/** Replaces every reference; validation guarantees they all resolve. */
export function renderTemplate(template: string, values: TemplateValues): string {
  if (!template.includes('{{')) return template;
  return template.replace(PLACEHOLDER, (raw, escape: string, expr: string) => {
    if (escape !== '') return raw.slice(1);
    const ref = parseRef(expr.trim(), raw);
    if (ref.kind === 'input') return values.input(ref.name) ?? '';
    if (ref.kind === 'task') return values.task(ref.taskId, ref.field) ?? '';
    return raw;
  });
}
