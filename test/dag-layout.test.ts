import { describe, expect, it } from 'vitest';
import { layoutDag } from '../src/visual/dag-layout.js';

describe('layoutDag', () => {
  it('places dependencies before their dependants, left to right, with an edge for each dependency', () => {
    const layout = layoutDag([
      { id: 'plan', dependsOn: [] },
      { id: 'build', dependsOn: ['plan'] },
      { id: 'test', dependsOn: ['build'] },
      { id: 'review', dependsOn: ['build'] },
      { id: 'doc', dependsOn: ['test', 'review', 'ghost'] },
    ]);
    const at = Object.fromEntries(layout.nodes.map((n) => [n.id, n]));
    expect(at.plan!.x).toBeLessThan(at.build!.x);
    expect(at.build!.x).toBeLessThan(at.test!.x);
    expect(at.test!.x).toBe(at.review!.x);
    expect(at.test!.y).not.toBe(at.review!.y);
    expect(at.review!.x).toBeLessThan(at.doc!.x);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(['build>review', 'build>test', 'plan>build', 'review>doc', 'test>doc']);
    for (const e of layout.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
    expect(layout.width).toBeGreaterThanOrEqual(at.doc!.x + at.doc!.width / 2);
    const tb = layoutDag([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }], { direction: 'TB' });
    expect(tb.nodes[0]!.y).toBeLessThan(tb.nodes[1]!.y);
  });
});
