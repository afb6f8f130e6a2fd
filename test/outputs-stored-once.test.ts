/**
 * A task's output is stored once in a run's state: in its record. The snapshot and the stored
 * result leave it out, and loading puts it back into the result.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowOrchestrator, type Executor } from '../src/index.js';
import { openStateBackend } from '../src/persistence/open-state-backend.js';
import { okResult } from './helpers/results.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agents-sdk-once-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const MARK = 'big-output-marker-';
const output = MARK + 'x'.repeat(200_000);
const executor: Executor = async () => okResult({ output });

function occurrences(root: string): number {
  let n = 0;
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'latin1');
    n += text.split(MARK).length - 1;
  }
  return n;
}

describe.each(['json', 'sqlite'])('outputs in the %s backend', (kind) => {
  it('are stored once, and the loaded result still carries them', async () => {
    const backend = await openStateBackend(kind, dir);
    const result = await new WorkflowOrchestrator(backend, { stateDir: dir, executor }).runWorkflow(
      { id: 'once', tasks: [{ id: 'writer', prompt: 'write' }] },
      { runId: 'once' },
    );
    expect(result.taskResults[0]!.output).toBe(output);
    await backend.close();
    expect(occurrences(dir)).toBe(1);
    const reader = await openStateBackend(kind, dir);
    const run = await reader.loadRun('once');
    expect(run!.result!.taskResults[0]!.output).toBe(output);
    expect(run!.records[0]!.output).toBe(output);
    await reader.close();
  });
});
