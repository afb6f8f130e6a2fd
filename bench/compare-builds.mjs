/**
 * Per-task overhead of two builds of the orchestrator, in one process, runs interleaved so that
 * the machine's load hits both alike: for checking a change against the code before it.
 *
 *   git stash && npm run build && cp -r dist dist-before && git stash pop && npm run build
 *   node --expose-gc bench/compare-builds.mjs dist-before dist
 *
 * Instant executor, no state backend, no event log: scheduling cost only.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { instantExecutor } from './executors.mjs';
import { independent, layered, toSpec } from './graphs.mjs';

const [a = 'dist-before', b = 'dist'] = process.argv.slice(2);
const builds = { [a]: await import(pathToFileURL(resolve(a, 'index.js')).href), [b]: await import(pathToFileURL(resolve(b, 'index.js')).href) };
const cases = [
  ['1,000 independent, max_parallel 64', independent(1_000), 64],
  ['10,000 independent, max_parallel 64', independent(10_000), 64],
  ['20×50 layered, max_parallel 8', layered(20, 50), 8],
];
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [name, graph, maxParallel] of cases) {
  const times = { [a]: [], [b]: [] };
  for (let round = 0; round < 4; round++) {
    for (const build of round % 2 ? [a, b] : [b, a]) {
      const { WorkflowOrchestrator } = builds[build];
      const orchestrator = new WorkflowOrchestrator({ stateDir: '.tmp/bench-compare', executor: instantExecutor, stateBackend: null, eventLog: false });
      global.gc?.();
      const start = process.cpuUsage();
      await orchestrator.runWorkflow(toSpec(graph, maxParallel));
      const used = process.cpuUsage(start);
      times[build].push((used.user + used.system) / graph.length);
    }
  }
  const ta = median(times[a]);
  const tb = median(times[b]);
  console.log(`${name}: ${a} ${ta.toFixed(0)} µs/task, ${b} ${tb.toFixed(0)} µs/task (CPU), ratio ${(tb / ta).toFixed(2)}`);
}
