/**
 * Deleting old runs whole (`agents-sdk prune`, {@link pruneRuns}): checkpoint, records, event
 * log, inbox, raw outputs. A run that a live process drives is never deleted: each run is
 * deleted holding its lock.
 *
 * @module
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentsSdkError } from '../errors.js';
import type { StateBackend } from './state-backend.js';
import { assertValidRunId } from './state-keys.js';

/** Options of {@link pruneRuns}. */
export interface PruneRunsOptions {
  /** Runs last written longer ago than this (ms) are deleted. */
  olderThanMs: number;
  /**
   * Only runs in these statuses: `completed`, `failed`, `cancelled`, `budget_exceeded`,
   * `interrupted` (running, but no live process drives it), `unreadable` (damaged state).
   * Default: all of them but `unreadable` (damage is for a person to look at first).
   */
  statuses?: Iterable<string>;
  /** Choose, but delete nothing. */
  dryRun?: boolean;
  /** The state directory: `<stateDir>/<runId>/` (raw outputs, process registry) is removed too. */
  stateDir?: string;
  /** Now (epoch ms), for tests. */
  now?: number;
}

/** A run {@link pruneRuns} chose. */
export interface PrunedRun {
  runId: string;
  workflowId: string;
  status: string;
  startedAt: number;
  updatedAt: number;
}

/** What {@link pruneRuns} did. */
export interface PruneRunsResult {
  /** Deleted (with `dryRun`: would be). */
  deleted: PrunedRun[];
  /** Old enough and in a chosen status, but left: a live process drives it. */
  live: PrunedRun[];
}

const DEFAULT_STATUSES = ['completed', 'failed', 'cancelled', 'budget_exceeded', 'interrupted'];

/** Deletes the runs older than `olderThanMs` (by their last write) in the chosen statuses; never a live one. */
export async function pruneRuns(backend: StateBackend, options: PruneRunsOptions): Promise<PruneRunsResult> {
  const statuses = new Set(options.statuses ?? DEFAULT_STATUSES);
  const before = (options.now ?? Date.now()) - options.olderThanMs;
  const result: PruneRunsResult = { deleted: [], live: [] };
  for (const summary of await backend.listRuns()) {
    const live = summary.status === 'running' && (await backend.lockHolder(summary.runId)) !== null;
    const status = summary.status === 'running' ? (live ? 'running' : 'interrupted') : summary.status;
    const run: PrunedRun = { runId: summary.runId, workflowId: summary.workflowId, status, startedAt: summary.startedAt, updatedAt: summary.updatedAt };
    // An unreadable run has no time of its own: its age is not known, only that it is damaged.
    if (status !== 'unreadable' && !(summary.updatedAt < before)) continue;
    if (live) {
      if (statuses.has('interrupted') || statuses.has('running')) result.live.push(run);
      continue;
    }
    if (!statuses.has(status)) continue;
    if (options.dryRun) {
      result.deleted.push(run);
      continue;
    }
    if (await deleteUnlessLive(backend, run.runId, options.stateDir)) result.deleted.push(run);
    else result.live.push({ ...run, status: 'running' });
  }
  return result;
}

/** Deletes a run holding its lock; `false` when a live process holds it (it was resumed meanwhile). */
async function deleteUnlessLive(backend: StateBackend, runId: string, stateDir: string | undefined): Promise<boolean> {
  assertValidRunId(runId);
  let release: () => Promise<void>;
  try {
    release = await backend.lockRun(runId);
  } catch (error) {
    if (error instanceof AgentsSdkError && error.code === 'LOCKED') return false;
    throw error;
  }
  try {
    await backend.deleteRun(runId);
    if (stateDir !== undefined) await rm(join(stateDir, runId), { recursive: true, force: true });
  } finally {
    await release().catch(() => undefined);
  }
  return true;
}
