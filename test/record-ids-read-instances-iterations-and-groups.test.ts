/**
 * Record ids as the views read them: `impl[3]` (fan-out instance), `impl[3].code` (child of an
 * instance of a fan-out group), `fix#2` (loop iteration), `fix_tests#2.test` (child of an
 * iteration of a looping group), `g.c` (child of a plain group); ordered for people and built
 * into a tree of groups, fan-outs and loops.
 */
import { describe, expect, it } from 'vitest';
import { declaredIdOf, declaredIdsOf, orderRecordIds, parseRecordId, recordPath } from '../src/workflow/record-ids.js';
import { describeUnits, recordsUnder, recordTree, unitStatus, unitWord, type RecordNode } from '../src/workflow/record-tree.js';

describe('parseRecordId', () => {
  it('reads the declared task and the marks, outermost first', () => {
    expect(parseRecordId('plan')).toEqual({ id: 'plan', declared: 'plan', marks: [] });
    expect(parseRecordId('impl[3]')).toEqual({ id: 'impl[3]', declared: 'impl', marks: [{ kind: 'instance', n: 3, of: 'impl', declared: 'impl', at: 'impl[3]' }] });
    expect(parseRecordId('fix#2').marks).toEqual([{ kind: 'iteration', n: 2, of: 'fix', declared: 'fix', at: 'fix#2' }]);
    expect(parseRecordId('fix_tests#2.test')).toMatchObject({ declared: 'fix_tests.test', marks: [{ kind: 'iteration', n: 2, of: 'fix_tests', at: 'fix_tests#2' }] });
    expect(parseRecordId('impl[3].code')).toMatchObject({ declared: 'impl.code', marks: [{ kind: 'instance', n: 3, of: 'impl', at: 'impl[3]' }] });
    expect(parseRecordId('outer[1].inner#4.x').marks).toEqual([
      { kind: 'instance', n: 1, of: 'outer', declared: 'outer', at: 'outer[1]' },
      { kind: 'iteration', n: 4, of: 'outer[1].inner', declared: 'outer.inner', at: 'outer[1].inner#4' },
    ]);
  });

  it('gives the declared task of any record', () => {
    expect(['plan', 'g.c', 'impl[10]', 'impl[3].code', 'fix#12', 'fix_tests#2.test', 'build.linux'].map(declaredIdOf)).toEqual([
      'plan',
      'g.c',
      'impl',
      'impl.code',
      'fix',
      'fix_tests.test',
      'build.linux',
    ]);
  });
});

describe('recordPath', () => {
  const groups = new Set(['g', 'impl', 'fix_tests', 'outer', 'outer.inner']);
  const isGroup = (id: string) => groups.has(id);

  it('walks the groups, fan-outs and loops around a record', () => {
    expect(recordPath('plan', isGroup)).toEqual(['plan']);
    expect(recordPath('g.c', isGroup)).toEqual(['g', 'g.c']);
    expect(recordPath('outer.inner.x', isGroup)).toEqual(['outer', 'outer.inner', 'outer.inner.x']);
    expect(recordPath('impl[3]', isGroup)).toEqual(['impl', 'impl[3]']);
    expect(recordPath('impl[3].code', isGroup)).toEqual(['impl', 'impl[3]', 'impl[3].code']);
    expect(recordPath('fix#2')).toEqual(['fix', 'fix#2']);
    expect(recordPath('fix_tests#2.test', isGroup)).toEqual(['fix_tests', 'fix_tests#2', 'fix_tests#2.test']);
    expect(recordPath('x[1]#2')).toEqual(['x', 'x[1]', 'x[1]#2']);
    expect(recordPath('outer[1].inner#4.x', isGroup)).toEqual(['outer', 'outer[1]', 'outer[1].inner', 'outer[1].inner#4', 'outer[1].inner#4.x']);
  });

  it('keeps a dotted top-level id whole when no group has its prefix', () => {
    expect(recordPath('build.linux', isGroup)).toEqual(['build.linux']);
    expect(recordPath('build.linux')).toEqual(['build.linux']);
  });
});

describe('orderRecordIds', () => {
  const declared = ['plan', 'impl', 'fix', 'fix_tests.test', 'fix_tests.resolve', 'g.a', 'g.b', 'done'];

  it('puts instances in item order and iterations in order right under their task', () => {
    const stored = ['done', 'impl[10]', 'fix_tests#2.test', 'impl[2]', 'g.b', 'fix#2', 'fix_tests#1.resolve', 'impl', 'fix#10', 'fix', 'fix_tests#1.test', 'plan', 'g.a', 'fix#1', 'mystery[1]', 'impl[0]'];
    expect(orderRecordIds(stored, (id) => id, declared)).toEqual([
      'plan',
      'impl',
      'impl[0]',
      'impl[2]',
      'impl[10]',
      'fix',
      'fix#1',
      'fix#2',
      'fix#10',
      'fix_tests#1.test',
      'fix_tests#1.resolve',
      'fix_tests#2.test',
      'g.a',
      'g.b',
      'done',
      'mystery[1]',
    ]);
  });

  it('orders nested units by each mark, and ranks a group where its first task is declared', () => {
    const ids = ['outer[1].inner#2.x', 'outer[0].inner#3.x', 'outer[1].inner#1.x', 'g', 'g.a'];
    expect(orderRecordIds(ids, (id) => id, ['g.a', 'g', 'outer.inner.x'])).toEqual(['g', 'g.a', 'outer[0].inner#3.x', 'outer[1].inner#1.x', 'outer[1].inner#2.x']);
  });

  it('reads a looping or fan-out group\'s tasks as declared ids', () => {
    expect(declaredIdsOf([{ id: 'plan' }, { id: 'fix_tests', body: [{ id: 'test' }, { id: 'resolve' }] }])).toEqual(['plan', 'fix_tests', 'fix_tests.test', 'fix_tests.resolve']);
  });

  it('orders a fan-out group by item, then by its declared children; its own record first', () => {
    const ids = ['impl[1].code', 'impl[0].review', 'impl[0].code', 'impl.code', 'impl[0]'];
    expect(orderRecordIds(ids, (id) => id, ['impl.code', 'impl.review'])).toEqual(['impl.code', 'impl[0]', 'impl[0].code', 'impl[0].review', 'impl[1].code']);
  });
});

