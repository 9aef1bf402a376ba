import type { FeatureSpec } from '../feature-spec.js';
import { RealFft } from './fft.js';
import {
  PITCH_HOP,
  PITCH_SAMPLE_RATE,
  PITCH_WINDOW,
  padded,
  trackPitch,
  type PitchOptions,
} from './pitch.js';

/**
 * Speech prosody features (docs/features.md, "Speech prosody"): per 10 ms frame of 16 kHz mono audio,
 * F0 (YIN, pitch.ts), energy, zero-crossing rate and spectral centroid, slope and flux; per clip,
 * jitter and shimmer estimates and statistics over voiced frames, as a fixed 19-d vector
 * ({@link PROSODY_FEATURE_NAMES}). Not part of the default head's features (`audio-mfcc-stats`).
 *
 * Every frame-level measure uses the W = 400 samples (25 ms) centred on the frame (i · 160), the
 * clip zero-padded outside; the spectral ones use a periodic Hann window and a 400-point FFT
 * (bins 40 Hz apart, 0–8 kHz).
 */

/** The vector's entries, in order. */
export const PROSODY_FEATURE_NAMES: readonly string[] = [
  // F0 over voiced frames, in semitones re 100 Hz: 12·log2(f0 / 100).
  'f0_st_mean',
  'f0_st_std',
  'f0_st_p10',
  'f0_st_p50',
  'f0_st_p90',
  // Least-squares slope of F0 (semitones) against time (s) over voiced frames: semitones per second.
  'f0_st_slope',
  // Voiced frames / all frames.
  'voiced_fraction',
  // Over voiced frames:
  'energy_db_mean',
  'energy_db_std',
  'zcr_mean',
  'zcr_std',
  'centroid_hz_mean',
  'centroid_hz_std',
  'spectral_slope_mean',
  'spectral_slope_std',
  'flux_mean',
  'flux_std',
  // Frame-based estimates over pairs of adjacent voiced frames.
  'jitter_local',
  'shimmer_local',
];

export const PROSODY_DIM = PROSODY_FEATURE_NAMES.length;

/** The prosody vector's spec: a new, versioned audio feature (not registered with the default extractors). */
export const PROSODY_FEATURE_SPEC: FeatureSpec = { name: 'audio-prosody', version: '1', dim: PROSODY_DIM };

/** Pairs of adjacent voiced frames whose periods differ by more than this factor are left out of jitter and shimmer (Praat's "maximum period factor"). */
export const MAX_PERIOD_FACTOR = 1.3;

export interface ProsodyFrames {
  frames: number;
  /** F0 in Hz, 0 where unvoiced (pitch.ts). */
  f0: Float64Array;
  periodicity: Float64Array;
  /** 10·log10(mean x² + 1e-10) over the frame's W samples: dB re full scale (|x| ≤ 1). */
  energyDb: Float64Array;
  /** Sign changes between adjacent samples / (W − 1), in [0, 1]. */
  zcr: Float64Array;
  /** Power-weighted mean frequency of the Hann-windowed frame, Hz (0 for a silent frame). */
  centroid: Float64Array;
  /** Least-squares slope of the power spectrum in dB (10·log10(P + 1e-10)) against frequency, dB per kHz, bins 1–200 (40 Hz – 8 kHz). */
  slope: Float64Array;
  /** Euclidean distance between this frame's and the previous frame's L1-normalised magnitude spectra (0 for frame 0 or silence). */
  flux: Float64Array;
  /** Voiced frames: the largest |x| over one period (round(16000 / f0) samples) centred on the frame; 0 where unvoiced. */
  peak: Float64Array;
}

const FFT_N = PITCH_WINDOW;
const BINS = FFT_N / 2 + 1;
const BIN_HZ = PITCH_SAMPLE_RATE / FFT_N;

let fft: RealFft | undefined;
let hann: Float64Array | undefined;

