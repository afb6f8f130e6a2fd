/**
 * Global setup: the suite writes nothing into the repository. Tests write only under temporary
 * directories; a file that appears in the working tree during the run (untracked, not ignored),
 * or anything in the repository's own `agents/` (the default state dir, ignored by git), fails
 * the suite, named. (Per file, test/setup/env-guard.ts names the file that wrote into `agents/`.)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Untracked files that git does not ignore, and the entries of `agents/`, as repository paths. */
function writtenPaths(): Set<string> {
  const paths = new Set<string>();
  try {
    const out = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const path of out.split('\0')) if (path !== '') paths.add(path);
  } catch {
    // not a git checkout (a published package): only agents/ is watched
  }
  try {
    for (const entry of readdirSync(join(REPO, 'agents'))) paths.add(`agents/${entry}`);
  } catch {
    // no agents/: good
  }
  return paths;
}

export default function setup(): () => void {
  const before = writtenPaths();
  return () => {
    const written = [...writtenPaths()].filter((path) => !before.has(path)).sort();
    if (written.length > 0) {
      // A teardown's error is only printed ("error during close"): the exit code says it too.
      process.exitCode = 1;
      throw new Error(
        `The tests wrote into the repository (tests write only under temporary directories): ${written.slice(0, 20).join(', ')}${written.length > 20 ? `, ... (${written.length} in all)` : ''}`,
      );
    }
  };
}
