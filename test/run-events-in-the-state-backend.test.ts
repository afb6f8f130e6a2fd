/**
 * A run's event log lives with its state: `<stateDir>/<runId>/events.jsonl` beside a JSON
 * backend, the `events` table of a SQLite database. Either way `readRunEvents` gives every
 * event with its run, task, session and attempt, big outputs referenced; a resume's
 * `workflow.reaped` is in it; and deleting the run deletes its events.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onLifecycleEvent } from '../src/event-bus.js';
import { CancelledError, WorkflowOrchestrator, readRunEvents, type Executor, type StateBackend } from '../src/index.js';
import { SqliteStateBackend } from '../src/persistence/sqlite-state-backend.js';
import { runEventLogPath } from '../src/persistence/run-event-log.js';
import { processRegistryDir, registerProcess } from '../src/actors/process-registry.js';
import { openStateBackend } from '../src/persistence/open-state-backend.js';
import { backendFactories } from './helpers/backends.js';
import { eventually, isAlive } from './helpers/fake-claude.js';
import { okResult } from './helpers/results.js';

let dir: string;
const backends: StateBackend[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-runevents-'));
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

const BIG = 'y'.repeat(100 * 1024);

/** `big` outputs 100 KB; `hang` waits until cancelled while `hanging` is set; the rest echo. */
function executor(state: { hanging: boolean } = { hanging: false }): Executor {
  return async (request, { signal }) => {
    const id = request.kind === 'command' ? request.command[1]! : request.prompt;
    if (id === 'hang' && state.hanging) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new CancelledError('cancelled')), { once: true }));
    }
    await new Promise((r) => setImmediate(r));
    return okResult({ output: id === 'big' ? BIG : `out-${id}` });
  };
}

const workflow = {
  id: 'stored',
  tasks: [
    { id: 'big', command: ['echo', 'big'] },
    { id: 'hang', command: ['echo', 'hang'], depends_on: ['big'] },
  ],
};

describe.each(backendFactories())('run events with the $name', (factory) => {
  async function orchestrator(state?: { hanging: boolean }) {
    const backend = await factory.create(dir);
    backends.push(backend);
    return new WorkflowOrchestrator(backend, { stateDir: dir, executor: executor(state) });
  }

  it('holds every event of the run with its run, task, session and attempt, the 100 KB output referenced', async () => {
    const o = await orchestrator();
    const seen: string[] = [];
    onLifecycleEvent(o.bus, (event) => {
      seen.push(event.type);
    });
    expect((await o.runWorkflow(workflow, { runId: 'run-1' })).status).toBe('completed');

    const { events, torn } = await readRunEvents('run-1', { backend: o.stateBackend, stateDir: dir });
    expect(torn).toBe(false);
    expect(events.map((e) => e.type)).toEqual(seen);
    expect(events.every((e) => e.runId === 'run-1')).toBe(true);
    const started = events.filter((e) => e.type === 'task.started');
    expect(started.map((e) => [e.taskId, e.sessionId, e.attempt])).toEqual([
      ['big', 'big', 1],
      ['hang', 'hang', 1],
    ]);
    const big = events.find((e) => e.type === 'task.completed' && e.taskId === 'big')!;
    expect((big.record as { output: unknown }).output).toEqual({ $ref: 'records', taskId: 'big', bytes: BIG.length });
    expect(JSON.stringify(events).length).toBeLessThan(BIG.length);
    // The SQLite backend keeps them in its table, not in a file.
    expect(existsSync(runEventLogPath(dir, 'run-1'))).toBe(factory.name === 'JsonStateBackend');
    expect(await readRunEvents('unknown', { backend: o.stateBackend, stateDir: dir })).toEqual({ events: [], torn: false });

    await o.stateBackend!.deleteRun('run-1');
    expect((await readRunEvents('run-1', { backend: o.stateBackend, stateDir: dir })).events).toEqual([]);
  });

  it('on resume, logs the agents it reaped (workflow.reaped) before the run starts again, after the first life', async () => {
    const state = { hanging: true };
    const first = await orchestrator(state);
    const running = first.runWorkflow(workflow, { runId: 'again' });
    expect(await eventually(() => first.bus.getHistory('task.started').some((e) => e.source === 'hang'))).toBe(true);
    // An agent of the first life that outlives it, as after a crash.
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    registerProcess(processRegistryDir(dir, 'again'), orphan.pid!, 'claude');
    await first.cancel();
    expect((await running).status).toBe('cancelled');

    state.hanging = false;
    const second = new WorkflowOrchestrator(first.stateBackend, { stateDir: dir, executor: executor(state) });
    expect((await second.resume('again')).status).toBe('completed');
    expect(await eventually(() => !isAlive(orphan.pid!))).toBe(true);

    const { events } = await readRunEvents('again', { backend: second.stateBackend, stateDir: dir });
    const types = events.map((e) => e.type);
    const reaped = types.indexOf('workflow.reaped');
    expect(types.filter((t) => t === 'workflow.started')).toHaveLength(2);
    expect(reaped).toBeGreaterThan(types.indexOf('workflow.finished'));
    expect(types[reaped + 1]).toBe('workflow.started');
    expect(events[reaped]).toMatchObject({ runId: 'again', processes: [{ pid: orphan.pid, command: 'claude', outcome: 'killed' }] });
  });
});

