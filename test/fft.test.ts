import { describe, expect, it } from 'vitest';
import { ComplexFft, RealFft } from '../src/features/audio/fft.js';
import { rng } from './support/rng.js';

/** Direct O(n²) DFT, the independent reference. */
function naiveDft(re: Float64Array, im: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((k * j) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sr += re[j]! * c - im[j]! * s;
      si += re[j]! * s + im[j]! * c;
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return { re: outRe, im: outIm };
}

function maxDiff(a: Float64Array, b: Float64Array, n = a.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// Sizes cover every butterfly: 8, 4, 2, 3, 5, generic primes (7, 11, 13, 97), and mixes.
const SIZES = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 20, 25, 30, 49, 64, 97, 100, 120, 121, 128, 200, 210, 256,
  400, 512, 1000,
];

describe('ComplexFft vs naive DFT', () => {
  for (const n of SIZES) {
    it(`n = ${n}`, () => {
      const r = rng(n);
      const re = Float64Array.from({ length: n }, r);
      const im = Float64Array.from({ length: n }, r);
      const ref = naiveDft(re, im);
      const fft = new ComplexFft(n);
      // twice on the same plan: no state leaks between calls
      for (let rep = 0; rep < 2; rep++) {
        const xr = re.slice();
        const xi = im.slice();
        fft.forward(xr, xi);
        // error of a float64 FFT grows ~ log n; the naive DFT's own error ~ n·eps
        expect(maxDiff(xr, ref.re)).toBeLessThan(1e-12 * n);
        expect(maxDiff(xi, ref.im)).toBeLessThan(1e-12 * n);
      }
    });
  }

  it('rejects a non-positive size', () => {
    expect(() => new ComplexFft(0)).toThrow(RangeError);
    expect(() => new ComplexFft(2.5)).toThrow(RangeError);
  });
});

describe('RealFft vs naive DFT', () => {
  for (const n of [1, 2, 3, 4, 6, 7, 10, 16, 50, 99, 200, 256, 400, 512, 1024]) {
    it(`n = ${n}: bins 0…n/2, and the power spectrum with a window`, () => {
      const r = rng(1000 + n);
      const x = Float64Array.from({ length: n }, r);
      const ref = naiveDft(x, new Float64Array(n));
      const fft = new RealFft(n);
      const bins = Math.floor(n / 2) + 1;
      expect(fft.bins).toBe(bins);
      const re = new Float64Array(bins);
      const im = new Float64Array(bins);
      fft.forward(x, re, im);
      expect(maxDiff(re, ref.re, bins)).toBeLessThan(1e-12 * n);
      expect(maxDiff(im, ref.im, bins)).toBeLessThan(1e-12 * n);

      // powerSpectrum reads x[offset…offset+n) · window
      const w = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
      const padded = new Float64Array(n + 7);
      padded.set(x, 5);
      const xw = x.map((v, i) => v * w[i]!);
      const refW = naiveDft(xw, new Float64Array(n));
      const power = new Float64Array(bins);
      fft.powerSpectrum(padded, 5, w, power);
      for (let k = 0; k < bins; k++) {
        const p = refW.re[k]! ** 2 + refW.im[k]! ** 2;
        expect(Math.abs(power[k]! - p)).toBeLessThan(1e-11 * n * (1 + p));
      }
    });
  }

  it('a cosine at bin 10 of n = 400 has power (n/2)² there and ~0 elsewhere', () => {
    const n = 400;
    const x = Float64Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * 10 * i) / n));
    const power = new Float64Array(201);
    new RealFft(n).powerSpectrum(x, 0, undefined, power);
    expect(power[10]).toBeCloseTo(200 * 200, 6);
    let rest = 0;
    for (let k = 0; k < 201; k++) if (k !== 10) rest = Math.max(rest, power[k]!);
    expect(rest).toBeLessThan(1e-20);
  });
});
