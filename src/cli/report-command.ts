/**
 * `agents-sdk report <runId> [-o FILE]`: a stored run as one self-contained HTML page.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { renderRunReportHtml } from '../report/report-html.js';
import { loadRunReport } from '../report/run-report.js';
import { EXIT, type CliIO } from './cli-support.js';
import { withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk report`. */
export interface ReportOptions extends StateOptions {
  /** Where to write the page; `-` prints it on stdout. Default: `<state-dir>/<runId>/report.html`. */
  output?: string;
}

/** The report's file name inside a run's directory, where `agents-sdk report` writes by default. */
export const REPORT_FILE = 'report.html';

/**
 * Writes the report of a stored run (read-only on the state) and prints where it went. An
 * unknown run id is exit 2.
 */
export async function reportCommand(runId: string, options: ReportOptions, io: CliIO): Promise<number> {
  const report = await withBackend(options, 'read', (backend, stateDir) => loadRunReport(backend, runId, { stateDir }));
  const html = renderRunReportHtml(report);
  if (options.output === '-') {
    io.stdout(html);
    return EXIT.ok;
  }
  const file = resolve(options.output ?? join(options.stateDir ?? DEFAULT_STATE_DIR, runId, REPORT_FILE));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, html);
  io.stdout(`${file}\n`);
  return EXIT.ok;
}
