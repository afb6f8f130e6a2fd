/**
 * The durability promise under load: a 1,000-task run is killed with SIGKILL at KILLS random
 * points and resumed each time, on both backends. A task that runs again must not have been known
 * complete for longer than a write before the kill: the orchestrator announced its completion
 * (a line on the run process's stdout, timestamped as it arrives here) less than WINDOW_MS
 * before the kill, or not at all.
 *
 * The run is a process of its own (test/fixtures/load-run.mjs) whose tasks take 0–3 ms and
 * append their id to a log outside the state directory, so the log, not the state under
 * test, says what ran. (Through the CLI with agent processes: crash-resume.test.ts.) The same
 * for a fan-out of 1,000 instances: none saved complete runs again, each ran, its list is the
 * recorded one; and for a loop of 50 iterations (`fix#1`...`fix#50`, its `until` true at the
 * 50th): each iteration ran, none saved complete ran again (only the one in flight at a kill
 * may), and the loop went on in the iteration it was in.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const LOAD_RUN = fileURLToPath(new URL('./fixtures/load-run.mjs', import.meta.url));

const TASKS = 1000;
const LAYERS = 20;
const WIDTH = TASKS / LAYERS;
/**
 * Kills per run. Each one is a process life that reloads the 1,000-task checkpoint (~1.7 CPU-s
 * of its own), and each probes the same window; three spread over the run (sorted random points
 * between task 50 and 950) catch a checkpoint that falls behind as surely as five did.
 */
const KILLS = 3;
/**
 * How long before a kill a completed task may have been announced and still run again: the
 * time for its record to become durable (one write in flight, then its own), with room for a
 * loaded 2-core machine. Under the old per-tick queue of writes, saved state fell seconds
 * behind (3,754 reruns of 5,000 finished tasks; 427 of 1,000 over five kills).
 */
const WINDOW_MS = 250;

