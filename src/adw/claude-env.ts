/**
 * The environment ADW gives `claude`: its `get_claude_env()`, a fixed list of variables (not
 * the whole parent environment), per course version.
 *
 * @module
 */
import type { AdwVersion } from './adw-types.js';

/** Variables passed as they are when set (`tac-5`). */
const TAC5 = ['ANTHROPIC_API_KEY', 'E2B_API_KEY', 'HOME', 'USER', 'PATH', 'SHELL', 'TERM'];
/** Variables passed as they are when set (`tac-6`, `tac-7`: `utils.get_safe_subprocess_env()`). */
const TAC6 = ['ANTHROPIC_API_KEY', 'GITHUB_PAT', 'E2B_API_KEY', 'CLOUDFLARED_TUNNEL_TOKEN', 'HOME', 'USER', 'PATH', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'PYTHONPATH'];

/**
 * The variables `version`'s `prompt_claude_code` runs `claude` with, read from `env`:
 * `CLAUDE_CODE_PATH` (default `claude`), `CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR` (default
 * `true`), the listed ones that are set, `GITHUB_PAT` and `GH_TOKEN` from a non-empty
 * `GITHUB_PAT`; `tac-6`/`tac-7` also `PYTHONUNBUFFERED=1` and `PWD` (the caller's directory, `cwd`).
 */
export function adwClaudeEnv(version: AdwVersion, env: Record<string, string | undefined>, cwd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of version === 'tac-5' ? TAC5 : TAC6) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  out.CLAUDE_CODE_PATH = env.CLAUDE_CODE_PATH ?? 'claude';
  out.CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR = env.CLAUDE_BASH_MAINTAIN_PROJECT_WORKING_DIR ?? 'true';
  if (version !== 'tac-5') {
    out.PYTHONUNBUFFERED = '1';
    out.PWD = cwd;
  }
  if (env.GITHUB_PAT) {
    out.GITHUB_PAT = env.GITHUB_PAT;
    out.GH_TOKEN = env.GITHUB_PAT;
  }
  return out;
}
