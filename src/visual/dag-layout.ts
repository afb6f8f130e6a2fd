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
 * Places every task and edge. Unknown dependencies (not in `nodes`) are ignored: a validated
 * workflow has none.
 */
export function layoutDag(nodes: readonly DagNodeInput[], options: DagLayoutOptions = {}): DagLayout {
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
