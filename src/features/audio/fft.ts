/**
 * Mixed-radix FFTs on split re/im Float64Arrays.
 *
 * ComplexFft: Stockham autosort (no bit reversal), decimation in frequency, one pass per
 * factor of n, with hand-written radix 2, 3, 4, 5 butterflies and a generic O(r²) one for any
 * other prime. RealFft: a real FFT of even n through one complex FFT of n/2 on the packed
 * even/odd samples, then the usual split (e.g. Numerical Recipes §12.3). Plans (factors,
 * twiddles, scratch) are built once per size; a transform allocates nothing.
 *
 * Forward transforms only, unnormalised: X[k] = Σ_n x[n]·e^{−2πikn/N} (numpy/torch convention).
 */

interface Stage {
  radix: number;
  /** Length of each sub-transform after this pass (n_c / radix). */
  m: number;
  /** Stride of this pass (product of the radices before it). */
  s: number;
  /** Twiddles w^{j·p}, w = e^{−2πi/n_c}, at [p·(radix−1) + j − 1], j = 1…radix−1, p = 0…m−1. */
  twr: Float64Array;
  twi: Float64Array;
}

/*
 * Radices. Today's two sizes (MFCC's n_fft 400 and prosody's 400-sample window, a complex FFT of
 * 200 = 8·5·5) use only the radix-8 and radix-5 passes; the radix-2, 3 and 4 passes and the generic
 * pass are kept so that ComplexFft and RealFft are correct for any size (a head or a spec with
 * another window), and test/fft.test.ts checks every pass against a direct DFT.
 */
function factorize(n: number): number[] {
  const out: number[] = [];
  let r = n;
  // 8 and 4 first (fewest passes and multiplies per point), then 2, 3, 5 and whatever primes remain.
  while (r % 8 === 0) {
    out.push(8);
    r /= 8;
  }
  while (r % 4 === 0) {
    out.push(4);
    r /= 4;
  }
  for (const p of [2, 3, 5]) {
    while (r % p === 0) {
      out.push(p);
      r /= p;
    }
  }
  for (let p = 7; p * p <= r; p += 2) {
    while (r % p === 0) {
      out.push(p);
      r /= p;
    }
  }
  if (r > 1) out.push(r);
  return out;
}

