import { MODALITIES } from '../core/labels.js';

/**
 * Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks", §4.2): one scalar
 * T > 0 divides the logits, chosen to minimise the negative log-likelihood on development data. The
 * head stores T (`head.json` `temperature`) and applies it before its softmax.
 */

export type Logits = Float32Array | Float64Array;

/** Class indices (-1 = no label, skipped) or soft target distributions, row-major `N × C`. */
export type CalibrationTargets = Int32Array | { soft: Float32Array | Float64Array };

export interface TemperatureFit {
  temperature: number;
  /** Mean NLL at T = 1. */
  nllBefore: number;
  /** Mean NLL at the fitted T (never above nllBefore). */
  nllAfter: number;
}

export const MIN_TEMPERATURE = 0.05;
export const MAX_TEMPERATURE = 20;

/**
 * Cross-entropy of softmax(β·z + o) against the targets, and its first two derivatives in β = 1/T
 * (o: a fixed per-row offset, 0 without one). Per row, with s = Σ q_c (1 for a distribution) and
 * p = softmax(β·z + o):
 *   ℓ(β) = s·logΣ_c exp(β·z_c + o_c) − Σ_c q_c (β·z_c + o_c),   ℓ' = s·E_p[z] − q·z,   ℓ'' = s·Var_p[z] ≥ 0,
 * so the mean loss is convex in β (hence unimodal in log T, which golden-section search needs).
 * Log-sum-exp is taken about the row maximum, in float64.
 */
interface Objective {
  /** Mean loss, first and second derivative with respect to β. */
  at(beta: number): { loss: number; d1: number; d2: number };
}

function objective(
  logits: Logits,
  targets: CalibrationTargets,
  C: number,
  weights?: Float32Array,
  offset?: Logits,
): Objective {
  const N = logits.length / C;
  const rows: number[] = [];
  const rowWeight: number[] = [];
  const rowMass: number[] = [];
  const rowDot: number[] = []; // Σ_c q_c z_c
  const rowOffsetDot: number[] = []; // Σ_c q_c o_c
  for (let r = 0; r < N; r++) {
    const w = weights === undefined ? 1 : weights[r]!;
    if (!(w > 0)) continue;
    let mass = 0;
    let dot = 0;
    let offsetDot = 0;
    if (targets instanceof Int32Array) {
      const t = targets[r]!;
      if (t < 0) continue;
      mass = 1;
      dot = logits[r * C + t]!;
      offsetDot = offset?.[r * C + t] ?? 0;
    } else {
      for (let c = 0; c < C; c++) {
        const q = targets.soft[r * C + c]!;
        mass += q;
        dot += q * logits[r * C + c]!;
        offsetDot += q * (offset?.[r * C + c] ?? 0);
      }
      if (!(mass > 0)) continue;
    }
    rowOffsetDot.push(offsetDot);
    rows.push(r);
    rowWeight.push(w);
    rowMass.push(mass);
    rowDot.push(dot);
  }
  if (rows.length === 0) throw new RangeError('fitTemperature: no row has a label and a positive weight');
  let weightSum = 0;
  for (const w of rowWeight) weightSum += w;

  return {
    at(beta: number) {
      let loss = 0;
      let d1 = 0;
      let d2 = 0;
      for (let i = 0; i < rows.length; i++) {
        const base = rows[i]! * C;
        // v_c = β·z_c + o_c; log-sum-exp about max v.
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, beta * logits[base + c]! + (offset?.[base + c] ?? 0));
        let sum = 0;
        let m1 = 0;
        let m2 = 0;
        for (let c = 0; c < C; c++) {
          const z = logits[base + c]!;
          const e = Math.exp(beta * z + (offset?.[base + c] ?? 0) - max);
          sum += e;
          m1 += e * z;
          m2 += e * z * z;
        }
        const mean = m1 / sum;
        const variance = Math.max(0, m2 / sum - mean * mean);
        const lse = max + Math.log(sum);
        const w = rowWeight[i]!;
        const s = rowMass[i]!;
        loss += w * (s * lse - beta * rowDot[i]! - rowOffsetDot[i]!);
        d1 += w * (s * mean - rowDot[i]!);
        d2 += w * s * variance;
      }
      return { loss: loss / weightSum, d1: d1 / weightSum, d2: d2 / weightSum };
    },
  };
}

