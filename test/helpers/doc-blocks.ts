/**
 * The fenced code blocks of the README and the guides in docs/, for the tests that keep the
 * docs true (test/docs-code-blocks.test.ts) and their links (test/docs-links-resolve.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** README.md and every docs/*.md (not docs/decisions: design records keep their history). */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

export interface DocBlock {
  /** `README.md:12`: where the block opens. */
  where: string;
  file: string;
  line: number;
  /** The fence's language (`ts`, `yaml`, `sh` ...), '' when none. */
  lang: string;
  /** Set by `no-test: <reason>` after the language: the block is not checked, for that reason. */
  noTest: string | null;
  code: string;
}

/** Every fenced block of `file`, in order. */
export function blocksOf(file: string): DocBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  let open: { line: number; info: string; body: string[] } | null = null;
  lines.forEach((text, i) => {
    if (open === null) {
      const fence = /^```(.*)$/.exec(text);
      if (fence) open = { line: i + 1, info: fence[1]!.trim(), body: [] };
      return;
    }
    if (text.startsWith('```')) {
      const [lang = '', ...rest] = open.info.split(/\s+/);
      const after = rest.join(' ');
      const noTest = /^no-test\b:?\s*(.*)$/.exec(after);
      blocks.push({
        where: `${relative(ROOT, file)}:${open.line}`,
        file,
        line: open.line,
        lang,
        noTest: noTest ? noTest[1]! : null,
        code: open.body.join('\n') + '\n',
      });
      open = null;
      return;
    }
    open.body.push(text);
  });
  return blocks;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}
