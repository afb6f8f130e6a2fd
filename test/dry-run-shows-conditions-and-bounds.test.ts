/**
 * `run --dry-run` shows each task's condition and bounds: a fan-out as `× n` (its list is
 * known only when it runs) with `max_items`, a loop (`repeat`) as `× ≤max` with its `until`
 * and what happens when its iterations are used up. The loop's task is set on a validated
 * workflow as the loop's validation leaves it (`repeat: { until, max, on_exhausted }`).
 */
import { describe, expect, it } from 'vitest';
import { planWorkflow, validateWorkflow } from '../src/index.js';
import { formatWorkflowPlan } from '../src/cli/dry-run.js';

describe('the dry run of conditions, fan-outs and loops', () => {
  it('shows a loop as × ≤max with its until, and on_exhausted', () => {
    const workflow = validateWorkflow({
      id: 'w',
      tasks: [
        { id: 'plan', command: ['plan'], output: 'json' },
        { id: 'fix', depends_on: ['plan'], prompt: 'fix it', when: 'tasks.plan.json.broken' },
        { id: 'review', depends_on: ['fix'], prompt: 'review it' },
        { id: 'impl', depends_on: ['plan'], for_each: 'tasks.plan.json.items', max_items: 50, prompt: 'do {{item}}' },
      ],
    });
    Object.assign(workflow.tasks[1]!, { repeat: { until: 'tasks.fix.output == "ok"', max: 4 } });
    Object.assign(workflow.tasks[2]!, { repeat: { until: 'tasks.review.output == "approved"', max: 3, on_exhausted: 'continue' } });
    const plan = planWorkflow(workflow);
    expect(plan.tasks[1]!.repeat).toEqual({ until: 'tasks.fix.output == "ok"', max: 4, onExhausted: 'fail' });
    const text = formatWorkflowPlan(plan);
    expect(text).toContain('wave 2: fix × ≤4, impl × n');
    expect(text).toContain('wave 3: review × ≤3');
    expect(text).toContain('fix (agent fix, model sonnet, after plan, 3 attempts)\n  only when: tasks.plan.json.broken\n  repeat until: tasks.fix.output == "ok" (× ≤4: iterations fix#1..fix#4, then fails with LOOP_EXHAUSTED)\n');
    expect(text).toContain('  repeat until: tasks.review.output == "approved" (× ≤3: iterations review#1..review#3, then goes on (exhausted))\n');
    expect(text).toContain('  for each item of: tasks.plan.json.items (× n: one instance impl[<index>] per item, at most 50)\n');
  });
});
