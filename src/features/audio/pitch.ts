/**
 * YIN fundamental-frequency tracker (A. de Cheveigné and H. Kawahara, "YIN, a fundamental frequency
 * estimator for speech and music", JASA 111(4), 2002) on 16 kHz mono audio.
 *
 * Per frame (every 10 ms, frame i centred on sample i·160, i.e. at t = i · 0.01 s):
 *
 * 1. difference function d(τ) = Σ_{j<W} (x[s+j] − x[s+j+τ])², τ = 1 … maxLag + 1, W = 400 samples
 *    (25 ms), with s = c − ⌊(W + τ)/2⌋ so that every lag's window pair is centred on the frame
 *    centre c (samples outside the clip count as 0);
 * 2. cumulative mean normalised difference d′(τ) = d(τ) · τ / Σ_{k=1..τ} d(k), d′(0) = 1;
 * 3. absolute threshold: the first τ in [minLag, maxLag] with d′(τ) < `threshold` (0.15), followed
 *    down to the bottom of its dip; if there is none, the global minimum of d′ over [minLag, maxLag];
 * 4. parabolic interpolation of d′ around that τ; F0 = 16000 / τ*.
 *
 * Search range 60–500 Hz (lags 32 … 267 samples). A frame is voiced when d′ at the chosen lag is below
 * `voicingThreshold` (0.45) and it passes an energy gate: its RMS (over the W samples centred on it)
 * is at least `silenceDb` (−30 dB) re the clip's loudest frame and above an absolute floor of −80 dBFS.
 * Unvoiced frames report f0 0. Direct O(W · maxLag) per frame (about 10⁷ multiply-adds per second of
 * audio); no allocation per frame.
 *
 * The voicing settings (0.45, −30 dB) were chosen against Praat's autocorrelation tracker on 40 clips
 * of RAVDESS, EmoDB, EMOVO and nEMO (10 each), none of them among the clips the reference test uses.
 */

export const PITCH_SAMPLE_RATE = 16000;
/** Frame step: 10 ms. */
export const PITCH_HOP = 160;
/** Integration window W of the difference function: 25 ms. */
export const PITCH_WINDOW = 400;
export const F0_MIN_HZ = 60;
export const F0_MAX_HZ = 500;

export interface PitchOptions {
  /** YIN absolute threshold on d′ for choosing the lag (paper: 0.1–0.15). Default 0.15. */
  threshold?: number;
  /** A frame is voiced when d′ at its lag is below this. Default 0.45. */
  voicingThreshold?: number;
  /** Energy gate: frames more than this many dB below the clip's loudest frame are unvoiced. Default 30. */
  silenceDb?: number;
  /** Lowest and highest F0 searched, Hz. Default 60 and 500. */
  minHz?: number;
  maxHz?: number;
}

export interface PitchTrack {
  /** Frame count: ⌊(n − 1) / 160⌋ + 1 for n ≥ 1 samples, 0 for none. Frame i is at i · 0.01 s. */
  frames: number;
  /** F0 in Hz per frame, 0 where unvoiced. */
  f0: Float64Array;
  /** Periodicity 1 − d′(τ*) in [0, 1] per frame (whatever the voicing decision). */
  periodicity: Float64Array;
  /** Frame RMS over the W samples centred on the frame (the energy gate's measure). */
  rms: Float64Array;
  /** Frame step in seconds (0.01). */
  hopSeconds: number;
}

/** The clip zero-padded by `pad` samples on both sides, as float64. */
export function padded(x: Float32Array | Float64Array, pad: number): Float64Array {
  const out = new Float64Array(x.length + 2 * pad);
  for (let i = 0; i < x.length; i++) out[pad + i] = x[i]!;
  return out;
}

/** Number of 10 ms frames of a clip of n samples. */
export function frameCount(n: number): number {
  return n <= 0 ? 0 : Math.floor((n - 1) / PITCH_HOP) + 1;
}

/** YIN F0 track of 16 kHz mono samples (see the module comment for the method and defaults). */
export function trackPitch(x: Float32Array | Float64Array, opts: PitchOptions = {}): PitchTrack {
  const threshold = opts.threshold ?? 0.15;
  const voicingThreshold = opts.voicingThreshold ?? 0.45;
  const silenceDb = opts.silenceDb ?? 30;
  const minLag = Math.max(2, Math.floor(PITCH_SAMPLE_RATE / (opts.maxHz ?? F0_MAX_HZ)));
  const maxLag = Math.ceil(PITCH_SAMPLE_RATE / (opts.minHz ?? F0_MIN_HZ));
  const W = PITCH_WINDOW;
  const frames = frameCount(x.length);
  const f0 = new Float64Array(frames);
  const periodicity = new Float64Array(frames);
  const rms = new Float64Array(frames);
  if (frames === 0) return { frames, f0, periodicity, rms, hopSeconds: PITCH_HOP / PITCH_SAMPLE_RATE };

  const pad = W + maxLag + 2;
  const xp = padded(x, pad);
  const half = W >> 1;

  // Energy gate: RMS of the W samples centred on each frame.
  let loudest = 0;
  for (let i = 0; i < frames; i++) {
    const s = pad + i * PITCH_HOP - half;
    let e = 0;
    for (let j = 0; j < W; j++) e += xp[s + j]! * xp[s + j]!;
    rms[i] = Math.sqrt(e / W);
    if (rms[i]! > loudest) loudest = rms[i]!;
  }
  const gate = Math.max(loudest * 10 ** (-silenceDb / 20), 1e-4);

  const d = new Float64Array(maxLag + 2);
  for (let i = 0; i < frames; i++) {
    const c = pad + i * PITCH_HOP;
    // 1–2: difference function and its cumulative mean normalisation, τ = 1 … maxLag + 1.
    d[0] = 1;
    let sum = 0;
    for (let tau = 1; tau <= maxLag + 1; tau++) {
      const s = c - ((W + tau) >> 1);
      let acc = 0;
      for (let j = 0; j < W; j++) {
        const v = xp[s + j]! - xp[s + j + tau]!;
        acc += v * v;
      }
      sum += acc;
      d[tau] = sum > 0 ? (acc * tau) / sum : 1;
    }
    // 3: absolute threshold, else the global minimum.
    let best = -1;
    for (let tau = minLag; tau <= maxLag; tau++) {
      if (d[tau]! < threshold) {
        while (tau + 1 <= maxLag && d[tau + 1]! < d[tau]!) tau++;
        best = tau;
        break;
      }
    }
    if (best < 0) {
      best = minLag;
      for (let tau = minLag + 1; tau <= maxLag; tau++) if (d[tau]! < d[best]!) best = tau;
    }
    // 4: parabolic interpolation around the chosen lag.
    const a = d[best - 1]!;
    const b = d[best]!;
    const g = d[best + 1]!;
    const curve = a - 2 * b + g;
    let shift = curve > 0 ? (a - g) / (2 * curve) : 0;
    if (shift > 0.5) shift = 0.5;
    else if (shift < -0.5) shift = -0.5;
    const dMin = curve > 0 ? b - 0.25 * (a - g) * shift : b;
    const p = 1 - dMin;
    periodicity[i] = p < 0 ? 0 : p > 1 ? 1 : p;
    const voiced = dMin < voicingThreshold && rms[i]! >= gate;
    f0[i] = voiced ? PITCH_SAMPLE_RATE / (best + shift) : 0;
  }
  return { frames, f0, periodicity, rms, hopSeconds: PITCH_HOP / PITCH_SAMPLE_RATE };
}
