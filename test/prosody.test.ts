import { describe, expect, it } from 'vitest';
import { frameCount, trackPitch } from '../src/features/audio/pitch.js';
import {
  PROSODY_DIM,
  PROSODY_FEATURE_NAMES,
  PROSODY_FEATURE_SPEC,
  jitterShimmer,
  prosodyFrames,
  prosodyVector,
} from '../src/features/audio/prosody.js';
import { AUDIO_FEATURE_SPEC } from '../src/features/audio/audio-extractor.js';

const SR = 16000;

function tone(hz: number, seconds: number, amp = 0.5, phase = 0): Float64Array {
  const x = new Float64Array(Math.round(seconds * SR));
  for (let n = 0; n < x.length; n++) x[n] = amp * Math.sin((2 * Math.PI * hz * n) / SR + phase);
  return x;
}

/** Linear chirp f(t) = f0 + (f1 − f0)·t / T; phase is its integral. */
function chirp(f0: number, f1: number, seconds: number): { x: Float64Array; freq: (t: number) => number } {
  const x = new Float64Array(Math.round(seconds * SR));
  const k = (f1 - f0) / seconds;
  for (let n = 0; n < x.length; n++) {
    const t = n / SR;
    x[n] = 0.5 * Math.sin(2 * Math.PI * (f0 * t + (k * t * t) / 2));
  }
  return { x, freq: (t) => f0 + k * t };
}

/** One-sample pulses every `period` samples. */
function pulses(period: number, seconds: number): Float64Array {
  const x = new Float64Array(Math.round(seconds * SR));
  for (let n = 0; n < x.length; n += period) x[n] = 0.8;
  return x;
}

/** Frames whose whole analysis span (W + maxLag) lies inside the clip. */
const inner = (frames: number): number[] =>
  Array.from({ length: frames }, (_, i) => i).filter((i) => i >= 5 && i < frames - 5);

describe('YIN pitch tracker (synthetic)', () => {
  it('tracks a 200 Hz tone within 1 % on every inner frame, all voiced', () => {
    const tr = trackPitch(tone(200, 1));
    expect(tr.frames).toBe(frameCount(SR));
    expect(tr.frames).toBe(100);
    for (const i of inner(tr.frames)) {
      expect(Math.abs(tr.f0[i]! - 200) / 200, `frame ${i}`).toBeLessThan(0.01);
      expect(tr.periodicity[i]!).toBeGreaterThan(0.9);
    }
  });

  it('follows a 150 -> 300 Hz chirp within 1 % of the instantaneous frequency', () => {
    const { x, freq } = chirp(150, 300, 1.5);
    const tr = trackPitch(x);
    for (const i of inner(tr.frames)) {
      const want = freq(i * 0.01);
      expect(Math.abs(tr.f0[i]! - want) / want, `frame ${i}`).toBeLessThan(0.01);
    }
  });

  it('finds 60 and 480 Hz, the ends of the range', () => {
    for (const hz of [65, 480]) {
      const tr = trackPitch(tone(hz, 0.5));
      for (const i of inner(tr.frames)) expect(Math.abs(tr.f0[i]! - hz) / hz).toBeLessThan(0.01);
    }
  });

  it('calls silence and faint noise unvoiced, and a tone after silence voiced only where it sounds', () => {
    expect(Array.from(trackPitch(new Float64Array(SR)).f0).every((f) => f === 0)).toBe(true);
    let seed = 1;
    const noise = Float64Array.from({ length: SR }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 0.3 * (seed / 2 ** 31 - 0.5);
    });
    const voicedNoise = Array.from(trackPitch(noise).f0).filter((f) => f > 0).length;
    expect(voicedNoise).toBeLessThan(5);
    const x = new Float64Array(SR);
    x.set(tone(220, 0.5), SR / 2);
    const tr = trackPitch(x);
    for (let i = 0; i < 45; i++) expect(tr.f0[i], `frame ${i}`).toBe(0);
    for (let i = 55; i < 95; i++) expect(Math.abs(tr.f0[i]! - 220) / 220, `frame ${i}`).toBeLessThan(0.01);
    expect(trackPitch(new Float64Array(0)).frames).toBe(0);
  });
});

