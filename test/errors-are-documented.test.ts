/**
 * docs/errors.md lists every error code the runtime can raise, with the exit code the CLI gives
 * it: a code added to src/errors.ts (or raised anywhere in src/) without a row there fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/doc-blocks.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The codes of the `ErrorCode` union in src/errors.ts. */
function declaredCodes(): string[] {
  const source = read('src/errors.ts').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const union = /export type ErrorCode =([\s\S]*?);/.exec(source)![1]!;
  return [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
}

/** Codes raised or set anywhere in src/: `new XError('CODE'`, `code: 'CODE'`. */
function raisedCodes(): string[] {
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const codes = new Set<string>();
  for (const file of files) {
    const text = read(join('src', file));
    for (const m of text.matchAll(/(?:Error\(\s*|code: )'([A-Z][A-Z_]{3,})'/g)) {
      // Node's system error codes (`ENOENT`) name what a process spawn met, not our errors.
      if (!/^E[A-Z]+$/.test(m[1]!)) codes.add(m[1]!);
    }
  }
  return [...codes];
}

/** The rows of the table in docs/errors.md: code → exit code. */
function documentedRows(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of read('docs/errors.md').matchAll(/^\| `([A-Z_]+)` \| (?:transient|permanent) \| (\d) \|/gm)) rows.set(m[1]!, Number(m[2]));
  return rows;
}

describe('docs/errors.md', () => {
  it('has a row for every error code of src/errors.ts and every code raised in src/', () => {
    const rows = documentedRows();
    const declared = declaredCodes();
    expect(declared.length).toBeGreaterThan(30);
    expect(declared.filter((code) => !rows.has(code))).toEqual([]);
    const raised = raisedCodes();
    expect(raised).toContain('STATE_WRITE_FAILED');
    expect(raised.filter((code) => !rows.has(code))).toEqual([]);
    // ...and no row for a code that does not exist.
    expect([...rows.keys()].filter((code) => !declared.includes(code))).toEqual([]);
  });

  it('gives each code the exit code the CLI gives it', () => {
    const support = read('src/cli/cli-support.ts');
    const inputErrors = [.../const INPUT_ERRORS = new Set\(\[([^\]]*)\]/.exec(support)![1]!.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(inputErrors.length).toBeGreaterThan(5);
    expect(support).toContain("error.code === 'STATE_WRITE_FAILED') return EXIT.stateWriteFailed");
    const expected = (code: string) =>
      code === 'STATE_WRITE_FAILED' ? 3 : code === 'VALIDATION_ERROR' || inputErrors.includes(code) ? 2 : 1;
    const wrong = [...documentedRows()].filter(([code, exit]) => exit !== expected(code)).map(([code, exit]) => `${code}: ${exit}, the CLI gives ${expected(code)}`);
    expect(wrong).toEqual([]);
  });
});
