import { describe, expect, it } from 'vitest';
import { resample, resampleKernel } from '../src/features/audio/resample.js';
import { rng } from './support/rng.js';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * SPEC §3 written out directly, float64, dense kernel (every tap, no skipping): the independent
 * reference for resample().
 */
function specResample(x: Float64Array, sr: number, target: number): Float64Array {
  const g = gcd(sr, target);
  const L = sr / g;
  const M = target / g;
  const base = 0.99 * Math.min(L, M);
  const width = Math.ceil((6 * L) / base);
  const K = 2 * width + L;
  const k: number[][] = [];
  for (let j = 0; j < M; j++) {
    const row: number[] = [];
    for (let i = 0; i < K; i++) {
      const t = Math.min(6, Math.max(-6, base * (-j / M + (i - width) / L)));
      const sinc = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
      row.push(sinc * Math.cos((Math.PI * t) / 12) ** 2 * (base / L));
    }
    k.push(row);
  }
  const xp = [...new Array<number>(width).fill(0), ...x, ...new Array<number>(width + L).fill(0)];
  const y: number[] = [];
  for (let q = 0; q * L + K <= xp.length; q++) {
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let i = 0; i < K; i++) s += k[j]![i]! * xp[q * L + i]!;
      y.push(s);
    }
  }
  return Float64Array.from(y.slice(0, Math.ceil((M * x.length) / L)));
}

describe('resample vs the SPEC §3 formula (float64, random input)', () => {
  for (const [from, n] of [
    [44100, 4410 + 7],
    [8000, 1201],
    [22050, 2205 + 3],
    [48000, 4803],
    [24000, 999],
    [32000, 1000],
    [11025, 777],
  ] as const) {
    it(`${from} -> 16000 (${n} samples)`, () => {
      const r = rng(from);
      const x = Float64Array.from({ length: n }, r);
      const ours = resample(x, from, 16000);
      const ref = specResample(x, from, 16000);
      expect(ours).toHaveLength(Math.ceil((16000 * n) / from));
      expect(ref).toHaveLength(ours.length);
      let max = 0;
      for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i]! - ref[i]!));
      expect(max).toBeLessThan(1e-13);
    });
  }

  it('16000 -> 8000 (downsampling also matches)', () => {
    const x = Float64Array.from({ length: 1601 }, rng(5));
    const ours = resample(x, 16000, 8000);
    const ref = specResample(x, 16000, 8000);
    expect(ours).toHaveLength(801);
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i]! - ref[i]!)).toBeLessThan(1e-13);
  });
});

describe('resample behaviour', () => {
  it('returns the input itself when the rates are equal', () => {
    const x = new Float64Array([1, 2, 3]);
    expect(resample(x, 16000, 16000)).toBe(x);
  });

  it('output length is ceil(M·N/L) for short inputs too', () => {
    expect(resample(new Float64Array(1), 44100, 16000)).toHaveLength(1);
    expect(resample(new Float64Array(441), 44100, 16000)).toHaveLength(160);
    expect(resample(new Float64Array(442), 44100, 16000)).toHaveLength(161);
    expect(resample(new Float64Array(0), 8000, 16000)).toHaveLength(0);
    expect(resample(new Float64Array(3), 8000, 16000)).toHaveLength(6);
  });

  it('keeps a 1 kHz sine a 1 kHz sine (44.1 kHz -> 16 kHz), away from the edges', () => {
    const n = 44100;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 44100));
    const y = resample(x, 44100, 16000);
    let max = 0;
    for (let i = 200; i < y.length - 200; i++)
      max = Math.max(max, Math.abs(y[i]! - Math.sin((2 * Math.PI * 1000 * i) / 16000)));
    // passband ripple of a 6-zero-crossing Hann-windowed sinc
    expect(max).toBeLessThan(5e-3);
  });

  it('removes a tone above the new Nyquist (12 kHz at 48 kHz -> 16 kHz)', () => {
    const x = Float64Array.from({ length: 48000 }, (_, i) => Math.sin((2 * Math.PI * 12000 * i) / 48000));
    const y = resample(x, 48000, 16000);
    let rms = 0;
    for (let i = 500; i < y.length - 500; i++) rms += y[i]! * y[i]!;
    expect(Math.sqrt(rms / (y.length - 1000))).toBeLessThan(0.01);
  });

  it('the sparse kernel keeps every tap with |t| < 6', () => {
    const k = resampleKernel(44100, 16000);
    expect(k).toMatchObject({ L: 441, M: 160, width: 17 });
    for (let j = 0; j < k.M; j++) {
      // taps just outside the stored range are at the clamp (|t| = 6)
      for (const i of [k.start[j]! - 1, k.start[j]! + k.count[j]!]) {
        if (i < 0 || i >= 2 * k.width + k.L) continue;
        expect(Math.abs(158.4 * (-j / 160 + (i - 17) / 441))).toBeGreaterThanOrEqual(6);
      }
    }
  });

  it('rejects non-integer or non-positive rates', () => {
    expect(() => resample(new Float64Array(4), 44100.5, 16000)).toThrow(RangeError);
    expect(() => resample(new Float64Array(4), 0, 16000)).toThrow(RangeError);
  });
});
