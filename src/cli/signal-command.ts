/**
 * `agents-sdk signal <runId> <type> [--data JSON]`: sends an event to a run, e.g. the approval
 * its `wait_for: approval.granted` task waits for.
 *
 * @module
 */
import { ValidationError } from '../errors.js';
import { sendSignal } from '../signals/send-signal.js';
import { EXIT, type CliIO } from './cli-support.js';
import { withBackend, type StateOptions } from './state-commands.js';
import { resumeCommandLine } from './run-summary.js';

/** Options of `agents-sdk signal`. */
export interface SignalOptions extends StateOptions {
  /** The payload, as JSON. */
  data?: string;
  json?: boolean;
  /** `--force`: store it even though no task of the run waits for the type. */
  force?: boolean;
}

/** `agents-sdk signal <runId> <type>`. */
export async function signalCommand(runId: string, type: string, options: SignalOptions, io: CliIO): Promise<number> {
  const payload = parseData(options.data);
  return withBackend(options, 'write', async (backend) => {
    const signal = await sendSignal(backend, runId, type, payload, { source: 'cli', ...(options.force === true && { force: true }) });
    const status = (await backend.lockHolder(runId)) ? 'running' : 'not running';
    if (options.json) {
      io.stdout(`${JSON.stringify({ runId, delivery: status === 'running' ? 'live' : 'on_resume', signal }, null, 2)}\n`);
      return EXIT.ok;
    }
    const next =
      status === 'running'
        ? 'the process driving the run applies it within a second'
        : `the run is not running: it gets the signal when resumed (${resumeCommandLine(runId, { stateDirOption: options.stateDir, backendOption: options.backend })})`;
    io.stdout(`signal ${signal.type} (${signal.id}) stored for run ${runId}; ${next}\n`);
    return EXIT.ok;
  });
}

function parseData(data: string | undefined): unknown {
  if (data === undefined) return null;
  try {
    return JSON.parse(data) as unknown;
  } catch (error) {
    throw new ValidationError(`--data must be JSON (e.g. '{"approved_by":"ana"}' or '"yes"'), got ${data}: ${(error as Error).message}`, [
      { path: '--data', message: 'must be JSON' },
    ]);
  }
}
