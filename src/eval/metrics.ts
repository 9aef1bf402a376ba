/**
 * Evaluation metrics for `emoflow eval`: single-label classification (with calibration), multi-label
 * classification (GoEmotions) and regression (valence, arousal). The FER+ majority label, a rule of
 * that corpus, is in src/data/adapters/ferplus.ts.
 *
 * Every routine takes typed arrays and computes in float64. Conventions follow scikit-learn where it
 * has one (named at each function), so figures can be checked against it.
 */

import { argmaxRow } from '../core/numerics.js';

/** Row-major `N × C` class probabilities (each row a distribution). */
export type Probabilities = Float32Array | Float64Array;

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true class is this one. */
  support: number;
}

export interface ClassificationMetrics {
  /** Rows scored (truth ≥ 0). */
  samples: number;
  /** Rows skipped because their truth is -1 (no label for this task). */
  excluded: number;
  accuracy: number;
  /** Mean F1 over the classes in `macroAveragedOver`. */
  macroF1: number;
  weightedF1: number;
  /** Unweighted average recall over the classes in `macroAveragedOver`. */
  uar: number;
  /**
   * The classes that `macroF1` and `uar` average over: those with at least one scored row in the
   * truth, in label order. A class no row is labelled with is left out of both.
   */
  macroAveragedOver: string[];
  /** Expected calibration error of the max-probability confidence (equal-width bins). */
  ece: number;
  /**
   * Mean max-probability over the scored rows: above `accuracy`, the scores are overconfident
   * (ECE alone has no sign). NaN with no scored row.
   */
  confidence: number;
  labels: string[];
  /** `confusion[t][p]`: rows with truth `t` predicted as `p`. */
  confusion: number[][];
  perClass: Record<string, ClassMetrics>;
}

export interface MultiLabelClassMetrics extends ClassMetrics {
  /** The decision threshold used for this class. */
  threshold: number;
}

export interface MultiLabelMetrics {
  samples: number;
  /** Mean F1 over the classes in `macroAveragedOver`. */
  macroF1: number;
  /** The classes `macroF1` averages over: those positive in at least one row's truth, in label order. */
  macroAveragedOver: string[];
  microF1: number;
  perClass: Record<string, MultiLabelClassMetrics>;
}

export interface RegressionMetrics {
  samples: number;
  pearson: number;
  ccc: number;
  mae: number;
  rmse: number;
}

export interface ReliabilityBin {
  /** Bin range: a row falls in the bin when `lo < confidence ≤ hi` (the first bin also takes 0). */
  lo: number;
  hi: number;
  count: number;
  /** Mean max-probability of the bin's rows; NaN for an empty bin. */
  confidence: number;
  /** Fraction of the bin's rows whose argmax is the truth; NaN for an empty bin. */
  accuracy: number;
}

export type TaskMetrics = ClassificationMetrics | MultiLabelMetrics | RegressionMetrics;

/** Tell the three result shapes apart without adding a field to the `eval --json` output. */
export function isClassificationMetrics(m: TaskMetrics): m is ClassificationMetrics {
  return 'confusion' in m;
}

export function isRegressionMetrics(m: TaskMetrics): m is RegressionMetrics {
  return 'pearson' in m;
}

export function isMultiLabelMetrics(m: TaskMetrics): m is MultiLabelMetrics {
  return 'microF1' in m;
}

export const DEFAULT_ECE_BINS = 15;

// ---------------------------------------------------------------------------------------------
// Single-label classification

function checkShape(probs: Probabilities, rows: number, C: number, what: string): void {
  if (!Number.isInteger(C) || C < 1) throw new RangeError(`${what}: class count must be ≥ 1, got ${C}`);
  if (probs.length !== rows * C) {
    throw new RangeError(`${what}: probabilities hold ${probs.length} values, expected ${rows} rows × ${C}`);
  }
}

function checkTruth(truth: Int32Array, C: number, what: string): void {
  for (let r = 0; r < truth.length; r++) {
    const t = truth[r]!;
    if (t < -1 || t >= C) throw new RangeError(`${what}: truth[${r}] = ${t} is outside -1..${C - 1}`);
  }
}

