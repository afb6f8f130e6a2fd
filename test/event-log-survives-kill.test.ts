/**
 * The JSON backend's event log is written in the same commit as the task records it describes:
 * a run killed with SIGKILL at several points keeps, for every task that is durably
 * `completed`, its `task.completed` event in `events.jsonl`, and every process life of the run
 * its `workflow.started`.
 *
 * A real run (dist/cli.js) of many fast tasks, agents on the fake `claude` and commands, is
 * killed once a growing number of tasks is durable, and resumed, three times.
 */
import { execa, type ResultPromise } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend } from '../src/index.js';
import { readRunEventLog, runEventLogPath } from '../src/persistence/run-event-log.js';
import { CLI_BIN } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const AGENTS = 24;
const COMMANDS = 176;
/** Durable completed tasks at which each life is killed. */
const KILL_AT = [30, 90, 150];

function writeSpec(): string {
  const lines = ['id: many-fast', 'max_parallel: 16', 'tasks:'];
  for (let i = 0; i < AGENTS; i++) lines.push(`  - id: a${i}`, `    prompt: "agent ${i}"`);
  for (let i = 0; i < COMMANDS; i++) lines.push(`  - id: c${i}`, `    command: [sh, -c, 'sleep 0.05; echo out-$0', c${i}]`);
  const file = join(world.root, 'many.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function startCli(args: string[]): ResultPromise {
  return execa(process.execPath, [CLI_BIN, ...args, '--state-dir', world.stateDir], {
    env: { ...world.env, FAKE_CLAUDE_EXIT_WITH_PARENT: '1' },
    reject: false,
    stdin: 'ignore',
  });
}

async function durablyCompleted(runId: string): Promise<string[]> {
  const backend = new JsonStateBackend(world.stateDir);
  try {
    const run = await backend.loadRun(runId);
    return run ? run.records.filter((r) => r.status === 'completed').map((r) => r.taskId) : [];
  } finally {
    await backend.close();
  }
}

async function killOnce(child: ResultPromise, runId: string, atLeast: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await durablyCompleted(runId)).length < atLeast) {
    if (Date.now() > until) throw new Error(`run never reached ${atLeast} completed tasks`);
    if (child.exitCode !== null) throw new Error(`the run ended before ${atLeast} tasks were completed: ${String((await child).stderr)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await child;
}

describe('the JSON event log under SIGKILL', () => {
  it('holds the task.completed event of every durable completed task, and each life its workflow.started', { timeout: 180_000 }, async () => {
    const spec = writeSpec();
    const runId = 'killed';
    const file = runEventLogPath(world.stateDir, runId);
    for (const [life, atLeast] of KILL_AT.entries()) {
      const child = startCli(life === 0 ? ['run', spec, '--run-id', runId] : ['resume', runId]);
      await killOnce(child, runId, atLeast);
      const durable = await durablyCompleted(runId);
      const { events } = await readRunEventLog(file);
      const logged = new Set(events.filter((e) => e.type === 'task.completed').map((e) => e.taskId));
      const missing = durable.filter((id) => !logged.has(id));
      expect(missing, `life ${life + 1}: ${missing.length} of ${durable.length} durable completions have no event`).toEqual([]);
      expect(events.filter((e) => e.type === 'workflow.started').map((e) => e.resumed)).toEqual(Array.from({ length: life + 1 }, (_, i) => i > 0));
    }
    const last = await startCli(['resume', runId]);
    expect(last.exitCode, String(last.stderr)).toBe(0);
    const { events } = await readRunEventLog(file);
    const logged = new Set(events.filter((e) => e.type === 'task.completed').map((e) => e.taskId));
    expect(logged.size).toBe(AGENTS + COMMANDS);
    expect(events.filter((e) => e.type === 'workflow.started')).toHaveLength(KILL_AT.length + 1);
  });
});
