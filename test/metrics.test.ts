import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLD_GRID,
  classificationMetrics,
  ece,
  fitThresholds,
  multiLabelMetrics,
  regressionMetrics,
  reliabilityBins,
} from '../src/eval/metrics.js';

describe('classificationMetrics', () => {
  // Eight rows, three classes; row 6 has no label. Predictions (argmax) and max-probability confidence:
  //   row  truth  probs              pred  conf  correct
  //   0    a      .7  .2  .1         a     .7    yes
  //   1    a      .2  .5  .3         b     .5    no
  //   2    b      .1  .8  .1         b     .8    yes
  //   3    b      .4  .4  .2         a     .4    no   (tie a/b -> lowest index)
  //   4    c      .1  .1  .8         c     .8    yes
  //   5    c      .3  .3  .4         c     .4    yes
  //   6    -1     1   0   0          excluded
  //   7    c      .6  .3  .1         a     .6    no
  // Confusion (rows truth): a [1 1 0], b [1 1 0], c [1 0 2]; accuracy 4/7.
  // a: tp 1, predicted 3, support 2 -> P 1/3, R 1/2, F1 2/(2+2+1) = 0.4
  // b: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 0.5
  // c: tp 2, predicted 2, support 3 -> P 1,   R 2/3, F1 4/(4+0+1) = 0.8
  // macro-F1 = 1.7/3; weighted-F1 = (0.4·2 + 0.5·2 + 0.8·3)/7 = 0.6; UAR = (1/2 + 1/2 + 2/3)/3 = 5/9.
  // ECE with 5 bins (lo, hi]: (.2,.4] rows 3,5: conf .4 acc .5; (.4,.6] rows 1,7: conf .55 acc 0;
  //   (.6,.8] rows 0,2,4: conf 2.3/3 acc 1 -> (2·0.1 + 2·0.55 + 3·(0.7/3))/7 = 2/7.
  const probs = new Float64Array([
    0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.8, 0.1, 0.4, 0.4, 0.2, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4, 1, 0, 0, 0.6,
    0.3, 0.1,
  ]);
  const truth = new Int32Array([0, 0, 1, 1, 2, 2, -1, 2]);
  const labels = ['a', 'b', 'c'];

  it('matches the hand-computed scores', () => {
    const m = classificationMetrics(probs, truth, labels, { eceBins: 5 });
    expect(m.samples).toBe(7);
    expect(m.excluded).toBe(1);
    expect(m.accuracy).toBeCloseTo(4 / 7, 12);
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [1, 0, 2],
    ]);
    expect(m.perClass['a']!.precision).toBeCloseTo(1 / 3, 12);
    expect(m.perClass['a']!.recall).toBeCloseTo(0.5, 12);
    expect(m.perClass['a']!.f1).toBeCloseTo(0.4, 12);
    expect(m.perClass['b']).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(m.perClass['c']!.precision).toBe(1);
    expect(m.perClass['c']!.recall).toBeCloseTo(2 / 3, 12);
    expect(m.perClass['c']!.f1).toBeCloseTo(0.8, 12);
    expect(m.perClass['c']!.support).toBe(3);
    expect(m.macroF1).toBeCloseTo(1.7 / 3, 12);
    expect(m.weightedF1).toBeCloseTo(0.6, 12);
    expect(m.uar).toBeCloseTo(5 / 9, 12);
    expect(m.macroAveragedOver).toEqual(labels);
    expect(m.ece).toBeCloseTo(2 / 7, 12);
    // Max-probabilities of the scored rows: .7 .5 .8 .4 .8 .4 .6 -> 4.2 / 7.
    expect(m.confidence).toBeCloseTo(0.6, 12);
    expect(m.labels).toEqual(labels);
  });

  it('averages macro-F1 and UAR over the classes present in the truth', () => {
    // Four rows, three classes; c is in no row's truth but is predicted once:
    //   row  truth  probs          pred
    //   0    a      .8  .1  .1     a
    //   1    a      .2  .1  .7     c
    //   2    b      .1  .8  .1     b
    //   3    b      .2  .6  .2     b
    // Confusion: a [1 0 1], b [0 2 0], c [0 0 0]; accuracy 3/4.
    // a: tp 1, predicted 1, support 2 -> P 1, R 1/2, F1 2/(2+0+1) = 2/3
    // b: tp 2, predicted 2, support 2 -> P 1, R 1,   F1 1
    // c: tp 0, predicted 1, support 0 -> P 0, R 0,   F1 0: left out of both averages.
    // macro-F1 = (2/3 + 1)/2 = 5/6 (over all three classes it would be 5/9);
    // UAR = (1/2 + 1)/2 = 3/4; weighted-F1 = (2/3·2 + 1·2)/4 = 5/6.
    // scikit-learn: f1_score(t, p, average='macro', labels=np.unique(t)) and balanced_accuracy_score(t, p).
    const m = classificationMetrics(
      new Float64Array([0.8, 0.1, 0.1, 0.2, 0.1, 0.7, 0.1, 0.8, 0.1, 0.2, 0.6, 0.2]),
      new Int32Array([0, 0, 1, 1]),
      ['a', 'b', 'c'],
    );
    expect(m.confusion).toEqual([
      [1, 0, 1],
      [0, 2, 0],
      [0, 0, 0],
    ]);
    expect(m.accuracy).toBe(0.75);
    expect(m.perClass['a']!.f1).toBeCloseTo(2 / 3, 12);
    expect(m.perClass['c']).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.macroAveragedOver).toEqual(['a', 'b']);
    expect(m.macroF1).toBeCloseTo(5 / 6, 12);
    expect(m.uar).toBeCloseTo(0.75, 12);
    expect(m.weightedF1).toBeCloseTo(5 / 6, 12);
  });

  it('leaves a class with neither support nor predictions out of macro-F1 and UAR', () => {
    // Over the classes present in the truth, a and b: macro-F1 (1 + 1)/2, UAR (1 + 1)/2.
    const m = classificationMetrics(
      new Float32Array([0.9, 0.05, 0.05, 0.1, 0.8, 0.1]),
      new Int32Array([0, 1]),
      ['a', 'b', 'c'],
    );
    expect(m.perClass['c']).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m.macroAveragedOver).toEqual(['a', 'b']);
    expect(m.macroF1).toBe(1);
    expect(m.weightedF1).toBe(1);
    expect(m.uar).toBe(1);
  });

  it('reports NaN accuracy, macro-F1 and UAR, and zero weighted-F1, when every row is excluded', () => {
    const m = classificationMetrics(new Float64Array([0.5, 0.5]), new Int32Array([-1]), ['a', 'b']);
    expect(m.samples).toBe(0);
    expect(m.excluded).toBe(1);
    expect(m.accuracy).toBeNaN();
    expect(m.uar).toBeNaN();
    expect(m.ece).toBeNaN();
    expect(m.confidence).toBeNaN();
    expect(m.macroAveragedOver).toEqual([]);
    expect(m.macroF1).toBeNaN();
    expect(m.weightedF1).toBe(0);
  });

  it('keeps a label named __proto__ as an own key', () => {
    const m = classificationMetrics(new Float64Array([1, 0, 0, 1]), new Int32Array([0, 1]), [
      '__proto__',
      'x',
    ]);
    expect(Object.keys(m.perClass)).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(m.perClass)).toBe(Object.prototype);
  });

  it('rejects mismatched shapes and out-of-range labels', () => {
    expect(() => classificationMetrics(new Float64Array(5), new Int32Array(2), ['a', 'b', 'c'])).toThrow(
      RangeError,
    );
    expect(() => classificationMetrics(new Float64Array(4), new Int32Array([0, 2]), ['a', 'b'])).toThrow(
      RangeError,
    );
    expect(() => classificationMetrics(new Float64Array(4), new Int32Array([0, 1]), ['a', 'a'])).toThrow(
      RangeError,
    );
  });
});

