/**
 * A workflow's task graph as text for other tools: Mermaid (`flowchart LR`, renders in GitHub
 * Markdown) or Graphviz dot (`digraph`). Given a run's statuses, each task is coloured by its
 * status (the colours of the run report). Task ids are quoted or replaced by safe node ids, so
 * no id can break the syntax.
 *
 * @module
 */
import type { RunCheckpoint } from '../persistence/state-backend.js';
import type { Workflow } from '../workflow/spec.js';
import { conditionText, type Condition } from '../workflow/condition-function.js';
import type { TaskStatus } from '../workflow/workflow-result.js';
import { STATUS_COLOURS, statusColour } from './status-colours.js';

/** The text formats of {@link workflowDiagram}. */
export type DiagramFormat = 'mermaid' | 'dot';

/** Every {@link DiagramFormat}. */
export const DIAGRAM_FORMATS: readonly DiagramFormat[] = ['mermaid', 'dot'];

/** Options of {@link workflowDiagram}. */
export interface DiagramOptions {
  /** Default `mermaid`. */
  format?: DiagramFormat;
  /** Status by task id (see `runStatuses`): tasks are coloured by it; tasks not in it are pending. */
  statuses?: Readonly<Record<string, string>>;
  /** `LR` (default: dependencies first, left to right) or `TB`. */
  direction?: 'LR' | 'TB';
}

/** The tasks of a workflow as the diagram needs them. */
export type DiagramWorkflow = Pick<Workflow, 'id'> & {
  tasks: ReadonlyArray<{ id: string; depends_on: readonly string[]; when?: Condition | undefined; for_each?: string | undefined; repeat?: unknown }>;
  /** The groups (see {@link Workflow.groups}): drawn as subgraphs (dot: clusters) around their tasks. */
  groups?: Readonly<Record<string, readonly string[]>> | undefined;
};

/**
 * The groups as nested blocks: `open(groupId, n)` and `close()` around the `member(id)` lines
 * of each group's tasks, outermost groups first (a group inside a group is one of its members).
 */
function groupBlocks(workflow: DiagramWorkflow, open: (id: string, n: number) => string, member: (id: string) => string | undefined, close: string): string[] {
  const groups = workflow.groups ?? {};
  const inner = new Set(Object.values(groups).flat());
  const lines: string[] = [];
  let n = 0;
  const visit = (id: string, depth: number): void => {
    const pad = '  '.repeat(depth);
    lines.push(`${pad}${open(id, ++n)}`);
    for (const child of groups[id] ?? []) {
      if (Object.hasOwn(groups, child)) visit(child, depth + 1);
      else {
        const line = member(child);
        if (line !== undefined) lines.push(`${pad}  ${line}`);
      }
    }
    lines.push(`${pad}${close}`);
  };
  for (const id of Object.keys(groups)) if (!inner.has(id)) visit(id, 1);
  return lines;
}

/** A task's node label: its id, with `× n` for a fan-out (its list is known only when it runs) and `× ≤max` for a loop. */
function nodeLabel(task: DiagramWorkflow['tasks'][number]): string {
  if (task.for_each !== undefined) return `${task.id} × n`;
  const max = (task.repeat as { max?: unknown } | undefined)?.max;
  return typeof max === 'number' ? `${task.id} × ≤${max}` : task.id;
}

/** Longest `when:` shown on an edge. */
const WHEN_LABEL_MAX = 48;

/** The label of the edges into a task with a `when:` condition (`when: <expr>`, shortened). */
function whenLabel(task: { when?: Condition | undefined }): string | undefined {
  if (task.when === undefined) return undefined;
  const text = conditionText(task.when).replace(/\s+/g, ' ').trim();
  return `when: ${text.length > WHEN_LABEL_MAX ? `${text.slice(0, WHEN_LABEL_MAX - 1).trimEnd()}…` : text}`;
}

/** Each task's status in a stored run. */
export function runStatuses(run: Pick<RunCheckpoint, 'records'>): Record<string, TaskStatus> {
  const out: Record<string, TaskStatus> = {};
  for (const r of run.records) out[r.taskId] = r.status;
  return out;
}

/**
 * The task graph of `workflow` in Mermaid or dot: one node per task, one edge per dependency
 * (from the dependency to its dependant, in the order the workflow declares them); the edges
 * into a task with a `when:` condition carry it.
 */
export function workflowDiagram(workflow: DiagramWorkflow, options: DiagramOptions = {}): string {
  return (options.format ?? 'mermaid') === 'dot' ? dot(workflow, options) : mermaid(workflow, options);
}

