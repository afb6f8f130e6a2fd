/**
 * The backends the conformance suite runs against, with the two test-only manipulations each
 * needs (forge a lock owner, corrupt a checkpoint) done from outside, as another process would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonStateBackend, type StateBackend } from '../../src/index.js';

export interface LockOwnerLike {
  pid: number;
  host: string;
  acquiredAt: number;
}

export interface BackendFactory {
  name: string;
  create(dir: string): Promise<StateBackend>;
  /** Makes the run's lock look held by `owner`. */
  forgeLock(dir: string, runId: string, owner: LockOwnerLike): Promise<void>;
  /** Corrupts the stored checkpoint of a run; returns what the error must name. */
  corrupt(dir: string, runId: string): Promise<string>;
}

export const jsonBackend: BackendFactory = {
  name: 'JsonStateBackend',
  create: async (dir) => new JsonStateBackend(dir),
  forgeLock: async (dir, runId, owner) => writeFileSync(join(dir, runId, 'run.lock'), JSON.stringify(owner)),
  corrupt: async (dir, runId) => {
    const file = join(dir, runId, 'checkpoint.json');
    writeFileSync(file, '{"schemaVersion": 1, "runId": "bad", "records": [');
    return file;
  },
};

export function backendFactories(): BackendFactory[] {
  return [jsonBackend];
}
