/**
 * Locates the Claude Code CLI: `CLAUDE_CODE_PATH` first, else `claude` on `PATH`.
 *
 * @module
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { PermanentError } from '../errors.js';
import { count } from '../wording.js';

/** Environment variable naming the Claude Code binary explicitly. */
export const CLAUDE_CODE_PATH_ENV = 'CLAUDE_CODE_PATH';

/**
 * Returns the absolute path of the Claude Code binary.
 *
 * @param env - the environment to read `CLAUDE_CODE_PATH` and `PATH` from (default `process.env`).
 * @param cwd - the directory a relative `CLAUDE_CODE_PATH` is resolved against.
 * @throws PermanentError `BINARY_NOT_FOUND`, naming both places it looked.
 */
export function findClaudeBinary(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const explicit = env[CLAUDE_CODE_PATH_ENV];
  if (explicit) {
    const path = isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
    if (isExecutableFile(path)) return path;
    throw new PermanentError(
      'BINARY_NOT_FOUND',
      `Claude Code binary not found: ${CLAUDE_CODE_PATH_ENV}=${explicit} is not an executable file ` +
        `(and ${CLAUDE_CODE_PATH_ENV} takes precedence over looking for \`claude\` on PATH)`,
      { details: { claudeCodePath: explicit } },
    );
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    // Absolute: the agent runs in its own cwd, where a relative PATH entry means something else.
    const candidate = resolve(dir, 'claude');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new PermanentError(
    'BINARY_NOT_FOUND',
    `Claude Code binary not found: ${CLAUDE_CODE_PATH_ENV} is not set and there is no executable \`claude\` on PATH ` +
      `(${count(dirs.length, 'directory', 'directories')} searched). Install it (npm install -g @anthropic-ai/claude-code) or set ${CLAUDE_CODE_PATH_ENV}.`,
    { details: { searched: dirs } },
  );
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
