/**
 * The durability promise under load: a 1,000-task run is killed with SIGKILL at random points
 * and resumed each time, on both backends. A task that runs again must not have been known
 * complete for longer than a write before the kill: the orchestrator announced its completion
 * (the CLI's progress line, timestamped as it arrives here) less than WINDOW_MS before the
 * kill, or not at all.
 *
 * Each task is a real process (`sh`) that appends its id to a log outside the state
 * directory, so the log, not the state under test, says what ran.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_BIN } from './helpers/cli.js';

const TASKS = 1000;
const LAYERS = 20;
const WIDTH = TASKS / LAYERS;
/**
 * How long before a kill a first run may have finished and still run again: the time from
 * the process's exit to its record being durable (exit noticed, one write in flight, its
 * own write), on a loaded 2-core machine. Under the old per-tick queue of writes, saved
 * state fell seconds behind (3,754 reruns of 5,000 finished tasks).
 */
const WINDOW_MS = 1000;

/** When each task's `completed` progress line arrived, per process life. */
function watchCompletions(child: ResultPromise, into: Map<string, number>): void {
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    const now = Date.now();
    for (const line of lines) {
      const done = /^(\S+): completed in /.exec(line);
      if (done) into.set(done[1]!, now);
    }
  });
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-load-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** 20 layers of 50 tasks; each depends on two tasks of the layer before. */
function writeSpec(log: string): string {
  const lines = ['id: under-load', 'max_parallel: 16', 'tasks:'];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (let i = 0; i < WIDTH; i++) {
      lines.push(`  - id: l${layer}t${i}`);
      lines.push(`    command: [sh, -c, 'echo "$0 $LIFE" >> "$1"', l${layer}t${i}, ${log}]`);
      if (layer > 0) lines.push(`    depends_on: [l${layer - 1}t${i}, l${layer - 1}t${(i * 7 + 3) % WIDTH}]`);
    }
  }
  const file = join(root, 'load.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function logLines(log: string): number {
  try {
    return readFileSync(log, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** A deterministic stream of kill points (tasks run before each kill). */
function killPoints(seed: number, count: number): number[] {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const points = Array.from({ length: count }, () => Math.floor(50 + next() * (TASKS - 100)));
  return points.sort((a, b) => a - b);
}

describe.each(['json', 'sqlite'])('kill -9 under load (%s backend)', (backend) => {
  it('a 1,000-task run killed at random points reruns no task that was saved before the kill', { timeout: 240_000 }, async () => {
    const log = join(root, 'ran.log');
    writeFileSync(log, '');
    const spec = writeSpec(log);
    const state = ['--state-dir', join(root, 'state'), '--backend', backend];
    const kills: number[] = [];
    /** Per life (one per kill): when the orchestrator announced each completion. */
    const lives: Array<Map<string, number>> = [];
    const start = (args: string[]): ResultPromise => {
      // Each process life tells its commands which life they belong to (they log it).
      const env = { LIFE: String(lives.length) };
      const child = execa(process.execPath, [CLI_BIN, ...args, ...state, '--json'], { reject: false, stdin: 'ignore', env });
      lives.push(new Map());
      watchCompletions(child, lives.at(-1)!);
      return child;
    };

    let child = start(['run', spec, '--run-id', 'load']);
    for (const point of killPoints(backend === 'json' ? 7 : 11, 3)) {
      const until = Date.now() + 60_000;
      while (logLines(log) < point && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      if (child.exitCode !== null) break;
      child.kill('SIGKILL');
      kills.push(Date.now());
      await child;
      child = start(['resume', 'load']);
    }
    const last = await child;
    expect(last.exitCode, String(last.stderr).slice(-2000)).toBe(0);
    expect(kills.length).toBeGreaterThanOrEqual(3);

    // Every task ran; none that a life announced complete more than WINDOW_MS before its kill ran in a later life.
    const runLives = new Map<string, number[]>();
    for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
      const [id, life] = line.split(' ');
      runLives.set(id!, [...(runLives.get(id!) ?? []), Number(life)]);
    }
    expect(runLives.size).toBe(TASKS);
    const reruns = [...runLives].filter(([, l]) => l.length > 1).map(([id]) => id);
    const late: string[] = [];
    kills.forEach((kill, life) => {
      for (const [id, announced] of lives[life]!) {
        if (announced >= kill - WINDOW_MS) continue;
        if (runLives.get(id)!.some((l) => l > life)) late.push(`${id}: completed ${kill - announced} ms before kill ${life + 1}, and ran again`);
      }
    });
    console.log(`${backend}: ${kills.length} kills, ${reruns.length} reruns of ${TASKS} tasks`);
    expect(late).toEqual([]);
  });
});
