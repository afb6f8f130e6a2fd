/**
 * Crash tests through the real CLI and the fake `claude`: SIGKILL the orchestrator process at
 * several points, resume, and check from the fake's own invocation log that every task
 * completed exactly once across both processes.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { JsonStateBackend, type WorkflowResult } from '../src/index.js';
import { CONTINUE_PROMPT } from '../src/machines/orchestrator.machine.js';
import { processRegistryDir } from '../src/actors/process-registry.js';
import { CLI_BIN, cli } from './helpers/cli.js';
import { completionsPerTask, eventually, fakeWorld, isAlive, type FakeWorld } from './helpers/fake-claude.js';
import { killGuardianOf } from './helpers/guardian.js';

/**
 * Each test has a scratch world of its own, so that the tests (which mostly wait on their CLI
 * processes and agents) run concurrently.
 */
const test = it.extend<{ world: FakeWorld }>({
  world: async ({}, use) => {
    const world = fakeWorld();
    await use(world);
    world.cleanup();
  },
});

const TASKS = ['t1', 't2', 't3', 't4', 't5', 't6'];

function writeSpec(world: FakeWorld, extra = ''): string {
  const lines = ['id: crashy', 'max_parallel: 1', extra, 'tasks:'];
  TASKS.forEach((id, i) => {
    lines.push(`  - id: ${id}`, `    prompt: "work on ${id} [[delay:250]]"`);
    if (i > 0) lines.push(`    depends_on: [${TASKS[i - 1]}]`);
  });
  const file = join(world.root, 'crashy.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function cliEnv(world: FakeWorld): Record<string, string> {
  return { ...world.env, FAKE_CLAUDE_EXIT_WITH_PARENT: '1' };
}

function startCli(world: FakeWorld, args: string[]): ResultPromise {
  return execa(process.execPath, [CLI_BIN, ...args, '--state-dir', world.stateDir], { env: cliEnv(world), reject: false, stdin: 'ignore' });
}

async function completedInCheckpoint(world: FakeWorld, runId: string): Promise<number> {
  const backend = new JsonStateBackend(world.stateDir);
  try {
    const run = await backend.loadRun(runId).catch(() => undefined);
    return run ? run.records.filter((r) => r.status === 'completed').length : 0;
  } finally {
    await backend.close();
  }
}

async function crashAfter(world: FakeWorld, runId: string, completed: number, spec: string): Promise<void> {
  const child = startCli(world, ['run', spec, '--run-id', runId, '--json']);
  const until = Date.now() + 30_000;
  while ((await completedInCheckpoint(world, runId)) < completed) {
    if (Date.now() > until) throw new Error(`run never reached ${completed} completed tasks`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await child;
}

describe('crash and resume through the CLI', { concurrent: true }, () => {
  test.for([
    ['after the first task', 1],
    ['mid-run', 3],
    ['before the last task', 5],
  ] as const)('SIGKILL %s, then resume: every task completed exactly once, one whole result', { timeout: 90_000 }, async ([_label, completed], { world, expect }) => {
    const spec = writeSpec(world);
    const runId = `crash-${completed}`;
    await crashAfter(world, runId, completed, spec);

    // Reading the state needs no process of its own (each CLI start is ~0.8 CPU-s): in-process.
    const status = await cli(['status', runId, '--state-dir', world.stateDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`run ${runId} of workflow crashy: interrupted (its process is gone: agents-sdk resume ${runId} --state-dir ${world.stateDir})`);

    const resumed = await startCli(world, ['resume', runId, '--json']);
    expect(String(resumed.stderr)).not.toContain("agents-sdk:");
    expect(resumed.exitCode).toBe(0);
    const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
    expect(result.status).toBe('completed');
    expect(result.runId).toBe(runId);
    expect(result.taskResults.map((t) => t.taskId)).toEqual(TASKS);
    expect(result.taskResults.every((t) => t.status === 'completed')).toBe(true);
    expect(completionsPerTask(world)).toEqual(Object.fromEntries(TASKS.map((t) => [t, 1])));
    // tasks finished before the crash kept their results; none ran twice
    const before = result.taskResults.slice(0, completed);
    expect(before.every((t) => t.attempts === 1)).toBe(true);

    // resuming a finished run prints its result and runs nothing (in-process, as status)
    const calls = world.invocations().length;
    const again = await cli(['resume', runId, '--json', '--state-dir', world.stateDir], world.env);
    expect(again.code).toBe(0);
    expect(JSON.parse(String(again.stdout)).status).toBe('completed');
    expect(String(again.stderr)).toContain('already finished');
    expect(world.invocations()).toHaveLength(calls);
  });

  test('with resume_interrupted: continue, the interrupted agent continues its Claude session', { timeout: 90_000 }, async ({ world, expect }) => {
    const file = join(world.root, 'long.yaml');
    writeFileSync(
      file,
      ['id: long', 'resume_interrupted: continue', 'tasks:', '  - id: first', '    prompt: "first [[delay:100]]"', '  - id: long', '    depends_on: [first]', '    prompt: "long job [[delay:20000]]"', ''].join('\n'),
    );
    const child = startCli(world, ['run', file, '--run-id', 'cont', '--json']);
    // wait until the long task's Claude session id is checkpointed (from the stream's init line)
    const until = Date.now() + 30_000;
    for (;;) {
      const backend = new JsonStateBackend(world.stateDir);
      const run = await backend.loadRun('cont').catch(() => undefined);
      await backend.close();
      if (run?.records.find((r) => r.taskId === 'long')?.sessionId) break;
      if (Date.now() > until) throw new Error('no session id checkpointed');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await child;
    const longCall = world.invocations().find((c) => String(c.prompt).startsWith('long job'))!;
    expect(await eventually(() => !isAlive(longCall.pid as number))).toBe(true);

    const resumedAt = Date.now();
    const resumed = await startCli(world, ['resume', 'cont', '--json']);
    expect(resumed.exitCode).toBe(0);
    const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
    const long = result.taskResults.find((t) => t.taskId === 'long')!;
    expect(long.status).toBe('completed');
    expect(long.attempts).toBe(2);
    // its time is that of the run that finished it, not counting the time the run was down
    expect(Date.parse(long.startedAt!)).toBeGreaterThanOrEqual(Math.floor(resumedAt / 1000) * 1000);
    const continued = world.invocations().filter((c) => c.prompt === CONTINUE_PROMPT);
    expect(continued).toHaveLength(1);
    expect(continued[0]!.resume).toBe(long.sessionId);
    expect(continued[0]!.argv).toEqual(expect.arrayContaining(['--resume', long.sessionId]));
    // the interrupted process never completed; the first task was not run again
    const completedPids = world.invocations().filter((c) => c.event === 'completed').map((c) => c.pid);
    expect(completedPids).not.toContain(longCall.pid);
    expect(world.invocations().filter((c) => String(c.prompt).startsWith('first'))).toHaveLength(1);
  });

  test('resume first kills the agents a SIGKILLed orchestrator left running, then reruns their task once', { timeout: 60_000 }, async ({ world, expect }) => {
    const file = join(world.root, 'orphans.yaml');
    writeFileSync(
      file,
      ['id: orphans', 'tasks:', '  - id: stuck', '    prompt: "stuck job [[hang-once]]"', '  - id: after', '    depends_on: [stuck]', '    prompt: "after"', ''].join('\n'),
    );
    // No FAKE_CLAUDE_EXIT_WITH_PARENT, and the guardian dies with the orchestrator (as when the
    // OOM killer takes both): the agent outlives its orchestrator.
    const child = execa(process.execPath, [CLI_BIN, 'run', file, '--run-id', 'orph', '--json', '--state-dir', world.stateDir], {
      env: world.env,
      reject: false,
      stdin: 'ignore',
    });
    const registry = processRegistryDir(world.stateDir, 'orph');
    const raw = join(world.stateDir, 'orph', 'stuck', 'raw_output.jsonl');
    // The fake reports the pid of the child it started in its process group.
    expect(await eventually(() => existsSync(raw) && /child pid: \d+/.test(readFileSync(raw, 'utf8')), 20_000)).toBe(true);
    const agentPid = world.invocations().find((c) => String(c.prompt).startsWith('stuck job'))!.pid as number;
    const grandchildPid = Number(/child pid: (\d+)/.exec(readFileSync(raw, 'utf8'))![1]);
    expect(readdirSync(registry)).toEqual([`${agentPid}.json`]);
    killGuardianOf(child.pid!);
    child.kill('SIGKILL');
    await child;
    expect(isAlive(agentPid)).toBe(true);
    expect(isAlive(grandchildPid)).toBe(true);

    const resumed = await execa(process.execPath, [CLI_BIN, 'resume', 'orph', '--json', '--state-dir', world.stateDir], {
      env: world.env,
      reject: false,
      stdin: 'ignore',
    });
    expect(String(resumed.stderr)).toContain(`killed agent process group ${agentPid}`);
    expect(resumed.exitCode).toBe(0);
    expect(isAlive(agentPid)).toBe(false);
    expect(isAlive(grandchildPid)).toBe(false);
    const result = JSON.parse(String(resumed.stdout)) as WorkflowResult;
    expect(result.taskResults.map((t) => [t.taskId, t.status, t.attempts])).toEqual([
      ['stuck', 'completed', 2],
      ['after', 'completed', 1],
    ]);
    // Only the rerun completed: the orphan never did, and the registry is empty again.
    expect(world.invocations().filter((c) => c.event === 'completed')).toHaveLength(2);
    expect(existsSync(registry)).toBe(false);
  });
});

