/**
 * The reference scheduler: a minimal ready-queue on p-limit. Count unfinished dependencies
 * per task; when a task finishes, decrement its dependants and submit the newly ready ones to
 * the limiter. It keeps what a user needs from a run (status, output, start/end times per task,
 * in completion order) and nothing else: no validation, no events, no priorities (FIFO).
 */
import pLimit from 'p-limit';

const hooks = { signal: new AbortController().signal, onEvent: () => {} };

/**
 * Runs `graph` (`[{ id, deps }]`) with at most `concurrency` tasks at once, each through
 * `executor(request, hooks)`. Resolves with `{ status, taskResults, totalTimeMs }`.
 */
export function runBaseline(graph, concurrency, executor) {
  const startedAt = Date.now();
  const n = graph.length;
  const index = new Map();
  for (let i = 0; i < n; i++) index.set(graph[i].id, i);
  const remaining = new Array(n);
  const dependants = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const deps = graph[i].deps;
    remaining[i] = deps.length;
    for (const d of deps) dependants[index.get(d)].push(i);
  }
  const limit = pLimit(concurrency);
  const records = [];

  return new Promise((resolve, reject) => {
    let done = 0;
    const finish = (i) => {
      done += 1;
      for (const d of dependants[i]) if (--remaining[d] === 0) submit(d);
      if (done === n) {
        const taskResults = records.map((r) => ({
          taskId: r.taskId,
          status: r.status,
          output: r.output,
          startedAt: new Date(r.startedAt).toISOString(),
          endedAt: new Date(r.endedAt).toISOString(),
        }));
        resolve({ status: 'completed', taskResults, totalTimeMs: Date.now() - startedAt });
      }
    };
    const submit = (i) => {
      limit(async () => {
        const record = { taskId: graph[i].id, status: 'running', output: null, startedAt: Date.now(), endedAt: 0 };
        const result = await executor({ kind: 'claude', prompt: 'x', agentName: graph[i].id }, hooks);
        record.status = result.success ? 'completed' : 'failed';
        record.output = result.output;
        record.endedAt = Date.now();
        records.push(record);
      }).then(() => finish(i), reject);
    };
    for (let i = 0; i < n; i++) if (remaining[i] === 0) submit(i);
  });
}
