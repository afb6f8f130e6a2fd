/**
 * The same graphs on LangGraph JS (`@langchain/langgraph`, a devDependency used here only):
 * a StateGraph with one node per task, `addEdge(START, task)` for a task without
 * dependencies, `addEdge([deps...], task)` for the others (a join waits for all of them),
 * `maxConcurrency` = max_parallel, `recursionLimit` above the task count, no checkpointer.
 * Each node calls the same executor as the other schedulers and records its start and end
 * (outside the graph state, as the baseline does). The state is one list of finished task ids
 * whose reducer appends in place: the cheapest state LangGraph allows, so that the figures are
 * LangGraph's scheduling, not a copied state.
 */
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';

const hooks = { signal: new AbortController().signal, onEvent: () => {} };

/** Builds and compiles the graph (not timed: a user compiles once and invokes many times). */
export function compileLangGraph(graph, executor, records) {
  const State = Annotation.Root({
    done: Annotation({
      reducer: (list, update) => {
        for (const id of update) list.push(id);
        return list;
      },
      default: () => [],
    }),
  });
  const builder = new StateGraph(State);
  for (const t of graph) {
    builder.addNode(t.id, async () => {
      const startedAt = Date.now();
      const result = await executor({ kind: 'claude', prompt: 'x', agentName: t.id }, hooks);
      records.push({ taskId: t.id, status: result.success ? 'completed' : 'failed', output: result.output, startedAt, endedAt: Date.now() });
      return { done: [t.id] };
    });
  }
  const hasDependants = new Set(graph.flatMap((t) => t.deps));
  for (const t of graph) {
    if (t.deps.length === 0) builder.addEdge(START, t.id);
    else builder.addEdge(t.deps.length === 1 ? t.deps[0] : t.deps, t.id);
    if (!hasDependants.has(t.id)) builder.addEdge(t.id, END);
  }
  return builder.compile();
}

/**
 * Runs `graph` (`[{ id, deps }]`) on LangGraph with at most `concurrency` nodes at once.
 * Resolves with `{ status, taskResults, totalTimeMs }` like the baseline. `compiled`: a graph
 * from {@link compileLangGraph} with the same `records` array, to leave compilation untimed.
 */
export async function runLangGraph(graph, concurrency, executor, compiled) {
  const records = compiled?.records ?? [];
  const app = compiled?.app ?? compileLangGraph(graph, executor, records);
  records.length = 0;
  const startedAt = Date.now();
  await app.invoke({}, { maxConcurrency: concurrency, recursionLimit: graph.length + 10 });
  const taskResults = records.map((r) => ({
    taskId: r.taskId,
    status: r.status,
    output: r.output,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: new Date(r.endedAt).toISOString(),
  }));
  return { status: 'completed', taskResults, totalTimeMs: Date.now() - startedAt };
}
