/**
 * A fan-out end to end through the CLI against a plain Node spawn pool (issue 21, part 10).
 *
 * Measured in the same run, interleaved, each a process of its own timed from spawn to exit:
 *  - the pool: `node` running a plain `child_process.spawn` pool of `true` (N spawns, P at
 *    once, stdout and stderr piped and read to their end), Node's startup included;
 *  - `agents-sdk run` of one command task with `for_each` over an N-element list, `max_parallel`
 *    P, running `true` (the default JSON backend: durable checkpoints, event log, process
 *    registry, guardian: what a user gets);
 *  - the same N tasks declared one by one (N independent command tasks);
 *  - `agents-sdk run` of a single `true` task: the CLI's fixed cost (start-up, first checkpoint,
 *    exit), shown so the per-task figures can be read without it.
 * Target: the fan-out within 2× the pool.
 *
 *   node bench/cli-fanout.mjs      (after npm run build; also a section of bench/run.mjs)
 *
 * Environment: BENCH_CLI_FANOUT_N (default 1000), BENCH_CLI_FANOUT_PARALLEL (default 8),
 * BENCH_CLI_FANOUT_RUNS (default 3, after one warm-up of each), BENCH_CLI_FANOUT_BACKEND
 * (json or sqlite, default json), BENCH_CLI_FANOUT_BEFORE (the dist directory of another build,
 * e.g. of the commit before a change: its fan-out and declared runs are interleaved with this
 * build's and printed beside them).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_CLI_FANOUT_N ?? 1000);
const P = Number(process.env.BENCH_CLI_FANOUT_PARALLEL ?? 8);
const RUNS = Math.max(1, Number(process.env.BENCH_CLI_FANOUT_RUNS ?? 3));
const BACKEND = process.env.BENCH_CLI_FANOUT_BACKEND ?? 'json';
const TARGET = 2;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const BEFORE = process.env.BENCH_CLI_FANOUT_BEFORE ? path.resolve(process.env.BENCH_CLI_FANOUT_BEFORE, 'cli.js') : null;

/** The pool, as a script of its own: spawns `true` n times, p at once, then exits. */
const POOL_SCRIPT = `
const { spawn } = require('node:child_process');
const n = Number(process.argv[1]), p = Number(process.argv[2]);
let started = 0, done = 0;
const next = () => {
  if (started >= n) return;
  started++;
  const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  child.once('close', (code) => {
    if (code !== 0) { console.error('true exited with ' + code); process.exit(1); }
    if (++done === n) process.exit(0);
    next();
  });
};
for (let i = 0; i < p; i++) next();
`;

