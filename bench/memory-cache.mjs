/**
 * Workflows use memory (issue 13): examples/cached-review.yaml (four analyses cached by the hash
 * of the file each reads, and a summary cached by the hash of them all), copied to a temporary
 * directory and run through the CLI with the fake claude (test/fixtures/fake-claude/claude),
 * whose invocation log counts the agent calls; cost comes from the runs' results.
 *  1. cold: nothing in memory.
 *  2. warm: the same files again. Targets: ≥ 40% fewer agent calls, ≥ 40% less spent.
 *  3. one file changed (src/cart.ts): only the tasks whose key covers it run (review-cart, summary).
 * Runnable alone: `npm run build && node bench/memory-cache.mjs`.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../dist/cli/run-cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FAKE_CLAUDE = join(ROOT, 'test/fixtures/fake-claude/claude');
/** Fewer calls and less cost on the warm run, as a fraction of the cold run's. */
export const MEMORY_CACHE_TARGET = 0.4;

/** Runs the three phases; resolves with one row per run and the verdicts. */
export async function memoryCacheBench() {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-memory-cache-'));
  const log = join(dir, 'fake-claude.log');
  const env = { CLAUDE_CODE_PATH: FAKE_CLAUDE, FAKE_CLAUDE_STATE_DIR: join(dir, 'fake-state'), FAKE_CLAUDE_LOG: log };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    cpSync(join(ROOT, 'examples/cached-review.yaml'), join(dir, 'cached-review.yaml'));
    cpSync(join(ROOT, 'examples/cached-review'), join(dir, 'cached-review'), { recursive: true });
    const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"prompt"')).map((l) => JSON.parse(l)) : []);
    const run = async (name) => {
      const before = calls().length;
      let stdout = '';
      const started = performance.now();
      const code = await runCli(['run', join(dir, 'cached-review.yaml'), '--json', '--state-dir', join(dir, 'agents')], {
        stdout: (t) => (stdout += t),
        stderr: () => undefined,
        isTTY: false,
      });
      const ms = performance.now() - started;
      if (code !== 0) throw new Error(`${name} run exited ${code}`);
      const result = JSON.parse(stdout);
      return {
        name,
        ms,
        agentCalls: calls().length - before,
        costUsd: result.costUsd,
        ran: result.taskResults.filter((t) => !t.cached).map((t) => t.taskId).sort(),
        cached: result.taskResults.filter((t) => t.cached).length,
      };
    };
    const cold = await run('cold (empty memory)');
    const warm = await run('warm (files unchanged)');
    appendFileSync(join(dir, 'cached-review/src/cart.ts'), '\nexport const FREE_SHIPPING_CENTS = 5000;\n');
    const changed = await run('src/cart.ts changed');
    const expected = ['review-cart', 'summary'];
    const verdicts = {
      fewerCalls: warm.agentCalls <= cold.agentCalls * (1 - MEMORY_CACHE_TARGET),
      lessCost: warm.costUsd <= cold.costUsd * (1 - MEMORY_CACHE_TARGET),
      onlyCovering: changed.ran.join() === expected.join() && changed.agentCalls === expected.length,
    };
    return { rows: [cold, warm, changed], verdicts, expected };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the table; returns the verdicts as a list of booleans. */
export function printMemoryCacheTable({ rows, verdicts, expected }) {
  const [cold, warm] = rows;
  const pct = (a, b) => (b === 0 ? '-' : `${(((b - a) / b) * 100).toFixed(0)}%`);
  const table = [
    ['run', 'agent calls', 'cost USD', 'tasks cached', 'tasks run', 'time ms'],
    ...rows.map((r) => [r.name, r.agentCalls, r.costUsd.toFixed(4), r.cached, r.ran.join(', ') || '-', r.ms.toFixed(0)]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n## Memory: cached analyses (examples/cached-review.yaml, fake claude, bench/memory-cache.mjs)\n`);
  console.log([line(table[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.slice(1).map(line)].join('\n'));
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  console.log(
    `\nWarm run vs cold: ${pct(warm.agentCalls, cold.agentCalls)} fewer agent calls (target ≥ ${MEMORY_CACHE_TARGET * 100}%): ${verdict(verdicts.fewerCalls)}; ` +
      `${pct(warm.costUsd, cold.costUsd)} less spent (target ≥ ${MEMORY_CACHE_TARGET * 100}%): ${verdict(verdicts.lessCost)}. ` +
      `After src/cart.ts changed, only ${expected.join(' and ')} ran: ${verdict(verdicts.onlyCovering)}.`,
  );
  return [verdicts.fewerCalls, verdicts.lessCost, verdicts.onlyCovering];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printMemoryCacheTable(await memoryCacheBench());
}
