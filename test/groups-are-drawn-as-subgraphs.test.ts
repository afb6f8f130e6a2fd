/**
 * `diagram` draws a group as a subgraph (Mermaid) or a cluster (dot) around its tasks, a nested
 * group inside its group.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow, workflowDiagram } from '../src/index.js';

const NESTED = validateWorkflow({
  id: 'nest',
  tasks: [
    { id: 'start', prompt: 'start' },
    { id: 'outer', depends_on: ['start'], tasks: [{ id: 'a', prompt: 'a' }, { id: 'inner', depends_on: ['a'], tasks: [{ id: 'b', prompt: 'b' }] }] },
    { id: 'end', depends_on: ['outer'], prompt: 'end' },
  ],
});

describe('groups are drawn as subgraphs', () => {
  it('Mermaid: a subgraph per group, nested as declared', () => {
    const text = workflowDiagram(NESTED);
    expect(text).toContain(['  subgraph group_1["outer"]', '    task_2', '    subgraph group_2["outer.inner"]', '      task_3', '    end', '  end'].join('\n'));
    expect(text).toContain('task_3 --> task_4');
  });

  it('dot: a cluster per group, nested as declared', () => {
    const text = workflowDiagram(NESTED, { format: 'dot' });
    expect(text).toContain(['  subgraph "cluster_1" { label="outer";', '    "outer.a";', '    subgraph "cluster_2" { label="outer.inner";', '      "outer.inner.b";', '    }', '  }'].join('\n'));
  });

  it('a workflow without groups has no subgraph', () => {
    expect(workflowDiagram(validateWorkflow({ id: 'flat', tasks: [{ id: 'a', prompt: 'a' }] }))).not.toContain('subgraph');
  });
});

describe('fan-outs and loops in the diagram', () => {
  const workflow = validateWorkflow({
    id: 'fan',
    tasks: [
      { id: 'plan', command: ['plan'], output: 'json' },
      { id: 'impl', depends_on: ['plan'], for_each: 'tasks.plan.json', prompt: 'do {{item}}' },
      { id: 'fix', depends_on: ['impl'], prompt: 'fix' },
    ],
  });
  // A loop's task as the loop's validation leaves it.
  Object.assign(workflow.tasks[2]!, { repeat: { until: 'tasks.fix.output == "ok"', max: 4 } });

  it('labels a fan-out × n and a loop × ≤max (Mermaid and dot, coloured by a run or not)', () => {
    const mermaid = workflowDiagram(workflow);
    expect(mermaid).toContain('  impl["impl × n"]\n');
    expect(mermaid).toContain('  fix["fix × ≤4"]\n');
    expect(mermaid).toContain('  plan["plan"]\n');
    const dot = workflowDiagram(workflow, { format: 'dot' });
    expect(dot).toContain('  "impl" [label="impl × n"];\n');
    expect(dot).toContain('  "plan";\n');
    const coloured = workflowDiagram(workflow, { format: 'dot', statuses: { impl: 'completed', plan: 'completed' } });
    expect(coloured).toMatch(/ {2}"fix" \[label="fix × ≤4", fillcolor="[^"]+"/);
    expect(coloured).toMatch(/ {2}"plan" \[fillcolor=/);
  });
});
