/**
 * The records of a run as people read them: groups with their tasks, fan-outs with their
 * instances, loops with their iterations, each a node of a tree, in the order
 * {@link orderRecordIds} gives. The live view, `status`, `report` and the inspector draw it.
 *
 * @module
 */
import { orderRecordIds, recordPath } from './record-ids.js';

/** What a node of the tree stands for. */
export type RecordNodeKind = 'task' | 'group' | 'fanout' | 'loop' | 'instance' | 'iteration';

/** A node: a record, or a unit around records (a group, an instance of a fan-out group, an iteration of a loop group). */
export interface RecordNode<R> {
  /** The record id, or the id the unit's records start with (`g`, `impl[3]`, `fix_tests#2`). */
  id: string;
  kind: RecordNodeKind;
  /** The record of that id, if there is one. */
  record: R | undefined;
  children: Array<RecordNode<R>>;
}

/** How {@link recordTree} reads records. */
export interface RecordTreeOptions<R> {
  idOf(record: R): string;
  /** The workflow's (flattened) task ids, in declared order. */
  declaredIds: readonly string[];
  /** The workflow's groups by full id (see `Workflow.groups`). */
  groups?: Record<string, readonly string[]> | undefined;
}

/** The tree of a run's records (see the module's description). */
export function recordTree<R>(records: readonly R[], options: RecordTreeOptions<R>): Array<RecordNode<R>> {
  const groups = options.groups ?? {};
  const isGroup = (declared: string): boolean => Object.hasOwn(groups, declared);
  const roots: Array<RecordNode<R>> = [];
  const nodes = new Map<string, RecordNode<R>>();
  for (const record of orderRecordIds(records, options.idOf, options.declaredIds)) {
    const id = options.idOf(record);
    let parent: RecordNode<R> | undefined;
    for (const step of recordPath(id, isGroup)) {
      let node = nodes.get(step);
      if (!node) {
        node = { id: step, kind: kindOf(step, isGroup), record: undefined, children: [] };
        nodes.set(step, node);
        (parent ? parent.children : roots).push(node);
        if (parent && (node.kind === 'instance' || node.kind === 'iteration')) parent.kind = node.kind === 'instance' ? 'fanout' : 'loop';
      }
      parent = node;
    }
    parent!.record = record;
  }
  return roots;
}

function kindOf(step: string, isGroup: (declared: string) => boolean): RecordNodeKind {
  if (step.endsWith(']')) return 'instance';
  if (/#\d+$/.test(step)) return 'iteration';
  return isGroup(step.replace(/\[\d+\]|#\d+/g, '')) ? 'group' : 'task';
}

/** Every record under a node (its own first), depth first. */
export function recordsUnder<R>(node: RecordNode<R>): R[] {
  const out: R[] = [];
  const walk = (n: RecordNode<R>): void => {
    if (n.record !== undefined) out.push(n.record);
    for (const c of n.children) walk(c);
  };
  walk(node);
  return out;
}

/** Statuses a task ends in. */
const FINISHED = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/**
 * The status of a unit: its record's, when it has one and no children; else from its
 * records': running while any runs (retrying, waiting), failed or cancelled when one of them
 * is (once none runs), completed when all are finished, pending before any started; a loop,
 * once ended, what its last iteration did.
 */
export function unitStatus<R>(node: RecordNode<R>, statusOf: (record: R) => string): string {
  // A leaf is a record (a unit without one has children).
  if (node.children.length === 0) return statusOf(node.record!);
  const statuses = node.children.map((c) => unitStatus(c, statusOf));
  for (const s of ['running', 'retrying', 'waiting']) if (statuses.includes(s)) return 'running';
  if (statuses.every((s) => s === 'pending')) return node.record === undefined ? 'pending' : statusOf(node.record);
  if (!statuses.every((s) => FINISHED.has(s))) return 'running';
  // A loop is what its last iteration did (an earlier one failing is what made it go on).
  if (node.kind === 'loop') return statuses.at(-1)!;
  for (const s of ['failed', 'cancelled']) if (statuses.includes(s)) return s;
  return statuses.every((s) => s === 'skipped') ? 'skipped' : 'completed';
}

/**
 * `7/12 done, 2 running, 1 failed`: a fan-out's instances, a loop's iterations or a group's
 * tasks by status (`total`: a fan-out's list length, when its instances are not all recorded).
 */
export function describeUnits<R>(node: RecordNode<R>, statusOf: (record: R) => string, total?: number): string {
  const counts = new Map<string, number>();
  for (const c of node.children) {
    const s = unitStatus(c, statusOf);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const n = Math.max(total ?? 0, node.children.length);
  const done = [...counts].reduce((sum, [s, k]) => sum + (FINISHED.has(s) ? k : 0), 0);
  const parts = [`${done}/${n} done`];
  for (const s of ['running', 'retrying', 'waiting', 'failed', 'skipped', 'cancelled']) {
    const k = counts.get(s);
    if (k) parts.push(`${k} ${s}`);
  }
  return parts.join(', ');
}

/** The word a unit's header line shows: `for_each`, `repeat`, `group`. */
export function unitWord(kind: RecordNodeKind): string {
  return kind === 'fanout' ? 'for_each' : kind === 'loop' ? 'repeat' : kind;
}