function checkLabels(labels: readonly string[], what: string): void {
  if (new Set(labels).size !== labels.length) throw new RangeError(`${what}: labels repeat a name`);
}

/** 2·tp / (2·tp + fp + fn), 0 when the denominator is 0 (scikit-learn's zero_division=0). */
function f1Of(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
}

function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/**
 * Accuracy, F1, UAR, ECE, the confusion matrix and per-class scores of `N × C` probabilities against
 * class indices (`-1` = no label: the row is counted in `excluded` and nowhere else).
 *
 * Conventions, matching scikit-learn with `labels=range(C)`, `zero_division=0`:
 * - prediction = argmax of the row, ties to the lowest index (`numpy.argmax`);
 * - precision of a class never predicted, recall of a class with no support, and F1 of a class with
 *   neither are 0 (`precision_recall_fscore_support(..., zero_division=0)`); F1 is computed as
 *   2·tp / (2·tp + fp + fn), which is what scikit-learn ≥ 1.3 does;
 * - `macroF1` and `uar` average F1 and recall over the classes that occur in the truth, listed in
 *   `macroAveragedOver` (`f1_score(average='macro', labels=np.unique(y_true))`;
 *   `balanced_accuracy_score`, as UAR is defined in speech emotion challenges). A corpus is not
 *   penalised for lacking a class (dair emotion has no disgust or neutral), while predictions of
 *   an absent class still cost the recall of the true classes. Both equal scikit-learn's plain
 *   `average='macro'` whenever every class has support;
 * - `weightedF1` weights F1 by support (`average='weighted'`, 0 when no row is scored);
 * - with no scored row, `accuracy`, `macroF1`, `uar` and `ece` are NaN (`null` in JSON),
 *   `weightedF1` is 0 and `macroAveragedOver` is empty.
 */
export function classificationMetrics(
  probs: Probabilities,
  truth: Int32Array,
  labels: readonly string[],
  options: { eceBins?: number } = {},
): ClassificationMetrics {
  const C = labels.length;
  const N = truth.length;
  checkShape(probs, N, C, 'classificationMetrics');
  checkTruth(truth, C, 'classificationMetrics');
  checkLabels(labels, 'classificationMetrics');

  const confusion: number[][] = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let samples = 0;
  let correct = 0;
  let confidenceSum = 0;
  for (let r = 0; r < N; r++) {
    const t = truth[r]!;
    if (t < 0) continue;
    const p = argmaxRow(probs, r, C);
    confusion[t]![p]! += 1;
    samples++;
    confidenceSum += probs[r * C + p]!;
    if (p === t) correct++;
  }

  const perClassEntries: [string, ClassMetrics][] = [];
  const averagedOver: string[] = [];
  let f1Sum = 0;
  let weightedF1Sum = 0;
  let recallSum = 0;
  for (let c = 0; c < C; c++) {
    const tp = confusion[c]![c]!;
    let support = 0;
    let predicted = 0;
    for (let k = 0; k < C; k++) {
      support += confusion[c]![k]!;
      predicted += confusion[k]![c]!;
    }
    const fp = predicted - tp;
    const fn = support - tp;
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    const f1 = f1Of(tp, fp, fn);
    weightedF1Sum += f1 * support;
    if (support > 0) {
      f1Sum += f1;
      recallSum += recall;
      averagedOver.push(labels[c]!);
    }
    perClassEntries.push([labels[c]!, { precision, recall, f1, support }]);
  }

  return {
    samples,
    excluded: N - samples,
    accuracy: samples === 0 ? NaN : correct / samples,
    macroF1: averagedOver.length === 0 ? NaN : f1Sum / averagedOver.length,
    weightedF1: ratio(weightedF1Sum, samples),
    uar: averagedOver.length === 0 ? NaN : recallSum / averagedOver.length,
    macroAveragedOver: averagedOver,
    ece: ece(probs, truth, C, options.eceBins ?? DEFAULT_ECE_BINS),
    confidence: samples === 0 ? NaN : confidenceSum / samples,
    labels: [...labels],
    confusion,
    // fromEntries defines own properties, so a label named `__proto__` stays a plain key.
    perClass: Object.fromEntries(perClassEntries),
  };
}

