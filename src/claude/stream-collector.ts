/**
 * Consumes the stdout lines of one Claude Code run: records them raw, parses them, emits
 * progress events, and at the end turns what it saw into an {@link ExecutionResult} or a
 * typed error. Shared by the live runner and replay, so both go through the same code.
 *
 * @module
 */
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecutionResult, OutputCut } from '../execution-result.js';
import { TransientError } from '../errors.js';
import { classifyFailure, type KillReason } from './classify-failure.js';
import { costOf, parseStreamLine, progressEventsOf, tokensFromUsage, type ClaudeProgressEvent, type ResultLine } from './stream-json.js';

/** How the producer of the lines ended. */
export interface StreamOutcome {
  exitCode: number | null;
  signal?: string | null;
  stderrTail: string;
  killedBy: KillReason | null;
  limitMs?: number;
  durationMs: number;
  /** Set when stdout was cut before its end (see `OutputCut`). */
  outputCut?: OutputCut;
}

/** Collects one run's stream. */
export class ClaudeStreamCollector {
  private raw: WriteStream | undefined;
  private sessionId: string | null;
  private resultLine: ResultLine | null = null;
  private lastText = '';
  private lastRetryStatus: number | null = null;

  /**
   * @param rawFile - where the stream is written (`.../raw_output.jsonl`); `null`: nowhere.
   * @param resumeSessionId - the session being continued, until the stream names one.
   * @param resultFile - also write the result line beside the stream, under the same name
   *   ending in `.json` (ADW's layout).
   */
  constructor(
    private rawFile: string | null,
    resumeSessionId: string | null,
    private readonly onEvent?: (event: ClaudeProgressEvent) => void,
    private readonly resultFile = false,
    /** The run asked for structured output (`--json-schema`) for this task: a result without it fails with `OUTPUT_SCHEMA`. */
    private readonly structuredFor?: string,
  ) {
    this.sessionId = resumeSessionId;
    if (rawFile) {
      try {
        mkdirSync(dirname(rawFile), { recursive: true });
      } catch {
        this.rawFile = null;
        return;
      }
      this.raw = createWriteStream(rawFile);
      // Recording is a side job: a full disk or a bad path must not take the agent down.
      this.raw.on('error', () => {
        this.raw = undefined;
      });
    }
  }

  /** Handles one stdout line; returns a reason when the run must be killed at once. */
  handleLine(text: string): KillReason | void {
    // Two writes, not `text + '\n'`: encoding that concatenation would first copy the whole
    // line into a flat string, tens of MB for a big result.
    this.raw?.write(text);
    this.raw?.write('\n');
    const line = parseStreamLine(text);
    if (!line) return;
    // A resumed run may report a new session id: always keep the latest one seen.
    if (typeof line.session_id === 'string') this.sessionId = line.session_id;
    if (line.type === 'result') {
      this.resultLine = line as ResultLine;
      // The result text supersedes the last assistant text: do not hold a big output twice.
      if (typeof this.resultLine.result === 'string') this.lastText = '';
    }
    for (const event of progressEventsOf(line)) {
      if (event.type === 'assistant_text') this.lastText = event.text;
      if (event.type === 'api_retry') this.lastRetryStatus = event.errorStatus;
      try {
        this.onEvent?.(event);
      } catch {
        // a listener's bug must not kill the agent
      }
    }
    // The CLI would spend minutes retrying a permanent auth failure: stop it now.
    if (line.type === 'system' && line.subtype === 'api_retry' && (this.lastRetryStatus === 401 || this.lastRetryStatus === 403)) {
      return 'auth';
    }
    // The result line is the last one: a CLI that does not exit soon after is ended.
    if (line.type === 'result') return 'linger';
  }

  /** Closes the raw file and returns the result, or throws the classified error (carrying the result). */
  async finish(outcome: StreamOutcome): Promise<ExecutionResult> {
    const raw = this.raw;
    if (raw) await new Promise<void>((done) => raw.end(() => done())).catch(() => undefined);
    const final = this.resultLine;
    const result: ExecutionResult = {
      success: false,
      output: typeof final?.result === 'string' ? final.result : this.lastText,
      sessionId: (typeof final?.session_id === 'string' ? final.session_id : null) ?? this.sessionId,
      tokens: tokensFromUsage(final?.usage),
      costUsd: final ? costOf(final) : 0,
      durationMs: outcome.durationMs,
      cliDurationMs: typeof final?.duration_ms === 'number' ? final.duration_ms : null,
      numTurns: typeof final?.num_turns === 'number' ? final.num_turns : 0,
      exitCode: outcome.exitCode,
      stderrTail: outcome.stderrTail,
    };
    // After the result line nothing the output is made of can be missing.
    if (outcome.outputCut && !final) result.outputCut = outcome.outputCut;
    if (this.rawFile && this.resultFile) {
      try {
        writeFileSync(this.rawFile.replace(/\.jsonl$/, '') + '.json', JSON.stringify(final ?? { type: 'result', missing: true, result }, null, 2));
      } catch {
        // as above: recording never fails the execution
      }
    }
    const failure = classifyFailure({
      result: final,
      killedBy: outcome.killedBy,
      exitCode: outcome.exitCode,
      signal: outcome.signal ?? null,
      stderrTail: outcome.stderrTail,
      lastRetryStatus: this.lastRetryStatus,
      partial: result,
      ...(outcome.limitMs !== undefined && { limitMs: outcome.limitMs }),
    });
    if (failure) throw failure;
    if (final && final.structured_output !== undefined) result.json = final.structured_output;
    else if (this.structuredFor !== undefined) throw noStructuredOutput(this.structuredFor, result);
    result.success = true;
    return result;
  }
}

/** The agent ended without calling its StructuredOutput tool (the CLI reports success all the same). */
function noStructuredOutput(task: string, result: ExecutionResult): TransientError {
  const said = result.output.trim();
  const text = said === '' ? '' : `; it answered in text: ${JSON.stringify(said.length > 200 ? `${said.slice(0, 200)}…` : said)}`;
  return new TransientError('OUTPUT_SCHEMA', `Task "${task}": the agent gave no structured output (it never called the StructuredOutput tool for its output_schema)${text}`, {
    result,
    details: { taskId: task },
  });
}
