/**
 * A tiny terminal emulator, enough to tell what a person would see after the CLI's output:
 * printable characters with wrapping at the width (xterm's deferred wrap), CR, LF, cursor up
 * (CSI n A), erase below (CSI J) and erase line (CSI K). A resize reflows wrapped lines, as
 * VTE, kitty and iTerm do. Other escape sequences are ignored. Every character is one cell.
 */

interface Row {
  cells: string[];
  /** The line goes on in the next row (it wrapped there). */
  wrapped: boolean;
}

/** The OSC sequence a test writes into the captured stream to say "the terminal was resized to N columns here". */
export const resizeMarker = (columns: number): string => `\x1b]resize;${columns}\x07`;

export class TerminalScreen {
  private rows: Row[] = [{ cells: [], wrapped: false }];
  private row = 0;
  private col = 0;
  private pendingWrap = false;

  constructor(private columns: number) {}

  /** Feeds output to the screen. */
  write(data: string): this {
    const chars = Array.from(data);
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === '\x1b') {
        i = this.escape(chars, i);
      } else if (c === '\r') {
        this.col = 0;
        this.pendingWrap = false;
      } else if (c === '\n') {
        this.moveTo(this.row + 1);
        this.pendingWrap = false;
      } else if (c >= ' ') {
        this.print(c);
      }
    }
    return this;
  }

  /** The screen's lines, trailing blanks trimmed, trailing empty lines dropped. */
  lines(): string[] {
    const lines = this.rows.map((r) => r.cells.join('').trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /** Changes the width; wrapped lines are reflowed and the cursor keeps its place in its line. */
  resize(columns: number): void {
    const logical: { text: string[]; cursorAt: number | null }[] = [];
    let current: { text: string[]; cursorAt: number | null } = { text: [], cursorAt: null };
    this.rows.forEach((r, index) => {
      if (index === this.row) current.cursorAt = current.text.length + this.col;
      current.text.push(...r.cells);
      if (!r.wrapped) {
        logical.push(current);
        current = { text: [], cursorAt: null };
      }
    });
    if (current.text.length > 0 || current.cursorAt !== null) logical.push(current);
    this.columns = columns;
    this.rows = [];
    for (const line of logical) {
      const start = this.rows.length;
      for (let at = 0; at === 0 || at < line.text.length; at += columns) {
        this.rows.push({ cells: line.text.slice(at, at + columns), wrapped: at + columns < line.text.length });
      }
      if (line.cursorAt !== null) {
        this.row = start + Math.floor(line.cursorAt / columns);
        this.col = line.cursorAt % columns;
        this.moveTo(this.row);
      }
    }
    this.pendingWrap = false;
  }

  private print(c: string): void {
    if (this.pendingWrap) {
      this.rows[this.row]!.wrapped = true;
      this.moveTo(this.row + 1);
      this.col = 0;
      this.pendingWrap = false;
    }
    const cells = this.rows[this.row]!.cells;
    while (cells.length < this.col) cells.push(' ');
    cells[this.col] = c;
    if (this.col === this.columns - 1) this.pendingWrap = true;
    else this.col++;
  }

  private moveTo(row: number): void {
    this.row = Math.max(0, row);
    while (this.rows.length <= this.row) this.rows.push({ cells: [], wrapped: false });
  }

  /** Handles the escape sequence starting at `i`; returns the index of its last character. */
  private escape(chars: string[], i: number): number {
    const kind = chars[i + 1];
    if (kind === '[') {
      let j = i + 2;
      let params = '';
      while (j < chars.length && !/[@-~]/.test(chars[j]!)) params += chars[j++];
      const n = Number(params || '1');
      const final = chars[j];
      if (final === 'A') {
        this.row = Math.max(0, this.row - n);
        this.pendingWrap = false;
      } else if (final === 'J' && (params === '' || params === '0')) {
        const r = this.rows[this.row]!;
        r.cells.length = Math.min(r.cells.length, this.col);
        r.wrapped = false;
        this.rows.length = this.row + 1;
      } else if (final === 'K') {
        const r = this.rows[this.row]!;
        if (params === '2') r.cells = [];
        else r.cells.length = Math.min(r.cells.length, this.col);
      }
      return j;
    }
    if (kind === ']') {
      let j = i + 2;
      let body = '';
      while (j < chars.length && chars[j] !== '\x07') body += chars[j++];
      const resize = /^resize;(\d+)$/.exec(body);
      if (resize) this.resize(Number(resize[1]));
      return j;
    }
    return i + 1;
  }
}