describe('reliabilityBins and ece', () => {
  it('bins confidences into (lo, hi] and averages per bin', () => {
    // Confidences 0.25 (wrong), 0.5 (right, on the 0.25–0.5 boundary: goes low), 0.75 (right),
    // 1.0 (right), 0.9 (wrong): 4 bins of width 0.25.
    const probs = new Float64Array(
      [0.25, 0.75 / 3, 0.75 / 3, 0.75 / 3].concat([0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3]),
    );
    const more = new Float64Array([
      0.25 / 3,
      0.75,
      0.25 / 3,
      0.25 / 3,
      0,
      0,
      1,
      0,
      0.1 / 3,
      0.1 / 3,
      0.1 / 3,
      0.9,
    ]);
    const all = new Float64Array([...probs, ...more]);
    const truth = new Int32Array([1, 0, 1, 2, 0]);
    const bins = reliabilityBins(all, truth, 4, 4);
    expect(bins.map((b) => b.count)).toEqual([1, 1, 1, 2]);
    expect(bins.map((b) => [b.lo, b.hi])).toEqual([
      [0, 0.25],
      [0.25, 0.5],
      [0.5, 0.75],
      [0.75, 1],
    ]);
    expect(bins[0]).toMatchObject({ confidence: 0.25, accuracy: 0 });
    expect(bins[1]).toMatchObject({ confidence: 0.5, accuracy: 1 });
    expect(bins[3]!.confidence).toBeCloseTo(0.95, 12);
    expect(bins[3]!.accuracy).toBe(0.5);
    // ECE = (0.25 + 0.5 + 0.25 + 2·0.45)/5 = 1.9/5.
    expect(ece(all, truth, 4, 4)).toBeCloseTo(0.38, 12);
  });

  it('marks empty bins with NaN and leaves them out of ECE', () => {
    const bins = reliabilityBins(new Float64Array([0.9, 0.1]), new Int32Array([0]), 2, 10);
    expect(bins).toHaveLength(10);
    expect(bins[0]!.count).toBe(0);
    expect(bins[0]!.accuracy).toBeNaN();
    expect(bins[8]!.count).toBe(1); // 0.9 is in (0.8, 0.9]
    expect(ece(new Float64Array([0.9, 0.1]), new Int32Array([0]), 2, 10)).toBeCloseTo(0.1, 12);
  });
});

