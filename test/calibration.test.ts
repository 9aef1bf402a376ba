import { describe, expect, it } from 'vitest';
import { fitTemperature } from '../src/head/calibration.js';
import { rng } from './support/rng.js';

/** Mean NLL of softmax(logits / T), computed directly (the independent reference). */
function meanNll(logits: Float64Array, truth: Int32Array, C: number, T: number): number {
  let sum = 0;
  let n = 0;
  for (let r = 0; r < truth.length; r++) {
    if (truth[r]! < 0) continue;
    const row = Array.from(logits.subarray(r * C, (r + 1) * C), (z) => z / T);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
    sum += lse - row[truth[r]!]!;
    n++;
  }
  return sum / n;
}

/** Logits ~ 3·N(0, 1) (Box–Muller from the seeded uniform), labels drawn from softmax(logits / T). */
function synthetic(seed: number, N: number, C: number, T: number) {
  const u = rng(seed);
  const uniform01 = (): number => (u() + 1) / 2;
  const logits = new Float64Array(N * C);
  for (let i = 0; i < logits.length; i++) {
    const a = Math.max(uniform01(), 1e-12);
    const b = uniform01();
    logits[i] = 3 * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
  }
  const truth = new Int32Array(N);
  const soft = new Float32Array(N * C);
  for (let r = 0; r < N; r++) {
    const row = logits.subarray(r * C, (r + 1) * C);
    const max = Math.max(...row);
    const e = Array.from(row, (z) => Math.exp((z - max) / T));
    const s = e.reduce((x, y) => x + y, 0);
    let pick = uniform01() * s;
    truth[r] = C - 1;
    for (let c = 0; c < C; c++) {
      soft[r * C + c] = e[c]! / s;
      pick -= e[c]!;
      if (pick < 0 && truth[r] === C - 1) truth[r] = c;
    }
  }
  return { logits, truth, soft };
}

describe('fitTemperature', () => {
  it('finds the hand-computed optimum of a two-class case', () => {
    // Three rows with logits [1, 0], labels 0, 0, 1: the NLL is minimised where
    // softmax puts 2/3 on class 0, σ(1/T) = 2/3, so 1/T = ln 2.
    // NLL at T=1: −(2·ln σ(1) + ln(1 − σ(1)))/3 = 0.646595; at the optimum −(2 ln 2/3 + ln 1/3)/3 = 0.636514.
    const logits = new Float64Array([1, 0, 1, 0, 1, 0, 5, -5]);
    const fit = fitTemperature(logits, new Int32Array([0, 0, 1, -1]), 2);
    expect(fit.temperature).toBeCloseTo(1 / Math.LN2, 9);
    expect(fit.nllBefore).toBeCloseTo(0.646595, 6);
    expect(fit.nllAfter).toBeCloseTo(-(2 * Math.log(2 / 3) + Math.log(1 / 3)) / 3, 12);
  });

  it('gives the same fit for the soft-target and weighted forms of that case', () => {
    const soft = fitTemperature(new Float32Array([1, 0]), { soft: new Float32Array([2 / 3, 1 / 3]) }, 2);
    expect(soft.temperature).toBeCloseTo(1 / Math.LN2, 6);
    expect(soft.nllAfter).toBeCloseTo(0.636514, 6);
    const weighted = fitTemperature(
      new Float32Array([1, 0, 1, 0]),
      new Int32Array([0, 1]),
      2,
      new Float32Array([2, 1]),
    );
    expect(weighted.temperature).toBeCloseTo(1 / Math.LN2, 9);
  });

  it('recovers the temperature that generated the labels (20k rows, 7 classes)', () => {
    const C = 7;
    const { logits, truth } = synthetic(20240607, 20_000, C, 2.5);
    const fit = fitTemperature(logits, truth, C);
    expect(Math.abs(fit.temperature - 2.5)).toBeLessThan(0.1);
    expect(fit.nllAfter).toBeLessThanOrEqual(fit.nllBefore);
    // Against the direct computation at both temperatures.
    expect(fit.nllBefore).toBeCloseTo(meanNll(logits, truth, C, 1), 9);
    expect(fit.nllAfter).toBeCloseTo(meanNll(logits, truth, C, fit.temperature), 9);
    // It is a minimum: nudging T either way does not help.
    expect(meanNll(logits, truth, C, fit.temperature * 1.01)).toBeGreaterThan(fit.nllAfter);
    expect(meanNll(logits, truth, C, fit.temperature / 1.01)).toBeGreaterThan(fit.nllAfter);
  });

  it('recovers the temperature exactly from the generating distributions as soft targets', () => {
    // Cross-entropy against softmax(z / 2.5) itself is minimised at exactly T = 2.5 (Gibbs'
    // inequality); only float32 rounding of the targets moves it.
    const C = 7;
    const { logits, soft } = synthetic(7, 2_000, C, 2.5);
    const fit = fitTemperature(logits, { soft }, C);
    expect(fit.temperature).toBeCloseTo(2.5, 4);
    expect(fit.nllAfter).toBeLessThan(fit.nllBefore);
  });

  it('stops at the ends of [0.05, 20]', () => {
    // Half the rows say class 0, half class 1 for the same logits: the best model is uniform, T → ∞.
    const flat = fitTemperature(new Float64Array([1, 0, 1, 0]), new Int32Array([0, 1]), 2);
    expect(flat.temperature).toBeCloseTo(20, 6);
    // Separable: the NLL keeps falling as T → 0.
    const sharp = fitTemperature(new Float64Array([1, 0, 0, 1]), new Int32Array([0, 1]), 2);
    expect(sharp.temperature).toBeCloseTo(0.05, 6);
    expect(sharp.nllAfter).toBeLessThan(1e-6);
  });

  it('rejects inputs with no usable row or a wrong shape', () => {
    expect(() => fitTemperature(new Float64Array([1, 0]), new Int32Array([-1]), 2)).toThrow(RangeError);
    expect(() => fitTemperature(new Float64Array([1, 0, 0]), new Int32Array([0]), 2)).toThrow(RangeError);
    expect(() => fitTemperature(new Float64Array([1, 0]), new Int32Array([2]), 2)).toThrow(RangeError);
    expect(() => fitTemperature(new Float64Array([NaN, 0]), new Int32Array([0]), 2)).toThrow(RangeError);
  });
});
