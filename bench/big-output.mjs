/**
 * Big outputs (issue 9, item 7): one Claude Code run whose result is BIG_OUTPUT_MB (default
 * 30) MB of text, written by the fake `claude` (`[[large-output:BYTES]]`: the text appears in
 * the assistant line and in the result line, so stdout carries it twice).
 *
 * Each case runs in a child process of its own, so its peak RSS (`process.resourceUsage()`
 * `.maxRSS`) is that case's alone:
 *  - CLI alone: the fake writing its stream through a pipe to a reader that drops it. How
 *    fast the producer and the pipe are: the runner cannot take the stream in faster.
 *  - runner: `runClaudeCode` from spawn to result (intake time), raw files recorded.
 *  - orchestrator + JSON / + SQLite: a one-task workflow through `WorkflowOrchestrator`
 *    with that backend; the bytes on disk under the state directory afterwards (checkpoints,
 *    event log and raw recordings), the raw stream also on its own.
 *  - the same, the text written in BIG_OUTPUT_PARTS (default 100) assistant messages
 *    (`[[text-parts:N]]`): many messages each under 64 KB, the case a per-event limit misses.
 *
 * Targets: runner intake within 3× the CLI alone (measured 1.5–2× on a loaded 2-CPU machine;
 * before the linear line splitter it was over 10×: the quadratic split, not the CLI, was the
 * bottleneck). The state besides the raw stream (records, event log, anything else) within
 * 1.3× the output (issue 20, defect 6: it was 4× — the event log held the text twice and
 * raw_output.json the result again).
 *
 * `npm run build && node bench/big-output.mjs` (or a section of `npm run bench`).
 * Environment: BIG_OUTPUT_MB (default 30).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FAKE_CLAUDE = fileURLToPath(new URL('../test/fixtures/fake-claude/claude', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const TARGET_INTAKE_VS_CLI = 3;
const TARGET_STATE_VS_OUTPUT = 1.3;
const PARTS = Math.max(1, Number(process.env.BIG_OUTPUT_PARTS ?? 100));
const CASES = ['cli', 'runner', 'json', 'sqlite', 'json-parts', 'sqlite-parts'];
const LABELS = {
  cli: 'CLI alone (fake claude → pipe → dropped)',
  runner: 'runner (runClaudeCode)',
  json: 'orchestrator + JSON backend',
  sqlite: 'orchestrator + SQLite backend',
  'json-parts': `orchestrator + JSON, in ${PARTS} messages`,
  'sqlite-parts': `orchestrator + SQLite, in ${PARTS} messages`,
};
/** The raw stream of an attempt, the one copy of what the CLI wrote. */
const RAW_STREAM = /^raw_output(\.attempt-\d+)?\.jsonl$/;

/** Bytes of every file under `dir` (and of those whose name matches `only`, when given). */
function bytesUnder(dir, only) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    if (only && !only.test(entry.name)) continue;
    total += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}

const prompt = (bytes, parts = 1) => `Write a lot [[large-output:${bytes}]]${parts > 1 ? ` [[text-parts:${parts}]]` : ''}`;