describe('multiLabelMetrics', () => {
  // Thresholds x 0.3, y 0.5, z 0.5; predicted set = argmax + classes at or above their threshold.
  //   row  probs            targets  predicted
  //   0    .6  .35 .05      x y      x          (y below 0.5)
  //   1    .2  .3  .5       z        z
  //   2    .45 .1  .45      z        x          (tie -> x; z 0.45 < 0.5)
  //   3    .3  .6  .1       x        y x        (x exactly at its threshold counts)
  // x: tp 2, fp 1, fn 0 -> P 2/3, R 1, F1 0.8;  y: tp 0, fp 1, fn 1 -> 0;  z: tp 1, fp 0, fn 1 -> F1 2/3.
  // macro-F1 = (0.8 + 0 + 2/3)/3; micro: tp 3, fp 2, fn 2 -> 6/10.
  const probs = new Float64Array([0.6, 0.35, 0.05, 0.2, 0.3, 0.5, 0.45, 0.1, 0.45, 0.3, 0.6, 0.1]);
  const targets = new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0]);

  it('matches the hand-computed scores', () => {
    const m = multiLabelMetrics(probs, targets, ['x', 'y', 'z'], new Float64Array([0.3, 0.5, 0.5]));
    expect(m.samples).toBe(4);
    expect(m.perClass['x']!.precision).toBeCloseTo(2 / 3, 12);
    expect(m.perClass['x']!.recall).toBe(1);
    expect(m.perClass['x']!.f1).toBeCloseTo(0.8, 12);
    expect(m.perClass['x']!.support).toBe(2);
    expect(m.perClass['y']).toEqual({ precision: 0, recall: 0, f1: 0, support: 1, threshold: 0.5 });
    expect(m.perClass['z']!.f1).toBeCloseTo(2 / 3, 12);
    expect(m.macroF1).toBeCloseTo((0.8 + 2 / 3) / 3, 12);
    expect(m.macroAveragedOver).toEqual(['x', 'y', 'z']);
    expect(m.microF1).toBeCloseTo(0.6, 12);
  });

  it('averages macro-F1 over the classes positive in some row, micro-F1 over all', () => {
    // Threshold 0.5 for every class; z is in no row's truth but is predicted once:
    //   row  probs          targets  predicted
    //   0    .6  .3  .1     x        x
    //   1    .2  .7  .1     x y      y
    //   2    .1  .3  .6     y        z
    // x: tp 1, fn 1 -> F1 2/3;  y: tp 1, fn 1 -> F1 2/3;  z: fp 1, support 0 -> F1 0, left out.
    // macro-F1 = (2/3 + 2/3)/2 = 2/3 (over all three it would be 4/9); micro: tp 2, fp 1, fn 2 -> 4/7.
    const m = multiLabelMetrics(
      new Float64Array([0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.1, 0.3, 0.6]),
      new Uint8Array([1, 0, 0, 1, 1, 0, 0, 1, 0]),
      ['x', 'y', 'z'],
      0.5,
    );
    expect(m.perClass['z']).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, threshold: 0.5 });
    expect(m.macroAveragedOver).toEqual(['x', 'y']);
    expect(m.macroF1).toBeCloseTo(2 / 3, 12);
    expect(m.microF1).toBeCloseTo(4 / 7, 12);
  });

  it('gives NaN macro-F1 when no class is positive in any row', () => {
    const m = multiLabelMetrics(new Float64Array([0.9, 0.1]), new Uint8Array([0, 0]), ['x', 'y'], 0.5);
    expect(m.macroAveragedOver).toEqual([]);
    expect(m.macroF1).toBeNaN();
    expect(m.microF1).toBe(0);
  });

  it('takes one threshold for every class', () => {
    // Threshold 0.9: only the argmax is predicted: rows -> x, z, x, y.
    // x: tp 1 (row 0), fp 1 (row 2), fn 1 (row 3); y: fp 1, fn 1; z: tp 1, fn 1.
    const m = multiLabelMetrics(probs, targets, ['x', 'y', 'z'], 0.9);
    expect(m.perClass['x']!.f1).toBeCloseTo(0.5, 12);
    expect(m.microF1).toBeCloseTo(4 / (4 + 2 + 3), 12);
  });
});

