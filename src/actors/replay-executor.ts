/**
 * Replay: answers agent requests from recorded `raw_output.jsonl` streams instead of a live
 * `claude`, through the same parsing, events and recording code, at the recorded pace
 * (the result line's `duration_ms` spread over the lines) or faster.
 *
 * Recordings are looked up as `<dir>/<agentName>/raw_output.jsonl`; the orchestrator names
 * each task's agent directory after the task id, so `--replay agents/<runId>` replays an
 * earlier run. A later attempt replays that attempt's own recording
 * (`raw_output.attempt-<n>.jsonl`) when there is one, so a run whose task was retried replays
 * its retries; otherwise `raw_output.jsonl`. Command requests still run for real.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClaudeStreamCollector } from '../claude/stream-collector.js';
import { parseStreamLine } from '../claude/stream-json.js';
import { PermanentError } from '../errors.js';
import { rawOutputFile, rawOutputFileName, structuredFor } from './claude-code-runner.js';
import { defaultExecutor, type Executor } from './executor.js';

/** Options of {@link createReplayExecutor}. */
export interface ReplayOptions {
  /** 1 = recorded pace (default), 2 = twice as fast, 0 = no waiting at all. */
  speed?: number;
}

/**
 * The recording a request would be answered from: that of its attempt if recorded, else the
 * first attempt's (`raw_output.jsonl`).
 */
export function recordingPath(dir: string, agentName: string, attempt = 1): string {
  const own = join(resolve(dir), agentName, rawOutputFileName(attempt));
  return attempt > 1 && !existsSync(own) ? join(resolve(dir), agentName, rawOutputFileName(1)) : own;
}

/** An executor that replays recordings from `dir`. */
export function createReplayExecutor(dir: string, options: ReplayOptions = {}): Executor {
  const speed = options.speed ?? 1;
  return async (request, hooks) => {
    if (request.kind === 'command') return defaultExecutor(request, hooks);
    const agent = request.agentName ?? 'agent';
    const file = recordingPath(dir, agent, request.attempt);
    if (!existsSync(file)) {
      throw new PermanentError('REPLAY_MISSING', `No recording for agent "${agent}" in ${resolve(dir)} (expected ${file})`, {
        details: { file, agentName: agent },
      });
    }
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const result = lines.map(parseStreamLine).find((l) => l?.type === 'result');
    const recordedMs = typeof result?.duration_ms === 'number' ? result.duration_ms : 0;
    const gap = speed > 0 && lines.length > 0 ? recordedMs / speed / lines.length : 0;

    const collector = new ClaudeStreamCollector(rawOutputFile(request), request.resumeSessionId ?? null, hooks.onEvent, request.resultFile === true, structuredFor(request));
    const started = performance.now();
    let cancelled = false;
    for (const [i, line] of lines.entries()) {
      // Each line is due at its own time from the start, so timer lateness does not add up.
      const wait = gap > 0 ? started + (i + 1) * gap - performance.now() : 0;
      if (wait > 0) await sleep(wait, undefined, { signal: hooks.signal }).catch(() => undefined);
      if (hooks.signal.aborted) {
        cancelled = true;
        break;
      }
      collector.handleLine(line);
    }
    return collector.finish({
      exitCode: cancelled ? null : result?.is_error === true ? 1 : 0,
      stderrTail: '',
      killedBy: cancelled ? 'abort' : null,
      durationMs: Math.round(performance.now() - started),
    });
  };
}
