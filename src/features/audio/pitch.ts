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
 * Unvoiced frames report f0 0.
 *
 * d(τ) is computed exactly as defined (squared differences, no autocorrelation/FFT shortcut), but each
 * term once per lag rather than once per frame: for a fixed τ the window moves by one hop (two 80-sample
 * blocks) per frame, so d(τ) is the sum of five block sums kept in a ring, 2.5× fewer terms than the
 * direct O(W · maxLag) per frame (about 4·10⁶ squared differences per second of audio); four lags share
 * each pass over the samples. Results match the direct sum up to float rounding. No allocation per frame.
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
/** Block length of the sliding difference-function sums: half a hop (W = 5 blocks, hop = 2). */
const BLOCK = PITCH_HOP / 2;

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

  // d(τ) of frame i is a sum over the window [s, s + W), s = c − ⌊(W + τ)/2⌋, which moves by one hop (160)
  // per frame for a fixed τ; so it is the sum of five 80-sample blocks on a per-lag grid, frame i using
  // blocks 2i … 2i + 4. Each block sum is computed once (two new blocks per lag per frame instead of a
  // whole window: 2.5× fewer terms) and kept in a ring of five per lag (block k in slot k mod 5). Lags
  // 4j … 4j + 3 are summed in one pass (see blockQuad).
  const nLag = maxLag + 2; // d(τ) for τ < nLag
  const ring = new Float64Array(5 * (nLag + 3));
  const blockStart = (tau: number, k: number): number => pad - ((W + tau) >> 1) + k * BLOCK;
  for (let k = 0; k < 3; k++) {
    for (let tau = 0; tau < nLag; tau += 4) blockQuad(xp, blockStart(tau, k), tau, ring, tau * 5 + k);
  }

  const d = new Float64Array(nLag);
  for (let i = 0; i < frames; i++) {
    // 1–2: difference function and its cumulative mean normalisation, τ = 1 … maxLag + 1.
    const k3 = 2 * i + 3;
    const slot3 = k3 % 5;
    const slot4 = (k3 + 1) % 5;
    for (let tau = 0; tau < nLag; tau += 4) {
      const s = blockStart(tau, k3);
      blockQuad(xp, s, tau, ring, tau * 5 + slot3);
      blockQuad(xp, s + BLOCK, tau, ring, tau * 5 + slot4);
    }
    d[0] = 1;
    let sum = 0;
    for (let tau = 1; tau < nLag; tau++) {
      const r = tau * 5;
      const acc = ring[r]! + ring[r + 1]! + (ring[r + 2]! + ring[r + 3]!) + ring[r + 4]!;
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

/**
 * Block sums Σ_{s_τ ≤ m < s_τ + BLOCK} (x[m] − x[m + τ])² for the four lags τ … τ + 3 (τ even), into
 * ring[o], ring[o + 5], ring[o + 10], ring[o + 15]. Lags τ and τ + 1 start at s, τ + 2 and τ + 3 at
 * s − 1 (s_τ = c − ⌊(W + τ)/2⌋ + const), so one pass serves all four: per two samples it loads x[m],
 * x[m + 1], x[m + τ + 2], x[m + τ + 3] once and keeps eight independent accumulators.
 */
function blockQuad(xp: Float64Array, s: number, tau: number, ring: Float64Array, o: number): void {
  let a0 = 0;
  let a1 = 0;
  let b0 = 0;
  let b1 = 0;
  let c0 = 0;
  let c1 = 0;
  let e0 = 0;
  let e1 = 0;
  let xm = xp[s - 1]!; // x[m − 1]
  let y0 = xp[s + tau]!; // x[m + τ]
  let y1 = xp[s + tau + 1]!; // x[m + τ + 1]
  const end = s + BLOCK;
  for (let m = s; m < end; m += 2) {
    const x0 = xp[m]!;
    const x1 = xp[m + 1]!;
    const y2 = xp[m + tau + 2]!;
    const y3 = xp[m + tau + 3]!;
    const p0 = x0 - y0; // lag τ at m, m + 1
    const p1 = x1 - y1;
    const q0 = x0 - y1; // lag τ + 1 at m, m + 1
    const q1 = x1 - y2;
    const r0 = xm - y1; // lag τ + 2 at m − 1, m
    const r1 = x0 - y2;
    const t0 = xm - y2; // lag τ + 3 at m − 1, m
    const t1 = x0 - y3;
    a0 += p0 * p0;
    a1 += p1 * p1;
    b0 += q0 * q0;
    b1 += q1 * q1;
    c0 += r0 * r0;
    c1 += r1 * r1;
    e0 += t0 * t0;
    e1 += t1 * t1;
    xm = x1;
    y0 = y2;
    y1 = y3;
  }
  ring[o] = a0 + a1;
  ring[o + 5] = b0 + b1;
  ring[o + 10] = c0 + c1;
  ring[o + 15] = e0 + e1;
}