/** Runs a process to its end: wall ms from spawn to exit, and its stdout. */
function timed(file, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${path.basename(file)} ${args.slice(0, 2).join(' ')} exited with ${code}: ${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

export function fanoutWorkflow(n = N, p = P) {
  const list = `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
  return { id: 'cli-fanout', max_parallel: p, tasks: [{ id: 'impl', for_each: list, max_items: n, max_parallel: p, command: ['true'] }] };
}

export function declaredWorkflow(n = N, p = P) {
  return { id: 'cli-declared', max_parallel: p, tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, command: ['true'] })) };
}

/** Runs a workflow through the CLI in a fresh state directory; checks that `expected` tasks completed. */
async function runCli(file, root, expected, cli = CLI) {
  const stateDir = fs.mkdtempSync(path.join(root, 'state-'));
  try {
    const { ms, stdout } = await timed(process.execPath, [cli, 'run', file, '--json', '--state-dir', stateDir, '--backend', BACKEND]);
    const result = JSON.parse(stdout);
    const completed = result.taskResults.filter((t) => t.status === 'completed' && /^(impl\[\d+\]|t\d+|one)$/.test(t.taskId)).length;
    if (result.status !== 'completed' || completed !== expected) throw new Error(`${file}: ${result.status}, ${completed} of ${expected} tasks completed`);
    return ms;
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Wall ms of each case (median of interleaved runs), and the ratios to the pool of the same rounds. */
export async function cliFanoutBench({ n = N, p = P, runs = RUNS } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-cli-fanout-'));
  try {
    const files = {
      fanout: path.join(root, 'fanout.json'),
      declared: path.join(root, 'declared.json'),
      one: path.join(root, 'one.json'),
    };
    fs.writeFileSync(files.fanout, JSON.stringify(fanoutWorkflow(n, p)));
    fs.writeFileSync(files.declared, JSON.stringify(declaredWorkflow(n, p)));
    fs.writeFileSync(files.one, JSON.stringify({ id: 'cli-one', tasks: [{ id: 'one', command: ['true'] }] }));
    const cases = {
      pool: () => timed(process.execPath, ['-e', POOL_SCRIPT, String(n), String(p)]).then((r) => r.ms),
      fanout: () => runCli(files.fanout, root, n),
      declared: () => runCli(files.declared, root, n),
      one: () => runCli(files.one, root, 1),
    };
    if (BEFORE) {
      cases.fanoutBefore = () => runCli(files.fanout, root, n, BEFORE);
      cases.declaredBefore = () => runCli(files.declared, root, n, BEFORE);
    }
    const compared = BEFORE ? ['fanout', 'declared', 'fanoutBefore', 'declaredBefore'] : ['fanout', 'declared'];
    const ms = { pool: [], one: [] };
    const ratio = {};
    for (const name of compared) {
      ms[name] = [];
      ratio[name] = [];
    }
    for (const run of Object.values(cases)) await run(); // warm-up (disk caches, the build's files)
    for (let k = 0; k < runs; k++) {
      const pool = await cases.pool();
      ms.pool.push(pool);
      for (const name of compared) {
        const t = await cases[name]();
        ms[name].push(t);
        ratio[name].push(t / pool);
      }
      ms.one.push(await cases.one());
    }
    return {
      n,
      p,
      runs,
      backend: BACKEND,
      poolMs: median(ms.pool),
      fanoutMs: median(ms.fanout),
      declaredMs: median(ms.declared),
      oneMs: median(ms.one),
      fanoutRatio: median(ratio.fanout),
      declaredRatio: median(ratio.declared),
      ...(BEFORE && {
        before: BEFORE,
        fanoutBeforeMs: median(ms.fanoutBefore),
        declaredBeforeMs: median(ms.declaredBefore),
        fanoutBeforeRatio: median(ratio.fanoutBefore),
        declaredBeforeRatio: median(ratio.declaredBefore),
      }),
      load: os.loadavg()[0],
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export function printCliFanoutTable(r) {
  const per = (ms) => ((ms * 1000) / r.n).toFixed(0);
  console.log(`\n## Through the CLI: ${r.n.toLocaleString('en')} × \`true\` at ${r.p} at once, against a plain Node spawn pool (${r.backend} backend, median of ${r.runs}, load average ${r.load.toFixed(1)})\n`);
  console.log('| case | wall ms | µs per task | ÷ pool (same round) |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| plain \`child_process.spawn\` pool (\`node -e\`, start-up included) | ${r.poolMs.toFixed(0)} | ${per(r.poolMs)} | 1.00× |`);
  console.log(`| \`agents-sdk run\`: one task, \`for_each\` over ${r.n.toLocaleString('en')} items | ${r.fanoutMs.toFixed(0)} | ${per(r.fanoutMs)} | ${r.fanoutRatio.toFixed(2)}× |`);
  console.log(`| \`agents-sdk run\`: ${r.n.toLocaleString('en')} declared tasks | ${r.declaredMs.toFixed(0)} | ${per(r.declaredMs)} | ${r.declaredRatio.toFixed(2)}× |`);
  if (r.before) {
    console.log(`| the same fan-out, build ${r.before} | ${r.fanoutBeforeMs.toFixed(0)} | ${per(r.fanoutBeforeMs)} | ${r.fanoutBeforeRatio.toFixed(2)}× |`);
    console.log(`| the same declared tasks, build ${r.before} | ${r.declaredBeforeMs.toFixed(0)} | ${per(r.declaredBeforeMs)} | ${r.declaredBeforeRatio.toFixed(2)}× |`);
  }
  console.log(`| \`agents-sdk run\`: one task (the CLI's fixed cost) | ${r.oneMs.toFixed(0)} | | |`);
  const ok = r.fanoutRatio <= TARGET;
  console.log(`\nfan-out through the CLI / pool: ${r.fanoutRatio.toFixed(2)}× (target ≤ ${TARGET}×): ${ok ? 'met' : 'MISSED'}; without the CLI's fixed cost: ${((r.fanoutMs - r.oneMs) / r.poolMs).toFixed(2)}×`);
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printCliFanoutTable(await cliFanoutBench());
}
