/**
 * The migrated ADW workflows (issue 14): examples/adw/plan-build-test.yaml and plan-build.yaml
 * replayed from examples/recordings/adw-* at the recorded pace divided by BENCH_ADW_SPEED
 * (default 10: plan 10 s, build 20 s, test/review/document 15 s each become 1 / 2 / 1.5 s),
 * three times: as ADW's own Python scripts run them (python3 calling one prompt_claude_code
 * after another through the installed agents_sdk_compat shim, USE_AGENTS_SDK off, over a
 * `claude` that replays the same recordings: bench/adw-python), through the orchestrator one
 * agent after another (max_parallel 1), and through the orchestrator at the workflow's own
 * max_parallel, on the JSON state backend.
 * Targets on plan-build-test: speedup ≥ 1.5× (the plan's figure), and the orchestrator's
 * efficiency against the critical path of the recorded durations ≥ 0.97.
 * Runnable alone: `npm run build && node bench/adw-speedup.mjs`.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createReplayExecutor, JsonStateBackend, parseWorkflowText, WorkflowOrchestrator } from '../dist/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADW_TARGET = { speedup: 1.5, efficiency: 0.97 };
const SPEED = Number(process.env.BENCH_ADW_SPEED ?? 10);
const CASES = [
  { name: 'plan-build-test', file: 'examples/adw/plan-build-test.yaml', recordings: 'examples/recordings/adw-plan-build-test', judged: true },
  { name: 'plan-build', file: 'examples/adw/plan-build.yaml', recordings: 'examples/recordings/adw-plan-build', judged: false },
];

/** Recorded duration (result line's duration_ms) of each task, at the bench's speed. */
function recordedMs(recordings, taskId) {
  const lines = readFileSync(join(ROOT, recordings, taskId, 'raw_output.jsonl'), 'utf8').trim().split('\n');
  const result = lines.map((l) => JSON.parse(l)).find((m) => m.type === 'result');
  return (result?.duration_ms ?? 0) / SPEED;
}

/** Longest path through the DAG, weighted by the recorded durations. */
function criticalPathMs(spec, ms) {
  const memo = new Map();
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  const finish = (id) => {
    if (!memo.has(id)) memo.set(id, ms[id] + Math.max(0, ...(byId.get(id).depends_on ?? []).map(finish)));
    return memo.get(id);
  };
  return Math.max(...spec.tasks.map((t) => finish(t.id)));
}

