/**
 * examples/patterns/orchestrator-workers.yaml replays offline: the planner's structured list of
 * three subtasks (recorded as the real CLI emits it) becomes three implementers, impl[0..2],
 * each prompted with its item, and the integrator reads their outputs in item order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskResult, WorkflowResult } from '../src/index.js';
import { cli } from './helpers/cli.js';

const EXAMPLE = 'examples/patterns/orchestrator-workers.yaml';
const RECORDINGS = 'examples/recordings/patterns-orchestrator-workers';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'agents-sdk-ow-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

describe('examples/patterns/orchestrator-workers.yaml', () => {
  it('validates, and --dry-run shows the fan-out as × n', async () => {
    const validate = await cli(['validate', EXAMPLE]);
    expect([validate.code, validate.stderr]).toEqual([0, '']);
    const dry = await cli(['run', EXAMPLE, '--dry-run']);
    expect(dry.stdout).toContain('impl × n');
  });

  it.each(['json', 'sqlite'])('replays offline (%s backend): one implementer per planned subtask, then the integrator', async (backend) => {
    const run = await cli(['run', EXAMPLE, '--replay', RECORDINGS, '--replay-speed', '0', '--run-id', 'ow', '--json', '--state-dir', stateDir, '--backend', backend]);
    expect([run.code, run.stderr]).toEqual([0, expect.stringContaining('completed')]);
    const result = JSON.parse(run.stdout) as WorkflowResult;
    const tasks: Record<string, TaskResult> = Object.fromEntries(result.taskResults.map((t) => [t.taskId, t]));
    expect(result.status).toBe('completed');
    expect((tasks.plan!.json as { subtasks: unknown[] }).subtasks).toHaveLength(3);
    expect([0, 1, 2].map((k) => tasks[`impl[${k}]`]!.output)).toEqual([
      'Done: Add a theme setting (light, dark, system) (src/settings.ts).',
      'Done: Add a ThemeProvider following the setting (src/theme.tsx).',
      'Done: Add a theme toggle to the settings panel (src/components/SettingsPanel.tsx).',
    ]);
    expect(tasks.impl!.status).toBe('completed');
    expect(tasks.integrate!.output).toContain('all 87 tests pass');
    // Each implementer was prompted with its own item; the integrator with every output, in order.
    const prompt = (id: string) => readFileSync(join(stateDir, 'ow', id, 'prompt.md'), 'utf8');
    expect(prompt('impl[1]')).toContain('Implement subtask 1 of the plan: Add a ThemeProvider following the setting\nTouch only these files: ["src/theme.tsx"]');
    expect(prompt('integrate')).toContain(JSON.stringify([0, 1, 2].map((k) => tasks[`impl[${k}]`]!.output)));
  });
});
