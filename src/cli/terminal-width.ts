/**
 * How wide text is on a terminal, and cutting a line to fit: a live block redraws in place
 * by moving the cursor up one row per line, which only works when no line wraps.
 *
 * @module
 */

// East Asian wide and fullwidth ranges, and characters that default to emoji presentation.
const WIDE =
  /[\p{Emoji_Presentation}\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u;
// Combining marks, zero-width spaces and joiners, variation selectors.
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200B-\u200F\u2060\uFE00-\uFE0F]/u;
// ANSI escape sequences and every other control character (a newline would add a row).
const CONTROL = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|[\x00-\x1f\x7f-\x9f]/g;

/** Cells a character takes on a terminal: 0, 1 or 2. */
function charWidth(char: string): number {
  if (ZERO_WIDTH.test(char)) return 0;
  return WIDE.test(char) ? 2 : 1;
}

/** Text made safe for one terminal row: escape sequences dropped, line breaks and tabs as spaces. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(CONTROL, '');
}

/** Cells `text` takes on a terminal (wide characters count two, combining marks none). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/**
 * Cuts one line to at most `columns` cells, ending it with `…` when something was cut.
 * A wide character that would straddle the edge is left out whole.
 */
export function fitToWidth(line: string, columns: number): string {
  if (displayWidth(line) <= columns) return line;
  if (columns <= 0) return '';
  let width = 0;
  let out = '';
  for (const char of line) {
    const w = charWidth(char);
    if (width + w > columns - 1) break;
    out += char;
    width += w;
  }
  return `${out.trimEnd()}…`;
}
