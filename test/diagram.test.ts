import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStateBackend, loadWorkflowFile, workflowDiagram, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { runStatuses } from '../src/visual/diagram.js';
import { cli } from './helpers/cli.js';
import { fakeWorld, type FakeWorld } from './helpers/fake-claude.js';
import { record } from './helpers/records.js';

let world: FakeWorld;
beforeEach(() => {
  world = fakeWorld();
});
afterEach(() => world.cleanup());

const SDLC = 'examples/sdlc.yaml';
const state = () => ['--state-dir', world.stateDir];

/** Stores a run of examples/sdlc.yaml whose build failed: plan completed, test and review skipped, document not reached. */
async function saveFailedSdlcRun(runId: string): Promise<void> {
  const backend = new JsonStateBackend(world.stateDir);
  const records: TaskRecord[] = [
    record('plan'),
    { ...record('build', 'failed'), error: { name: 'PermanentError', code: 'AGENT_ERROR', message: 'no', transient: false } },
    { ...record('test', 'skipped'), attempts: 0, startedAt: null, endedAt: null, durationMs: null, reason: 'build failed' },
    { ...record('review', 'skipped'), attempts: 0, startedAt: null, endedAt: null, durationMs: null, reason: 'build failed' },
  ];
  try {
    await backend.saveCheckpoint(runId, {
      schemaVersion: STATE_SCHEMA_VERSION,
      runId,
      workflowId: 'sdlc',
      status: 'failed',
      workflow: await loadWorkflowFile(SDLC),
      startedAt: 1,
      updatedAt: 2,
      records,
    });
  } finally {
    await backend.close();
  }
}

