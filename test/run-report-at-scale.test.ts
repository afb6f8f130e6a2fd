/**
 * The run report, built from stored runs in code (no browser): the timeline never draws a
 * task's duration over its name, the by-agent table lists agents (not command tasks), and a
 * big run's task graph is placed in linear time (dagre only for small graphs; a 2,000-task
 * run's report took 45 s of CPU). Timing is the bench's (bench/report.mjs); here, the structure.
 */
import { describe, expect, it } from 'vitest';
import { renderRunReportHtml, validateWorkflow, type RunCheckpoint, type RunEventLogEntry, type TaskRecord } from '../src/index.js';
import { STATE_SCHEMA_VERSION } from '../src/persistence/state-backend.js';
import { buildRunReport } from '../src/report/run-report.js';
import { DAGRE_MAX_NODES, layeredLayout, layoutDag } from '../src/visual/dag-layout.js';

const T0 = 1_700_000_000_000;

function finishedRun(spec: Parameters<typeof validateWorkflow>[0], spans: Record<string, [number, number]>, cost = 0.02): { run: RunCheckpoint; events: RunEventLogEntry[] } {
  const workflow = validateWorkflow(spec);
  const events: RunEventLogEntry[] = [{ type: 'workflow.started', runId: 'r', at: T0, taskIds: workflow.tasks.map((t) => t.id) }];
  const records: TaskRecord[] = workflow.tasks.map((t) => {
    const [from, to] = spans[t.id] ?? [0, 1000];
    events.push({ type: 'task.started', runId: 'r', taskId: t.id, attempt: 1, at: T0 + from });
    events.push({ type: 'task.completed', runId: 'r', taskId: t.id, attempt: 1, at: T0 + to });
    const agent = t.kind === 'agent';
    return {
      taskId: t.id, status: 'completed', attempts: 1, output: 'o', sessionId: null,
      tokens: agent ? { input: 100, output: 50, cacheRead: 0, cacheCreation: 0 } : { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 },
      costUsd: agent ? cost : 0, startedAt: T0 + from, endedAt: T0 + to, durationMs: to - from, error: null,
    };
  });
  const end = Math.max(...Object.values(spans).map(([, to]) => to), 1000);
  return {
    run: { schemaVersion: STATE_SCHEMA_VERSION, runId: 'r', workflowId: workflow.id, status: 'completed', workflow, startedAt: T0, updatedAt: T0 + end, records, result: { totalTimeMs: end } as RunCheckpoint['result'] } as RunCheckpoint,
    events,
  };
}

/** The `after` texts of the timeline: their x, anchor and text. */
function afterTexts(html: string): Array<{ x: number; end: boolean; inside: boolean; text: string }> {
  return [...html.matchAll(/<text class="(after(?: inside)?)" x="([\d.]+)"( text-anchor="end")? y="[\d.]+">([^<]*)<\/text>/g)].map((m) => ({
    inside: m[1] === 'after inside',
    x: Number(m[2]),
    end: m[3] !== undefined,
    text: m[4]!,
  }));
}

const LABEL_W = 170;

describe('the timeline', () => {
  it("never draws a duration over the task name when the bars reach the right edge", () => {
    // one task from the start to the end of the run: no room after the bar, none before it
    const { run, events } = finishedRun({ id: 'w', tasks: [{ id: 'only-task-of-the-run', prompt: 'x' }] }, { 'only-task-of-the-run': [0, 60_000] });
    const [after] = afterTexts(renderRunReportHtml(buildRunReport(run, events)));
    expect(after).toMatchObject({ text: '1m 00s', inside: true, end: true });
    // right-aligned inside the bar, so it ends right of where the chart starts
    expect(after!.x - after!.text.length * 6.5).toBeGreaterThan(LABEL_W);
  });

  it('puts it after the bar, or before it when there is room between the name and the bar', () => {
    const { run, events } = finishedRun(
      { id: 'w', tasks: [{ id: 'early', prompt: 'x' }, { id: 'late', prompt: 'y' }] },
      { early: [0, 10_000], late: [30_000, 60_000] },
    );
    const texts = afterTexts(renderRunReportHtml(buildRunReport(run, events)));
    expect(texts.map((t) => [t.inside, t.end])).toEqual([[false, false], [false, true]]);
    for (const t of texts.filter((t) => t.end)) expect(t.x - t.text.length * 6.5).toBeGreaterThanOrEqual(LABEL_W);
  });
});

