import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../src/actors/line-splitter.js';
import { LineTail } from '../src/actors/line-tail.js';

const MB = 1024 * 1024;
const PIPE_CHUNK = 64 * 1024;

function split(chunks: string[]): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

/** A `length`-character line (no newline) cut into pipe-sized chunks, then its newline. */
function bigLineChunks(length: number): string[] {
  const chunks: string[] = [];
  for (let at = 0; at < length; at += PIPE_CHUNK) {
    chunks.push(String.fromCharCode(97 + ((at / PIPE_CHUNK) % 26)).repeat(Math.min(PIPE_CHUNK, length - at)));
  }
  chunks.push('\n');
  return chunks;
}

/**
 * Runs `fn` while counting the characters that `indexOf`/`split` search and that `join` and
 * `concat` produce: the work of taking in text, independent of the machine's speed.
 */
function countStringWork(fn: () => void): { searched: number; built: number } {
  const work = { searched: 0, built: 0 };
  const { indexOf, split: splitFn, concat } = String.prototype;
  const { join } = Array.prototype;
  String.prototype.indexOf = function (this: string, ...args: Parameters<typeof indexOf>) {
    work.searched += this.length - (args[1] ?? 0);
    return indexOf.apply(this, args);
  };
  String.prototype.split = function (this: string, ...args: unknown[]) {
    work.searched += this.length;
    return (splitFn as (...a: unknown[]) => string[]).apply(this, args);
  } as typeof splitFn;
  String.prototype.concat = function (this: string, ...args: string[]) {
    const out = concat.apply(this, args);
    work.built += out.length;
    return out;
  };
  Array.prototype.join = function (this: unknown[], separator?: string) {
    const out = join.call(this, separator);
    work.built += out.length;
    return out;
  };
  try {
    fn();
  } finally {
    String.prototype.indexOf = indexOf;
    String.prototype.split = splitFn;
    String.prototype.concat = concat;
    Array.prototype.join = join;
  }
  return work;
}

describe('LineSplitter', () => {
  it('splits on \\n, strips a \\r before it, and joins lines cut across chunks', () => {
    expect(split(['a\r\nb\n', 'c'])).toEqual(['a', 'b', 'c']);
    expect(split(['par', 'tial', ' line\r', '\nnext\n'])).toEqual(['partial line', 'next']);
    expect(split(['\n\n', 'x\n'])).toEqual(['', '', 'x']);
    expect(split(['one\ntwo\nthr', 'ee\r'])).toEqual(['one', 'two', 'three']);
    expect(split(['no newline at all'])).toEqual(['no newline at all']);
    expect(split([])).toEqual([]);
  });

  it('keeps a last line without a newline once, however often the stream is ended', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push('done\nlast');
    splitter.end();
    splitter.end();
    expect(lines).toEqual(['done', 'last']);
  });

  it('takes in a 30 MB line in 64 KB chunks with work linear in its length', () => {
    const length = 30 * 1_000_000;
    const chunks = bigLineChunks(length);
    let line = '';
    const work = countStringWork(() => {
      const splitter = new LineSplitter((l) => {
        line = l;
      });
      for (const chunk of chunks) splitter.push(chunk);
      splitter.end();
    });
    expect(line.length).toBe(length);
    expect(line.slice(0, 3)).toBe('aaa');
    expect(line.slice(-3)).toBe(String.fromCharCode(97 + ((chunks.length - 2) % 26)).repeat(3));
    // `(partial + chunk).split('\n')` searches the whole unfinished line again on every chunk:
    // ~460 chunks × 15 MB on average, about 7 × 10^9 characters. Linear work is a few × 30 MB.
    expect(work.searched).toBeGreaterThanOrEqual(length);
    expect(work.searched).toBeLessThanOrEqual(2 * length);
    expect(work.built).toBeLessThanOrEqual(2 * length);
  });

  it('takes in a 30 MB line well within a generous time bound (the quadratic way took ~60 s here)', () => {
    const chunks = bigLineChunks(30 * 1_000_000);
    let length = 0;
    const started = performance.now();
    const splitter = new LineSplitter((l) => {
      length = l.length;
    });
    for (const chunk of chunks) splitter.push(chunk);
    splitter.end();
    expect(length).toBe(30 * 1_000_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('LineTail', () => {
  it('keeps the last lines within the limit, joined with newlines', () => {
    const tail = new LineTail(10);
    for (const line of ['first', 'second', 'third']) tail.push(line);
    expect(tail.text()).toBe('third');
    const roomy = new LineTail(100);
    for (const line of ['a', '', 'b']) roomy.push(line);
    expect(roomy.text()).toBe('a\n\nb');
    expect(new LineTail(10).text()).toBe('');
  });

  it('keeps the end of a single line longer than the limit', () => {
    const tail = new LineTail(4);
    tail.push('short');
    tail.push('0123456789');
    expect(tail.text()).toBe('6789');
  });

  it('drops lines in linear time: 1.2 million short lines past a 4 MB limit (array shift took ~60 s here)', () => {
    const limit = 4 * MB;
    const tail = new LineTail(limit);
    const started = performance.now();
    const count = 1_200_000;
    for (let i = 0; i < count; i++) tail.push(String(1_000_000 + i));
    const text = tail.text();
    expect(performance.now() - started).toBeLessThan(5_000);
    // 8 characters a line with its newline: the last floor(limit / 8) lines fit.
    const kept = Math.floor(limit / 8);
    expect(text.length).toBe(kept * 8 - 1);
    expect(text.startsWith(String(1_000_000 + count - kept))).toBe(true);
    expect(text.endsWith(`\n${1_000_000 + count - 1}`)).toBe(true);
  });
});
