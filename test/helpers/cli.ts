/**
 * Runs the CLI in-process (for coverage and speed) or as a real process (dist/cli.js).
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { runCli } from '../../src/cli/run-cli.js';
import { overrideProcessEnv } from './process-env.js';
import { diesWithSuite } from './suite-processes.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `agents-sdk <argv>` in this process with the given env variables set for the call;
 * `stdin` is what the command reads from stdin (`exec -`).
 */
export async function cli(argv: string[], env: Record<string, string> = {}, signal?: AbortSignal, stdin?: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const restoreEnv = overrideProcessEnv(env);
  try {
    const code = await runCli(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTTY: false,
      ...(signal && { signal }),
      ...(stdin !== undefined && { readStdin: async () => stdin }),
    });
    return { code, stdout, stderr };
  } finally {
    restoreEnv();
  }
}

/** The built CLI, as users run it. */
export const CLI_BIN = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs the built CLI as a real process; `input` is written to its stdin. */
export function cliProcess(argv: string[], options: { env?: Record<string, string>; cwd?: string; input?: string } = {}) {
  const stdin = options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input };
  // In a group of its own, ended with the suite (see suite-processes.ts).
  return diesWithSuite(execa(process.execPath, [CLI_BIN, ...argv], { reject: false, env: options.env, cwd: options.cwd, detached: true, ...stdin }));
}
