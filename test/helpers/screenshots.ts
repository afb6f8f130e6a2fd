/**
 * Where the browser tests keep their screenshots: always under `.tmp/screenshots/` (for a look
 * after a run), and in `docs/` (the README's pictures) only when `UPDATE_DOCS_SCREENSHOTS=1`, so
 * that a test run does not leave the committed pictures changed.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** The path to write a screenshot named `name` (e.g. `report.png`) to. */
export function screenshotPath(name: string): string {
  const dir = join(ROOT, '.tmp', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** Copies the screenshot into `docs/` when asked to (`UPDATE_DOCS_SCREENSHOTS=1`). */
export function publishScreenshot(name: string): void {
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(screenshotPath(name), join(ROOT, 'docs', name));
}