const MERMAID_KEYWORDS = new Set(['end', 'graph', 'flowchart', 'subgraph', 'click', 'call', 'href', 'style', 'class', 'classdef', 'linkstyle', 'direction', 'default']);

function mermaid(workflow: DiagramWorkflow, options: DiagramOptions): string {
  // A task id is its node id when Mermaid reads it as one; others get `task_<n>`.
  const used = new Set<string>();
  const safe = workflow.tasks.map((t) => /^[A-Za-z][A-Za-z0-9_]*$/.test(t.id) && !MERMAID_KEYWORDS.has(t.id.toLowerCase()));
  workflow.tasks.forEach((t, i) => safe[i] && used.add(t.id));
  const nodeId = new Map<string, string>();
  workflow.tasks.forEach((t, i) => {
    if (safe[i]) return nodeId.set(t.id, t.id);
    let id = `task_${i + 1}`;
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    nodeId.set(t.id, id);
  });
  const label = (text: string): string => `"${text.replace(/[#"<>&]/g, (c) => `#${c.charCodeAt(0)};`)}"`;
  const lines = [`flowchart ${options.direction ?? 'LR'}`];
  for (const t of workflow.tasks) lines.push(`  ${nodeId.get(t.id)}[${label(nodeLabel(t))}]`);
  lines.push(...groupBlocks(workflow, (id, n) => `subgraph group_${n}[${label(id)}]`, (id) => nodeId.get(id), 'end'));
  for (const t of workflow.tasks) {
    const when = whenLabel(t);
    const arrow = when === undefined ? '-->' : `-->|${label(when)}|`;
    for (const d of t.depends_on) if (nodeId.has(d)) lines.push(`  ${nodeId.get(d)} ${arrow} ${nodeId.get(t.id)}`);
  }
  if (options.statuses) {
    const byStatus = groupByStatus(workflow, options.statuses);
    for (const [status, ids] of byStatus) {
      const c = statusColour(status);
      lines.push(`  classDef ${status} fill:${c.fill},stroke:${c.stroke},color:${c.text}`);
      lines.push(`  class ${ids.map((id) => nodeId.get(id)).join(',')} ${status}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function dot(workflow: DiagramWorkflow, options: DiagramOptions): string {
  const q = (text: string): string => `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
  const ids = new Set(workflow.tasks.map((t) => t.id));
  const lines = [
    `digraph ${q(workflow.id)} {`,
    `  rankdir=${options.direction ?? 'LR'};`,
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#9ca3af", fontname="Helvetica"];',
  ];
  for (const t of workflow.tasks) {
    const text = nodeLabel(t);
    const labelled = text === t.id ? '' : `label=${q(text)}`;
    if (!options.statuses) {
      lines.push(`  ${q(t.id)}${labelled ? ` [${labelled}]` : ''};`);
      continue;
    }
    const status = statusOf(options.statuses, t.id);
    const c = statusColour(status);
    lines.push(`  ${q(t.id)} [${labelled ? `${labelled}, ` : ''}fillcolor="${c.fill}", color="${c.stroke}", fontcolor="${c.text}", tooltip=${q(status)}];`);
  }
  lines.push(...groupBlocks(workflow, (id, n) => `subgraph "cluster_${n}" { label=${q(id)};`, (id) => (ids.has(id) ? `${q(id)};` : undefined), '}'));
  for (const t of workflow.tasks) {
    const when = whenLabel(t);
    const attrs = when === undefined ? '' : ` [label=${q(when)}, style=dashed]`;
    for (const d of t.depends_on) if (ids.has(d)) lines.push(`  ${q(d)} -> ${q(t.id)}${attrs};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function statusOf(statuses: Readonly<Record<string, string>>, taskId: string): string {
  const status = Object.hasOwn(statuses, taskId) ? statuses[taskId]! : 'pending';
  return Object.hasOwn(STATUS_COLOURS, status) ? status : 'pending';
}

/** Task ids by status, statuses in {@link STATUS_COLOURS} order. */
function groupByStatus(workflow: DiagramWorkflow, statuses: Readonly<Record<string, string>>): Array<[string, string[]]> {
  const out = new Map<string, string[]>(Object.keys(STATUS_COLOURS).map((s) => [s, []]));
  for (const t of workflow.tasks) out.get(statusOf(statuses, t.id))!.push(t.id);
  return [...out].filter(([, ids]) => ids.length > 0);
}
