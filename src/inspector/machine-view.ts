/**
 * A machine's statechart for the inspector page, drawn from its definition (the config an
 * `@xstate.actor` message carries): one box per top-level state, its child states listed
 * inside, one arrow per pair of states with the events that take it, placed by
 * {@link layoutDag}. Nothing here knows the names of our machines' states.
 *
 * @module
 */
import { layoutDag } from '../visual/dag-layout.js';

/** A top-level state, placed (centre, size). */
export interface StateBox {
  key: string;
  /** `final`, `parallel`, `history`, `compound` (has children) or `atomic`. */
  type: string;
  initial: boolean;
  /** Child states, as `parent.child` paths (depth first). */
  children: string[];
  /** Events that lead back to the same state. */
  selfEvents: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A transition between two top-level states, with every event that takes it. */
export interface TransitionArrow {
  from: string;
  to: string;
  label: string;
  /** One label per transition: `EVENT`, `EVENT [guard]`, or `[guard]` for a guarded `always`. */
  labels: string[];
  points: Array<{ x: number; y: number }>;
}

/** What the page draws for a machine. */
export interface MachineView {
  id: string;
  states: StateBox[];
  arrows: TransitionArrow[];
  /** Transitions of the machine itself (from any state): `EVENT → state`. */
  anyState: string[];
  width: number;
  height: number;
}

interface StateConfig {
  type?: string;
  initial?: string;
  states?: Record<string, StateConfig>;
  on?: Record<string, unknown>;
  always?: unknown;
  after?: Record<string, unknown>;
  onDone?: unknown;
  invoke?: unknown;
}

/** The targets of a transition config (string, array, `{ target }`), as strings. */
function targetsOf(transition: unknown): string[] {
  if (typeof transition === 'string') return [transition];
  if (Array.isArray(transition)) return transition.flatMap(targetsOf);
  if (transition && typeof transition === 'object') {
    const target = (transition as { target?: unknown }).target;
    if (typeof target === 'string') return [target];
    if (Array.isArray(target)) return target.filter((t): t is string => typeof t === 'string');
  }
  return [];
}

/**
 * The top-level state a target leads to, from top-level state `from` (undefined for the
 * machine itself): `#machine.x.y` and `.x` (of the machine) and siblings `x`.
 */
function resolveTop(target: string, from: string | undefined, machineId: string, keys: Set<string>): string | undefined {
  if (target.startsWith('#')) {
    const parts = target.slice(1).split('.');
    const key = parts[0] === machineId ? parts[1] : parts.find((p) => keys.has(p));
    return key !== undefined && keys.has(key) ? key : undefined;
  }
  if (target.startsWith('.')) return from === undefined ? target.slice(1).split('.')[0] : from;
  const key = target.split('.')[0]!;
  return keys.has(key) ? key : from;
}

/**
 * A guard's name as a definition carries it: `'name'`, `{ type: 'name' }`, `{ type, params }`
 * (→ `name(params)`), XState's `not(g)`/`and([...])`/`or([...])` (→ `!g`, `a && b`, `a || b`),
 * or another function (its name).
 */
function guardName(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    // XState's not()/and()/or() are functions that keep the guards they combine
    const combined = (guard as unknown as { guards?: unknown }).guards;
    const parts = Array.isArray(combined) ? (combined.map(guardName) as string[]) : undefined;
    if (parts && guard.name === 'not') return `!${parts[0]}`;
    if (parts && (guard.name === 'and' || guard.name === 'or')) return parts.join(guard.name === 'and' ? ' && ' : ' || ');
    return guard.name || 'guard';
  }
  if (!guard || typeof guard !== 'object') return undefined;
  const { type, params } = guard as { type?: unknown; params?: unknown };
  if (typeof type !== 'string') return undefined;
  if (params === undefined) return type;
  return `${type}(${typeof params === 'string' ? params : JSON.stringify(params)})`;
}

/**
 * Each branch of a transition config, labelled: `event [guard]`, or `[guard]` alone for an
 * `always` branch that has one (an unguarded one stays `always`).
 */
function branchesOf(event: string, transition: unknown): Array<[string, string]> {
  const branches = Array.isArray(transition) ? transition : [transition];
  return branches.flatMap((branch) => {
    const guard = branch && typeof branch === 'object' ? guardName((branch as { guard?: unknown }).guard) : undefined;
    const label = guard === undefined ? event : event === 'always' ? `[${guard}]` : `${event} [${guard}]`;
    return targetsOf(branch).map((target): [string, string] => [label, target]);
  });
}

