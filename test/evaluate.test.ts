import { describe, expect, it } from 'vitest';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { classificationMetrics, multiLabelMetrics } from '../src/eval/metrics.js';
import { evaluate } from '../src/head/evaluate.js';
import type { HeadDescription } from '../src/head/head-spec.js';

const desc: HeadDescription = {
  slots: [],
  architecture: { hidden: 4, gate: 2, trunk: [4], activation: 'relu', fusion: 'gated' },
  tasks: [
    {
      name: 'emotion',
      type: 'classification',
      labels: ['a', 'b', 'c'],
      weight: 1,
      labelSmoothing: 0,
      classWeights: 'none',
    },
  ],
  temperature: { emotion: 1 },
};

function dataset(targets: number[], sets = false): FeatureDataset {
  const n = targets.length / 3;
  const emotion: FeatureDataset['tasks'][string] = {
    spec: desc.tasks[0]!,
    targets: Float32Array.from(targets),
    has: new Uint8Array(n).fill(1),
  };
  if (sets) emotion.multiLabel = new Uint8Array(n).fill(1);
  return {
    name: 't',
    size: n,
    ids: Array.from({ length: n }, (_, i) => String(i)),
    features: {},
    mask: new Uint8Array(n * 3),
    tasks: { emotion },
    source: { corpus: 't', path: '-', licence: '-' },
  };
}

const probs = Float32Array.from([0.6, 0.35, 0.05, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4, 0.1, 0.2, 0.7]);

describe('evaluate', () => {
  it('scores vote-based soft targets (no label sets) by the argmax', () => {
    const ds = dataset([0.6, 0.4, 0, 0, 0.9, 0.1, 0, 0.2, 0.8, 0.3, 0.7, 0]);
    const ev = evaluate(desc, new Map([['emotion', probs]]), ds);
    expect((ev.tasks['emotion'] as { multiLabel?: unknown }).multiLabel).toBeUndefined();
  });

  it('scores single-label targets by the argmax', () => {
    const ds = dataset([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]);
    const ev = evaluate(desc, new Map([['emotion', probs]]), ds);
    expect(ev.tasks['emotion']).toEqual(
      classificationMetrics(probs, Int32Array.from([0, 1, 2, 1]), ['a', 'b', 'c']),
    );
  });

  it('scores multi-label soft targets by label sets: argmax plus classes over their thresholds', () => {
    const ds = dataset([0.5, 0.5, 0, 0, 1, 0, 0, 0.5, 0.5, 0, 0, 1], true);
    const thresholds = { emotion: [0.5, 0.3, 0.5] };
    const ev = evaluate(desc, new Map([['emotion', probs]]), ds, thresholds);
    const ml = multiLabelMetrics(
      probs,
      Uint8Array.from([1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1]),
      ['a', 'b', 'c'],
      Float64Array.from([0.5, 0.3, 0.5]),
    );
    const m = ev.tasks['emotion'] as unknown as { macroF1: number; multiLabel: unknown };
    expect(m.macroF1).toBe(ml.macroF1);
    expect(m.multiLabel).toEqual(ml);
    // Row 0 predicts {a, b} (b's 0.35 is over 0.3), exactly its label set; row 2 predicts {c, b} (0.3 >= 0.3).
    expect(ml.macroF1).toBeCloseTo(1, 10);
  });
});
