/**
 * Lays out a workflow's task graph (dagre, `@dagrejs/dagre`) for the pictures the CLI draws:
 * the live inspector, the run report, `agents-sdk diagram`. Computed in Node, so the pages
 * that show it need no script of their own to place the nodes.
 *
 * @module
 */
import dagre from '@dagrejs/dagre';

/** A task to place: its id and what it depends on. */
export interface DagNodeInput {
  id: string;
  dependsOn: readonly string[];
  /** Box size in px; default 160 × 44. */
  width?: number;
  height?: number;
}

/** A placed task: the centre of its box. */
export interface DagNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A placed dependency edge, from the dependency to the dependant, as a polyline. */
export interface DagEdge {
  from: string;
  to: string;
  points: Array<{ x: number; y: number }>;
}

/** The whole picture. */
export interface DagLayout {
  width: number;
  height: number;
  nodes: DagNode[];
  edges: DagEdge[];
}

/** Options of {@link layoutDag}. */
export interface DagLayoutOptions {
  /** `LR` (default: left to right, dependencies first) or `TB`. */
  direction?: 'LR' | 'TB';
  /** Space between tasks of one rank and between ranks (px). */
  nodeSep?: number;
  rankSep?: number;
  /** Margin around the picture (px). */
  margin?: number;
}

/**
 * Graphs with more tasks than this are placed by {@link layeredLayout} (linear time) instead of
 * dagre, whose ranking and crossing reduction grow much faster than the graph: about 1 s for
 * 100 tasks, minutes for 2,000 (a 2,000-task run's report took 45 s of CPU).
 */
export const DAGRE_MAX_NODES = 100;

/**
 * Places every task and edge: with dagre up to {@link DAGRE_MAX_NODES} tasks, else with
 * {@link layeredLayout}. Unknown dependencies (not in `nodes`) are ignored: a validated
 * workflow has none.
 */
export function layoutDag(nodes: readonly DagNodeInput[], options: DagLayoutOptions = {}): DagLayout {
  return nodes.length > DAGRE_MAX_NODES ? layeredLayout(nodes, options) : dagreLayout(nodes, options);
}

/**
 * A layered drawing in time linear in tasks and edges (plus sorting each rank): a task's rank
 * is its longest chain of dependencies (Kahn's topological order; a cycle, which a validated
 * workflow cannot have, goes to a last rank), each rank ordered by where its tasks'
 * dependencies stand (one barycentre sweep, ties in declaration order), edges straight from
 * the dependency's side to the dependant's.
 */
export function layeredLayout(nodes: readonly DagNodeInput[], options: DagLayoutOptions = {}): DagLayout {
  const margin = options.margin ?? 16;
  const nodeSep = options.nodeSep ?? 18;
  const rankSep = options.rankSep ?? 48;
  const lr = (options.direction ?? 'LR') === 'LR';
  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!index.has(n.id)) index.set(n.id, i);
  });
  const deps: number[][] = nodes.map((n) => [...new Set(n.dependsOn.flatMap((d) => (index.has(d) ? [index.get(d)!] : [])))]);
  const dependants: number[][] = nodes.map(() => []);
  deps.forEach((list, i) => list.forEach((d) => dependants[d]!.push(i)));
  const waiting = deps.map((list) => list.length);
  const rank: number[] = nodes.map(() => 0);
  const order = nodes.flatMap((_, i) => (waiting[i] === 0 ? [i] : []));
  for (let head = 0; head < order.length; head++) {
    const i = order[head]!;
    for (const j of dependants[i]!) {
      rank[j] = Math.max(rank[j]!, rank[i]! + 1);
      if (--waiting[j]! === 0) order.push(j);
    }
  }
  const placed = new Set(order);
  const lastRank = order.reduce((m, i) => Math.max(m, rank[i]!), -1) + 1;
  for (let i = 0; i < nodes.length; i++) if (!placed.has(i)) rank[i] = lastRank;

  const ranks: number[][] = [];
  for (let i = 0; i < nodes.length; i++) (ranks[rank[i]!] ??= []).push(i);
  const slot: number[] = nodes.map(() => 0);
  for (const members of ranks) {
    if (!members) continue;
    const key = (i: number): number => (deps[i]!.length === 0 ? i : deps[i]!.reduce((sum, d) => sum + slot[d]!, 0) / deps[i]!.length);
    const keys = new Map(members.map((i) => [i, key(i)]));
    members.sort((a, b) => keys.get(a)! - keys.get(b)! || a - b);
    members.forEach((i, k) => (slot[i] = k));
  }

  const w = (i: number): number => nodes[i]!.width ?? 160;
  const h = (i: number): number => nodes[i]!.height ?? 44;
  // Along the ranks (x for LR) each rank is as thick as its largest task; across, tasks stack.
  const along = (i: number): number => (lr ? w(i) : h(i));
  const across = (i: number): number => (lr ? h(i) : w(i));
  const out: DagNode[] = nodes.map((n, i) => ({ id: n.id, x: 0, y: 0, width: w(i), height: h(i) }));
  let offset = margin;
  let extent = 0;
  for (const members of ranks) {
    if (!members) continue;
    const thickness = Math.max(...members.map(along));
    let cursor = margin;
    for (const i of members) {
      const centreAlong = offset + thickness / 2;
      const centreAcross = cursor + across(i) / 2;
      out[i]!.x = lr ? centreAlong : centreAcross;
      out[i]!.y = lr ? centreAcross : centreAlong;
      cursor += across(i) + nodeSep;
    }
    extent = Math.max(extent, cursor - nodeSep);
    offset += thickness + rankSep;
  }
  const length = ranks.length === 0 ? 2 * margin : offset - rankSep + margin;
  const breadth = extent + margin;
  const edges: DagEdge[] = [];
  deps.forEach((list, to) => {
    for (const from of list) {
      const a = out[from]!;
      const b = out[to]!;
      const points = lr
        ? [{ x: a.x + a.width / 2, y: a.y }, { x: b.x - b.width / 2, y: b.y }]
        : [{ x: a.x, y: a.y + a.height / 2 }, { x: b.x, y: b.y - b.height / 2 }];
      edges.push({ from: nodes[from]!.id, to: nodes[to]!.id, points });
    }
  });
  return { width: Math.ceil(lr ? length : breadth), height: Math.ceil(lr ? breadth : length), nodes: out, edges };
}

/** dagre's layout (network simplex ranking, crossing reduction): the nicer picture, for small graphs. */
export function dagreLayout(nodes: readonly DagNodeInput[], options: DagLayoutOptions = {}): DagLayout {
  const g = new dagre.graphlib.Graph();
  const margin = options.margin ?? 16;
  g.setGraph({ rankdir: options.direction ?? 'LR', nodesep: options.nodeSep ?? 18, ranksep: options.rankSep ?? 48, marginx: margin, marginy: margin });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, { width: n.width ?? 160, height: n.height ?? 44 });
  for (const n of nodes) for (const d of n.dependsOn) if (ids.has(d)) g.setEdge(d, n.id);
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes: nodes.map((n) => {
      const placed = g.node(n.id) as { x: number; y: number; width: number; height: number };
      return { id: n.id, x: placed.x, y: placed.y, width: placed.width, height: placed.height };
    }),
    edges: g.edges().map((e: { v: string; w: string }) => ({ from: e.v, to: e.w, points: ((g.edge(e) as { points?: Array<{ x: number; y: number }> }).points ?? []).map((p) => ({ x: p.x, y: p.y })) })),
  };
}
