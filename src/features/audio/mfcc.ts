import { EmoflowError } from '../../core/errors.js';
import { RealFft } from './fft.js';

/**
 * MFCC and deltas exactly as torchaudio computes them with the project's settings:
 * ../shared/fixtures/mfcc/SPEC.md §4–5 (torchaudio.transforms.MFCC, n_mfcc 13, n_fft 400,
 * hop 160, 40 HTK mel bands over 0–8000 Hz, norm None, log(x + 1e-6), DCT-II ortho;
 * compute_deltas win 5 replicate). Float64 inside, Float32Array out.
 */

export const SAMPLE_RATE = 16000;
export const N_FFT = 400;
export const HOP = 160;
export const N_MELS = 40;
export const N_MFCC = 13;
const PAD = N_FFT / 2;
const HALF_MELS = N_MELS / 2;
const BINS = N_FFT / 2 + 1;
const F_MAX = 8000;
const LOG_OFFSET = 1e-6;

interface MfccPlan {
  fft: RealFft;
  window: Float64Array;
  /** Sparse mel filterbank: filter m has weights melW[melOff[m] …] on bins melLo[m] … melLo[m] + melLen[m] − 1. */
  melLo: Int32Array;
  melLen: Int32Array;
  melOff: Int32Array;
  melW: Float64Array;
  /** DCT-II ortho, first half of the mel axis, transposed: dctH[m·13 + i] = dct[i][m], m < 20. */
  dctH: Float64Array;
  /** Per-frame scratch. */
  power: Float64Array;
  logmel: Float64Array;
  /** One reflect-padded edge frame. */
  edge: Float64Array;
}

let plan: MfccPlan | undefined;

/** torch.linspace: the first half counts up from start, the second half down from end. */
function linspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? start + step * i : end - step * (steps - 1 - i);
  return out;
}

const hzToMel = (f: number): number => 2595.0 * Math.log10(1.0 + f / 700.0);
const melToHz = (m: number): number => 700.0 * (10.0 ** (m / 2595.0) - 1.0);

/** torchaudio.functional.melscale_fbanks(201, 0, 8000, 40, 16000, norm=None, mel_scale='htk'), as [bin][mel]. */
export function melFilterbank(): Float64Array {
  const freqs = linspace(0, SAMPLE_RATE / 2, BINS);
  const mPts = linspace(hzToMel(0), hzToMel(F_MAX), N_MELS + 2);
  const fPts = mPts.map(melToHz);
  const fb = new Float64Array(BINS * N_MELS);
  for (let k = 0; k < BINS; k++) {
    for (let m = 0; m < N_MELS; m++) {
      // _create_triangular_filterbank: slopes = f_pts − freq; down = −slopes[m] / fdiff[m], up = slopes[m+2] / fdiff[m+1]
      const down = -(fPts[m]! - freqs[k]!) / (fPts[m + 1]! - fPts[m]!);
      const up = (fPts[m + 2]! - freqs[k]!) / (fPts[m + 2]! - fPts[m + 1]!);
      fb[k * N_MELS + m] = Math.max(0, Math.min(down, up));
    }
  }
  return fb;
}

