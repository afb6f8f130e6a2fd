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
  const resume = resumeWords(result.runId, storage);
  if (result.status === 'cancelled') {
    lines.push('the run can be resumed: what did not finish runs again, completed tasks are kept', `resume:      ${resume.map(shellQuote).join(' ')}`);
  } else if (!result.success) {
    // The orchestrator never runs a finished run again: say so rather than suggest a resume.
    lines.push(`this run is finished: \`${resume.map(shellQuote).join(' ')}\` only prints its result again; run the workflow again to retry`);
  }
  return `${lines.join('\n')}\n`;
}

/** `agents-sdk resume <runId>` with the state options the run was given, as words. */
function resumeWords(runId: string, storage: RunStorage): string[] {
  const resume = ['agents-sdk', 'resume', runId];
  if (storage.stateDirOption !== undefined) resume.push('--state-dir', storage.stateDirOption);
  if (storage.backendOption !== undefined) resume.push('--backend', storage.backendOption);
  return resume;
}

/** The command that resumes `runId`, with the `--state-dir` and `--backend` the run was given, quoted for a shell. */
export function resumeCommandLine(runId: string, storage: RunStorage): string {
  return resumeWords(runId, storage).map(shellQuote).join(' ');
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
