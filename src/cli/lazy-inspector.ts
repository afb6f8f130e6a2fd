/**
 * `--inspect` for run, resume and exec, with the inspector's WebSocket client loaded only when
 * the option is given.
 *
 * @module
 */
import type { Inspector } from '../inspector/inspection-client.js';
import type { CliIO } from './cli-support.js';

/** The inspector of an `--inspect [target]` option, or `null` without it (see `cliInspector`). */
export async function lazyCliInspector(value: string | boolean | undefined, io: CliIO): Promise<Inspector | null> {
  if (value === undefined || value === false) return null;
  const { cliInspector } = await import('./inspect-command.js');
  return cliInspector(value, io);
}