function buildPlan(): MfccPlan {
  // Periodic Hann (torch.hann_window(400), periodic=True).
  const window = new Float64Array(N_FFT);
  for (let n = 0; n < N_FFT; n++) window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT);

  const fb = melFilterbank();
  const melLo = new Int32Array(N_MELS);
  const melLen = new Int32Array(N_MELS);
  const melOff = new Int32Array(N_MELS);
  const w: number[] = [];
  for (let m = 0; m < N_MELS; m++) {
    let lo = -1;
    let hi = -1;
    for (let k = 0; k < BINS; k++) {
      if (fb[k * N_MELS + m]! !== 0) {
        if (lo < 0) lo = k;
        hi = k;
      }
    }
    melOff[m] = w.length;
    if (lo < 0) continue; // an empty filter (not the case for these settings) keeps length 0
    melLo[m] = lo;
    melLen[m] = hi - lo + 1;
    for (let k = lo; k <= hi; k++) w.push(fb[k * N_MELS + m]!);
  }

  // torchaudio.functional.create_dct(13, 40, 'ortho'): cos(π/40·(m + 0.5)·i), row 0 · 1/√2, all · √(2/40).
  const dctH = new Float64Array(HALF_MELS * N_MFCC);
  for (let i = 0; i < N_MFCC; i++) {
    for (let m = 0; m < HALF_MELS; m++) {
      let v = Math.cos((Math.PI / N_MELS) * (m + 0.5) * i);
      if (i === 0) v *= 1.0 / Math.sqrt(2.0);
      dctH[m * N_MFCC + i] = v * Math.sqrt(2.0 / N_MELS);
    }
  }
  return {
    fft: new RealFft(N_FFT),
    window,
    melLo,
    melLen,
    melOff,
    melW: Float64Array.from(w),
    dctH,
    power: new Float64Array(BINS),
    logmel: new Float64Array(N_MELS),
    edge: new Float64Array(N_FFT),
  };
}

/** Frames for N16 samples with center=True: 1 + ⌊N16 / 160⌋. */
export function frameCount(samples: number): number {
  return 1 + Math.floor(samples / HOP);
}

/**
 * MFCC of 16 kHz audio, float64, time-major [T][13]. Needs more than 200 samples (the reflect
 * padding of center=True); throws AUDIO_EMPTY otherwise.
 */
export function mfcc64(x16k: Float64Array): { frames: number; mfcc: Float64Array } {
  const N = x16k.length;
  if (N <= PAD) {
    throw new EmoflowError(
      'AUDIO_EMPTY',
      `audio too short for MFCC: ${N} samples at 16 kHz (${((N / SAMPLE_RATE) * 1000).toFixed(1)} ms), needs more than ${PAD}`,
    );
  }
  const p = (plan ??= buildPlan());
  const T = frameCount(N);

  // center=True: frame t covers samples [160t − 200, 160t + 200) of the signal reflect-padded by
  // 200 (torch pad_mode 'reflect': the edge sample is not repeated). Interior frames are read in
  // place; the few edge frames are copied with the reflection into a scratch frame.
  const out = new Float64Array(T * N_MFCC);
  const { fft, window, melLo, melLen, melOff, melW, dctH, power, logmel, edge } = p;
  for (let t = 0; t < T; t++) {
    const start = t * HOP - PAD;
    if (start >= 0 && start + N_FFT <= N) {
      fft.powerSpectrum(x16k, start, window, power);
    } else {
      for (let i = 0; i < N_FFT; i++) {
        let j = start + i;
        if (j < 0) j = -j;
        else if (j >= N) j = 2 * (N - 1) - j;
        edge[i] = x16k[j]!;
      }
      fft.powerSpectrum(edge, 0, window, power);
    }
    // Mel energies, two accumulators per filter (shorter dependency chains), then the logs.
    for (let m = 0; m < N_MELS; m++) {
      const lo = melLo[m]!;
      const len = melLen[m]!;
      const off = melOff[m]!;
      let e0 = 0;
      let e1 = 0;
      let k = 0;
      for (; k + 1 < len; k += 2) {
        e0 += melW[off + k]! * power[lo + k]!;
        e1 += melW[off + k + 1]! * power[lo + k + 1]!;
      }
      if (k < len) e0 += melW[off + k]! * power[lo + k]!;
      logmel[m] = e0 + e1;
    }
    for (let m = 0; m < N_MELS; m++) logmel[m] = Math.log(logmel[m]! + LOG_OFFSET);
    // DCT-II with the mirror symmetry D[i][39 − m] = (−1)^i·D[i][m]: even coefficients take
    // l[m] + l[39 − m], odd ones l[m] − l[39 − m], over m < 20 (half the multiplies), with 13
    // independent accumulators (no long dependency chains).
    let c0 = 0,
      c1 = 0,
      c2 = 0,
      c3 = 0,
      c4 = 0,
      c5 = 0,
      c6 = 0,
      c7 = 0,
      c8 = 0,
      c9 = 0,
      c10 = 0,
      c11 = 0,
      c12 = 0;
    for (let m = 0, r = 0; m < HALF_MELS; m++, r += N_MFCC) {
      const a = logmel[m]!;
      const b = logmel[N_MELS - 1 - m]!;
      const sum = a + b;
      const diff = a - b;
      c0 += dctH[r]! * sum;
      c1 += dctH[r + 1]! * diff;
      c2 += dctH[r + 2]! * sum;
      c3 += dctH[r + 3]! * diff;
      c4 += dctH[r + 4]! * sum;
      c5 += dctH[r + 5]! * diff;
      c6 += dctH[r + 6]! * sum;
      c7 += dctH[r + 7]! * diff;
      c8 += dctH[r + 8]! * sum;
      c9 += dctH[r + 9]! * diff;
      c10 += dctH[r + 10]! * sum;
      c11 += dctH[r + 11]! * diff;
      c12 += dctH[r + 12]! * sum;
    }
    const o = t * N_MFCC;
    out[o] = c0;
    out[o + 1] = c1;
    out[o + 2] = c2;
    out[o + 3] = c3;
    out[o + 4] = c4;
    out[o + 5] = c5;
    out[o + 6] = c6;
    out[o + 7] = c7;
    out[o + 8] = c8;
    out[o + 9] = c9;
    out[o + 10] = c10;
    out[o + 11] = c11;
    out[o + 12] = c12;
  }
  return { frames: T, mfcc: out };
}

