/**
 * What execa costs per spawn, and which of its options cost (issue 21, part 10): `true` spawned
 * N times at concurrency P by a plain `child_process.spawn` pool and by execa with one option
 * changed at a time, interleaved over rounds; the figure of each is its median ms per spawn and
 * its ratio to the plain pool of the same rounds. Also the whole supervised spawn of a command
 * task (`runCommand`: execa + process group + guardian + registry + pipe checks) from dist.
 *
 *   node bench/execa-cost.mjs        (after npm run build; also a section of bench/run.mjs)
 *
 * Environment: BENCH_EXECA_SPAWNS (per variant and round, default 300), BENCH_EXECA_ROUNDS
 * (default 5), BENCH_EXECA_PARALLEL (default 8).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { runCommand } from '../dist/index.js';

const SPAWNS = Number(process.env.BENCH_EXECA_SPAWNS ?? 300);
const ROUNDS = Number(process.env.BENCH_EXECA_ROUNDS ?? 5);
const PARALLEL = Number(process.env.BENCH_EXECA_PARALLEL ?? 8);

/** Runs `one()` `n` times, `p` at once; wall ms and this process's CPU ms (user + system) per call. */
export async function pool(n, p, one) {
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const worker = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: p }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { wall: (performance.now() - t0) / n, cpu: (cpu.user + cpu.system) / 1000 / n };
}

/** `true` through `child_process.spawn`, stdout and stderr piped and read to their end. */
export function plainSpawn(options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

/** The options runSupervisedProcess gives execa (src/actors/supervised-process.ts). */
const OURS = { env: process.env, extendEnv: false, detached: true, buffer: false, reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' };

async function viaExeca(options, read = !options.buffer) {
  const child = execa('true', [], options);
  if (read && options.buffer === false) {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  const result = await child;
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
}

/** [label, one spawn] in the order printed; the first is the reference. */
function variants(stateDir) {
  let k = 0;
  return [
    ['child_process.spawn (the pool)', () => plainSpawn()],
    ['child_process.spawn, detached', () => plainSpawn({ detached: true })],
    ['execa, defaults', () => viaExeca({})],
    ['execa, our options (detached, buffer: false, reject: false, stdin ignore, process.env as is)', () => viaExeca(OURS)],
    ['  ours + cleanup: false', () => viaExeca({ ...OURS, cleanup: false })],
    ['  ours + forceKillAfterDelay: false', () => viaExeca({ ...OURS, forceKillAfterDelay: false })],
    ['  ours + encoding: buffer', () => viaExeca({ ...OURS, encoding: 'buffer' })],
    ['  ours + stripFinalNewline: false', () => viaExeca({ ...OURS, stripFinalNewline: false })],
    ['  ours + verbose: none (explicit)', () => viaExeca({ ...OURS, verbose: 'none' })],
    ['  ours + ipc: false, serialization: json (explicit)', () => viaExeca({ ...OURS, ipc: false, serialization: 'json' })],
    ['  ours + extendEnv: true (a copy of process.env per spawn, as before)', () => viaExeca({ ...OURS, env: undefined, extendEnv: true })],
    ['  ours - detached', () => viaExeca({ ...OURS, detached: false })],
    ['  ours + all: true', () => viaExeca({ ...OURS, all: true })],
    ['execa, defaults + buffer: false', () => viaExeca({ buffer: false })],
    ['execa, defaults + lines: true', () => viaExeca({ lines: true })],
    ['execa, defaults + all: true', () => viaExeca({ all: true })],
    ['execa, the leanest (ours + cleanup: false, forceKillAfterDelay: false, encoding: buffer)', () => viaExeca({ ...OURS, cleanup: false, forceKillAfterDelay: false, encoding: 'buffer' })],
    ['runCommand (a command task without the orchestrator)', () => runCommand({ command: ['true'] })],
    ['runCommand + process registry (as the CLI runs it)', () => runCommand({ command: ['true'], stateDir, runId: 'r', taskId: `t${k++}`, processRegistry: true })],
  ];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * Median ms per spawn of each variant (wall, and this process's CPU), and its ratios to the
 * plain pool measured right before it (each variant's batch is paired with a pool batch, so
 * the load of the moment weighs on both).
 */
export async function execaCostBench({ spawns = SPAWNS, rounds = ROUNDS, parallel = PARALLEL } = {}) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agents-sdk-execa-'));
  try {
    const list = variants(stateDir);
    const samples = list.map(() => ({ wall: [], cpu: [], wallRatio: [], cpuRatio: [] }));
    // Warm-up: module loading, the guardian's start, JIT.
    for (const [, one] of list) await pool(Math.min(spawns, 50), parallel, one);
    for (let r = 0; r < rounds; r++) {
      for (let v = 0; v < list.length; v++) {
        const base = await pool(spawns, parallel, list[0][1]);
        const t = v === 0 ? base : await pool(spawns, parallel, list[v][1]);
        const s = samples[v];
        s.wall.push(t.wall);
        s.cpu.push(t.cpu);
        s.wallRatio.push(t.wall / base.wall);
        s.cpuRatio.push(t.cpu / base.cpu);
      }
    }
    const rows = list.map(([label], v) => {
      const s = samples[v];
      return { label, wall: median(s.wall), cpu: median(s.cpu), wallRatio: median(s.wallRatio), cpuRatio: median(s.cpuRatio) };
    });
    return { rows, spawns, rounds, parallel };
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

export function printExecaCostTable({ rows, spawns, rounds, parallel }) {
  console.log(`\n## execa's cost per spawn of \`true\` (${spawns} spawns × ${rounds} rounds, ${parallel} at once, medians)\n`);
  console.log('| variant | wall ms per spawn | ÷ pool | CPU ms per spawn (this process) | ÷ pool |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.label} | ${r.wall.toFixed(3)} | ${r.wallRatio.toFixed(2)}× | ${r.cpu.toFixed(3)} | ${r.cpuRatio.toFixed(2)}× |`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printExecaCostTable(await execaCostBench());
}