// ---------------------------------------------------------------------------------------------
// Calibration

/**
 * Bin index of a confidence in `B` equal-width bins `(b/B, (b+1)/B]`, the convention of Guo et al.
 * 2017 ("On Calibration of Modern Neural Networks", eq. 3) as implemented in gpleiss/
 * temperature_scaling (`confidences.gt(lower) * confidences.le(upper)`). Confidence 0 goes to bin 0.
 */
function binOf(confidence: number, B: number): number {
  let b = Math.min(B - 1, Math.max(0, Math.ceil(confidence * B) - 1));
  // Correct the rounding of confidence·B against the boundaries b/B themselves.
  while (b > 0 && confidence <= b / B) b--;
  while (b < B - 1 && confidence > (b + 1) / B) b++;
  return b;
}

/**
 * Reliability diagram data: rows with truth ≥ 0 binned by their max probability into `bins` equal-width
 * bins over [0, 1]; per bin the row count, mean confidence and accuracy (argmax = truth).
 */
export function reliabilityBins(
  probs: Probabilities,
  truth: Int32Array,
  C: number,
  bins: number = DEFAULT_ECE_BINS,
): ReliabilityBin[] {
  checkShape(probs, truth.length, C, 'reliabilityBins');
  checkTruth(truth, C, 'reliabilityBins');
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`reliabilityBins: bins must be ≥ 1, got ${bins}`);
  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const hits = new Float64Array(bins);
  for (let r = 0; r < truth.length; r++) {
    const t = truth[r]!;
    if (t < 0) continue;
    const p = argmaxRow(probs, r, C);
    const conf = probs[r * C + p]!;
    const b = binOf(conf, bins);
    count[b]! += 1;
    confSum[b]! += conf;
    if (p === t) hits[b]! += 1;
  }
  return Array.from({ length: bins }, (_, b) => {
    const n = count[b]!;
    return {
      lo: b / bins,
      hi: (b + 1) / bins,
      count: n,
      confidence: n === 0 ? NaN : confSum[b]! / n,
      accuracy: n === 0 ? NaN : hits[b]! / n,
    };
  });
}

/**
 * Expected calibration error, ECE = Σ_b (n_b / N) · |acc_b − conf_b| over equal-width confidence bins
 * (Guo et al. 2017, eq. 3; 15 bins as in their experiments). NaN when no row has a label.
 */
export function ece(
  probs: Probabilities,
  truth: Int32Array,
  C: number,
  bins: number = DEFAULT_ECE_BINS,
): number {
  const table = reliabilityBins(probs, truth, C, bins);
  let n = 0;
  let sum = 0;
  for (const b of table) {
    if (b.count === 0) continue;
    n += b.count;
    sum += b.count * Math.abs(b.accuracy - b.confidence);
  }
  return n === 0 ? NaN : sum / n;
}

// ---------------------------------------------------------------------------------------------
// Multi-label classification (GoEmotions)

function thresholdOf(thresholds: Float32Array | Float64Array | number, c: number): number {
  return typeof thresholds === 'number' ? thresholds : thresholds[c]!;
}

/**
 * Multi-label scores where the predicted set of a row is its argmax plus every class whose probability
 * is at or above that class's threshold (so no row is ever predicted empty).
 *
 * Per class: precision, recall and F1 of the class's 0/1 column, support = positives in `targets`;
 * `macroF1` averages the classes with support, listed in `macroAveragedOver` (the rule of
 * `classificationMetrics`; `f1_score(average='macro', labels=np.flatnonzero(Y.sum(0)))`), NaN when
 * no class has any; a class without support still counts its false positives in `microF1`, which
 * pools tp, fp and fn over all classes (`average='micro'`); zero_division=0 throughout, as
 * scikit-learn's default.
 */
