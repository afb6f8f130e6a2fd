/**
 * The prompt of every agent attempt, as sent (after templates and memory), kept beside its raw
 * stream: `prompt.md` for the first attempt, `prompt.attempt-<n>.md` for a later one (the names
 * follow `raw_output[.attempt-<n>].jsonl`). `agents-sdk logs` and the report show it.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { rawOutputFile } from './claude-code-runner.js';
import type { Executor } from './executor.js';

/** The name of an attempt's prompt file: `prompt.md`, `prompt.attempt-<n>.md` from the second attempt on. */
export function promptFileName(attempt = 1): string {
  return attempt > 1 ? `prompt.attempt-${attempt}.md` : 'prompt.md';
}

/** The prompt file beside a raw stream file (`.../raw_output.attempt-3.jsonl` → `.../prompt.attempt-3.md`). */
export function promptFileBeside(rawFile: string): string {
  const match = /^raw_output(?:\.attempt-(\d+))?\.jsonl$/.exec(basename(rawFile));
  return join(dirname(rawFile), promptFileName(match?.[1] === undefined ? 1 : Number(match[1])));
}

/**
 * Wraps an executor so that each agent request's prompt, as it is about to be sent, is written
 * to its prompt file first (a request without a run id records nothing). Recording is a side
 * job: a write that fails never fails the attempt.
 */
export function recordPrompts(inner: Executor): Executor {
  return async (request, hooks) => {
    if (request.kind === 'claude' && request.runId) {
      try {
        const file = promptFileBeside(rawOutputFile(request)!);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, request.prompt);
      } catch {
        // the attempt runs anyway (and a bad run id or agent name is the runner's to report)
      }
    }
    return inner(request, hooks);
  };
}
