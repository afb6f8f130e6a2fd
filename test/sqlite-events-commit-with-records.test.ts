/**
 * On the SQLite backend a run's events are written in the same transaction as the task records
 * they describe: once a record is durable, so are the events that led to it. Before, events went
 * in a batch of their own at the next turn of the event loop, after the records, and a kill -9
 * lost some whose records were saved (982 of 1,005 completion events were left).
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type Executor } from '../src/index.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { okResult } from './helpers/results.js';

const LOAD_RUN = fileURLToPath(new URL('./fixtures/load-run.mjs', import.meta.url));

let root: string;
let file: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'agents-sdk-sqlite-events-'));
  file = join(root, 'agents.sqlite');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** What another process reading the database now would find: completed records and completion events. */
function durable(runId: string): { completed: string[]; completionEvents: string[]; types: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    const completed = db
      .prepare<[string], { task_id: string; record: string }>('SELECT task_id, record FROM tasks WHERE run_id = ?')
      .all(runId)
      .filter((row) => (JSON.parse(row.record) as { status: string }).status === 'completed')
      .map((row) => row.task_id)
      .sort();
    const events = db.prepare<[string], { type: string; task_id: string | null }>('SELECT type, task_id FROM events WHERE run_id = ? ORDER BY seq').all(runId);
    const completionEvents = events.filter((e) => e.type === 'task.completed').map((e) => e.task_id!).sort();
    return { completed, completionEvents, types: events.map((e) => e.type) };
  } finally {
    db.close();
  }
}

describe('SQLite run events and task records', () => {
  it('a task record is durable only with the events that led to it: a dependant starts with its dependency\'s completion in the events table', async () => {
    const backend = await SqliteStateBackend.open(file);
    const seen: Array<{ task: string; completed: string[]; completionEvents: string[] }> = [];
    // Each task, when it starts, looks at the database from another connection: its dependency's
    // record is durable (dependants start only then), and so must be its completion event.
    const executor: Executor = async (request) => {
      const task = request.kind === 'command' ? request.command[1]! : request.prompt;
      seen.push({ task, ...durable('r1') });
      return okResult({ output: `out-${task}` });
    };
    try {
      const orchestrator = new WorkflowOrchestrator(backend, { stateDir: root, executor });
      const tasks = ['a', 'b', 'c', 'd'].map((id, i, ids) => ({ id, command: ['echo', id], ...(i > 0 && { depends_on: [ids[i - 1]!] }) }));
      expect((await orchestrator.runWorkflow({ id: 'chain', tasks }, { runId: 'r1' })).status).toBe('completed');
    } finally {
      await backend.close();
    }
    expect(seen.map((s) => s.task)).toEqual(['a', 'b', 'c', 'd']);
    for (const { task, completed, completionEvents } of seen) {
      expect([task, completionEvents]).toEqual([task, completed]);
    }
    expect(seen.at(-1)!.completed).toEqual(['a', 'b', 'c']);
    expect(durable('r1').types).toContain('workflow.started');
  });

  it('a run killed with SIGKILL under load keeps the completion event of every task whose record it saved', { timeout: 60_000 }, async () => {
    const tasks = Array.from({ length: 1500 }, (_, i) => ({ id: `t${i}`, command: ['task', `t${i}`], ...(i >= 30 && { depends_on: [`t${i - 30}`] }) }));
    const spec = join(root, 'load.json');
    writeFileSync(spec, JSON.stringify({ id: 'under-load', max_parallel: 32, tasks }));
    const log = join(root, 'ran.log');
    writeFileSync(log, '');
    const child = execa(process.execPath, [LOAD_RUN, 'run', root, 'sqlite', spec, log, '0'], { reject: false, stdin: 'ignore' });
    const until = Date.now() + 40_000;
    const ran = () => readFileSync(log, 'utf8').split('\n').length - 1;
    while (ran() < 200 && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');

    const { completed, completionEvents, types } = durable('load');
    expect(completed.length).toBeGreaterThan(50);
    expect(completed.length).toBeLessThan(1500);
    // every saved completion has its event (an event may be ahead of its record, never behind)
    expect(completed.filter((id) => !completionEvents.includes(id))).toEqual([]);
    expect(types[0]).toBe('workflow.started');
  });
});
