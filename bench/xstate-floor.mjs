/**
 * The XState floor: what the orchestrator's design costs before any of our code runs.
 *
 * Same ready queue as bench/baseline.mjs (FIFO, unfinished-dependency counts), but driven the
 * way the design prescribes: a parent XState machine spawns one child machine per task, by
 * name, with the task id as actor id, and stops it (`stopChild`) when it reports back. Two
 * children:
 *
 *  - `empty`: a one-state child that reports at once and never calls the executor: the cost
 *    of one spawned-and-stopped child actor per task, below which no design-conforming
 *    scheduler can go on xstate 5.
 *  - `invoke`: a two-state child that invokes the executor (`fromPromise`) and reports its
 *    output: the smallest session actor that runs anything.
 *
 * No validation, no events, no retries, no records beyond what `check` in run.mjs reads.
 */
import { assign, createActor, enqueueActions, fromPromise, sendParent, setup } from 'xstate';

const hooks = { signal: new AbortController().signal, onEvent: () => {} };

const emptyChild = setup({}).createMachine({
  id: 'emptyTask',
  initial: 'done',
  states: { done: { entry: sendParent(({ self }) => ({ type: 'TASK.DONE', id: self.id, output: '' })) } },
});

function invokingChild(executor) {
  return setup({
    actors: { run: fromPromise(({ input }) => executor({ kind: 'claude', prompt: 'x', agentName: input }, hooks)) },
  }).createMachine({
    id: 'task',
    context: ({ self }) => ({ output: null, id: self.id }),
    initial: 'running',
    states: {
      running: {
        invoke: {
          src: 'run',
          input: ({ self }) => self.id,
          onDone: { target: 'completed', actions: assign({ output: ({ event }) => event.output.output }) },
        },
      },
      completed: {
        type: 'final',
        entry: sendParent(({ context, self }) => ({ type: 'TASK.DONE', id: self.id, output: context.output })),
      },
    },
  });
}

/**
 * Runs `graph` (`[{ id, deps }]`) through a parent machine with one child actor per task, at
 * most `concurrency` at once. `child`: `'empty'` or `'invoke'` (see the module comment).
 * Resolves with `{ status, taskResults, totalTimeMs }` like the baseline.
 */
export function runXStateFloor(graph, concurrency, executor, child = 'invoke') {
  const startedAt = Date.now();
  const n = graph.length;
  const index = new Map(graph.map((t, i) => [t.id, i]));
  const dependants = Array.from({ length: n }, () => []);
  const remaining = graph.map((t) => t.deps.length);
  graph.forEach((t, i) => t.deps.forEach((d) => dependants[index.get(d)].push(i)));

  const parent = setup({
    actors: { task: child === 'empty' ? emptyChild : invokingChild(executor) },
    actions: {
      step: enqueueActions(({ context: c, event, enqueue }) => {
        if (event.type === 'TASK.DONE') {
          const i = index.get(event.id);
          c.records[i].output = event.output;
          c.records[i].endedAt = Date.now();
          c.finished.push(i);
          c.running -= 1;
          enqueue.stopChild(event.id);
          for (const d of dependants[i]) if (--remaining[d] === 0) c.ready.push(d);
        }
        while (c.running < concurrency && c.head < c.ready.length) {
          const i = c.ready[c.head++];
          c.records[i] = { taskId: graph[i].id, startedAt: Date.now(), endedAt: 0, output: null };
          c.running += 1;
          enqueue.spawnChild('task', { id: graph[i].id });
        }
      }),
    },
  }).createMachine({
    context: () => ({ ready: graph.flatMap((t, i) => (t.deps.length === 0 ? [i] : [])), head: 0, running: 0, records: new Array(n), finished: [] }),
    initial: 'running',
    states: {
      running: {
        entry: 'step',
        on: { 'TASK.DONE': { actions: 'step' } },
        always: { guard: ({ context }) => context.finished.length === n, target: 'done' },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context,
  });

  return new Promise((resolve, reject) => {
    const actor = createActor(parent);
    actor.subscribe({
      error: reject,
      complete: () => {
        const { records, finished } = actor.getSnapshot().output;
        const taskResults = finished.map((i) => ({
          taskId: records[i].taskId,
          status: 'completed',
          output: records[i].output,
          startedAt: new Date(records[i].startedAt).toISOString(),
          endedAt: new Date(records[i].endedAt).toISOString(),
        }));
        resolve({ status: 'completed', taskResults, totalTimeMs: Date.now() - startedAt });
      },
    });
    actor.start();
  });
}
