/**
 * The lines `run` and `resume` print after the summary table: where the run's files are, and
 * how to go on with it.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SQLITE_FILE } from '../persistence/open-state-backend.js';
import type { WorkflowResult } from '../workflow/workflow-result.js';

/** Where a run is stored, and the state options as the user gave them (repeated in `resume`). */
export interface RunStorage {
  /** The state directory in effect. */
  stateDir: string;
  /** `--state-dir` as passed, if it was. */
  stateDirOption?: string | undefined;
  /** `--backend` as passed, if it was (default: json). */
  backendOption?: string | undefined;
}

/** The lines after the summary: state and raw output files, and what `resume` would do. */
export function runWhereabouts(result: WorkflowResult, storage: RunStorage): string {
  const runDir = join(storage.stateDir, result.runId);
  const sqlite = storage.backendOption === 'sqlite';
  const lines = [
    sqlite
      ? `state:       ${join(storage.stateDir, SQLITE_FILE)} (run ${result.runId})`
      : `state:       ${join(runDir, 'checkpoint.json')}`,
  ];
  if (result.taskResults.some((t) => existsSync(join(runDir, t.taskId, 'raw_output.jsonl')))) {
    lines.push(`raw outputs: ${join(runDir, '<task id>', 'raw_output.jsonl')}`);
  }
  const resume = resumeCommandLine(result.runId, storage);
  if (result.status === 'cancelled') {
    lines.push('the run can be resumed: what did not finish runs again, completed tasks are kept', `resume:      ${resume}`);
  } else if (!result.success) {
    const advice = finishedRunAdvice(result.status, resume);
    if (advice) lines.push(advice);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The `resume` command of a run as the user types it (words quoted for a POSIX shell), with
 * the `--state-dir` and `--backend` given: the run's own settings (replay, Redis...) are stored
 * with it, so this command does what the run did.
 */
export function resumeCommandLine(runId: string, storage: Pick<RunStorage, 'stateDirOption' | 'backendOption'>): string {
  const resume = ['agents-sdk', 'resume', runId];
  if (storage.stateDirOption !== undefined) resume.push('--state-dir', storage.stateDirOption);
  if (storage.backendOption !== undefined) resume.push('--backend', storage.backendOption);
  return resume.map(shellQuote).join(' ');
}

/**
 * How to go on with a finished run that did not succeed (`resume` alone would only print its
 * result again): `--retry-failed` for a failed one, `--budget USD` for one over budget.
 * `resume` is the command as the user would type it (quoted).
 */
export function finishedRunAdvice(status: string, resume: string): string | undefined {
  if (status === 'failed') {
    return `to retry: \`${resume} --retry-failed\` reruns the failed tasks (and those skipped because of them), keeping the completed ones`;
  }
  if (status === 'budget_exceeded') {
    return `to go on: \`${resume} --budget USD\` continues the run under a new cap (USD, the whole run's cost), keeping the completed tasks`;
  }
  return undefined;
}

/**
 * An error whose message ends with the bare `agents-sdk resume <runId>` (a failed state write),
 * given the state options the run was given: the command printed is one that works as typed.
 */
export function withStateOptionsInResume<E>(error: E, storage: RunStorage): E {
  if (!(error instanceof Error)) return error;
  const runId = (error as { details?: { runId?: unknown } }).details?.runId;
  if (typeof runId !== 'string') return error;
  const bare = `agents-sdk resume ${runId}`;
  if (error.message.endsWith(bare)) error.message = error.message.slice(0, -bare.length) + resumeCommandLine(runId, storage);
  return error;
}

/** A word as a POSIX shell reads it back: quoted only when it has to be. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