/** Frame-level prosody of 16 kHz mono samples. */
export function prosodyFrames(x: Float32Array | Float64Array, opts: PitchOptions = {}): ProsodyFrames {
  const track = trackPitch(x, opts);
  const { frames, f0, periodicity, rms } = track;
  const energyDb = new Float64Array(frames);
  const zcr = new Float64Array(frames);
  const centroid = new Float64Array(frames);
  const slope = new Float64Array(frames);
  const flux = new Float64Array(frames);
  const peak = new Float64Array(frames);

  fft ??= new RealFft(FFT_N);
  if (hann === undefined) {
    hann = new Float64Array(FFT_N);
    for (let n = 0; n < FFT_N; n++) hann[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FFT_N);
  }
  const maxPeriod = Math.ceil(PITCH_SAMPLE_RATE / 40);
  const pad = FFT_N + maxPeriod;
  const xp = padded(x, pad);
  const power = new Float64Array(BINS);
  let mag = new Float64Array(BINS);
  let prev = new Float64Array(BINS);
  let hasPrev = false;
  // Slope regression over bins 1…BINS−1 against frequency in kHz: fixed abscissae.
  let fMean = 0;
  for (let k = 1; k < BINS; k++) fMean += (k * BIN_HZ) / 1000;
  fMean /= BINS - 1;
  let fVar = 0;
  for (let k = 1; k < BINS; k++) fVar += ((k * BIN_HZ) / 1000 - fMean) ** 2;

  for (let i = 0; i < frames; i++) {
    const c = pad + i * PITCH_HOP;
    const s = c - FFT_N / 2;
    energyDb[i] = 10 * Math.log10(rms[i]! * rms[i]! + 1e-10);
    let crossings = 0;
    for (let j = s + 1; j < s + FFT_N; j++) if (xp[j]! >= 0 !== xp[j - 1]! >= 0) crossings++;
    zcr[i] = crossings / (FFT_N - 1);

    fft.powerSpectrum(xp, s, hann, power);
    let total = 0;
    let weighted = 0;
    let magSum = 0;
    let cov = 0;
    for (let k = 0; k < BINS; k++) {
      const p = power[k]!;
      total += p;
      weighted += p * k * BIN_HZ;
      const m = Math.sqrt(p);
      mag[k] = m;
      magSum += m;
      if (k > 0) cov += ((k * BIN_HZ) / 1000 - fMean) * 10 * Math.log10(p + 1e-10);
    }
    centroid[i] = total > 0 ? weighted / total : 0;
    slope[i] = cov / fVar;
    if (magSum > 0) {
      for (let k = 0; k < BINS; k++) mag[k]! /= magSum;
      if (hasPrev) {
        let acc = 0;
        for (let k = 0; k < BINS; k++) acc += (mag[k]! - prev[k]!) ** 2;
        flux[i] = Math.sqrt(acc);
      }
      const t = prev;
      prev = mag;
      mag = t;
      hasPrev = true;
    } else {
      hasPrev = false;
    }

    if (f0[i]! > 0) {
      const period = Math.round(PITCH_SAMPLE_RATE / f0[i]!);
      const from = c - (period >> 1);
      let m = 0;
      for (let j = from; j < from + period; j++) {
        const a = Math.abs(xp[j]!);
        if (a > m) m = a;
      }
      peak[i] = m;
    }
  }
  return { frames, f0, periodicity, energyDb, zcr, centroid, slope, flux, peak };
}

/**
 * Local jitter and shimmer estimated from frames rather than glottal cycles: over pairs of adjacent
 * voiced frames whose periods T = 1/f0 differ by at most {@link MAX_PERIOD_FACTOR},
 * jitter = mean |T_i − T_{i−1}| / mean (T_i + T_{i−1}) / 2, and shimmer the same on the frames'
 * peak amplitudes. 0 when there is no such pair. Coarser than Praat's cycle-to-cycle
 * "Get jitter (local)": 10 ms frames average over one to several cycles.
 */