/** Complex forward FFT of any size n ≥ 1. */
export class ComplexFft {
  readonly n: number;
  private readonly stages: Stage[];
  private readonly sr: Float64Array;
  private readonly si: Float64Array;
  /** Scratch for the generic butterfly, and its roots of unity ω^k = e^{−2πik/r}. */
  private readonly gr: Float64Array;
  private readonly gi: Float64Array;
  private readonly roots = new Map<number, { re: Float64Array; im: Float64Array }>();

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT size must be a positive integer, got ${n}`);
    this.n = n;
    this.stages = [];
    let nc = n;
    let s = 1;
    let maxRadix = 1;
    for (const radix of factorize(n)) {
      const m = nc / radix;
      const twr = new Float64Array(m * (radix - 1));
      const twi = new Float64Array(m * (radix - 1));
      for (let p = 0; p < m; p++) {
        for (let j = 1; j < radix; j++) {
          const a = (-2 * Math.PI * ((j * p) % nc)) / nc;
          twr[p * (radix - 1) + j - 1] = Math.cos(a);
          twi[p * (radix - 1) + j - 1] = Math.sin(a);
        }
      }
      this.stages.push({ radix, m, s, twr, twi });
      if (radix > 5 && !this.roots.has(radix)) {
        const re = new Float64Array(radix);
        const im = new Float64Array(radix);
        for (let k = 0; k < radix; k++) {
          re[k] = Math.cos((-2 * Math.PI * k) / radix);
          im[k] = Math.sin((-2 * Math.PI * k) / radix);
        }
        this.roots.set(radix, { re, im });
      }
      maxRadix = Math.max(maxRadix, radix);
      nc = m;
      s *= radix;
    }
    this.sr = new Float64Array(n);
    this.si = new Float64Array(n);
    this.gr = new Float64Array(maxRadix * 2);
    this.gi = new Float64Array(maxRadix * 2);
  }

  /** In place: (re, im) of length n become their DFT. */
  forward(re: Float64Array, im: Float64Array): void {
    if (this.transform(re, im) === 1) {
      re.set(this.sr.subarray(0, this.n));
      im.set(this.si.subarray(0, this.n));
    }
  }

  /**
   * Runs all passes ping-ponging between (re, im) and the plan's scratch; returns 0 when the
   * result is in (re, im), 1 when it is in `scratchRe` / `scratchIm`.
   */
  transform(re: Float64Array, im: Float64Array): 0 | 1 {
    let xr = re;
    let xi = im;
    let yr = this.sr;
    let yi = this.si;
    let where: 0 | 1 = 0;
    for (const st of this.stages) {
      switch (st.radix) {
        case 2:
          pass2(xr, xi, yr, yi, st.m, st.s, st.twr, st.twi);
          break;
        case 3:
          pass3(xr, xi, yr, yi, st.m, st.s, st.twr, st.twi);
          break;
        case 4:
          pass4(xr, xi, yr, yi, st.m, st.s, st.twr, st.twi);
          break;
        case 5:
          pass5(xr, xi, yr, yi, st.m, st.s, st.twr, st.twi);
          break;
        case 8:
          pass8(xr, xi, yr, yi, st.m, st.s, st.twr, st.twi);
          break;
        default: {
          const w = this.roots.get(st.radix)!;
          passGeneric(xr, xi, yr, yi, st.radix, st.m, st.s, st.twr, st.twi, w.re, w.im, this.gr, this.gi);
        }
      }
      const tr = xr;
      const ti = xi;
      xr = yr;
      xi = yi;
      yr = tr;
      yi = ti;
      where = where === 0 ? 1 : 0;
    }
    return where;
  }

  get scratchRe(): Float64Array {
    return this.sr;
  }

  get scratchIm(): Float64Array {
    return this.si;
  }
}

// Each pass: for p < m, q < s: a_k = x[q + s(p + k·m)], b_j = Σ_k a_k ω_r^{jk},
// y[q + s(r·p + j)] = b_j · w^{jp}. (Stockham DIF; after the last pass y is in natural order.)
// For p = 0 the twiddles are exactly 1 and are skipped (the whole last pass, where m = 1).

function pass2(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = twr[p]!;
    const w1i = twi[p]!;
    const i0 = s * p;
    const o0 = 2 * s * p;
    for (let q = 0; q < s; q++) {
      const a0 = i0 + q;
      const a1 = a0 + sm;
      const ar = xr[a0]!;
      const ai = xi[a0]!;
      const br = xr[a1]!;
      const bi = xi[a1]!;
      const o = o0 + q;
      yr[o] = ar + br;
      yi[o] = ai + bi;
      const dr = ar - br;
      const di = ai - bi;
      if (p === 0) {
        yr[o + s] = dr;
        yi[o + s] = di;
      } else {
        yr[o + s] = dr * w1r - di * w1i;
        yi[o + s] = dr * w1i + di * w1r;
      }
    }
  }
}

const C3 = -0.5;
const S3 = Math.sin((2 * Math.PI) / 3);

function pass3(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = twr[2 * p]!;
    const w1i = twi[2 * p]!;
    const w2r = twr[2 * p + 1]!;
    const w2i = twi[2 * p + 1]!;
    const i0 = s * p;
    const o0 = 3 * s * p;
    for (let q = 0; q < s; q++) {
      const k0 = i0 + q;
      const a0r = xr[k0]!;
      const a0i = xi[k0]!;
      const a1r = xr[k0 + sm]!;
      const a1i = xi[k0 + sm]!;
      const a2r = xr[k0 + 2 * sm]!;
      const a2i = xi[k0 + 2 * sm]!;
      const t1r = a1r + a2r;
      const t1i = a1i + a2i;
      const rr = a0r + C3 * t1r;
      const ri = a0i + C3 * t1i;
      // ∓i·S3·(a1 − a2)
      const ur = S3 * (a1i - a2i);
      const ui = -S3 * (a1r - a2r);
      const o = o0 + q;
      yr[o] = a0r + t1r;
      yi[o] = a0i + t1i;
      const b1r = rr + ur;
      const b1i = ri + ui;
      const b2r = rr - ur;
      const b2i = ri - ui;
      if (p === 0) {
        yr[o + s] = b1r;
        yi[o + s] = b1i;
        yr[o + 2 * s] = b2r;
        yi[o + 2 * s] = b2i;
      } else {
        yr[o + s] = b1r * w1r - b1i * w1i;
        yi[o + s] = b1r * w1i + b1i * w1r;
        yr[o + 2 * s] = b2r * w2r - b2i * w2i;
        yi[o + 2 * s] = b2r * w2i + b2i * w2r;
      }
    }
  }
}

function pass4(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = twr[3 * p]!;
    const w1i = twi[3 * p]!;
    const w2r = twr[3 * p + 1]!;
    const w2i = twi[3 * p + 1]!;
    const w3r = twr[3 * p + 2]!;
    const w3i = twi[3 * p + 2]!;
    const i0 = s * p;
    const o0 = 4 * s * p;
    for (let q = 0; q < s; q++) {
      const k0 = i0 + q;
      const a0r = xr[k0]!;
      const a0i = xi[k0]!;
      const a1r = xr[k0 + sm]!;
      const a1i = xi[k0 + sm]!;
      const a2r = xr[k0 + 2 * sm]!;
      const a2i = xi[k0 + 2 * sm]!;
      const a3r = xr[k0 + 3 * sm]!;
      const a3i = xi[k0 + 3 * sm]!;
      const t0r = a0r + a2r;
      const t0i = a0i + a2i;
      const t1r = a0r - a2r;
      const t1i = a0i - a2i;
      const t2r = a1r + a3r;
      const t2i = a1i + a3i;
      const t3r = a1r - a3r;
      const t3i = a1i - a3i;
      const o = o0 + q;
      yr[o] = t0r + t2r;
      yi[o] = t0i + t2i;
      // b1 = t1 − i·t3, b2 = t0 − t2, b3 = t1 + i·t3
      const b1r = t1r + t3i;
      const b1i = t1i - t3r;
      const b2r = t0r - t2r;
      const b2i = t0i - t2i;
      const b3r = t1r - t3i;
      const b3i = t1i + t3r;
      if (p === 0) {
        yr[o + s] = b1r;
        yi[o + s] = b1i;
        yr[o + 2 * s] = b2r;
        yi[o + 2 * s] = b2i;
        yr[o + 3 * s] = b3r;
        yi[o + 3 * s] = b3i;
      } else {
        yr[o + s] = b1r * w1r - b1i * w1i;
        yi[o + s] = b1r * w1i + b1i * w1r;
        yr[o + 2 * s] = b2r * w2r - b2i * w2i;
        yi[o + 2 * s] = b2r * w2i + b2i * w2r;
        yr[o + 3 * s] = b3r * w3r - b3i * w3i;
        yi[o + 3 * s] = b3r * w3i + b3i * w3r;
      }
    }
  }
}

const C51 = Math.cos((2 * Math.PI) / 5);
const C52 = Math.cos((4 * Math.PI) / 5);
const S51 = Math.sin((2 * Math.PI) / 5);
const S52 = Math.sin((4 * Math.PI) / 5);

function pass5(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = twr[4 * p]!;
    const w1i = twi[4 * p]!;
    const w2r = twr[4 * p + 1]!;
    const w2i = twi[4 * p + 1]!;
    const w3r = twr[4 * p + 2]!;
    const w3i = twi[4 * p + 2]!;
    const w4r = twr[4 * p + 3]!;
    const w4i = twi[4 * p + 3]!;
    const i0 = s * p;
    const o0 = 5 * s * p;
    for (let q = 0; q < s; q++) {
      const k0 = i0 + q;
      const a0r = xr[k0]!;
      const a0i = xi[k0]!;
      const a1r = xr[k0 + sm]!;
      const a1i = xi[k0 + sm]!;
      const a2r = xr[k0 + 2 * sm]!;
      const a2i = xi[k0 + 2 * sm]!;
      const a3r = xr[k0 + 3 * sm]!;
      const a3i = xi[k0 + 3 * sm]!;
      const a4r = xr[k0 + 4 * sm]!;
      const a4i = xi[k0 + 4 * sm]!;
      const t1r = a1r + a4r;
      const t1i = a1i + a4i;
      const t2r = a2r + a3r;
      const t2i = a2i + a3i;
      const t3r = a1r - a4r;
      const t3i = a1i - a4i;
      const t4r = a2r - a3r;
      const t4i = a2i - a3i;
      const r1r = a0r + C51 * t1r + C52 * t2r;
      const r1i = a0i + C51 * t1i + C52 * t2i;
      const r2r = a0r + C52 * t1r + C51 * t2r;
      const r2i = a0i + C52 * t1i + C51 * t2i;
      const i1r = S51 * t3r + S52 * t4r;
      const i1i = S51 * t3i + S52 * t4i;
      const i2r = S52 * t3r - S51 * t4r;
      const i2i = S52 * t3i - S51 * t4i;
      const o = o0 + q;
      yr[o] = a0r + t1r + t2r;
      yi[o] = a0i + t1i + t2i;
      // b1 = r1 − i·i1, b4 = r1 + i·i1, b2 = r2 − i·i2, b3 = r2 + i·i2
      const b1r = r1r + i1i;
      const b1i = r1i - i1r;
      const b4r = r1r - i1i;
      const b4i = r1i + i1r;
      const b2r = r2r + i2i;
      const b2i = r2i - i2r;
      const b3r = r2r - i2i;
      const b3i = r2i + i2r;
      if (p === 0) {
        yr[o + s] = b1r;
        yi[o + s] = b1i;
        yr[o + 2 * s] = b2r;
        yi[o + 2 * s] = b2i;
        yr[o + 3 * s] = b3r;
        yi[o + 3 * s] = b3i;
        yr[o + 4 * s] = b4r;
        yi[o + 4 * s] = b4i;
      } else {
        yr[o + s] = b1r * w1r - b1i * w1i;
        yi[o + s] = b1r * w1i + b1i * w1r;
        yr[o + 2 * s] = b2r * w2r - b2i * w2i;
        yi[o + 2 * s] = b2r * w2i + b2i * w2r;
        yr[o + 3 * s] = b3r * w3r - b3i * w3i;
        yi[o + 3 * s] = b3r * w3i + b3i * w3r;
        yr[o + 4 * s] = b4r * w4r - b4i * w4i;
        yi[o + 4 * s] = b4r * w4i + b4i * w4r;
      }
    }
  }
}

const SQRT1_2 = Math.SQRT1_2;

/** Radix 8: two radix-4 DFTs of the even and odd inputs, joined with ω8^k (k = 0…3). */
function pass8(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const tb = 7 * p;
    const i0 = s * p;
    const o0 = 8 * s * p;
    for (let q = 0; q < s; q++) {
      const k0 = i0 + q;
      const a0r = xr[k0]!;
      const a0i = xi[k0]!;
      const a1r = xr[k0 + sm]!;
      const a1i = xi[k0 + sm]!;
      const a2r = xr[k0 + 2 * sm]!;
      const a2i = xi[k0 + 2 * sm]!;
      const a3r = xr[k0 + 3 * sm]!;
      const a3i = xi[k0 + 3 * sm]!;
      const a4r = xr[k0 + 4 * sm]!;
      const a4i = xi[k0 + 4 * sm]!;
      const a5r = xr[k0 + 5 * sm]!;
      const a5i = xi[k0 + 5 * sm]!;
      const a6r = xr[k0 + 6 * sm]!;
      const a6i = xi[k0 + 6 * sm]!;
      const a7r = xr[k0 + 7 * sm]!;
      const a7i = xi[k0 + 7 * sm]!;
      // even inputs a0 a2 a4 a6 -> E0…E3
      const t0r = a0r + a4r;
      const t0i = a0i + a4i;
      const t1r = a0r - a4r;
      const t1i = a0i - a4i;
      const t2r = a2r + a6r;
      const t2i = a2i + a6i;
      const t3r = a2r - a6r;
      const t3i = a2i - a6i;
      const e0r = t0r + t2r;
      const e0i = t0i + t2i;
      const e2r = t0r - t2r;
      const e2i = t0i - t2i;
      const e1r = t1r + t3i; // t1 − i·t3
      const e1i = t1i - t3r;
      const e3r = t1r - t3i; // t1 + i·t3
      const e3i = t1i + t3r;
      // odd inputs a1 a3 a5 a7 -> O0…O3, then ω8^k·O_k
      const u0r = a1r + a5r;
      const u0i = a1i + a5i;
      const u1r = a1r - a5r;
      const u1i = a1i - a5i;
      const u2r = a3r + a7r;
      const u2i = a3i + a7i;
      const u3r = a3r - a7r;
      const u3i = a3i - a7i;
      const o0r = u0r + u2r;
      const o0i = u0i + u2i;
      // ω8^2·O2 = −i·(u0 − u2)
      const o2r = u0i - u2i;
      const o2i = -(u0r - u2r);
      const v1r = u1r + u3i; // O1 = u1 − i·u3
      const v1i = u1i - u3r;
      const v3r = u1r - u3i; // O3 = u1 + i·u3
      const v3i = u1i + u3r;
      // ω8 = (1 − i)/√2, ω8^3 = (−1 − i)/√2
      const o1r = SQRT1_2 * (v1r + v1i);
      const o1i = SQRT1_2 * (v1i - v1r);
      const o3r = SQRT1_2 * (v3i - v3r);
      const o3i = -SQRT1_2 * (v3r + v3i);
      const b0r = e0r + o0r;
      const b0i = e0i + o0i;
      const b4r = e0r - o0r;
      const b4i = e0i - o0i;
      const b1r = e1r + o1r;
      const b1i = e1i + o1i;
      const b5r = e1r - o1r;
      const b5i = e1i - o1i;
      const b2r = e2r + o2r;
      const b2i = e2i + o2i;
      const b6r = e2r - o2r;
      const b6i = e2i - o2i;
      const b3r = e3r + o3r;
      const b3i = e3i + o3i;
      const b7r = e3r - o3r;
      const b7i = e3i - o3i;
      const o = o0 + q;
      yr[o] = b0r;
      yi[o] = b0i;
      if (p === 0) {
        yr[o + s] = b1r;
        yi[o + s] = b1i;
        yr[o + 2 * s] = b2r;
        yi[o + 2 * s] = b2i;
        yr[o + 3 * s] = b3r;
        yi[o + 3 * s] = b3i;
        yr[o + 4 * s] = b4r;
        yi[o + 4 * s] = b4i;
        yr[o + 5 * s] = b5r;
        yi[o + 5 * s] = b5i;
        yr[o + 6 * s] = b6r;
        yi[o + 6 * s] = b6i;
        yr[o + 7 * s] = b7r;
        yi[o + 7 * s] = b7i;
      } else {
        let wr = twr[tb]!;
        let wi = twi[tb]!;
        yr[o + s] = b1r * wr - b1i * wi;
        yi[o + s] = b1r * wi + b1i * wr;
        wr = twr[tb + 1]!;
        wi = twi[tb + 1]!;
        yr[o + 2 * s] = b2r * wr - b2i * wi;
        yi[o + 2 * s] = b2r * wi + b2i * wr;
        wr = twr[tb + 2]!;
        wi = twi[tb + 2]!;
        yr[o + 3 * s] = b3r * wr - b3i * wi;
        yi[o + 3 * s] = b3r * wi + b3i * wr;
        wr = twr[tb + 3]!;
        wi = twi[tb + 3]!;
        yr[o + 4 * s] = b4r * wr - b4i * wi;
        yi[o + 4 * s] = b4r * wi + b4i * wr;
        wr = twr[tb + 4]!;
        wi = twi[tb + 4]!;
        yr[o + 5 * s] = b5r * wr - b5i * wi;
        yi[o + 5 * s] = b5r * wi + b5i * wr;
        wr = twr[tb + 5]!;
        wi = twi[tb + 5]!;
        yr[o + 6 * s] = b6r * wr - b6i * wi;
        yi[o + 6 * s] = b6r * wi + b6i * wr;
        wr = twr[tb + 6]!;
        wi = twi[tb + 6]!;
        yr[o + 7 * s] = b7r * wr - b7i * wi;
        yi[o + 7 * s] = b7r * wi + b7i * wr;
      }
    }
  }
}

/** Any radix r: a direct r-point DFT per butterfly (used for primes > 5). */
function passGeneric(
  xr: Float64Array,
  xi: Float64Array,
  yr: Float64Array,
  yi: Float64Array,
  r: number,
  m: number,
  s: number,
  twr: Float64Array,
  twi: Float64Array,
  wr: Float64Array,
  wi: Float64Array,
  ar: Float64Array,
  ai: Float64Array,
): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const i0 = s * p;
    const o0 = r * s * p;
    const tb = p * (r - 1);
    for (let q = 0; q < s; q++) {
      for (let k = 0; k < r; k++) {
        ar[k] = xr[i0 + q + k * sm]!;
        ai[k] = xi[i0 + q + k * sm]!;
      }
      for (let j = 0; j < r; j++) {
        let br = 0;
        let bi = 0;
        let e = 0; // (j·k) mod r, stepped without a multiply
        for (let k = 0; k < r; k++) {
          const cr = wr[e]!;
          const ci = wi[e]!;
          const vr = ar[k]!;
          const vi = ai[k]!;
          br += vr * cr - vi * ci;
          bi += vr * ci + vi * cr;
          e += j;
          if (e >= r) e -= r;
        }
        const o = o0 + q + j * s;
        if (j === 0) {
          yr[o] = br;
          yi[o] = bi;
        } else {
          const tr = twr[tb + j - 1]!;
          const ti = twi[tb + j - 1]!;
          yr[o] = br * tr - bi * ti;
          yi[o] = br * ti + bi * tr;
        }
      }
    }
  }
}

/**
 * Real forward FFT of size n: bins k = 0…n/2 (⌊n/2⌋ for odd n). Even n packs z[j] = x[2j] + i·x[2j+1]
 * into one complex FFT of n/2 and splits: X[k] = E[k] + e^{−2πik/n}·O[k] with
 * E[k] = (Z[k] + conj Z[h−k]) / 2, O[k] = (Z[k] − conj Z[h−k]) / 2i, h = n/2. Odd n runs a complex
 * FFT of n on (x, 0).
 */
export class RealFft {
  readonly n: number;
  /** Number of output bins: ⌊n/2⌋ + 1. */
  readonly bins: number;
  private readonly half: number;
  private readonly cfft: ComplexFft;
  private readonly zr: Float64Array;
  private readonly zi: Float64Array;
  /** e^{−2πik/n}, k = 0…h. */
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT size must be a positive integer, got ${n}`);
    this.n = n;
    this.bins = Math.floor(n / 2) + 1;
    const even = n % 2 === 0 && n >= 2;
    this.half = even ? n / 2 : 0;
    this.cfft = new ComplexFft(even ? n / 2 : n);
    this.zr = new Float64Array(this.cfft.n);
    this.zi = new Float64Array(this.cfft.n);
    this.wr = new Float64Array(this.half + 1);
    this.wi = new Float64Array(this.half + 1);
    for (let k = 0; k <= this.half; k++) {
      this.wr[k] = Math.cos((-2 * Math.PI * k) / n);
      this.wi[k] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** X = rfft(x): writes bins 0…⌊n/2⌋ of the real and imaginary parts into outRe / outIm. */
  forward(x: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.load(x, 0, undefined);
    this.split(outRe, outIm, undefined);
  }

  /**
   * |rfft(x[offset…offset+n) · window)|² into out[0…bins): the STFT power spectrum of one frame,
   * windowing fused into the packing step. `window` may be omitted (rectangular).
   */
  powerSpectrum(x: Float64Array, offset: number, window: Float64Array | undefined, out: Float64Array): void {
    this.load(x, offset, window);
    this.split(undefined, undefined, out);
  }

  private load(x: Float64Array, offset: number, window: Float64Array | undefined): void {
    const zr = this.zr;
    const zi = this.zi;
    if (this.half === 0) {
      for (let j = 0; j < this.n; j++) {
        zr[j] = window === undefined ? x[offset + j]! : x[offset + j]! * window[j]!;
        zi[j] = 0;
      }
      return;
    }
    const h = this.half;
    if (window === undefined) {
      for (let j = 0, i = offset; j < h; j++, i += 2) {
        zr[j] = x[i]!;
        zi[j] = x[i + 1]!;
      }
    } else {
      for (let j = 0, i = offset; j < h; j++, i += 2) {
        zr[j] = x[i]! * window[2 * j]!;
        zi[j] = x[i + 1]! * window[2 * j + 1]!;
      }
    }
  }

  private split(
    outRe: Float64Array | undefined,
    outIm: Float64Array | undefined,
    power: Float64Array | undefined,
  ): void {
    const where = this.cfft.transform(this.zr, this.zi);
    const Zr = where === 0 ? this.zr : this.cfft.scratchRe;
    const Zi = where === 0 ? this.zi : this.cfft.scratchIm;
    if (this.half === 0) {
      for (let k = 0; k < this.bins; k++) {
        const re = Zr[k]!;
        const im = Zi[k]!;
        if (power !== undefined) power[k] = re * re + im * im;
        else {
          outRe![k] = re;
          outIm![k] = im;
        }
      }
      return;
    }
    const h = this.half;
    const wr = this.wr;
    const wi = this.wi;
    // k = 0 and k = h: Z[h] ≡ Z[0], so X[0] = Re Z0 + Im Z0, X[h] = Re Z0 − Im Z0 (both real).
    const z0r = Zr[0]!;
    const z0i = Zi[0]!;
    const x0 = z0r + z0i;
    const xh = z0r - z0i;
    if (power !== undefined) {
      power[0] = x0 * x0;
      power[h] = xh * xh;
    } else {
      outRe![0] = x0;
      outIm![0] = 0;
      outRe![h] = xh;
      outIm![h] = 0;
    }
    // Bins k and h−k use the same pair Z[k], Z[h−k]: compute both from one load.
    for (let k = 1, c = h - 1; k <= c; k++, c--) {
      const ar = Zr[k]!;
      const ai = Zi[k]!;
      const br = Zr[c]!;
      const bi = Zi[c]!;
      // E = (Z[k] + conj Z[h−k]) / 2, O = (Z[k] − conj Z[h−k]) / 2i
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const w1r = wr[k]!;
      const w1i = wi[k]!;
      const xkr = er + w1r * or - w1i * oi;
      const xki = ei + w1r * oi + w1i * or;
      // For h−k: E' = conj E, O' = conj O and w^{h−k} = −conj w^k.
      const xcr = er - w1r * or + w1i * oi;
      const xci = -ei + w1r * oi + w1i * or;
      if (power !== undefined) {
        power[k] = xkr * xkr + xki * xki;
        power[c] = xcr * xcr + xci * xci;
      } else {
        outRe![k] = xkr;
        outIm![k] = xki;
        outRe![c] = xcr;
        outIm![c] = xci;
      }
    }
  }
}
