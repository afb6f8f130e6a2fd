/**
 * Big runs for the inspector page's tests and bench: `n` tasks replayed in this process from
 * the sdlc recordings (a planner, then layers of agents, 25 wide), optionally a group, a task
 * that waits for the signal `go` (the run stays live until it is sent) and a command that fails
 * with a line on stderr (the run halts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RECORDINGS = join(import.meta.dirname, '..', '..', 'examples', 'recordings', 'sdlc');

export interface BigRunOptions {
  /** Agent tasks (the planner included). */
  tasks: number;
  /** A task `gate` waiting for the signal `go` that the last layer's first task depends on. */
  gate?: boolean;
  /** A command task `broken` (after the planner) that exits 3 after `boom: disk on fire` on stderr. */
  fail?: boolean;
  /** A group `checks` of two agents after the planner. */
  group?: boolean;
}

/** The task ids that replay a recording (every agent of the spec). */
export function agentIds(n: number): string[] {
  return ['plan', ...Array.from({ length: n - 1 }, (_, i) => `t${i + 1}`), 'checks.lint', 'checks.docs'];
}

/** A recordings dir with one stream per agent task, taken in turn from the sdlc recordings. */
export function bigRecordings(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'agents-sdk-big-rec-'));
  const names = readdirSync(RECORDINGS);
  agentIds(n).forEach((id, i) => {
    mkdirSync(join(dir, id));
    copyFileSync(join(RECORDINGS, names[i % names.length]!, 'raw_output.jsonl'), join(dir, id, 'raw_output.jsonl'));
  });
  return dir;
}

/** The spec: `plan`, then `t1`… in layers of 25 (each on the one 25 before it). */
export function bigSpec(id: string, o: BigRunOptions): Record<string, unknown> {
  const tasks: Array<Record<string, unknown>> = [{ id: 'plan', prompt: 'Plan it' }];
  for (let i = 1; i < o.tasks; i++) tasks.push({ id: `t${i}`, prompt: `Do part ${i}`, depends_on: [i > 25 ? `t${i - 25}` : 'plan'] });
  if (o.gate) {
    tasks.push({ id: 'gate', depends_on: ['plan'], wait_for: { event: 'go' }, command: ['node', '-e', '1'] });
    (tasks[tasks.length - 2]!.depends_on as string[]).push('gate');
  }
  if (o.fail) tasks.push({ id: 'broken', depends_on: ['plan'], command: ['node', '-e', "console.error('boom: disk on fire'); process.exit(3)"] });
  if (o.group) tasks.push({ id: 'checks', depends_on: ['plan'], tasks: [{ id: 'lint', prompt: 'lint it' }, { id: 'docs', prompt: 'write docs' }] });
  return { id, max_parallel: 8, tasks };
}
