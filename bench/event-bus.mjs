/**
 * Publish throughput of the event bus with 10 subscribers (sync handlers), beside bare mitt
 * (what it is built on) with the same 10 handlers: events per second, measured in the same
 * process. Runnable alone: `npm run build && node bench/event-bus.mjs`.
 */
import mitt from 'mitt';
import { createEventBus } from '../dist/index.js';

const EVENTS = 200_000;
const SUBSCRIBERS = 10;

async function priorityBus() {
  const bus = createEventBus({ historyLimit: 1000 });
  let seen = 0;
  for (let i = 0; i < SUBSCRIBERS; i++) bus.subscribe('task.done', () => void (seen += 1));
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) await bus.publish({ type: 'task.done', payload: { i }, source: 'bench' });
  const ms = performance.now() - started;
  if (seen !== EVENTS * SUBSCRIBERS) throw new Error(`delivered ${seen}`);
  return ms;
}

function mittBus() {
  const bus = mitt();
  let seen = 0;
  for (let i = 0; i < SUBSCRIBERS; i++) bus.on('task.done', () => void (seen += 1));
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) bus.emit('task.done', { i });
  const ms = performance.now() - started;
  if (seen !== EVENTS * SUBSCRIBERS) throw new Error(`delivered ${seen}`);
  return ms;
}

export async function eventBusBench() {
  await priorityBus(); // warm-up
  mittBus();
  const busMs = await priorityBus();
  const mittMs = mittBus();
  return { events: EVENTS, subscribers: SUBSCRIBERS, busPerSec: (EVENTS / busMs) * 1000, mittPerSec: (EVENTS / mittMs) * 1000 };
}

export function printEventBusTable(r) {
  console.log(`\n## Event bus: publish throughput, ${r.subscribers} subscribers, ${r.events.toLocaleString('en')} events\n`);
  console.log('| bus | events/s | µs per event |');
  console.log('| --- | --- | --- |');
  console.log(`| EventBus (awaited publish, history on) | ${Math.round(r.busPerSec).toLocaleString('en')} | ${(1e6 / r.busPerSec).toFixed(2)} |`);
  console.log(`| bare mitt (baseline, synchronous emit) | ${Math.round(r.mittPerSec).toLocaleString('en')} | ${(1e6 / r.mittPerSec).toFixed(2)} |`);
  console.log(`\nThe event bus costs ${(r.mittPerSec / r.busPerSec).toFixed(1)}× mitt per event (priority queue, isolation, history, an awaited promise).`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printEventBusTable(await eventBusBench());
}