interface Rec {
  taskId: string;
  status: string;
}
const rec = (taskId: string, status = 'completed'): Rec => ({ taskId, status });
const shape = (nodes: Array<RecordNode<Rec>>): unknown[] => nodes.map((n) => (n.children.length === 0 ? `${n.kind} ${n.id}` : { [`${n.kind} ${n.id}`]: shape(n.children) }));

describe('recordTree', () => {
  it('nests groups, fan-outs, loops and their instances and iterations', () => {
    const records = [
      rec('done', 'pending'),
      rec('impl[1]', 'running'),
      rec('impl'),
      rec('impl[0]'),
      rec('plan'),
      rec('fix_tests#1.test', 'failed'),
      rec('fix_tests#1.resolve'),
      rec('fix_tests#2.test', 'running'),
      rec('g.a'),
      rec('g.b', 'skipped'),
      rec('fix#1'),
      rec('fix'),
    ];
    const tree = recordTree(records, {
      idOf: (r) => r.taskId,
      declaredIds: ['plan', 'impl', 'fix', 'fix_tests.test', 'fix_tests.resolve', 'g.a', 'g.b', 'done'],
      groups: { g: ['g.a', 'g.b'] },
    });
    expect(shape(tree)).toEqual([
      'task plan',
      { 'fanout impl': ['instance impl[0]', 'instance impl[1]'] },
      { 'loop fix': ['iteration fix#1'] },
      { 'loop fix_tests': [{ 'iteration fix_tests#1': ['task fix_tests#1.test', 'task fix_tests#1.resolve'] }, { 'iteration fix_tests#2': ['task fix_tests#2.test'] }] },
      { 'group g': ['task g.a', 'task g.b'] },
      'task done',
    ]);
    const status = (r: Rec) => r.status;
    const [, impl, fix, loop, group, done] = tree;
    expect(impl!.record?.taskId).toBe('impl');
    expect(describeUnits(impl!, status, 12)).toBe('1/12 done, 1 running');
    expect(unitStatus(impl!, status)).toBe('running');
    expect(unitStatus(fix!, status)).toBe('completed');
    expect(unitStatus(loop!.children[0]!, status)).toBe('failed');
    expect(describeUnits(loop!, status)).toBe('1/2 done, 1 running, 1 failed');
    expect(unitStatus(group!, status)).toBe('completed');
    expect(describeUnits(group!, status)).toBe('2/2 done, 1 skipped');
    expect(unitStatus(done!, status)).toBe('pending');
    expect(recordsUnder(loop!).map((r) => r.taskId)).toEqual(['fix_tests#1.test', 'fix_tests#1.resolve', 'fix_tests#2.test']);
    expect([impl!, fix!, group!, loop!.children[0]!].map((n) => unitWord(n.kind))).toEqual(['for_each', 'repeat', 'group', 'iteration']);
  });

  it('tells a unit that has not started, or was skipped or cancelled whole; a loop is what its last iteration did', () => {
    const status = (r: Rec) => r.status;
    const tree = recordTree(
      [rec('impl[0].code', 'cancelled'), rec('impl[1].code', 'completed'), rec('g.a', 'pending'), rec('h.a', 'skipped'), rec('loop', 'pending'), rec('loop#1', 'pending'), rec('fix#1', 'failed'), rec('fix#2', 'completed')],
      { idOf: (r) => r.taskId, declaredIds: ['impl', 'g.a', 'h.a', 'loop', 'fix'], groups: { g: ['g.a'], h: ['h.a'] } },
    );
    expect(shape(tree)).toEqual([
      { 'fanout impl': [{ 'instance impl[0]': ['task impl[0].code'] }, { 'instance impl[1]': ['task impl[1].code'] }] },
      { 'group g': ['task g.a'] },
      { 'group h': ['task h.a'] },
      { 'loop loop': ['iteration loop#1'] },
      { 'loop fix': ['iteration fix#1', 'iteration fix#2'] },
    ]);
    expect(unitStatus(tree[0]!, status)).toBe('cancelled');
    expect(unitStatus(tree[1]!, status)).toBe('pending');
    expect(unitStatus(tree[2]!, status)).toBe('skipped');
    expect(unitStatus(tree[3]!, status)).toBe('pending');
    expect(unitStatus(tree[4]!, status)).toBe('completed');
    const half = recordTree([rec('g.a'), rec('g.b', 'pending')], { idOf: (r) => r.taskId, declaredIds: ['g.a', 'g.b'], groups: { g: ['g.a', 'g.b'] } });
    expect(unitStatus(half[0]!, status)).toBe('running');
    expect(describeUnits(half[0]!, status)).toBe('1/2 done');
  });
});
