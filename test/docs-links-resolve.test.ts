/**
 * Every link of the README and the guides in docs/ leads somewhere: a relative link names a file
 * of the repository, and a `#anchor` (in the same page or another) names a heading of that page.
 * The README's table of guides names every guide.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorOf, docFiles, ROOT } from './helpers/doc-blocks.js';

/** The page's text outside its fenced code blocks. */
function prose(file: string): string {
  return readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
}

/** The anchors of a Markdown page's headings (a repeated heading gets `-1`, `-2` ... as on GitHub). */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of prose(file).matchAll(/^#{1,6} (.+)$/gm)) {
    const anchor = anchorOf(m[1]!);
    const n = seen.get(anchor) ?? 0;
    seen.set(anchor, n + 1);
    anchors.add(n === 0 ? anchor : `${anchor}-${n}`);
  }
  return anchors;
}

describe('the links of the README and the guides', () => {
  it('lead to files that exist and headings that exist', () => {
    const broken: string[] = [];
    let links = 0;
    for (const file of docFiles()) {
      for (const m of prose(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        links++;
        const [path = '', anchor] = target.split('#');
        const page = path === '' ? file : resolve(dirname(file), path);
        const where = `${relative(ROOT, file)}: ${target}`;
        if (!existsSync(page)) broken.push(`${where}: no such file`);
        else if (anchor !== undefined && page.endsWith('.md') && !anchorsOf(page).has(anchor)) broken.push(`${where}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
    expect(links).toBeGreaterThan(100);
  });

  it("from the README's table of guides name every guide", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const guides = docFiles().filter((f) => !f.endsWith('README.md')).map((f) => `docs/${basename(f)}`);
    expect(guides.length).toBeGreaterThanOrEqual(15);
    expect(guides.filter((g) => !readme.includes(`](${g})`))).toEqual([]);
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });
});

describe('the CLI guide', () => {
  it('documents every command of agents-sdk --help', async () => {
    const { cli } = await import('./helpers/cli.js');
    const help = (await cli(['--help'])).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(15);
    const guide = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    expect(commands.filter((c) => !guide.includes(`| \`${c}`))).toEqual([]);
  });
});

const MEMORY_COMMANDS = ['list', 'get', 'set', 'search', 'delete', 'clear-expired'];

describe("the CLI guide's table of commands", () => {
  it('names only options each command has, and every option it has', async () => {
    const { cli } = await import('./helpers/cli.js');
    const guide = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
    const problems: string[] = [];
    for (const row of guide.matchAll(/^\| `([a-z-]+)([^`]*)` \|/gm)) {
      const [, command, synopsis] = row as unknown as [string, string, string];
      // `memory` has subcommands: its options are theirs.
      const helps = command === 'memory' ? MEMORY_COMMANDS.map((sub) => [command, sub]) : [[command]];
      let help = '';
      for (const argv of helps) help += (await cli([...argv, '--help'])).stdout;
      const inHelp = new Set([...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!));
      const inGuide = new Set([...synopsis.matchAll(/(--[a-z][a-z-]*)/g)].map((m) => m[1]!));
      for (const flag of inGuide) if (!inHelp.has(flag)) problems.push(`${command}: the guide names ${flag}, --help does not`);
      for (const flag of inHelp) if (!inGuide.has(flag) && !['--help', '--state-dir', '--backend'].includes(flag)) problems.push(`${command}: --help has ${flag}, the guide does not`);
    }
    expect(problems).toEqual([]);
  });
});
