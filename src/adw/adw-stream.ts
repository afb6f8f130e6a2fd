/**
 * What ADW's `prompt_claude_code` makes of a finished `claude -p` stream, per course version:
 * the `.json` array beside the raw file (Python's `json.dump(indent=2)`), the response, and the
 * lines the original prints. Shared by both paths of `promptClaudeCode`, so that the same stream
 * gives the same response, files and lines.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AdwRetryCode, AdwVersion, AgentPromptResponse } from './adw-types.js';
import { dumpPythonJson, parsePythonJson, toPlain, type PyJson } from './python-json.js';

/** Where the lines the original prints go (each call one line, newline included). */
export interface AdwPrinter {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** A printer that prints nothing. */
export const SILENT: AdwPrinter = { stdout: () => undefined, stderr: () => undefined };

/** What the original parse of a stream file gives: every message, or the error that made it give none. */
export interface ParsedStream {
  messages: PyJson[];
  /** The last `result` message, as a plain object. */
  result: Record<string, unknown> | null;
  /** Python's message when the file failed to parse (the original then has no messages and no result). */
  error: string | null;
}

const pyType = (v: PyJson): string =>
  v === null ? 'NoneType' : typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'str' : Array.isArray(v) ? 'list' : 'int' in v ? 'int' : 'float' in v ? 'float' : 'dict';

/**
 * Parses a raw stream file as ADW's `parse_jsonl_output` does: every non-blank line must be
 * JSON (one that is not fails the whole file), then the last `result` message.
 */
export function parseStream(file: string): ParsedStream {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { messages: [], result: null, error: pythonOsError(error as NodeJS.ErrnoException, file) };
  }
  const messages: PyJson[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    if (!line.trim()) continue;
    try {
      messages.push(parsePythonJson(line));
    } catch (error) {
      return { messages: [], result: null, error: (error as Error).message };
    }
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m === null || typeof m !== 'object' || Array.isArray(m) || !('pairs' in m)) {
      return { messages: [], result: null, error: `'${pyType(m)}' object has no attribute 'get'` };
    }
    const plain = toPlain(m) as Record<string, unknown>;
    if (plain.type === 'result') return { messages, result: plain, error: null };
  }
  return { messages, result: null, error: null };
}

/** ADW's name of the parsed array: the raw file's path with `.jsonl` replaced by `.json` (every occurrence, as Python's `str.replace`). */
export function jsonFileOf(outputFile: string): string {
  return outputFile.replaceAll('.jsonl', '.json');
}

/** `str(OSError)` as Python words it: `[Errno 2] No such file or directory: '<path>'`. */
export function pythonOsError(error: NodeJS.ErrnoException, path: string): string {
  const known: Record<string, [number, string]> = {
    ENOENT: [2, 'No such file or directory'],
    EACCES: [13, 'Permission denied'],
    EISDIR: [21, 'Is a directory'],
    ENOTDIR: [20, 'Not a directory'],
    EEXIST: [17, 'File exists'],
    ENOSPC: [28, 'No space left on device'],
  };
  const [errno, text] = known[error.code ?? ''] ?? [error.errno === undefined ? 0 : -error.errno, error.message];
  return `[Errno ${errno}] ${text}: ${pythonRepr(path)}`;
}

/** `repr(str)` for a path: single quotes unless the text holds one and no double quote. */
function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  return `${quote}${s.replaceAll('\\', '\\\\').replaceAll(quote, `\\${quote}`)}${quote}`;
}

/** The first `n` characters (code points, as Python slices). */
function head(s: string, n: number): string {
  const chars = Array.from(s);
  return chars.length <= n ? s : chars.slice(0, n).join('');
}