describe('the by-agent table', () => {
  it('lists the agents of agent tasks, not command tasks; command tasks are the model `command`', () => {
    const { run, events } = finishedRun(
      { id: 'w', tasks: [{ id: 'plan', prompt: 'x', agent: 'planner' }, { id: 'lint', command: ['true'] }, { id: 'build', prompt: 'y', depends_on: ['plan'] }, { id: 'test', command: ['true'], depends_on: ['build'] }] },
      {},
    );
    const report = buildRunReport(run, events);
    expect(report.byAgent.map((g) => g.key).sort()).toEqual(['build', 'planner']);
    expect(report.byModel.map((g) => g.key).sort()).toEqual(['command', 'sonnet']);
    const html = renderRunReportHtml(report);
    const agentTable = /<table class="costs" data-group="agent">[\s\S]*?<\/table>/.exec(html)![0];
    expect(agentTable).not.toContain('data-key="lint"');
    expect(agentTable).not.toContain('data-key="test"');
    expect(agentTable).toContain('data-key="planner"');
  });
});

describe('the task graph of a big run', () => {
  const graph = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, dependsOn: i >= 20 ? [`t${i - 20}`, `t${i - 20 + ((i * 7) % 20)}`] : [] }));

  it('is placed by the layered layout above the dagre threshold, by dagre below it', () => {
    const small = graph(DAGRE_MAX_NODES);
    const big = graph(DAGRE_MAX_NODES + 1);
    // dagre's edges bend (3+ points); the layered layout's are straight (2 points)
    expect(layoutDag(small).edges.some((e) => e.points.length > 2)).toBe(true);
    expect(layoutDag(big)).toEqual(layeredLayout(big));
  });

  it('ranks each task after its dependencies, without overlaps, with one edge per dependency', () => {
    const nodes = graph(2000);
    const layout = layeredLayout(nodes, { margin: 12, nodeSep: 20, rankSep: 56 });
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect(layout.edges).toHaveLength(nodes.reduce((n, t) => n + new Set(t.dependsOn).size, 0));
    for (const e of layout.edges) {
      const from = at.get(e.from)!;
      const to = at.get(e.to)!;
      expect(from.x + from.width / 2).toBeLessThan(to.x - to.width / 2);
      expect(e.points).toEqual([{ x: from.x + from.width / 2, y: from.y }, { x: to.x - to.width / 2, y: to.y }]);
    }
    // tasks of one rank (same x) stack without overlapping, inside the picture
    const columns = new Map<number, typeof layout.nodes>();
    for (const n of layout.nodes) columns.set(n.x, [...(columns.get(n.x) ?? []), n]);
    // as many columns as the longest chain of dependencies (every dependency is declared earlier here)
    const depth: number[] = [];
    nodes.forEach((t, i) => (depth[i] = Math.max(0, ...t.dependsOn.map((d) => depth[Number(d.slice(1))]! + 1))));
    expect(columns.size).toBe(Math.max(...depth) + 1);
    for (const column of columns.values()) {
      const ys = column.map((n) => n.y).sort((a, b) => a - b);
      for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThanOrEqual(44 + 20);
    }
    for (const n of layout.nodes) {
      expect(n.x + n.width / 2).toBeLessThanOrEqual(layout.width);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(layout.height);
    }
  });

  it('places a chain, a cycle (which validation refuses) and top-to-bottom graphs too', () => {
    const chain = layeredLayout(Array.from({ length: 500 }, (_, i) => ({ id: `c${i}`, dependsOn: i > 0 ? [`c${i - 1}`] : [] })));
    expect(new Set(chain.nodes.map((n) => n.y)).size).toBe(1);
    expect(chain.width).toBeGreaterThan(500 * 160);
    const cycle = layeredLayout([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: [] }]);
    expect(cycle.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    const tb = layeredLayout([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }], { direction: 'TB' });
    expect(tb.nodes[0]!.y).toBeLessThan(tb.nodes[1]!.y);
  });
});
