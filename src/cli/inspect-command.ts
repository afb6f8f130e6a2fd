/**
 * `agents-sdk inspect`: the local live inspector, and the `--inspect [target]` option of
 * `run`, `resume` and `exec`.
 *
 * @module
 */
import { DEFAULT_STATE_DIR } from '../actors/claude-code-runner.js';
import { createInspector, DEFAULT_INSPECTOR_PORT, parseInspectTarget, type Inspector } from '../inspector/inspection-client.js';
import { startInspectorServer } from '../inspector/inspector-server.js';
import { EXIT, intOption, type CliIO } from './cli-support.js';

/** Options of `agents-sdk inspect`. */
export interface InspectOptions {
  port?: string;
  stateDir?: string;
  backend?: string;
}

/** `agents-sdk inspect`: serves the inspector until Ctrl-C (or SIGTERM). */
export async function inspectCommand(options: InspectOptions, io: CliIO): Promise<number> {
  const port = intOption('port', options.port, 0) ?? DEFAULT_INSPECTOR_PORT;
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const server = await startInspectorServer({ port, stateDir, ...(options.backend !== undefined && { backend: options.backend }) });
  const feed = server.port === DEFAULT_INSPECTOR_PORT ? '--inspect' : `--inspect ${server.inspectUrl}`;
  io.stdout(`inspector: ${server.url}\n`);
  io.stderr(`runs started with ${feed} show up live; finished runs are read from ${stateDir}/. Ctrl-C stops it.\n`);
  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) {
      resolve();
      return;
    }
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return EXIT.ok;
}

/**
 * The forwarder of `--inspect [target]`, or null without the option. Its warning (no
 * receiver) is one line on stderr; Sky's link too.
 */
export function cliInspector(value: string | boolean | undefined, io: CliIO): Inspector | null {
  const target = parseInspectTarget(value);
  if (target === undefined) return null;
  return createInspector({
    target,
    onWarning: (message) => io.stderr(`agents-sdk: ${message}\n`),
    onInfo: (message) => io.stderr(`${message}\n`),
  });
}