export function multiLabelMetrics(
  probs: Probabilities,
  targets: Uint8Array,
  labels: readonly string[],
  thresholds: Float32Array | Float64Array | number,
): MultiLabelMetrics {
  const C = labels.length;
  if (targets.length % Math.max(C, 1) !== 0) {
    throw new RangeError(`multiLabelMetrics: targets hold ${targets.length} values, not a multiple of ${C}`);
  }
  const N = targets.length / C;
  checkShape(probs, N, C, 'multiLabelMetrics');
  checkLabels(labels, 'multiLabelMetrics');
  if (typeof thresholds !== 'number' && thresholds.length !== C) {
    throw new RangeError(`multiLabelMetrics: ${thresholds.length} thresholds for ${C} classes`);
  }

  const tp = new Float64Array(C);
  const fp = new Float64Array(C);
  const fn = new Float64Array(C);
  for (let r = 0; r < N; r++) {
    const top = argmaxRow(probs, r, C);
    for (let c = 0; c < C; c++) {
      const predicted = c === top || probs[r * C + c]! >= thresholdOf(thresholds, c);
      const actual = targets[r * C + c]! !== 0;
      if (predicted && actual) tp[c]! += 1;
      else if (predicted) fp[c]! += 1;
      else if (actual) fn[c]! += 1;
    }
  }

  let f1Sum = 0;
  const averagedOver: string[] = [];
  let tpAll = 0;
  let fpAll = 0;
  let fnAll = 0;
  const entries: [string, MultiLabelClassMetrics][] = [];
  for (let c = 0; c < C; c++) {
    const f1 = f1Of(tp[c]!, fp[c]!, fn[c]!);
    if (tp[c]! + fn[c]! > 0) {
      f1Sum += f1;
      averagedOver.push(labels[c]!);
    }
    tpAll += tp[c]!;
    fpAll += fp[c]!;
    fnAll += fn[c]!;
    entries.push([
      labels[c]!,
      {
        precision: ratio(tp[c]!, tp[c]! + fp[c]!),
        recall: ratio(tp[c]!, tp[c]! + fn[c]!),
        f1,
        support: tp[c]! + fn[c]!,
        threshold: thresholdOf(thresholds, c),
      },
    ]);
  }
  return {
    samples: N,
    macroF1: averagedOver.length === 0 ? NaN : f1Sum / averagedOver.length,
    macroAveragedOver: averagedOver,
    microF1: f1Of(tpAll, fpAll, fnAll),
    perClass: Object.fromEntries(entries),
  };
}

/** 0.05, 0.10, …, 0.95: computed as k/20 so each value is the double nearest its decimal. */
export const DEFAULT_THRESHOLD_GRID: readonly number[] = Array.from({ length: 19 }, (_, k) => (k + 1) / 20);

/**
 * Per-class thresholds for `multiLabelMetrics`, each the grid value that maximises that class's F1 on
 * the given (development) rows under the same rule (argmax plus every class at or above its
 * threshold). Under that rule a class's predictions depend only on its own threshold, so fitting the
 * classes one at a time is exact. Ties go to the largest threshold (fewer positive predictions for
 * the same F1; a class with no positives in dev gets the top of the grid).
 */
