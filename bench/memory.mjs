/**
 * Memory stores (issue 13): the cost of one `store` at 1,000, 10,000 and 100,000 entries on the
 * JSON and SQLite stores (target: flat, 100k / 1k ≤ 1.5×), and search latency (p50, p95) at
 * 10,000 and 100,000 entries. Runnable alone: `npm run build && node bench/memory.mjs`.
 *
 * Each store is filled through its own API (JSON without fdatasync, to keep the fill short;
 * compactions included), then timed: `STORES` new keys stored one after another, durably
 * (JSON: fdatasync per store, the default; SQLite: WAL, synchronous NORMAL, the default), and
 * the JSON store once more without fdatasync, where the disk no longer hides the store's own
 * cost. Search: `QUERIES` two-word queries of words the entries use; the JSON store's index is
 * built by its first search, timed apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JsonMemoryBackend } from '../dist/index.js';
import { SqliteMemoryBackend } from '../dist/sqlite.js';

const SIZES = [1_000, 10_000, 100_000];
const SEARCH_SIZES = new Set([10_000, 100_000]);
const STORES = Number(process.env.BENCH_MEMORY_STORES ?? 300);
const QUERIES = 50;
const TARGET_FLAT = 1.5;

/** A deterministic vocabulary of 5,000 pronounceable words, and a seeded random pick. */
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'ze', 'po', 'da', 'fu', 'gi', 'ho', 'je', 'bu', 'xo'];
const WORDS = Array.from({ length: 5_000 }, (_, i) => SYLLABLES[i % 17] + SYLLABLES[Math.floor(i / 17) % 17] + SYLLABLES[Math.floor(i / 289) % 17] + (i % 7 === 0 ? 'n' : ''));
function random(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const next = random(13);
const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
const entry = (i) => ({ text: words(8), n: i });

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function timeStores(memory, from, count) {
  const started = performance.now();
  for (let i = 0; i < count; i++) await memory.store(`timed:${from + i}`, entry(from + i));
  return ((performance.now() - started) * 1000) / count;
}

async function timeSearches(memory) {
  const times = [];
  let found = 0;
  for (let q = 0; q < QUERIES; q++) {
    const started = performance.now();
    found += (await memory.search(words(2), { limit: 10 })).length;
    times.push(performance.now() - started);
  }
  if (found === 0) throw new Error('memory bench: searches found nothing');
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

async function benchKind(kind) {
  const dir = mkdtempSync(join(tmpdir(), `agents-sdk-memory-bench-${kind}-`));
  const open = (options) => (kind === 'json' ? new JsonMemoryBackend(dir, options) : SqliteMemoryBackend.open(join(dir, 'memory.sqlite'), options));
  const filler = await open({ sync: false });
  const durable = await open({});
  const rows = [];
  let filled = 0;
  let timed = 0;
  try {
    for (const size of SIZES) {
      const fillStarted = performance.now();
      const fillFrom = filled;
      for (; filled < size; filled++) await filler.store(`entry:${filled}`, entry(filled));
      const fillUs = ((performance.now() - fillStarted) * 1000) / (size - fillFrom);
      await durable.retrieve('entry:0'); // catches up with the fill (JSON)
      const storeUs = await timeStores(durable, timed, STORES);
      timed += STORES;
      const fastUs = kind === 'json' ? await timeStores(filler, timed, STORES) : null;
      if (kind === 'json') timed += STORES;
      const row = { kind, size, fillUs, storeUs, fastUs, search: null, indexMs: null };
      if (SEARCH_SIZES.has(size)) {
        const started = performance.now();
        await durable.search('kalomi', { limit: 1 });
        row.indexMs = performance.now() - started;
        row.search = await timeSearches(durable);
      }
      rows.push(row);
      process.stderr.write(`  memory ${kind} ${size}: store ${storeUs.toFixed(0)} µs\n`);
    }
  } finally {
    await filler.close();
    await durable.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export async function memoryBench() {
  const rows = [...(await benchKind('json'))];
  try {
    rows.push(...(await benchKind('sqlite')));
  } catch (error) {
    if (error?.code !== 'BACKEND_UNAVAILABLE') throw error;
    process.stderr.write('  memory sqlite: better-sqlite3 is not available, skipped\n');
  }
  return rows;
}

/** Prints the tables; returns the verdicts (flat store cost per backend). */
export function printMemoryTable(rows) {
  console.log('\n## Memory stores: cost of one store, and search latency (issue 13)\n');
  console.log(`${STORES} new keys stored after filling to each size; "fill" is the average store while filling (JSON without fdatasync, compactions included).\n`);
  console.log('| store | entries | store (default durability) | store, JSON without fdatasync | fill, per entry | search p50 | search p95 | first search (builds the index) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const search = r.search ? [`${r.search.p50.toFixed(2)} ms`, `${r.search.p95.toFixed(2)} ms`, `${r.indexMs.toFixed(0)} ms`] : ['', '', ''];
    console.log(
      `| ${r.kind} | ${r.size.toLocaleString('en')} | ${r.storeUs.toFixed(0)} µs | ${r.fastUs === null ? '' : `${r.fastUs.toFixed(0)} µs`} | ${r.fillUs.toFixed(0)} µs | ${search.join(' | ')} |`,
    );
  }
  const verdicts = [];
  for (const kind of ['json', 'sqlite']) {
    const of = (size) => rows.find((r) => r.kind === kind && r.size === size);
    if (!of(1_000) || !of(100_000)) continue;
    const ratio = of(100_000).storeUs / of(1_000).storeUs;
    const parts = [`${kind}: store 100k / 1k = ${ratio.toFixed(2)}×`];
    if (kind === 'json') parts.push(`without fdatasync ${(of(100_000).fastUs / of(1_000).fastUs).toFixed(2)}×`);
    parts.push(`fill ${(of(100_000).fillUs / of(1_000).fillUs).toFixed(2)}×`);
    const ok = ratio <= TARGET_FLAT;
    console.log(`\n${parts.join(', ')}: ${ok ? 'PASS' : 'MISS'} (target ≤ ${TARGET_FLAT}×).`);
    verdicts.push(ok);
  }
  return verdicts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printMemoryTable(await memoryBench());
}
