/**
 * `{{hash "<path or glob>"}}`: the sha256 of files' contents, so that a memory key changes
 * when one of the files it covers does.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { PermanentError } from '../errors.js';

/**
 * The sha256 (hex) of the files a path or glob names, relative to `cwd`: over each file's path
 * (relative to `cwd`, `/`-separated) and contents, in path order, so that renaming, adding or
 * removing a file changes it too. A directory stands for every file under it. A glob that
 * matches nothing hashes to the empty set's value (the files may come later); a plain path that
 * does not exist is an error.
 *
 * @throws PermanentError `HASH_NO_MATCH` for a path (not a glob) that does not exist.
 */
export async function hashFiles(pattern: string, cwd: string): Promise<string> {
  const files = await filesOf(pattern, cwd);
  const hash = createHash('sha256');
  for (const file of files) {
    const path = relative(cwd, file).split('\\').join('/');
    const content = createHash('sha256').update(await readFile(file)).digest('hex');
    hash.update(`${path}\0${content}\n`);
  }
  return hash.digest('hex');
}

async function filesOf(pattern: string, cwd: string): Promise<string[]> {
  if (!isDynamicPattern(pattern)) {
    const path = resolve(cwd, pattern);
    const info = await stat(path).catch(() => null);
    if (!info) {
      throw new PermanentError('HASH_NO_MATCH', `{{hash "${pattern}"}}: no file or directory ${pattern} in ${cwd}`, { details: { pattern, cwd } });
    }
    if (info.isFile()) return [path];
  }
  // Absolute patterns and patterns reaching out of cwd (`../shared/*.ts`) are globbed as written.
  const files = await glob(pattern, { cwd, absolute: true, onlyFiles: true, dot: true, expandDirectories: true, followSymbolicLinks: false });
  return files.map((f) => (isAbsolute(f) ? f : resolve(cwd, f))).sort();
}