export function fitThresholds(
  probs: Probabilities,
  targets: Uint8Array,
  C: number,
  grid: readonly number[] = DEFAULT_THRESHOLD_GRID,
): Float64Array {
  if (grid.length === 0) throw new RangeError('fitThresholds: empty threshold grid');
  if (!Number.isInteger(C) || C < 1 || targets.length % C !== 0) {
    throw new RangeError(`fitThresholds: targets hold ${targets.length} values, not a multiple of ${C}`);
  }
  const N = targets.length / C;
  checkShape(probs, N, C, 'fitThresholds');
  const top = new Int32Array(N);
  for (let r = 0; r < N; r++) top[r] = argmaxRow(probs, r, C);

  // Float64 so that a fitted 0.3 is the grid's 0.3, not float32's 0.30000001 (which a float64
  // probability of exactly 0.3 would fall below).
  const out = new Float64Array(C);
  const G = grid.length;
  const tp = new Float64Array(G);
  const fp = new Float64Array(G);
  const fn = new Float64Array(G);
  for (let c = 0; c < C; c++) {
    tp.fill(0);
    fp.fill(0);
    fn.fill(0);
    for (let r = 0; r < N; r++) {
      const p = probs[r * C + c]!;
      const isTop = top[r] === c;
      const actual = targets[r * C + c]! !== 0;
      for (let g = 0; g < G; g++) {
        const predicted = isTop || p >= grid[g]!;
        if (predicted && actual) tp[g]! += 1;
        else if (predicted) fp[g]! += 1;
        else if (actual) fn[g]! += 1;
      }
    }
    let best = 0;
    let bestF1 = -1;
    for (let g = 0; g < G; g++) {
      const f1 = f1Of(tp[g]!, fp[g]!, fn[g]!);
      if (f1 > bestF1 || (f1 === bestF1 && grid[g]! > grid[best]!)) {
        bestF1 = f1;
        best = g;
      }
    }
    out[c] = grid[best]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Regression

/**
 * Pearson's r, Lin's concordance correlation coefficient, MAE and RMSE over the rows where
 * `mask` is non-zero (all rows without a mask).
 *
 * - Means and variances are population ones (divide by n), as Lin (1989) defines
 *   CCC = 2·s_xy / (s_x² + s_y² + (x̄ − ȳ)²).
 * - Pearson is 0 when either variance is 0 (undefined there; scipy returns NaN with a warning); CCC is 1
 *   when both series are the same constant (its formula is 0/0 only then, and agreement is perfect).
 * - With no scored row every figure is NaN. A non-finite value in a scored row throws: mask
 *   missing labels out instead of passing NaN.
 */
export function regressionMetrics(
  pred: Float32Array | Float64Array,
  truth: Float32Array | Float64Array,
  mask?: Uint8Array,
): RegressionMetrics {
  const N = truth.length;
  if (pred.length !== N)
    throw new RangeError(`regressionMetrics: ${pred.length} predictions for ${N} truths`);
  if (mask !== undefined && mask.length !== N) {
    throw new RangeError(`regressionMetrics: mask has ${mask.length} entries for ${N} rows`);
  }
  const use = (r: number): boolean => mask === undefined || mask[r] !== 0;

  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let r = 0; r < N; r++) {
    if (!use(r)) continue;
    const x = pred[r]!;
    const y = truth[r]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      throw new RangeError(`regressionMetrics: row ${r} is not finite (pred ${x}, truth ${y}); mask it out`);
    }
    n++;
    sx += x;
    sy += y;
  }
  if (n === 0) return { samples: 0, pearson: NaN, ccc: NaN, mae: NaN, rmse: NaN };
  const mx = sx / n;
  const my = sy / n;

  // Second pass about the means: stable for large offsets (valence near ±1 on many rows).
  let vxx = 0;
  let vyy = 0;
  let vxy = 0;
  let abs = 0;
  let sq = 0;
  for (let r = 0; r < N; r++) {
    if (!use(r)) continue;
    const dx = pred[r]! - mx;
    const dy = truth[r]! - my;
    vxx += dx * dx;
    vyy += dy * dy;
    vxy += dx * dy;
    const e = pred[r]! - truth[r]!;
    abs += Math.abs(e);
    sq += e * e;
  }
  vxx /= n;
  vyy /= n;
  vxy /= n;
  const pearson = vxx === 0 || vyy === 0 ? 0 : vxy / Math.sqrt(vxx * vyy);
  const cccDen = vxx + vyy + (mx - my) * (mx - my);
  return {
    samples: n,
    pearson,
    ccc: cccDen === 0 ? 1 : (2 * vxy) / cccDen,
    mae: abs / n,
    rmse: Math.sqrt(sq / n),
  };
}