/** One case, in this (child) process; returns its figures. */
async function runCase(name, bytes) {
  const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-bigout-'));
  process.env.CLAUDE_CODE_PATH = FAKE_CLAUDE;
  try {
    if (name === 'cli') {
      // Through a pipe into a reader that drops the data: the same transport as the runner's.
      const started = performance.now();
      const code = await new Promise((done, fail) => {
        const child = spawn(FAKE_CLAUDE, ['-p', prompt(bytes), '--output-format', 'stream-json', '--verbose'], { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', () => {});
        child.once('error', fail);
        child.once('close', done);
      });
      if (code !== 0) throw new Error(`fake claude exited ${code}`);
      return { ms: performance.now() - started, rssMB: null };
    }
    const dist = { ...(await import('../dist/index.js')), ...(await import('../dist/sqlite.js')) };
    const rssStartMB = process.resourceUsage().maxRSS / 1024;
    let output;
    const started = performance.now();
    if (name === 'runner') {
      const result = await dist.runClaudeCode({ prompt: prompt(bytes), stateDir, runId: 'big', agentName: 'writer' });
      output = result.output;
    } else {
      const sqlite = name.startsWith('sqlite');
      const parts = name.endsWith('-parts') ? PARTS : 1;
      const backend = sqlite ? await dist.SqliteStateBackend.open(join(stateDir, 'agents.sqlite')) : new dist.JsonStateBackend(stateDir);
      const orchestrator = new dist.WorkflowOrchestrator(backend, { stateDir });
      const result = await orchestrator.runWorkflow({ id: 'big-output', tasks: [{ id: 'writer', prompt: prompt(bytes, parts) }] }, { runId: 'big' });
      await backend.close?.();
      if (result.status !== 'completed') throw new Error(`run ended ${result.status}`);
      output = result.taskResults[0]?.output;
    }
    const ms = performance.now() - started;
    if (typeof output !== 'string' || output.length !== bytes) throw new Error(`output of ${output?.length} characters, expected ${bytes}`);
    return {
      ms,
      rssMB: process.resourceUsage().maxRSS / 1024,
      rssStartMB,
      stateBytes: bytesUnder(stateDir),
      rawBytes: bytesUnder(stateDir, RAW_STREAM),
    };
  } finally {
    if (process.env.BIG_OUTPUT_KEEP) console.error(`kept ${stateDir}`);
    else rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Runs every case in a child process of its own. */
export async function bigOutputBench({ megabytes = Number(process.env.BIG_OUTPUT_MB ?? 30) } = {}) {
  const bytes = Math.round(megabytes * 1_000_000);
  const rows = [];
  for (const name of CASES) {
    const child = spawnSync(process.execPath, [SELF, '--case', name, '--bytes', String(bytes)], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 20 });
    const last = child.stdout?.trim().split('\n').at(-1) ?? '';
    let figures;
    try {
      figures = JSON.parse(last);
    } catch {
      figures = { error: `${child.error?.message ?? `exit ${child.status}`}: ${(child.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
    }
    rows.push({ name, label: LABELS[name], bytes, ...figures });
  }
  return rows;
}

const mb = (bytes) => (bytes / 1_000_000).toFixed(1);
const cell = (x, f) => (typeof x === 'number' && Number.isFinite(x) ? f(x) : 'n/a');

/** Prints the table; returns the verdict of the intake target (`null` when not measured). */
export function printBigOutputTable(rows) {
  const bytes = rows[0]?.bytes ?? 0;
  console.log(`\n## Big outputs: one result of ${mb(bytes)} MB (stdout carries it twice: assistant and result lines)\n`);
  console.log('| case | time s | peak RSS MB (after imports) | state bytes on disk MB | of which the raw stream MB | the rest MB (× the output) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.label} | ERROR: ${r.error} | | | | |`);
      continue;
    }
    const rss = r.rssMB === null ? 'n/a (another process)' : `${cell(r.rssMB, (x) => x.toFixed(0))} (${cell(r.rssStartMB, (x) => x.toFixed(0))})`;
    const rest = typeof r.stateBytes === 'number' ? `${mb(r.stateBytes - r.rawBytes)} (${((r.stateBytes - r.rawBytes) / bytes).toFixed(2)}×)` : 'n/a';
    console.log(`| ${r.label} | ${cell(r.ms / 1000, (x) => x.toFixed(2))} | ${rss} | ${cell(r.stateBytes, mb)} | ${cell(r.rawBytes, mb)} | ${rest} |`);
  }
  // The state besides the raw stream, per orchestrated case, against the output.
  const state = rows.filter((r) => !r.error && r.name !== 'cli' && r.name !== 'runner' && typeof r.stateBytes === 'number');
  const worst = Math.max(...state.map((r) => (r.stateBytes - r.rawBytes) / bytes));
  const stateOk = state.length > 0 && worst <= TARGET_STATE_VS_OUTPUT;
  if (state.length > 0) {
    console.log(`\nState besides the raw stream / output, worst case: ${worst.toFixed(2)}× (target ≤ ${TARGET_STATE_VS_OUTPUT}×) ${stateOk ? 'PASS' : 'MISS'}.`);
  }
  const cli = rows.find((r) => r.name === 'cli');
  const runner = rows.find((r) => r.name === 'runner');
  if (!cli?.ms || !runner?.ms) return null;
  const ratio = runner.ms / cli.ms;
  const ok = ratio <= TARGET_INTAKE_VS_CLI;
  console.log(`Runner intake / CLI alone: ${ratio.toFixed(2)}× (target ≤ ${TARGET_INTAKE_VS_CLI}×) ${ok ? 'PASS' : 'MISS'}.`);
  return ok && (state.length === 0 || stateOk);
}

const args = process.argv.slice(2);
if (process.argv[1] === SELF && args[0] === '--case') {
  try {
    console.log(JSON.stringify(await runCase(args[1], Number(args[3]))));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error?.message ?? error) }));
  }
  process.exit(0);
} else if (process.argv[1] === SELF) {
  printBigOutputTable(await bigOutputBench());
}
