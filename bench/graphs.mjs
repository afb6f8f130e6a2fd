/**
 * Deterministic task graphs for the scheduling benchmark. A graph is an array of
 * `{ id, deps }` in a valid declaration order (every dependency is declared earlier).
 */

/** `n` tasks with no dependencies. */
export function independent(n, prefix = 't') {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, deps: [] }));
}

/** `n` tasks in a single chain: t(i) depends on t(i-1). */
export function chain(n, prefix = 'c') {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, deps: i === 0 ? [] : [`${prefix}${i - 1}`] }));
}

/**
 * `layers` layers of `width` tasks. Task j of layer l > 0 depends on `fanIn` tasks of layer l-1:
 * j, j+1, j+⌊width/2⌋ (mod width) for fanIn 3 (distinct whenever width ≥ 4), or ALL of them
 * with `fanIn: 'all'`. Critical path = `layers` tasks.
 */
export function layered(layers, width, fanIn = 3, prefix = 'L') {
  const id = (l, j) => `${prefix}${l}_${j}`;
  const offsets = fanIn === 'all' ? null : [0, 1, Math.floor(width / 2), 2, 3].slice(0, fanIn);
  const out = [];
  for (let l = 0; l < layers; l++) {
    for (let j = 0; j < width; j++) {
      let deps = [];
      if (l > 0) {
        deps = offsets === null
          ? Array.from({ length: width }, (_, k) => id(l - 1, k))
          : [...new Set(offsets.map((o) => (j + o) % width))].map((k) => id(l - 1, k));
      }
      out.push({ id: id(l, j), deps });
    }
  }
  return out;
}

/**
 * A graph where start order matters: `chainLength` chained tasks declared AFTER `others`
 * independent ones. Critical-path-first finishes in max(chainLength, ceil(total / slots))
 * waves; FIFO / declaration order needs ceil(others / slots) + chainLength waves.
 */
export function chainBehindIndependents(chainLength, others) {
  return [...independent(others, 'i'), ...chain(chainLength, 'c')];
}

/** Number of dependency edges. */
export function edgeCount(graph) {
  return graph.reduce((n, t) => n + t.deps.length, 0);
}

/** The graph as a workflow spec for `WorkflowOrchestrator.runWorkflow`. */
export function toSpec(graph, maxParallel, id = 'bench') {
  return {
    id,
    max_parallel: maxParallel,
    tasks: graph.map((t) => (t.deps.length === 0 ? { id: t.id, prompt: 'x' } : { id: t.id, prompt: 'x', depends_on: t.deps })),
  };
}