/** MFCC of 16 kHz audio (SPEC §4): T frames × 13 coefficients, time-major, as Float32Array. */
export function mfcc(x16k: Float64Array): { frames: number; mfcc: Float32Array } {
  const r = mfcc64(x16k);
  return { frames: r.frames, mfcc: new Float32Array(r.mfcc) };
}

/**
 * compute_deltas(c, win_length=5, mode='replicate') along time (SPEC §5), float64:
 * d[t] = Σ_{n=1,2} n·(c[t+n] − c[t−n]) / 10, frames outside [0, T) replaced by the first / last.
 * `c` is time-major [T][dims].
 */
export function deltas64(c: Float32Array | Float64Array, T: number, dims: number): Float64Array {
  const d = new Float64Array(T * dims);
  const last = T - 1;
  for (let t = 0; t < T; t++) {
    const m1 = (t < 1 ? 0 : t - 1) * dims;
    const m2 = (t < 2 ? 0 : t - 2) * dims;
    const p1 = (t + 1 > last ? last : t + 1) * dims;
    const p2 = (t + 2 > last ? last : t + 2) * dims;
    const o = t * dims;
    for (let i = 0; i < dims; i++) {
      d[o + i] = (c[p1 + i]! - c[m1 + i]! + 2 * (c[p2 + i]! - c[m2 + i]!)) / 10;
    }
  }
  return d;
}

/** compute_deltas as Float32Array (input float32 or float64). */
export function deltas(c: Float32Array | Float64Array, T: number, dims: number): Float32Array {
  return new Float32Array(deltas64(c, T, dims));
}

export interface MfccWithDeltas {
  frames: number;
  /** [frames][13] time-major each. */
  mfcc: Float32Array;
  delta: Float32Array;
  delta2: Float32Array;
}

/** MFCC, delta and delta2 of 16 kHz audio (SPEC §4–5), float64 inside, Float32Array out. */
export function mfccWithDeltas(x16k: Float64Array): MfccWithDeltas {
  const m = mfcc64(x16k);
  const d = deltas64(m.mfcc, m.frames, N_MFCC);
  const d2 = deltas64(d, m.frames, N_MFCC);
  return {
    frames: m.frames,
    mfcc: new Float32Array(m.mfcc),
    delta: new Float32Array(d),
    delta2: new Float32Array(d2),
  };
}
