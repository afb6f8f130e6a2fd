/**
 * Real git repositories for the workspace tests, made under a temp dir (Debian's git).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

/** `git <args>` in `cwd`, its stdout trimmed (throws on a non-zero exit). */
export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface TestRepo {
  /** The temp dir holding everything (the repository is `repo`, state goes to `state`). */
  dir: string;
  repo: string;
  state: string;
  write(path: string, text: string): void;
  commitAll(message: string): string;
  /** The user's checkout as it is: HEAD, branch, index, status. */
  checkout(): { head: string; branch: string; index: string; status: string };
  cleanup(): void;
}

/** A repository with one commit (`README.md`) unless `empty`. */
export function makeRepo(options: { empty?: boolean; files?: Record<string, string> } = {}): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), 'agents-ws-'));
  const repo = join(dir, 'repo');
  const state = join(dir, 'state');
  mkdirSync(repo);
  gitIn(repo, 'init', '--quiet', '--initial-branch=main');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  };
  const commitAll = (message: string) => {
    gitIn(repo, 'add', '-A');
    gitIn(repo, 'commit', '--quiet', '--allow-empty', '-m', message);
    return gitIn(repo, 'rev-parse', 'HEAD');
  };
  if (!options.empty) {
    write('README.md', '# test\n');
    for (const [path, text] of Object.entries(options.files ?? {})) write(path, text);
    commitAll('initial');
  }
  return {
    dir,
    repo,
    state,
    write,
    commitAll,
    checkout: () => ({
      head: gitIn(repo, 'rev-parse', 'HEAD'),
      branch: gitIn(repo, 'symbolic-ref', '--short', 'HEAD'),
      index: gitIn(repo, 'ls-files', '--stage'),
      status: gitIn(repo, 'status', '--porcelain=v1', '--untracked-files=all'),
    }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A command that writes `text` to `path` (relative to its cwd), and prints the files it sees. */
export function writeFileCommand(path: string, text: string): string[] {
  return ['node', '-e', 'const fs=require("fs");fs.writeFileSync(process.argv[1],process.argv[2]);process.stdout.write(fs.readdirSync(".").filter((f)=>f!==".git").sort().join(" "))', path, text];
}