describe('fitThresholds', () => {
  it('picks the grid value maximising each class F1, ties to the largest', () => {
    // Class 1 (argmax only in the last row): threshold in (0.2, 0.3] predicts rows 1, 3, 4 ->
    // tp 2, fp 1 -> F1 0.8, the best (≤0.1: 4/7, (0.1,0.2]: 4/6, (0.3,0.4]: 0.5, >0.4: 2/3); grid 0.25
    // and 0.30 tie, 0.30 wins. Class 0 is the argmax of rows 0–3 (all positives); only row 4 (0.4,
    // negative) depends on the threshold: F1 is 1 from 0.45 up, so the largest, 0.95.
    const probs = new Float64Array([0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4, 0.4, 0.6]);
    const targets = new Uint8Array([1, 0, 1, 1, 1, 0, 1, 0, 0, 1]);
    const t = fitThresholds(probs, targets, 2);
    expect(Array.from(t)).toEqual([0.95, 0.3]);
  });

  it('documents its default grid', () => {
    expect(DEFAULT_THRESHOLD_GRID).toHaveLength(19);
    expect(DEFAULT_THRESHOLD_GRID[0]).toBe(0.05);
    expect(DEFAULT_THRESHOLD_GRID[5]).toBe(0.3);
    expect(DEFAULT_THRESHOLD_GRID[18]).toBe(0.95);
  });
});

describe('regressionMetrics', () => {
  it('matches hand-computed Pearson, CCC, MAE and RMSE', () => {
    // pred 1 2 3 4, truth 2 2 4 4: means 2.5, 3; var_x 1.25, var_y 1, cov 1 (population).
    // Pearson = 1/√1.25; CCC = 2·1/(1.25 + 1 + 0.25) = 0.8; errors −1 0 −1 0 -> MAE 0.5, RMSE √0.5.
    // The fifth row is masked out (its NaN truth would otherwise throw).
    const m = regressionMetrics(
      new Float64Array([1, 2, 3, 4, 100]),
      new Float64Array([2, 2, 4, 4, NaN]),
      new Uint8Array([1, 1, 1, 1, 0]),
    );
    expect(m.samples).toBe(4);
    expect(m.pearson).toBeCloseTo(1 / Math.sqrt(1.25), 12);
    expect(m.ccc).toBeCloseTo(0.8, 12);
    expect(m.mae).toBeCloseTo(0.5, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.5), 12);
  });

  it('returns Pearson 0 for a constant series, and CCC 1 when both are the same constant', () => {
    const flat = regressionMetrics(new Float32Array([1, 1, 1]), new Float32Array([0, 1, 2]));
    expect(flat.pearson).toBe(0);
    expect(flat.ccc).toBe(0); // 2·0 / (0 + 2/3 + 0)
    expect(flat.mae).toBeCloseTo(2 / 3, 12);
    const same = regressionMetrics(new Float32Array([0.5, 0.5]), new Float32Array([0.5, 0.5]));
    expect(same).toEqual({ samples: 2, pearson: 0, ccc: 1, mae: 0, rmse: 0 });
  });

  it('returns NaN with no scored row and throws on an unmasked NaN', () => {
    const none = regressionMetrics(new Float64Array([1]), new Float64Array([2]), new Uint8Array([0]));
    expect(none.samples).toBe(0);
    expect(none.ccc).toBeNaN();
    expect(() => regressionMetrics(new Float64Array([1, 2]), new Float64Array([NaN, 1]))).toThrow(RangeError);
  });
});