/** Where better-sqlite3's native module is not built (it is optional) there is nothing to test. */
const built = backendFactories().some((f) => f.name === 'SqliteStateBackend');

describe.skipIf(!built)('the SQLite events table', () => {
  const file = () => join(dir, 'agents.sqlite');
  const tables = () => {
    const db = new Database(file(), { readonly: true });
    try {
      return [db.pragma('user_version', { simple: true }), db.prepare("SELECT name FROM sqlite_schema WHERE name = 'events'").all().length];
    } finally {
      db.close();
    }
  };

  it('holds one row per event with its indexed columns, numbered in order across batches', async () => {
    const backend = await SqliteStateBackend.open(file());
    backends.push(backend);
    const o = new WorkflowOrchestrator(backend, { stateDir: dir, executor: executor() });
    await o.runWorkflow({ id: 'many', max_parallel: 8, tasks: Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, command: ['echo', `t${i}`] })) }, { runId: 'many' });
    const db = new Database(file(), { readonly: true });
    try {
      const rows = db.prepare('SELECT seq, type, task_id, session_id, attempt FROM events WHERE run_id = ? ORDER BY seq').all('many') as {
        seq: number;
        type: string;
        task_id: string | null;
        session_id: string | null;
        attempt: number | null;
      }[];
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      expect(rows[0]).toMatchObject({ type: 'workflow.started', task_id: null, attempt: null });
      expect(rows.filter((r) => r.type === 'task.started')).toHaveLength(40);
      expect(rows.find((r) => r.type === 'task.started' && r.task_id === 't7')).toMatchObject({ session_id: 't7', attempt: 1 });
    } finally {
      db.close();
    }
  });

  it('is added to a database of the previous layout opened for writing, never by a read-only open', async () => {
    const writable = await SqliteStateBackend.open(file());
    await writable.close();
    const db = new Database(file());
    db.exec('DROP TABLE events');
    db.pragma('user_version = 2');
    db.close();

    const readonly = await openStateBackend('sqlite', dir, { readonly: true });
    expect(await readRunEvents('any', { backend: readonly, stateDir: dir })).toEqual({ events: [], torn: false });
    await readonly.close();
    expect(tables()).toEqual([2, 0]);

    backends.push(await SqliteStateBackend.open(file()));
    expect(tables()).toEqual([3, 1]);
  });

  it('refuses a sink on a read-only database and reports a damaged row', async () => {
    const backend = await SqliteStateBackend.open(file());
    const sink = backend.openRunEventSink('r');
    sink.append({ type: 'workflow.reaped', workflowId: 'w', runId: 'r', at: 1, processes: [] });
    await sink.close();
    sink.append({ type: 'workflow.reaped', workflowId: 'w', runId: 'r', at: 2, processes: [] });
    await backend.close();
    const db = new Database(file());
    db.prepare("INSERT INTO events (run_id, seq, type, at, json) VALUES ('r', 2, 'x', 3, '{bad')").run();
    db.close();

    const readonly = await SqliteStateBackend.open(file(), { readonly: true });
    backends.push(readonly);
    expect(() => readonly.openRunEventSink('r')).toThrow(/read-only/);
    await expect(readonly.readRunEvents('r')).rejects.toMatchObject({ code: 'CORRUPT_STATE', message: expect.stringContaining('table events, run r, seq 2') });
  });

  it('a sink whose database went away keeps the error and stops; the run is not disturbed', async () => {
    const backend = await SqliteStateBackend.open(file());
    const sink = backend.openRunEventSink('r');
    await backend.close();
    sink.append({ type: 'workflow.reaped', workflowId: 'w', runId: 'r', at: 1, processes: [] });
    await sink.flush();
    expect(sink.error).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    sink.append({ type: 'workflow.reaped', workflowId: 'w', runId: 'r', at: 2, processes: [] });
    await sink.close();
  });
});