describe('prosody features (synthetic)', () => {
  it('has a named 19-d layout and its own versioned spec, beside an unchanged audio-mfcc-stats', () => {
    expect(PROSODY_DIM).toBe(19);
    expect(new Set(PROSODY_FEATURE_NAMES).size).toBe(19);
    expect(PROSODY_FEATURE_SPEC).toEqual({ name: 'audio-prosody', version: '1', dim: 19 });
    expect(AUDIO_FEATURE_SPEC(false)).toEqual({
      name: 'audio-mfcc-stats',
      version: '1',
      dim: 78,
      options: { vad: false },
    });
  });

  it('gives a perfectly periodic pulse train jitter and shimmer of about 0, and its F0', () => {
    const p = prosodyFrames(pulses(80, 1)); // 200 Hz
    const { jitter, shimmer } = jitterShimmer(p);
    expect(jitter).toBeLessThan(1e-3);
    expect(shimmer).toBeLessThan(1e-3);
    for (const i of inner(p.frames)) expect(Math.abs(p.f0[i]! - 200) / 200).toBeLessThan(0.01);
  });

  it('measures the shimmer of a pulse train whose amplitude steps every 0.1 s', () => {
    // Periods alternate 76 / 84 samples and amplitudes 0.8 / 0.6 within 10 ms frames: frames average
    // over cycles, so the frame-based estimates stay well below cycle-to-cycle values (5 %, 29 %)
    // but a 10 % amplitude step every 0.1 s shows up as shimmer.
    const x = new Float64Array(SR);
    let n = 0;
    let k = 0;
    while (n < x.length) {
      x[n] = Math.floor(n / 1600) % 2 === 0 ? 0.8 : 0.72;
      n += k++ % 2 === 0 ? 76 : 84;
    }
    const { shimmer } = jitterShimmer(prosodyFrames(x));
    // 9 steps of |0.8 − 0.72| over ~99 voiced pairs whose mean peak is 0.76: about 0.0096.
    expect(shimmer).toBeGreaterThan(0.005);
    expect(shimmer).toBeLessThan(0.02);
  });

  it('reports a 200 Hz tone: F0 stats in semitones, energy, ZCR and centroid', () => {
    const v = prosodyVector(tone(200, 1, 0.5));
    const at = (name: string): number => v[PROSODY_FEATURE_NAMES.indexOf(name)]!;
    const st200 = 12 * Math.log2(2); // 12 semitones above 100 Hz
    expect(at('f0_st_mean')).toBeCloseTo(st200, 1);
    expect(at('f0_st_p50')).toBeCloseTo(st200, 1);
    expect(at('f0_st_std')).toBeLessThan(0.2);
    expect(Math.abs(at('f0_st_slope'))).toBeLessThan(0.2);
    expect(at('voiced_fraction')).toBeGreaterThan(0.95);
    // mean x² of a 0.5 sine is 0.125: −9.03 dB.
    expect(at('energy_db_mean')).toBeCloseTo(10 * Math.log10(0.125), 0);
    // 2 zero crossings per period: 10 in every inner frame's 400 samples (399 pairs); the edge
    // frames, half zero padding, have fewer.
    const frames = prosodyFrames(tone(200, 1, 0.5, 0.3));
    for (const i of inner(frames.frames)) expect(frames.zcr[i]).toBeCloseTo(10 / 399, 10);
    expect(Math.abs(at('zcr_mean') - 10 / 399)).toBeLessThan(0.1 * (10 / 399));
    expect(Math.abs(at('centroid_hz_mean') - 200)).toBeLessThan(20);
    expect(at('flux_mean')).toBeLessThan(0.02);
    expect(at('jitter_local')).toBeLessThan(1e-3);
    expect(at('shimmer_local')).toBeLessThan(1e-2);
  });

  it('reports the F0 slope of a rising chirp in semitones per second', () => {
    // 150 -> 300 Hz over 1.5 s: 12 semitones, not linear in semitones, so the least-squares slope
    // is near 12 / 1.5 = 8 st/s; computed from the exact track it is 7.82.
    const { x, freq } = chirp(150, 300, 1.5);
    const v = prosodyVector(x);
    const ts = Array.from({ length: 149 }, (_, i) => (i + 1) * 0.01);
    const st = ts.map((t) => 12 * Math.log2(freq(t) / 100));
    const tm = ts.reduce((a, b) => a + b) / ts.length;
    const sm = st.reduce((a, b) => a + b) / st.length;
    const slope =
      ts.reduce((a, t, i) => a + (t - tm) * (st[i]! - sm), 0) / ts.reduce((a, t) => a + (t - tm) ** 2, 0);
    expect(v[PROSODY_FEATURE_NAMES.indexOf('f0_st_slope')]!).toBeCloseTo(slope, 1);
  });

  it('gives a silent clip zeros', () => {
    expect(Array.from(prosodyVector(new Float64Array(SR)))).toEqual(new Array(19).fill(0));
  });
});