function checkInputs(logits: Logits, targets: CalibrationTargets, C: number, weights?: Float32Array): void {
  if (!Number.isInteger(C) || C < 1 || logits.length % C !== 0) {
    throw new RangeError(`fitTemperature: ${logits.length} logits is not a multiple of C = ${C}`);
  }
  const N = logits.length / C;
  if (targets instanceof Int32Array) {
    if (targets.length !== N) throw new RangeError(`fitTemperature: ${targets.length} labels for ${N} rows`);
    for (let r = 0; r < N; r++) {
      const t = targets[r]!;
      if (t < -1 || t >= C)
        throw new RangeError(`fitTemperature: label ${t} of row ${r} is outside -1..${C - 1}`);
    }
  } else if (targets.soft.length !== N * C) {
    throw new RangeError(`fitTemperature: ${targets.soft.length} soft targets for ${N} rows × ${C}`);
  }
  if (weights !== undefined && weights.length !== N) {
    throw new RangeError(`fitTemperature: ${weights.length} weights for ${N} rows`);
  }
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i]!)) throw new RangeError(`fitTemperature: logit ${i} is not finite`);
  }
}

/**
 * The temperature T in [0.05, 20] that minimises the (weighted) mean cross-entropy of
 * softmax(logits / T) against class indices or soft target distributions (rows with label -1, a zero
 * target mass or a non-positive weight are skipped).
 *
 * Deterministic: golden-section search on log T (80 iterations shrink the bracket below 1e-15), then
 * up to 8 safeguarded Newton steps on β = 1/T, where the loss is convex; a step is kept only if it
 * lowers the loss and stays in range. If the result were worse than T = 1 (possible only through
 * rounding), T = 1 is returned.
 */
export function fitTemperature(
  logits: Logits,
  truth: CalibrationTargets,
  C: number,
  weights?: Float32Array,
  /**
   * Added to the scaled logits, softmax(z / T + offset): a fixed log prior per row (label-prior.ts),
   * so that T scales the evidence and the prior stays apart. The loss stays convex in 1/T.
   */
  offset?: Logits,
): TemperatureFit {
  checkInputs(logits, truth, C, weights);
  if (offset !== undefined && offset.length !== logits.length)
    throw new RangeError(`fitTemperature: ${offset.length} offsets for ${logits.length} logits`);
  const f = objective(logits, truth, C, weights, offset);
  const lossAtT = (t: number): number => f.at(1 / t).loss;

  // Golden section on u = log T.
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(MIN_TEMPERATURE);
  let b = Math.log(MAX_TEMPERATURE);
  let x1 = b - invPhi * (b - a);
  let x2 = a + invPhi * (b - a);
  let f1 = lossAtT(Math.exp(x1));
  let f2 = lossAtT(Math.exp(x2));
  for (let k = 0; k < 80 && b - a > 1e-12; k++) {
    if (f1 <= f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - invPhi * (b - a);
      f1 = lossAtT(Math.exp(x1));
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + invPhi * (b - a);
      f2 = lossAtT(Math.exp(x2));
    }
  }
  let beta = 1 / Math.exp(f1 <= f2 ? x1 : x2);
  let current = f.at(beta);

  // Newton polish in β (the search already brackets the minimum; this removes its last bits of error).
  const betaMin = 1 / MAX_TEMPERATURE;
  const betaMax = 1 / MIN_TEMPERATURE;
  for (let k = 0; k < 8; k++) {
    if (!(current.d2 > 0)) break;
    const next = Math.min(betaMax, Math.max(betaMin, beta - current.d1 / current.d2));
    if (next === beta) break;
    const trial = f.at(next);
    if (!(trial.loss < current.loss)) break;
    beta = next;
    current = trial;
  }

  const before = f.at(1).loss;
  if (current.loss > before) return { temperature: 1, nllBefore: before, nllAfter: before };
  return { temperature: 1 / beta, nllBefore: before, nllAfter: current.loss };
}

/**
 * Per-modality temperatures over a head's outputs, in place: each row's probabilities become
 * softmax(log p / T), where T = Σ_m contribution_m · k_m over the row's modalities (k = 1 where
 * none is given). A modality whose scores are overconfident on data from other sources (speech,
 * measured by leave-one-corpus-out: scripts/speech-calibration.ts) is flattened alone, and a
 * fused row by as much as that modality weighs in it.
 */
export function temperByModality(
  probs: Float32Array,
  contribution: Float32Array,
  C: number,
  k: Readonly<Partial<Record<(typeof MODALITIES)[number], number>>>,
): void {
  const factors = MODALITIES.map((m) => k[m] ?? 1);
  if (factors.every((f) => f === 1)) return;
  const n = probs.length / C;
  for (let r = 0; r < n; r++) {
    let t = 0;
    let weight = 0;
    for (let m = 0; m < 3; m++) {
      const a = contribution[r * 3 + m]!;
      t += a * factors[m]!;
      weight += a;
    }
    // A row with no contribution (a failed sample's zeros) keeps its scores.
    if (!(weight > 0)) continue;
    t /= weight;
    const row = probs.subarray(r * C, (r + 1) * C);
    let max = -Infinity;
    const logs = Array.from(row, (p) => Math.log(Math.max(p, 1e-30)) / t);
    for (const v of logs) max = Math.max(max, v);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logs[c]! - max);
    for (let c = 0; c < C; c++) row[c] = Math.exp(logs[c]! - max) / sum;
  }
}