/** When each task's `completed` progress line arrived, per process life. */
function watchCompletions(child: ResultPromise, into: Map<string, number>): void {
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    const now = Date.now();
    for (const line of lines) {
      const done = /^completed (\S+)$/.exec(line);
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
function writeSpec(): string {
  const tasks = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (let i = 0; i < WIDTH; i++) {
      const id = `l${layer}t${i}`;
      tasks.push({ id, command: ['task', id], ...(layer > 0 && { depends_on: [`l${layer - 1}t${i}`, `l${layer - 1}t${(i * 7 + 3) % WIDTH}`] }) });
    }
  }
  const file = join(root, 'load.json');
  writeFileSync(file, JSON.stringify({ id: 'under-load', max_parallel: 16, tasks }));
  return file;
}

function logLines(log: string): number {
  try {
    return readFileSync(log, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** A deterministic stream of kill points (tasks run before each kill), between 5% and 95% of `total`. */
function killPoints(seed: number, count: number, total = TASKS): number[] {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const points = Array.from({ length: count }, () => Math.floor(total * 0.05 + next() * total * 0.9));
  return points.sort((a, b) => a - b);
}

/**
 * A fan-out of 1,000 instances (`fan[0]`...`fan[999]`) after a first task: the list is a CEL
 * literal, recorded once; each instance logs its own id.
 */
function writeFanoutSpec(): string {
  const list = `[${Array.from({ length: TASKS }, (_, k) => k).join(',')}]`;
  const tasks = [
    { id: 'first', command: ['task', 'first'] },
    { id: 'fan', depends_on: ['first'], for_each: list, max_items: TASKS, command: ['task', 'fan[{{index}}]'] },
  ];
  const file = join(root, 'fanout.json');
  writeFileSync(file, JSON.stringify({ id: 'fan-under-load', max_parallel: 16, tasks }));
  return file;
}

/** Iterations of the loop. */
const ITERATIONS = 50;

/**
 * A loop after a first task: `fix#1`...`fix#50`, each logging its own id; its `until` reads
 * `iteration`, true at the 50th (its max is higher: the condition, not the bound, ends it).
 */
function writeLoopSpec(): string {
  const tasks = [
    { id: 'first', command: ['task', 'first'] },
    { id: 'fix', depends_on: ['first'], command: ['task', 'fix#{{iteration}}'], repeat: { until: `iteration >= ${ITERATIONS}`, max: ITERATIONS + 10 } },
  ];
  const file = join(root, 'loop.json');
  writeFileSync(file, JSON.stringify({ id: 'loop-under-load', max_parallel: 16, tasks }));
  return file;
}

describe.each([
  ['json', 'tasks'],
  ['sqlite', 'tasks'],
  ['json', 'fan-out'],
  ['sqlite', 'fan-out'],
  ['json', 'loop'],
  ['sqlite', 'loop'],
] as const)('kill -9 under load (%s backend, %s)', (backend, shape) => {
  it('a run of 1,000 tasks (or instances, or 50 iterations) killed at random points reruns none that was saved before the kill', { timeout: 120_000 }, async () => {
    const log = join(root, 'ran.log');
    writeFileSync(log, '');
    const spec = shape === 'tasks' ? writeSpec() : shape === 'fan-out' ? writeFanoutSpec() : writeLoopSpec();
    const total = shape === 'tasks' ? TASKS : shape === 'fan-out' ? TASKS + 1 : ITERATIONS + 1;
    const stateDir = join(root, 'state');
    const kills: number[] = [];
    /** Per life (one per kill): when the orchestrator announced each completion. */
    const lives: Array<Map<string, number>> = [];
    const start = (mode: 'run' | 'resume'): ResultPromise => {
      // Each process life tells its tasks which life they belong to (they log it).
      const child = execa(process.execPath, [LOAD_RUN, mode, stateDir, backend, spec, log, String(lives.length)], { reject: false, stdin: 'ignore' });
      lives.push(new Map());
      watchCompletions(child, lives.at(-1)!);
      return child;
    };

    let child = start('run');
    for (const point of killPoints(Date.now() % 1000, KILLS, total)) {
      const until = Date.now() + 60_000;
      while (logLines(log) < point && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      if (child.exitCode !== null) break;
      child.kill('SIGKILL');
      kills.push(Date.now());
      await child;
      child = start('resume');
    }
    const last = await child;
    expect(last.exitCode, String(last.stderr).slice(-2000)).toBe(0);
    // Every kill point is reached: the run cannot finish before its log has 1,000 lines.
    expect(kills).toHaveLength(KILLS);

    // Every task ran; none that a life announced complete more than WINDOW_MS before its kill ran in a later life.
    const runLives = new Map<string, number[]>();
    for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
      const [id, life] = line.split(' ');
      runLives.set(id!, [...(runLives.get(id!) ?? []), Number(life)]);
    }
    expect(runLives.size).toBe(total);
    const reruns = [...runLives].filter(([, l]) => l.length > 1).map(([id]) => id);
    const late: string[] = [];
    kills.forEach((kill, life) => {
      for (const [id, announced] of lives[life]!) {
        if (announced >= kill - WINDOW_MS) continue;
        // (A fan-out's own task runs nothing itself: its instances do.)
        if (runLives.get(id)?.some((l) => l > life)) late.push(`${id}: completed ${kill - announced} ms before kill ${life + 1}, and ran again`);
      }
    });
    console.log(`${backend} ${shape}: ${kills.length} kills, ${reruns.length} reruns of ${total} tasks`);
    expect(late).toEqual([]);
    // What reruns is what was in flight at each kill: at most two rounds of max_parallel (16);
    // a loop's iterations run one at a time: at most the one in flight at each kill.
    expect(reruns.length).toBeLessThanOrEqual(kills.length * (shape === 'loop' ? 1 : 2 * 16));
    if (shape === 'loop') {
      // The loop ended by its condition at the 50th iteration, each iteration's record saved once.
      const stored = JSON.parse(String((await execa(process.execPath, [LOAD_RUN, 'show', stateDir, backend, spec, log, '0'], { reject: false })).stdout)) as Array<{ taskId: string; status: string; iteration?: number }>;
      expect(stored.find((r) => r.taskId === 'fix')).toMatchObject({ status: 'completed', iteration: ITERATIONS });
      expect(stored.filter((r) => r.taskId.startsWith('fix#')).map((r) => r.taskId).sort()).toEqual(Array.from({ length: ITERATIONS }, (_, k) => `fix#${k + 1}`).sort());
      expect(stored.every((r) => r.status === 'completed')).toBe(true);
    }
  });
});
