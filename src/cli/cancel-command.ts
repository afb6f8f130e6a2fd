/**
 * `agents-sdk cancel <runId> [--force] [--reason TEXT]`: cancels a run from any terminal or
 * machine that sees its state (see {@link cancelRun}).
 *
 * @module
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { cancelRun, type CancelRunResult } from '../cancel-run.js';
import { PermanentError, ValidationError } from '../errors.js';
import { EXIT, type CliIO } from './cli-support.js';
import { sqliteHint, withBackend, type StateOptions } from './state-commands.js';

/** Options of `agents-sdk cancel`. */
export interface CancelOptions extends StateOptions {
  force?: boolean;
  reason?: string;
  /** Seconds to wait for the driving process (default 10). */
  timeout?: string;
  json?: boolean;
}

/** `agents-sdk cancel <runId>`. */
export async function cancelCommand(runId: string, options: CancelOptions, io: CliIO): Promise<number> {
  const timeout = options.timeout === undefined ? 10 : Number(options.timeout);
  if (!(timeout >= 0) || !Number.isFinite(timeout)) throw new ValidationError(`--timeout must be a number of seconds >= 0, got "${options.timeout}"`);
  return withBackend(options, 'write', async (backend, stateDir) => {
    if ((await backend.loadRun(runId)) === undefined) {
      const hint = sqliteHint(options, stateDir);
      if (hint) throw new PermanentError('NOT_FOUND', `Unknown run id "${runId}"; ${hint}`, { details: { runId } });
    }
    const result = await cancelRun(backend, runId, {
      ...(options.reason !== undefined && { reason: options.reason }),
      ...(options.force === true && { force: true }),
      source: `cli@${hostname()}:${process.pid}`,
      waitMs: timeout * 1000,
      stateDir: resolve(stateDir),
    });
    if (options.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout(`${describe(result, options, timeout)}\n`);
    return result.outcome === 'requested' || result.outcome === 'finished' ? EXIT.failed : EXIT.ok;
  });
}

function describe(result: CancelRunResult, options: StateOptions, timeout: number): string {
  const { runId, driver } = result;
  const flags = [
    ...(options.stateDir !== undefined ? ['--state-dir', options.stateDir] : []),
    ...(options.backend !== undefined ? ['--backend', options.backend] : []),
  ].join(' ');
  const resume = `agents-sdk resume ${runId}${flags ? ` ${flags}` : ''}`;
  const by = driver ? `pid ${driver.pid} on ${driver.host}` : '';
  const reaped = result.reaped > 0 ? `; ${result.reaped} agent process${result.reaped === 1 ? '' : 'es'} it left ended` : '';
  switch (result.outcome) {
    case 'cancelled':
      return `run ${runId} cancelled: the process driving it (${by}) stopped its agents; continue it with: ${resume}`;
    case 'marked':
      return `run ${runId} was not running (no process drives it): marked cancelled${reaped}; continue it with: ${resume}`;
    case 'killed':
      return `run ${runId}: its driver (${by}) did not answer within ${timeout}s and was killed (SIGKILL); the run is marked cancelled${reaped}; continue it with: ${resume}`;
    case 'already_cancelled':
      return `run ${runId} is already cancelled; continue it with: ${resume}`;
    case 'finished':
      return `run ${runId} finished (${result.status}) before the cancel applied: nothing was cancelled`;
    case 'requested':
      return (
        `run ${runId}: cancel requested, but its driver (${by || 'another process'}) has not ended the run within ${timeout}s; ` +
        `the request stays in the run's inbox. To kill the driver: agents-sdk cancel ${runId} --force${flags ? ` ${flags}` : ''}`
      );
  }
}