describe('agents-sdk diagram', () => {
  it('prints the task graph of examples/sdlc.yaml as a Mermaid flowchart, one edge per dependency', async () => {
    const out = await cli(['diagram', SDLC]);
    expect([out.code, out.stderr]).toEqual([0, '']);
    expect(out.stdout).toBe(
      [
        'flowchart LR',
        '  plan["plan"]',
        '  build["build"]',
        '  test["test"]',
        '  review["review"]',
        '  document["document"]',
        '  plan --> build',
        '  build --> test',
        '  build --> review',
        '  test --> document',
        '  review --> document',
        '',
      ].join('\n'),
    );
  });

  it('--format dot prints a Graphviz digraph with the same edges', async () => {
    const out = await cli(['diagram', SDLC, '--format', 'dot']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      [
        'digraph "sdlc" {',
        '  rankdir=LR;',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#9ca3af", fontname="Helvetica"];',
        '  "plan";',
        '  "build";',
        '  "test";',
        '  "review";',
        '  "document";',
        '  "plan" -> "build";',
        '  "build" -> "test";',
        '  "build" -> "review";',
        '  "test" -> "document";',
        '  "review" -> "document";',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('--run colours each task by its status in that run (tasks the run never reached are pending)', async () => {
    await saveFailedSdlcRun('broken');
    const mermaid = await cli(['diagram', SDLC, '--run', 'broken', ...state()]);
    expect([mermaid.code, mermaid.stderr]).toEqual([0, '']);
    expect(mermaid.stdout).toContain('  review --> document\n');
    expect(mermaid.stdout.split('\n').filter((l) => /^\s+class(Def)? /.test(l))).toEqual([
      '  classDef pending fill:#ffffff,stroke:#9ca3af,color:#374151',
      '  class document pending',
      '  classDef completed fill:#dcfce7,stroke:#16a34a,color:#14532d',
      '  class plan completed',
      '  classDef failed fill:#fee2e2,stroke:#dc2626,color:#7f1d1d',
      '  class build failed',
      '  classDef skipped fill:#f3f4f6,stroke:#9ca3af,color:#6b7280',
      '  class test,review skipped',
    ]);

    const dot = await cli(['diagram', SDLC, '--run', 'broken', '--format', 'dot', ...state()]);
    expect(dot.stdout).toContain('  "build" [fillcolor="#fee2e2", color="#dc2626", fontcolor="#7f1d1d", tooltip="failed"];\n');
    expect(dot.stdout).toContain('  "document" [fillcolor="#ffffff", color="#9ca3af", fontcolor="#374151", tooltip="pending"];\n');
    expect(dot.stdout).toContain('  "build" -> "review";\n');
  });

  it('a replayed run colours every task completed', async () => {
    const run = await cli(['run', SDLC, '--replay', 'examples/recordings/sdlc', '--replay-speed', '0', '--run-id', 'demo', '--json', ...state()]);
    expect(run.code).toBe(0);
    const out = await cli(['diagram', SDLC, '--run', 'demo', ...state()]);
    expect(out.stdout).toContain('  class plan,build,test,review,document completed\n');
  });

  it('task ids that Mermaid would misread get safe node ids; dot quotes them', () => {
    const workflow = {
      id: 'odd',
      tasks: [
        { id: 'end', depends_on: [] },
        { id: 'a-b', depends_on: ['end'] },
        { id: 'x.y', depends_on: ['a-b'] },
        { id: 'task_2', depends_on: ['x.y', 'end'] },
        { id: '9lives', depends_on: ['task_2'] },
      ],
    };
    expect(workflowDiagram(workflow, { statuses: { end: 'completed', 'a-b': 'running', 'x.y': 'no-such-status' } })).toBe(
      [
        'flowchart LR',
        '  task_1["end"]',
        '  task_2_["a-b"]',
        '  task_3["x.y"]',
        '  task_2["task_2"]',
        '  task_5["9lives"]',
        '  task_1 --> task_2_',
        '  task_2_ --> task_3',
        '  task_3 --> task_2',
        '  task_1 --> task_2',
        '  task_2 --> task_5',
        '  classDef pending fill:#ffffff,stroke:#9ca3af,color:#374151',
        '  class task_3,task_2,task_5 pending',
        '  classDef running fill:#dbeafe,stroke:#2563eb,color:#1e3a8a',
        '  class task_2_ running',
        '  classDef completed fill:#dcfce7,stroke:#16a34a,color:#14532d',
        '  class task_1 completed',
        '',
      ].join('\n'),
    );
    const dot = workflowDiagram({ id: 'say "hi"', tasks: [{ id: 'a\\b', depends_on: [] }] }, { format: 'dot', direction: 'TB' });
    expect(dot).toContain('digraph "say \\"hi\\"" {\n  rankdir=TB;');
    expect(dot).toContain('  "a\\\\b";\n');
    expect(runStatuses({ records: [record('plan', 'failed')] })).toEqual({ plan: 'failed' });
  });

  it('needs no input values: inputs change no edge', async () => {
    const file = join(world.root, 'needs.yaml');
    writeFileSync(file, 'id: needs\ninputs:\n  topic: null\ntasks:\n  - id: a\n    prompt: "{{inputs.topic}}"\n');
    const out = await cli(['diagram', file]);
    expect([out.code, out.stdout]).toEqual([0, 'flowchart LR\n  a["a"]\n']);
    expect((await cli(['diagram', file, '--input', 'topic=x'])).code).toBe(0);
  });

  it('a bad format, an unknown run, a run of another workflow and a missing file are invalid input (exit 2)', async () => {
    const format = await cli(['diagram', SDLC, '--format', 'svg']);
    expect([format.code, format.stdout]).toEqual([2, '']);
    expect(format.stderr).toContain('--format must be one of mermaid, dot, got "svg"');

    const unknown = await cli(['diagram', SDLC, '--run', 'nope', ...state()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown run id "nope"');

    await saveFailedSdlcRun('broken');
    const other = join(world.root, 'other.yaml');
    writeFileSync(other, 'id: other\ntasks:\n  - id: plan\n    prompt: x\n');
    const mismatch = await cli(['diagram', other, '--run', 'broken', ...state()]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('run broken is a run of workflow "sdlc", not of "other"');

    const missing = await cli(['diagram', join(world.root, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});