async function timedRun(spec, recordings, speed = SPEED) {
  const stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-adw-bench-'));
  const backend = new JsonStateBackend(stateDir);
  try {
    const orchestrator = new WorkflowOrchestrator(backend, { stateDir, executor: createReplayExecutor(join(ROOT, recordings), { speed }) });
    const started = performance.now();
    const result = await orchestrator.runWorkflow(spec);
    const ms = performance.now() - started;
    if (result.status !== 'completed') throw new Error(`${spec.id} ended ${result.status}`);
    return ms;
  } finally {
    await backend.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * ADW's own order as Python runs it: an ADW checkout (bench/adw-python's stand-in agent.py, the
 * shim installed by its documented step, the flag off) whose script calls prompt_claude_code for
 * each task in the workflow's order, over a claude replaying the recordings; the wall time of
 * the whole script (interpreter start included, as a user waits for it).
 */
function pythonSequentialRun(spec, recordings, speed = SPEED) {
  const root = mkdtempSync(join(tmpdir(), 'agents-sdk-adw-python-'));
  try {
    const modules = join(root, 'adws', 'adw_modules');
    mkdirSync(modules, { recursive: true });
    writeFileSync(join(modules, '__init__.py'), '');
    for (const f of ['agent.py', 'data_types.py']) copyFileSync(join(ROOT, 'bench/adw-python', f), join(modules, f));
    copyFileSync(join(ROOT, 'bench/adw-python/adw_sequential.py'), join(root, 'adws', 'adw_sequential.py'));
    execFileSync('python3', [join(ROOT, 'integrations/python/agents_sdk_compat.py'), 'install', join(root, 'adws')]);
    const claude = join(root, 'bin', 'claude');
    mkdirSync(join(root, 'bin'));
    copyFileSync(join(ROOT, 'bench/adw-python/replay_claude.mjs'), claude);
    chmodSync(claude, 0o755);
    writeFileSync(join(root, 'bin', 'replay.json'), JSON.stringify({ recordings: join(ROOT, recordings), speed }));
    const tasks = JSON.stringify(spec.tasks.map((t) => [t.id, t.agent, t.model ?? 'sonnet']));
    const started = performance.now();
    execFileSync('python3', ['adws/adw_sequential.py', tasks], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME ?? root, CLAUDE_CODE_PATH: claude, PYTHONDONTWRITEBYTECODE: '1' },
    });
    return performance.now() - started;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** One row per workflow: sequential (ADW's way) and orchestrated wall time, sum and critical path. */
export async function adwSpeedupBench() {
  const rows = [];
  // Warm-up at speed 0 (no waiting): module loading and JIT out of the timed runs.
  for (const c of CASES) {
    const spec = parseWorkflowText(readFileSync(join(ROOT, c.file), 'utf8'), c.file);
    await timedRun(spec, c.recordings, 0);
    pythonSequentialRun(spec, c.recordings, 0);
  }
  for (const c of CASES) {
    const spec = parseWorkflowText(readFileSync(join(ROOT, c.file), 'utf8'), c.file);
    const ms = Object.fromEntries(spec.tasks.map((t) => [t.id, recordedMs(c.recordings, t.id)]));
    const sumMs = Object.values(ms).reduce((a, b) => a + b, 0);
    const critical = criticalPathMs(spec, ms);
    const pythonMs = pythonSequentialRun(spec, c.recordings);
    const sequentialMs = await timedRun({ ...spec, max_parallel: 1 }, c.recordings);
    // A workflow that is already sequential (max_parallel 1) is the same run twice: once is enough.
    const orchestratedMs = (spec.max_parallel ?? 4) > 1 ? await timedRun(spec, c.recordings) : sequentialMs;
    rows.push({
      ...c,
      tasks: spec.tasks.length,
      sumMs,
      criticalMs: critical,
      pythonMs,
      sequentialMs,
      orchestratedMs,
      speedup: sequentialMs / orchestratedMs,
      pythonSpeedup: pythonMs / orchestratedMs,
      efficiency: critical / orchestratedMs,
    });
  }
  return rows;
}

/** Prints the table; returns the verdicts of the judged workflow (speedup, efficiency). */
export function printAdwSpeedupTable(rows) {
  const s = (ms) => (ms / 1000).toFixed(2);
  const table = [
    ['workflow', 'tasks', 'recorded sum s', 'critical path s', "ADW's Python s", 'max_parallel 1 s', 'orchestrator s', 'vs Python', 'vs max_parallel 1', 'efficiency'],
    ...rows.map((r) => [
      r.name,
      r.tasks,
      s(r.sumMs),
      s(r.criticalMs),
      s(r.pythonMs),
      s(r.sequentialMs),
      s(r.orchestratedMs),
      `${r.pythonSpeedup.toFixed(2)}×`,
      `${r.speedup.toFixed(2)}×`,
      r.efficiency.toFixed(3),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n## Migrated ADW workflows (examples/adw, replayed at ${SPEED}× the recorded pace, bench/adw-speedup.mjs)\n`);
  console.log([line(table[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.slice(1).map(line)].join('\n'));
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  const verdicts = [];
  for (const r of rows.filter((x) => x.judged)) {
    const fast = r.speedup >= ADW_TARGET.speedup;
    const efficient = r.efficiency >= ADW_TARGET.efficiency;
    console.log(
      `\n${r.name}: speedup over ADW's own Python run ${r.pythonSpeedup.toFixed(2)}×; ` +
        `over the orchestrator one agent after another ${r.speedup.toFixed(2)}× (target ≥ ${ADW_TARGET.speedup}×): ${verdict(fast)}; ` +
        `efficiency against the critical path ${r.efficiency.toFixed(3)} (target ≥ ${ADW_TARGET.efficiency}): ${verdict(efficient)}.`,
    );
    verdicts.push(fast, efficient);
  }
  return verdicts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printAdwSpeedupTable(await adwSpeedupBench());
}