export function jitterShimmer(p: ProsodyFrames): { jitter: number; shimmer: number } {
  let dT = 0;
  let sT = 0;
  let dA = 0;
  let sA = 0;
  for (let i = 1; i < p.frames; i++) {
    const a = p.f0[i - 1]!;
    const b = p.f0[i]!;
    if (a <= 0 || b <= 0 || Math.max(a, b) / Math.min(a, b) > MAX_PERIOD_FACTOR) continue;
    dT += Math.abs(1 / b - 1 / a);
    sT += (1 / a + 1 / b) / 2;
    dA += Math.abs(p.peak[i]! - p.peak[i - 1]!);
    sA += (p.peak[i]! + p.peak[i - 1]!) / 2;
  }
  return { jitter: sT > 0 ? dT / sT : 0, shimmer: sA > 0 ? dA / sA : 0 };
}

/** Linear-interpolation percentile (numpy's default) of sorted values, q in [0, 1]. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Mean and population standard deviation of `v` over the frames where `mask` is set (0, 0 for none). */
function maskedMeanStd(v: Float64Array, voiced: Uint8Array, count: number): [number, number] {
  if (count === 0) return [0, 0];
  let m = 0;
  for (let i = 0; i < v.length; i++) if (voiced[i]) m += v[i]!;
  m /= count;
  let s = 0;
  for (let i = 0; i < v.length; i++) if (voiced[i]) s += (v[i]! - m) ** 2;
  return [m, Math.sqrt(s / count)];
}

/** The 19-d clip vector (order of {@link PROSODY_FEATURE_NAMES}) from frame-level prosody. Statistics of a clip with no voiced frame are 0. */
export function prosodyStats(p: ProsodyFrames): Float32Array {
  const out = new Float32Array(PROSODY_DIM);
  const voiced = new Uint8Array(p.frames);
  let count = 0;
  for (let i = 0; i < p.frames; i++) {
    if (p.f0[i]! > 0) {
      voiced[i] = 1;
      count++;
    }
  }
  const st = new Float64Array(count);
  const times = new Float64Array(count);
  for (let i = 0, k = 0; i < p.frames; i++) {
    if (!voiced[i]) continue;
    st[k] = 12 * Math.log2(p.f0[i]! / 100);
    times[k++] = (i * PITCH_HOP) / PITCH_SAMPLE_RATE;
  }
  if (count > 0) {
    let mean = 0;
    let tMean = 0;
    for (let k = 0; k < count; k++) {
      mean += st[k]!;
      tMean += times[k]!;
    }
    mean /= count;
    tMean /= count;
    let v = 0;
    let cov = 0;
    let tVar = 0;
    for (let k = 0; k < count; k++) {
      v += (st[k]! - mean) ** 2;
      cov += (times[k]! - tMean) * (st[k]! - mean);
      tVar += (times[k]! - tMean) ** 2;
    }
    const sorted = st.slice().sort();
    out[0] = mean;
    out[1] = Math.sqrt(v / count);
    out[2] = percentile(sorted, 0.1);
    out[3] = percentile(sorted, 0.5);
    out[4] = percentile(sorted, 0.9);
    out[5] = tVar > 0 ? cov / tVar : 0;
  }
  let o = 6;
  out[o++] = p.frames > 0 ? count / p.frames : 0;
  for (const v of [p.energyDb, p.zcr, p.centroid, p.slope, p.flux]) {
    const [m, s] = maskedMeanStd(v, voiced, count);
    out[o++] = m;
    out[o++] = s;
  }
  const { jitter, shimmer } = jitterShimmer(p);
  out[o++] = jitter;
  out[o++] = shimmer;
  return out;
}

/** The `audio-prosody` v1 vector of 16 kHz mono samples. */
export function prosodyVector(x: Float32Array | Float64Array, opts: PitchOptions = {}): Float32Array {
  return prosodyStats(prosodyFrames(x, opts));
}