/** Every transition of a state node and its descendants: `[label, target]`. */
function transitionsOf(node: StateConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [event, t] of Object.entries(node.on ?? {})) out.push(...branchesOf(event, t));
  out.push(...branchesOf('always', node.always));
  for (const [delay, t] of Object.entries(node.after ?? {})) out.push(...branchesOf(`after ${delay}`, t));
  out.push(...branchesOf('done', node.onDone));
  const invokes = Array.isArray(node.invoke) ? node.invoke : node.invoke ? [node.invoke] : [];
  for (const invoke of invokes as Array<{ onDone?: unknown; onError?: unknown }>) {
    out.push(...branchesOf('done', invoke.onDone));
    out.push(...branchesOf('error', invoke.onError));
  }
  for (const child of Object.values(node.states ?? {})) out.push(...transitionsOf(child));
  return out;
}

function childPaths(node: StateConfig, prefix: string): string[] {
  return Object.entries(node.states ?? {}).flatMap(([key, child]) => [`${prefix}.${key}`, ...childPaths(child, `${prefix}.${key}`)]);
}

/**
 * The statechart of a machine definition (its config, or the JSON text of it).
 *
 * @returns undefined when `definition` is not a machine config (no `states`).
 */
export function machineView(definition: string | object | undefined): MachineView | undefined {
  let config: StateConfig & { id?: string };
  try {
    config = (typeof definition === 'string' ? JSON.parse(definition) : definition) as StateConfig & { id?: string };
  } catch {
    return undefined;
  }
  if (!config || typeof config !== 'object' || !config.states || typeof config.states !== 'object') return undefined;
  const id = typeof config.id === 'string' ? config.id : '(machine)';
  const entries = Object.entries(config.states);
  const keys = new Set(entries.map(([key]) => key));
  const labels = new Map<string, Set<string>>();
  const selfEvents = new Map<string, Set<string>>();
  const anyState: string[] = [];
  const add = (map: Map<string, Set<string>>, key: string, label: string) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(label);
  };
  for (const [event, target] of transitionsOf({ ...(config.on !== undefined && { on: config.on }) })) {
    const to = resolveTop(target, undefined, id, keys);
    if (to !== undefined) anyState.push(`${event} → ${to}`);
  }
  for (const [key, node] of entries) {
    for (const [event, target] of transitionsOf(node)) {
      const to = resolveTop(target, key, id, keys);
      if (to === undefined) continue;
      if (to === key) add(selfEvents, key, event);
      else add(labels, `${key}\u0000${to}`, event);
    }
  }
  const dependsOn = new Map<string, string[]>(entries.map(([key]) => [key, []]));
  for (const pair of labels.keys()) {
    const [from, to] = pair.split('\u0000') as [string, string];
    dependsOn.get(to)!.push(from);
  }
  const sizes = new Map(
    entries.map(([key, node]) => {
      const lines = [key, ...childPaths(node, key).map((p) => `  ${p.slice(key.length + 1)}`)];
      const longest = Math.max(...lines.map((l) => l.length));
      return [key, { width: Math.max(90, longest * 8 + 28), height: 34 + (lines.length - 1) * 16, lines }];
    }),
  );
  const layout = layoutDag(
    entries.map(([key]) => ({ id: key, dependsOn: dependsOn.get(key)!, width: sizes.get(key)!.width, height: sizes.get(key)!.height })),
    { direction: 'LR', nodeSep: 28, rankSep: 90 },
  );
  const placed = new Map(layout.nodes.map((n) => [n.id, n]));
  return {
    id,
    width: layout.width,
    height: layout.height,
    anyState,
    states: entries.map(([key, node]) => {
      const p = placed.get(key)!;
      const children = childPaths(node, key);
      const type = node.type ?? (children.length > 0 ? 'compound' : 'atomic');
      return { key, type, initial: config.initial === key, children, selfEvents: [...(selfEvents.get(key) ?? [])], x: p.x, y: p.y, width: p.width, height: p.height };
    }),
    arrows: layout.edges.map((e) => {
      const each = [...(labels.get(`${e.from}\u0000${e.to}`) ?? [])];
      return { from: e.from, to: e.to, label: each.join(', '), labels: each, points: e.points };
    }),
  };
}

/** The active state paths of a snapshot value (`'running'`, `{ running: 'a' }` → `running`, `running.a`). */
export function activePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...activePaths(child, path)];
  });
}
