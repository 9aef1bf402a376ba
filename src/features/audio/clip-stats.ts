/**
 * Clip statistics: one fixed-size vector per clip from frame-level MFCC, delta and delta2
 * (docs/features.md "per coefficient of mfcc, delta and delta2, at least mean and standard deviation").
 */

import { N_MFCC } from './mfcc.js';

const GROUPS = ['mfcc', 'delta', 'delta2'] as const;

/** 78 = 3 groups × (13 means + 13 standard deviations). */
export const CLIP_STATS_DIM = GROUPS.length * 2 * N_MFCC;

/**
 * Names of the 78 dimensions, in vector order: mfcc_mean_0…12, mfcc_std_0…12, delta_mean_0…12,
 * delta_std_0…12, delta2_mean_0…12, delta2_std_0…12.
 */
export const CLIP_STATS_NAMES: readonly string[] = GROUPS.flatMap((g) => [
  ...Array.from({ length: N_MFCC }, (_, i) => `${g}_mean_${i}`),
  ...Array.from({ length: N_MFCC }, (_, i) => `${g}_std_${i}`),
]);

/** Per-column mean and population standard deviation of a time-major [T][dims] matrix, float64 two-pass. */
export function meanStd(
  x: Float32Array | Float64Array,
  T: number,
  dims: number,
): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(dims);
  const std = new Float64Array(dims);
  if (T === 0) return { mean, std };
  for (let t = 0; t < T; t++) {
    const o = t * dims;
    for (let i = 0; i < dims; i++) mean[i]! += x[o + i]!;
  }
  for (let i = 0; i < dims; i++) mean[i]! /= T;
  for (let t = 0; t < T; t++) {
    const o = t * dims;
    for (let i = 0; i < dims; i++) {
      const d = x[o + i]! - mean[i]!;
      std[i]! += d * d;
    }
  }
  for (let i = 0; i < dims; i++) std[i] = Math.sqrt(std[i]! / T);
  return { mean, std };
}

/**
 * The 78-d clip vector (order of CLIP_STATS_NAMES) from [T][13] mfcc, delta and delta2.
 * Standard deviations are population ones (divide by T): a one-frame clip gets 0, not NaN.
 */
export function clipStats(
  mfcc: Float32Array | Float64Array,
  delta: Float32Array | Float64Array,
  delta2: Float32Array | Float64Array,
  T: number,
): Float32Array {
  const out = new Float32Array(CLIP_STATS_DIM);
  let o = 0;
  for (const m of [mfcc, delta, delta2]) {
    const { mean, std } = meanStd(m, T, N_MFCC);
    out.set(mean, o);
    out.set(std, o + N_MFCC);
    o += 2 * N_MFCC;
  }
  return out;
}
