import { describe, expect, it } from 'vitest';
import { contextAdjacency, contextUnits, packUnits } from '../src/head/context-graph.js';

/** Rows of a Float32Array n×n as arrays, for exact comparison with hand-written matrices. */
function rows(a: Float32Array, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
}

const f = (x: number) => Math.fround(x);

describe('contextAdjacency', () => {
  it('joins positions within the window of one group, with self-loops, row-normalised', () => {
    const nodes = [
      { group: 'd1', order: 0 },
      { group: 'd1', order: 1 },
      { group: 'd1', order: 2 },
      { group: 'd1', order: 4 },
    ];
    expect(rows(contextAdjacency(nodes, { window: 1, speakerEdges: true }), 4)).toEqual([
      [f(1 / 2), f(1 / 2), 0, 0],
      [f(1 / 3), f(1 / 3), f(1 / 3), 0],
      [0, f(1 / 2), f(1 / 2), 0],
      [0, 0, 0, 1],
    ]);
    expect(rows(contextAdjacency(nodes, { window: 2, speakerEdges: true }), 4)).toEqual([
      [f(1 / 3), f(1 / 3), f(1 / 3), 0],
      [f(1 / 3), f(1 / 3), f(1 / 3), 0],
      [f(1 / 4), f(1 / 4), f(1 / 4), f(1 / 4)],
      [0, 0, f(1 / 2), f(1 / 2)],
    ]);
  });

  it('adds same-speaker edges within a group only when asked, and never across groups', () => {
    const nodes = [
      { group: 'd1', order: 0, speaker: 'Ross' },
      { group: 'd1', order: 5, speaker: 'Ross' },
      { group: 'd1', order: 9, speaker: 'Joey' },
      { group: 'd2', order: 0, speaker: 'Ross' },
      { group: 'd1', order: 12, speaker: '' },
      { group: 'd1', order: 14, speaker: '' },
    ];
    expect(rows(contextAdjacency(nodes, { window: 0, speakerEdges: true }), 6)).toEqual([
      [f(1 / 2), f(1 / 2), 0, 0, 0, 0],
      [f(1 / 2), f(1 / 2), 0, 0, 0, 0],
      [0, 0, 1, 0, 0, 0],
      [0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 1, 0], // unknown speakers ('') are not one speaker
      [0, 0, 0, 0, 0, 1],
    ]);
    const off = rows(contextAdjacency(nodes, { window: 0, speakerEdges: false }), 6);
    expect(off).toEqual(
      rows(
        contextAdjacency(
          nodes.map(() => ({})),
          { window: 0, speakerEdges: false },
        ),
        6,
      ),
    );
  });

  it('is the identity for lone samples (no group, or an empty group), whatever their order', () => {
    const nodes = [{}, { group: '' }, { order: 1 }, { group: '', order: 1 }];
    const eye = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
    expect(rows(contextAdjacency(nodes, { window: 5, speakerEdges: true }), 4)).toEqual(eye);
  });

  it('takes the position in the list where order is missing', () => {
    const nodes = [{ group: 'v' }, { group: 'v' }, { group: 'v' }];
    expect(rows(contextAdjacency(nodes, { window: 1, speakerEdges: false }), 3)).toEqual([
      [f(1 / 2), f(1 / 2), 0],
      [f(1 / 3), f(1 / 3), f(1 / 3)],
      [0, f(1 / 2), f(1 / 2)],
    ]);
  });
});

describe('contextUnits and packUnits', () => {
  it('lists each group once, its rows by order, cut into windows of maxGroup; lone rows alone', () => {
    const groups = ['a', 'b', 'a', '', 'a', 'b', 'a', 'a'];
    const order = Int32Array.from([3, 1, 0, 0, 2, 0, 5, 4]);
    const units = contextUnits(8, groups, order, 3).map((u) => Array.from(u));
    expect(units).toEqual([
      [2, 4, 0], // a: orders 0, 2, 3
      [7, 6], // a: orders 4, 5
      [5, 1], // b
      [3], // no group
    ]);
    expect(contextUnits(3, undefined, undefined, 64).map((u) => Array.from(u))).toEqual([[0], [1], [2]]);
  });

  it('packs whole units into batches of at most batchSize rows, a larger unit alone', () => {
    const units = [[0, 1, 2], [3], [4, 5, 6, 7, 8], [9, 10]].map((u) => Int32Array.from(u));
    const batches = packUnits(units, [3, 0, 2, 1], 4).map((b) => Array.from(b));
    expect(batches).toEqual([[9, 10], [0, 1, 2], [4, 5, 6, 7, 8], [3]]);
    expect(packUnits(units, [0, 1, 2, 3], 6).map((b) => Array.from(b))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7, 8],
      [9, 10],
    ]);
  });
});