/** `tac-7`'s `truncate_output`: a JSONL blob shortened to its last result or assistant text, else cut near `maxLength` at a line or word break. */
export function truncateOutput(output: string, maxLength = 500, suffix = '... (truncated)'): string {
  if (output.startsWith('{"type":') && output.includes('\n{"type":')) {
    const lines = output.trim().split('\n');
    for (const line of lines.toReversed()) {
      let data: Record<string, unknown>;
      try {
        data = toPlain(parsePythonJson(line)) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (data?.type === 'result' && typeof data.result === 'string' && data.result) return truncateOutput(data.result, maxLength, suffix);
      const text = data?.type === 'assistant' ? firstText(data) : '';
      if (text) return truncateOutput(text, maxLength, suffix);
    }
    return `[JSONL output with ${lines.length} messages]${suffix}`;
  }
  if (output.length <= maxLength) return output;
  const at = maxLength - suffix.length;
  const breakAt = (char: string, window: number) => {
    const i = output.lastIndexOf(char, at - 1);
    return i >= Math.max(0, at - window) && i > 0 ? i : -1;
  };
  const nl = breakAt('\n', 50);
  if (nl > 0) return output.slice(0, nl) + suffix;
  const sp = breakAt(' ', 20);
  if (sp > 0) return output.slice(0, sp) + suffix;
  return output.slice(0, at) + suffix;
}

/** The text of an assistant message's first content block (`''` when it has none). */
function firstText(message: Record<string, unknown>): string {
  const content = (message.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content) || content.length === 0) return '';
  const text = (content[0] as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}

/** One finished run of `claude`: its exit code and stderr; the stream is in `outputFile`. */
export interface FinishedRun {
  outputFile: string;
  exitCode: number;
  stderr: string;
}

/**
 * The response of a finished run as `version`'s `prompt_claude_code` gives it, with its files
 * (the `.json` array, exit 0 only) and printed lines.
 */
export function responseOfRun(run: FinishedRun, version: AdwVersion, print: AdwPrinter = SILENT): AgentPromptResponse {
  const tac7 = version === 'tac-7';
  const answer = (output: string, success: boolean, sessionId: unknown, retryCode: AdwRetryCode): AgentPromptResponse => {
    const response: AgentPromptResponse = { output, success, session_id: typeof sessionId === 'string' ? sessionId : null };
    if (tac7) response.retry_code = retryCode;
    return response;
  };
  if (run.exitCode !== 0) {
    if (!tac7) {
      const message = `Claude Code error: ${run.stderr}`;
      print.stderr(`${message}\n`);
      return answer(message, false, null, 'claude_code_error');
    }
    return answer(truncateOutput(tac7FailureMessage(run), 800), false, null, 'claude_code_error');
  }
  if (!tac7) print.stdout(`Output saved to: ${run.outputFile}\n`);
  const parsed = parseStream(run.outputFile);
  // The original parses the file twice (once more to convert it): a bad file is reported twice.
  for (let i = 0; i < 2 && parsed.error !== null && !tac7; i++) print.stderr(`Error parsing JSONL file: ${parsed.error}\n`);
  const jsonFile = jsonFileOf(run.outputFile);
  writeFileSync(jsonFile, dumpPythonJson(parsed.messages));
  if (!tac7) print.stdout(`Created JSON file: ${jsonFile}\n`);
  const result = parsed.result;
  if (result === null) {
    if (!tac7) return answer(readFileSync(run.outputFile, 'utf8'), true, null, 'none');
    return answer(truncateOutput(noResultMessage(run.outputFile), 800), false, null, 'none');
  }
  if (result.subtype === 'error_during_execution') {
    return answer('Error during execution: Agent encountered an error and did not return a result', false, result.session_id, 'error_during_execution');
  }
  const isError = truthy(result.is_error);
  let text = typeof result.result === 'string' ? result.result : '';
  if (tac7 && isError && text.length > 1000) text = truncateOutput(text, 800);
  return answer(text, !isError, result.session_id, 'none');
}

/** `tac-7`'s message for a stream without a result line: an assistant text of its last five lines, else a fixed one. */
function noResultMessage(file: string): string {
  const lines = readFileSync(file, 'utf8').split(/(?<=\n)/);
  for (const line of lines.slice(-5).toReversed()) {
    try {
      const data = toPlain(parsePythonJson(line.trim())) as Record<string, unknown>;
      const text = data?.type === 'assistant' && data.message ? firstText(data) : '';
      if (text) return `Claude Code output: ${head(text, 500)}`;
    } catch {
      // the original skips what it cannot read
    }
  }
  return 'No result message found in Claude Code output';
}

/** `tac-7`'s message for a non-zero exit: the result's error, an assistant line about an error, or stderr and the last stdout line. */
function tac7FailureMessage(run: FinishedRun): string {
  const stderr = run.stderr.trim();
  let fromJsonl: string | null = null;
  let stdout = '';
  const parsed = parseStream(run.outputFile);
  if (parsed.result !== null && truthy(parsed.result.is_error)) {
    fromJsonl = typeof parsed.result.result === 'string' ? parsed.result.result : 'result' in parsed.result ? String(parsed.result.result) : 'Unknown error';
  } else {
    for (const m of parsed.messages.slice(-5).toReversed()) {
      const msg = toPlain(m) as Record<string, unknown>;
      const text = msg.type === 'assistant' ? firstText(msg) : '';
      if (text && /error|failed/i.test(text)) {
        fromJsonl = head(text, 500);
        break;
      }
    }
  }
  if (!fromJsonl) {
    let lines: string[] = [];
    try {
      lines = readFileSync(run.outputFile, 'utf8').split(/(?<=\n)/).filter((l) => l !== '');
    } catch {
      // no file: nothing from stdout
    }
    if (lines.length > 0) stdout = head(lines.at(-1)!.trim(), 200);
  }
  if (fromJsonl) return `Claude Code error: ${fromJsonl}`;
  if (stdout && !stderr) return `Claude Code error: ${stdout}`;
  if (stderr && !stdout) return `Claude Code error: ${stderr}`;
  if (stdout && stderr) return `Claude Code error: ${stderr}\nStdout: ${stdout}`;
  return `Claude Code error: Command failed with exit code ${run.exitCode}`;
}

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
}

/**
 * Saves a prompt that starts with a slash command to
 * `<adwRoot>/agents/<adw_id>/<agent_name>/prompts/<command>.txt`, as ADW does
 * (`tac-5`/`tac-6` also print `Saved prompt to: <file>`).
 */
export function savePrompt(prompt: string, adwRoot: string, adwId: string, agentName: string, version: AdwVersion, print: AdwPrinter = SILENT): void {
  const match = /^\/(\w+)/.exec(prompt);
  if (!match) return;
  const dir = join(resolve(adwRoot), 'agents', adwId, agentName, 'prompts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${match[1]}.txt`);
  writeFileSync(file, prompt);
  if (version !== 'tac-7') print.stdout(`Saved prompt to: ${file}\n`);
}
