/**
 * The durable cache of ADW agents' Claude sessions: one small JSON file per `agent_name:adw_id`
 * under the state dir, so that the next prompt of that agent continues its Claude session
 * (`--resume`), from this process or another one.
 *
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertValidRunId } from '../persistence/state-keys.js';

/** One cached session, as stored in `<stateDir>/<adw_id>/<agent_name>/session.json`. */
export interface AdwSessionRecord {
  schemaVersion: 1;
  /** `agent_name:adw_id`. */
  key: string;
  claudeSessionId: string;
  updatedAt: string;
}

/** The cache key of an agent of an ADW run: `agent_name:adw_id`. */
export function sessionKey(agentName: string, adwId: string): string {
  return `${agentName}:${adwId}`;
}

/** Where an agent's cached session is stored. */
export function sessionFile(stateDir: string, adwId: string, agentName: string): string {
  assertValidRunId(adwId);
  assertValidRunId(agentName);
  return join(stateDir, adwId, agentName, 'session.json');
}

/** The Claude session id cached for this agent, or `null` (none yet, or a file that cannot be read). */
export function loadSessionId(stateDir: string, adwId: string, agentName: string): string | null {
  try {
    const record = JSON.parse(readFileSync(sessionFile(stateDir, adwId, agentName), 'utf8')) as Partial<AdwSessionRecord>;
    return record.schemaVersion === 1 && typeof record.claudeSessionId === 'string' && record.claudeSessionId ? record.claudeSessionId : null;
  } catch {
    // A damaged cache only costs the conversation: the prompt runs in a fresh session.
    return null;
  }
}

/** Caches this agent's Claude session id (written to a temporary file, then renamed: never half a file). */
export function saveSessionId(stateDir: string, adwId: string, agentName: string, claudeSessionId: string): void {
  const file = sessionFile(stateDir, adwId, agentName);
  mkdirSync(dirname(file), { recursive: true });
  const record: AdwSessionRecord = { schemaVersion: 1, key: sessionKey(agentName, adwId), claudeSessionId, updatedAt: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, file);
}
