/**
 * Record ids, read by the views (live view, `status`, `report`, `stats`, the inspector). Every
 * fan-out instance and loop iteration is a task record with a stable id:
 *
 * - `impl[3]`: instance 3 (from 0) of fan-out task `impl`;
 * - `impl[3].code`: child `code` of instance 3 of fan-out group `impl`;
 * - `fix#2`: iteration 2 (from 1) of looping task `fix`;
 * - `fix_tests#2.test`: child `test` of iteration 2 of looping group `fix_tests`;
 * - `g.c`: child `c` of plain group `g` (flattened at validation).
 *
 * A task id never holds `[`, `]` or `#`, so the markers are unambiguous; `.` may be part of a
 * top-level task's id, so where a `.` joins a group and its child is known from the workflow's
 * groups only. Pure functions, no I/O.
 *
 * @module
 */

/** A fan-out instance or loop iteration in a record id. */
export interface RecordIdMark {
  kind: 'instance' | 'iteration';
  /** The instance's index (from 0) or the iteration's number (from 1). */
  n: number;
  /** The record id of the fan-out or loop it belongs to (`impl`, `impl[3].inner`). */
  of: string;
  /** The declared id of that fan-out or loop (`impl`, `impl.inner`). */
  declared: string;
  /** The record id up to and with the mark (`impl[3]`, `fix_tests#2`). */
  at: string;
}

/** A record id, read. */
export interface ParsedRecordId {
  id: string;
  /** The declared (flattened) task the record runs: the id without its marks (`impl[3].code` → `impl.code`). */
  declared: string;
  /** Its instance and iteration marks, outermost first; none for a declared task's own record. */
  marks: RecordIdMark[];
}

const MARK = /\[(\d+)\]|#(\d+)/g;

/** Reads a record id (see the module's description). */
export function parseRecordId(id: string): ParsedRecordId {
  const marks: RecordIdMark[] = [];
  let declared = '';
  let last = 0;
  for (const match of id.matchAll(MARK)) {
    declared += id.slice(last, match.index);
    const at = id.slice(0, match.index + match[0].length);
    const instance = match[1] !== undefined;
    marks.push({ kind: instance ? 'instance' : 'iteration', n: Number(instance ? match[1] : match[2]), of: id.slice(0, match.index), declared, at });
    last = match.index + match[0].length;
  }
  declared += id.slice(last);
  return { id, declared, marks };
}

/** The declared task a record runs: `impl[3]` → `impl`, `fix_tests#2.test` → `fix_tests.test`, `plan` → `plan`. */
export function declaredIdOf(id: string): string {
  return id.includes('[') || id.includes('#') ? parseRecordId(id).declared : id;
}

/**
 * Where a record sits for people, outermost first, ending with the record's own id: the groups
 * around it (from `groups`, by declared id), the fan-out or loop it repeats in, the instance or
 * iteration. `impl[3].code` → `impl`, `impl[3]`, `impl[3].code`; `g.c` (group `g`) → `g`, `g.c`.
 */
export function recordPath(id: string, isGroup: (declaredId: string) => boolean = () => false): string[] {
  const path: string[] = [];
  let declared = '';
  let i = 0;
  while (i < id.length) {
    const c = id[i]!;
    if (c === '[' || c === '#') {
      const end = c === '[' ? id.indexOf(']', i) + 1 : markEnd(id, i);
      if (path.at(-1) !== id.slice(0, i)) path.push(id.slice(0, i));
      path.push(id.slice(0, end));
      i = end;
      continue;
    }
    if (c === '.' && i > 0 && path.at(-1) !== id.slice(0, i) && isGroup(declared)) path.push(id.slice(0, i));
    declared += c;
    i++;
  }
  if (path.at(-1) !== id) path.push(id);
  return path;
}

function markEnd(id: string, at: number): number {
  let end = at + 1;
  while (end < id.length && id[end]! >= '0' && id[end]! <= '9') end++;
  return end;
}

/**
 * A workflow's task ids in declared order for {@link orderRecordIds}: each task's, and for a
 * looping or fan-out group (a task with a `body`), its tasks' as `<group>.<child>` (what
 * `fix_tests#2.test` and `impl[3].code` run).
 */
export function declaredIdsOf(tasks: ReadonlyArray<{ id: string; body?: ReadonlyArray<{ id: string }> }>): string[] {
  return tasks.flatMap((t) => [t.id, ...(t.body ?? []).map((child) => `${t.id}.${child.id}`)]);
}

/**
 * Records in the order a person reads them: by the declared order of their tasks (groups and
 * fan-outs where their first task is declared), each fan-out's instances in item order and each
 * loop's iterations in order, right under their task. Ids the workflow does not know stay, at
 * the end, in their order. Stable; `declaredIds` is the workflow's (flattened) task ids.
 */
export function orderRecordIds<R>(records: readonly R[], idOf: (record: R) => string, declaredIds: readonly string[]): R[] {
  const rank = new Map<string, number>();
  declaredIds.forEach((declared, i) => {
    // Every prefix of a declared id ranks as its first task (a group, a fan-out group).
    let at = declared.indexOf('.');
    while (at > 0) {
      const prefix = declared.slice(0, at);
      if (!rank.has(prefix)) rank.set(prefix, i);
      at = declared.indexOf('.', at + 1);
    }
    if (!rank.has(declared)) rank.set(declared, i);
  });
  const keyed = records.map((record, i) => ({ record, i, key: sortKey(idOf(record), rank) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key) || a.i - b.i);
  return keyed.map((k) => k.record);
}

/**
 * The declared rank of the outermost fan-out or loop (or of the task), then per mark its number
 * and the declared rank of what follows it: `impl[2].code` → [rank(impl), 2, rank(impl.code)].
 */
function sortKey(id: string, rank: Map<string, number>): number[] {
  const rankOf = (declared: string): number => rank.get(declared) ?? Number.MAX_SAFE_INTEGER;
  const { marks, declared } = parseRecordId(id);
  if (marks.length === 0) return [rankOf(declared)];
  const key: number[] = [rankOf(marks[0]!.declared), marks[0]!.n];
  for (const mark of marks.slice(1)) key.push(rankOf(mark.declared), mark.n);
  if (!id.endsWith(']') && !/#\d+$/.test(id)) key.push(rankOf(declared));
  return key;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
