/**
 * Conditions are visible: `run --dry-run` shows each task's `when` (and `allow_failure`),
 * `diagram` puts `when` on the edges into its task, and `status` shows why a task was skipped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workflowDiagram } from '../src/visual/diagram.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const ROUTING = `
id: triage
tasks:
  - id: classify
    command: [node, -e, "process.stdout.write('bug')"]
  - id: fix_bug
    depends_on: [classify]
    when: tasks.classify.output == "bug"
    command: [node, -e, "process.stdout.write('fixed')"]
  - id: add_feature
    depends_on: [classify]
    when: tasks.classify.output == "feature"
    prompt: "build it"
  - id: report
    depends_on: [fix_bug, add_feature]
    allow_failure: true
    command: [node, -e, "1", "{{tasks.fix_bug.status}}"]
`;

function writeWorkflow(): string {
  const file = join(world.root, 'triage.yaml');
  writeFileSync(file, ROUTING);
  return file;
}

describe('conditions are shown', () => {
  it('run --dry-run shows each when and allow_failure', async () => {
    const out = await cli(['run', writeWorkflow(), '--dry-run'], world.env);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('fix_bug (command, after classify, 3 attempts)\n  only when: tasks.classify.output == "bug"\n');
    expect(out.stdout).toContain('add_feature (agent add_feature, model sonnet, after classify, 3 attempts)\n  only when: tasks.classify.output == "feature"\n');
    expect(out.stdout).toContain('report (command, after fix_bug, add_feature, 3 attempts, may fail (allow_failure))');
    expect(out.stdout).toContain("$ node -e 1 '<status of fix_bug>'");
    expect(world.invocations()).toEqual([]);
  });

  it('diagram puts when on the edges into its task (Mermaid and dot)', async () => {
    const mermaid = await cli(['diagram', writeWorkflow()]);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toContain('  classify -->|"when: tasks.classify.output == #34;bug#34;"| fix_bug\n');
    expect(mermaid.stdout).toContain('  fix_bug --> report\n');
    const dot = await cli(['diagram', writeWorkflow(), '--format', 'dot']);
    expect(dot.stdout).toContain('  "classify" -> "add_feature" [label="when: tasks.classify.output == \\"feature\\"", style=dashed];\n');
  });

  it('a long condition is shortened on its edge; a multi-line one is put on one line', () => {
    const text = workflowDiagram({
      id: 'w',
      tasks: [
        { id: 'a', depends_on: [] },
        { id: 'b', depends_on: ['a'], when: 'tasks.a.output.trim() == "a rather long label"\n  && tasks.a.exit_code == 0' },
      ],
    });
    expect(text).toContain('  a -->|"when: tasks.a.output.trim() == #34;a rather long label#34;…"| b\n');
  });

  it('the run and status show why a task was skipped', async () => {
    const state = ['--state-dir', world.stateDir];
    const run = await cli(['run', writeWorkflow(), '--run-id', 'shown', ...state], world.env);
    expect(run.code).toBe(0);
    // the run's own lines say it as it happens
    expect(run.stderr).toContain('add_feature: skipped: when: tasks.classify.output == "feature" is false (tasks.classify.output = "bug")');
    const status = await cli(['status', 'shown', ...state]);
    expect(status.stdout).toMatch(/add_feature\s+skipped\s+0 .*when: tasks\.classify\.output == "feature" is false \(tasks\.classify\.output = "bug"\)/);
    expect(status.stdout).toMatch(/run shown of workflow triage: completed/);
    // report is allowed to fail, and succeeded: nothing to mark
    expect(status.stdout).toMatch(/report\s+completed\s+1 /);
  });
});
