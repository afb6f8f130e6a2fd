/**
 * What ADW makes of a finished `claude -p` stream: the `.json` array beside the raw file and
 * the response from its last `result` message. Shared by both paths of `promptClaudeCode`, so
 * that the same stream gives the same response and files.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentPromptResponse } from './adw-types.js';

/** The messages of a raw stream file (lines that are not JSON objects are skipped). */
export function parseJsonlFile(file: string): Array<Record<string, unknown>> {
  const messages: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) messages.push(value as Record<string, unknown>);
    } catch {
      // noise the CLI printed between its JSON lines
    }
  }
  return messages;
}

/** ADW's name of the parsed array: the raw file's path with `.jsonl` replaced by `.json`. */
export function jsonFileOf(outputFile: string): string {
  return outputFile.replaceAll('.jsonl', '.json');
}

/** JSON with indent 2 and non-ASCII escaped, as Python's `json.dump(..., indent=2)` writes it. */
export function pythonJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The response of a run that exited with `exitCode`: writes the `.json` array (exit 0 only)
 * and reads the last `result` message, as ADW's `prompt_claude_code` does.
 */
export function responseOfRun(outputFile: string, exitCode: number, stderr: string): AgentPromptResponse {
  if (exitCode !== 0) return { output: `Claude Code error: ${stderr}`, success: false, session_id: null, retry_code: 'claude_code_error' };
  const messages = parseJsonlFile(outputFile);
  writeFileSync(jsonFileOf(outputFile), pythonJson(messages));
  const result = messages.findLast((m) => m.type === 'result');
  if (result === undefined) return { output: readFileSync(outputFile, 'utf8'), success: true, session_id: null, retry_code: 'none' };
  if (result.subtype === 'error_during_execution') {
    return { output: 'Error during execution: Agent encountered an error', success: false, session_id: null, retry_code: 'error_during_execution' };
  }
  const success = result.is_error !== true;
  return {
    output: typeof result.result === 'string' ? result.result : '',
    success,
    session_id: typeof result.session_id === 'string' ? result.session_id : null,
    retry_code: success ? 'none' : 'claude_code_error',
  };
}

/** Saves a prompt that starts with a slash command to `<stateDir>/<adw_id>/<agent_name>/prompts/<command>.txt`, as ADW does. */
export function savePrompt(prompt: string, stateDir: string, adwId: string, agentName: string): void {
  const match = /^\/(\w+)/.exec(prompt);
  if (!match) return;
  const dir = join(stateDir, adwId, agentName, 'prompts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${match[1]}.txt`), prompt);
}

/** Creates the directory of `file`. */
export function ensureDirOf(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
}
