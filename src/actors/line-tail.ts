/**
 * Keeps the last lines of a stream, up to a number of characters, in time linear in the
 * stream.
 *
 * Why not `lines.shift()` for each line that falls out: an array of hundreds of thousands of
 * lines lives in V8's large-object space, where `shift` moves every element. A command printing
 * 15 MB of short lines past a 10 MB limit took minutes that way. Here dropped lines only move
 * a start index, and the array is compacted once half of it is dropped.
 *
 * @module
 */

/** The tail of a stream of lines: at most `maxChars` characters once joined with `\n`. */
export class LineTail {
  private lines: string[] = [];
  /** Index of the first line kept. */
  private first = 0;
  /** Characters of the lines kept, plus one newline each. */
  private size = 0;

  /** @param maxChars - the most characters {@link text} returns. */
  constructor(private readonly maxChars: number) {}

  /** Adds a line; drops the oldest lines while the others are more than `maxChars`. */
  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.maxChars && this.lines.length - this.first > 1) {
      this.size -= this.lines[this.first]!.length + 1;
      this.lines[this.first] = '';
      this.first += 1;
    }
    if (this.first > 1024 && this.first * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.first);
      this.first = 0;
    }
  }

  /** The lines kept, in order (not cut: a single line longer than `maxChars` is whole here). */
  kept(): string[] {
    return this.first === 0 ? this.lines : this.lines.slice(this.first);
  }

  /** The lines kept, joined with `\n`; a single line longer than `maxChars` keeps its end. */
  text(): string {
    const text = (this.first === 0 ? this.lines : this.lines.slice(this.first)).join('\n');
    return text.length > this.maxChars ? text.slice(text.length - this.maxChars) : text;
  }
}
