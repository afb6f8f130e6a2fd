/**
 * Heap of one AgentSession with conversation memory over 10,000 prompts (issue 13): the
 * history is bounded (`maxHistoryTurns: 10`), so the heap after 10,000 executions should be the
 * heap after 1,000. Instant executor (no Claude), sequential prompts, V8 used heap after two
 * GCs. Cases: transcript mode (every prompt carries the last 10 turns), transcript mode with a
 * small `maxHistoryChars` (a summary every few prompts, cached in the process), and resume mode.
 * Runnable alone: `npm run build && node --expose-gc bench/session-memory.mjs`.
 */
import v8 from 'node:v8';
import { AgentMemory, AgentSession } from '../dist/index.js';
import { OK } from './executors.mjs';

const TOTAL = 10_000;
const CHECKPOINT = 1_000;
/** Heap growth from 1,000 to 10,000 prompts that still counts as flat. */
const FLAT_BYTES = 1024 * 1024;
const REPLY = 'The change is planned: update the schema, migrate the data, then switch the readers over. '.repeat(2);

async function usedHeap() {
  await new Promise((r) => setImmediate(r));
  global.gc();
  global.gc();
  return v8.getHeapStatistics().used_heap_size;
}

function executor(sessionId) {
  let n = 0;
  return async (request) => {
    n += 1;
    const summary = request.kind === 'claude' && request.prompt.startsWith('Summarize');
    return { ...OK, sessionId, output: summary ? `Summary ${n}: the schema is being migrated.` : `${REPLY}(${n})` };
  };
}

async function runCase({ name, context, maxHistoryChars, sessionId = null }) {
  const session = new AgentSession({
    agentName: 'bench',
    executor: executor(sessionId),
    memory: new AgentMemory({ maxHistoryTurns: 10 }),
    maxHistoryTurns: 10,
    ...(maxHistoryChars !== undefined && { maxHistoryChars }),
  });
  const before = await usedHeap();
  const started = performance.now();
  let atCheckpoint = 0;
  for (let i = 1; i <= TOTAL; i++) {
    await session.execute(`Prompt ${i}: what is the next step of the migration?`, context ? { context } : {});
    if (i === CHECKPOINT) atCheckpoint = await usedHeap();
  }
  const ms = performance.now() - started;
  const atEnd = await usedHeap();
  const snapshotBytes = JSON.stringify(session.getPersistedSnapshot()).length;
  const turns = session.memory.getHistory().filter((m) => m.role !== 'assistant').length;
  session.stop();
  return { name, before, atCheckpoint, atEnd, usPerPrompt: (ms * 1000) / TOTAL, snapshotBytes, turns };
}

export async function sessionMemoryBench() {
  if (typeof global.gc !== 'function') throw new Error('bench/session-memory.mjs needs --expose-gc');
  return [
    await runCase({ name: 'transcript, 10 turns', context: 'transcript' }),
    await runCase({ name: 'transcript, maxHistoryChars 2,000 (summaries)', context: 'transcript', maxHistoryChars: 2000 }),
    await runCase({ name: 'resume', sessionId: 'bench-claude-session' }),
  ];
}

/** Prints the table; returns whether every case stayed flat. */
export function printSessionMemoryTable(rows) {
  const mb = (b) => (b / 1024 / 1024).toFixed(2);
  console.log(`\n## Session memory: heap of one AgentSession over ${TOTAL.toLocaleString('en')} prompts, maxHistoryTurns 10 (instant executor)\n`);
  console.log('| case | µs per prompt | heap after 1,000 MB | heap after 10,000 MB | growth MB | turns kept | snapshot bytes | flat (< 1 MB growth) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let ok = true;
  for (const r of rows) {
    const growth = r.atEnd - r.atCheckpoint;
    const flat = growth < FLAT_BYTES;
    ok &&= flat;
    console.log(`| ${r.name} | ${r.usPerPrompt.toFixed(0)} | ${mb(r.atCheckpoint)} | ${mb(r.atEnd)} | ${mb(growth)} | ${r.turns} | ${r.snapshotBytes.toLocaleString('en')} | ${flat ? 'PASS' : 'MISS'} |`);
  }
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printSessionMemoryTable(await sessionMemoryBench());
}
