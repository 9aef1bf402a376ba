/**
 * Band-limited resampling exactly as `torchaudio.functional.resample(x, from, to)` with its
 * defaults (sinc interpolation with a Hann window, lowpass_filter_width 6, rolloff 0.99), in
 * float64: ../shared/fixtures/mfcc/SPEC.md §3, torchaudio 0.13 `_get_sinc_resample_kernel` and
 * `_apply_sinc_resample_kernel`.
 */

const LOWPASS_FILTER_WIDTH = 6;
const ROLLOFF = 0.99;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * The polyphase kernel, kept sparse: for phase j only taps [start[j], start[j] + count[j]) are
 * stored. Outside |t| < 6 (t clamped to ±6) torchaudio's tap is sin(6π)/(6π)·cos(π/2)²·base/L,
 * about 1e-49: zero for every purpose, so those taps are skipped.
 */
export interface ResampleKernel {
  /** Input step per output block (orig / gcd). */
  L: number;
  /** Outputs per block (new / gcd). */
  M: number;
  width: number;
  start: Int32Array;
  count: Int32Array;
  /** Taps of phase j at offset[j] … offset[j] + count[j]. */
  offset: Int32Array;
  taps: Float64Array;
}

/** Builds the kernel of SPEC §3 for integer rates `from` -> `to`. */
export function resampleKernel(from: number, to: number): ResampleKernel {
  const g = gcd(from, to);
  const L = from / g;
  const M = to / g;
  const base = Math.min(L, M) * ROLLOFF;
  const width = Math.ceil((LOWPASS_FILTER_WIDTH * L) / base);
  const K = 2 * width + L;
  const start = new Int32Array(M);
  const count = new Int32Array(M);
  const offset = new Int32Array(M);
  // |t| < 6 ⇔ i ∈ (width + L·(j/M − 6/base), width + L·(j/M + 6/base)); one tap of margin each side
  // so that rounding never drops a tap that the formula below makes non-negligible.
  const reach = (LOWPASS_FILTER_WIDTH * L) / base;
  let total = 0;
  for (let j = 0; j < M; j++) {
    const centre = width + (L * j) / M;
    const lo = Math.max(0, Math.floor(centre - reach) - 1);
    const hi = Math.min(K - 1, Math.ceil(centre + reach) + 1);
    start[j] = lo;
    count[j] = hi - lo + 1;
    offset[j] = total;
    total += hi - lo + 1;
  }
  const taps = new Float64Array(total);
  for (let j = 0; j < M; j++) {
    const lo = start[j]!;
    const o = offset[j]!;
    for (let n = 0; n < count[j]!; n++) {
      const i = lo + n;
      // Same operation order as torchaudio: idx = (i − width) / L; t = (−j / M + idx) · base.
      let t = (-j / M + (i - width) / L) * base;
      t = Math.min(LOWPASS_FILTER_WIDTH, Math.max(-LOWPASS_FILTER_WIDTH, t));
      const c = Math.cos((t * Math.PI) / LOWPASS_FILTER_WIDTH / 2);
      const window = c * c;
      const pt = t * Math.PI;
      const k = pt === 0 ? 1 : Math.sin(pt) / pt;
      taps[o + n] = k * (window * (base / L));
    }
  }
  return { L, M, width, start, count, offset, taps };
}

/**
 * Resamples `x` from `from` Hz to `to` Hz (positive integers). Output length ceil(to·N / from).
 * Returns `x` itself (not a copy) when from === to, as torchaudio does.
 *
 * y[q·M + j] = Σ_i k[j][i] · xp[q·L + i], xp = [width zeros] ++ x ++ [width + L zeros]: the whole
 * signal through StreamResampler, which computes exactly that.
 */
export function resample(x: Float64Array, from: number, to: number): Float64Array {
  const s = new StreamResampler(from, to);
  if (from === to) return x;
  const head = s.push(x);
  const tail = s.end();
  if (tail.length === 0) return head;
  const y = new Float64Array(head.length + tail.length);
  y.set(head);
  y.set(tail, head.length);
  return y;
}

/**
 * Resampling of a signal that arrives in blocks: `push` returns every output sample that the
 * input so far determines, `end` the rest, so that the concatenated outputs do not depend on how
 * the input was cut; memory holds one kernel's span of input, not the signal.
 */
export class StreamResampler {
  private readonly kern: ResampleKernel | undefined;
  /** Padded input from xp index `base` on (xp as in `resample`: `width` zeros first). */
  private buf: Float64Array;
  private len = 0;
  private base = 0;
  /** The next output block q (outputs q·M … q·M + M − 1). */
  private q = 0;
  private inputs = 0;
  private outputs = 0;
  /** Input samples one output block reads (from its q·L on). */
  private readonly span: number = 0;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from <= 0 || to <= 0) {
      throw new RangeError(`resample: rates must be positive integers, got ${from} -> ${to}`);
    }
    this.kern = from === to ? undefined : resampleKernel(from, to);
    this.buf = new Float64Array(this.kern === undefined ? 0 : 2 * this.kern.width + 2 * this.kern.L);
    if (this.kern !== undefined) {
      this.len = this.kern.width; // the leading zeros of xp
      const { M, start, count } = this.kern;
      for (let j = 0; j < M; j++) this.span = Math.max(this.span, start[j]! + count[j]!);
    }
  }

  push(x: Float64Array): Float64Array {
    this.inputs += x.length;
    if (this.kern === undefined) return x;
    this.append(x);
    return this.emit(Number.POSITIVE_INFINITY);
  }

  /** The outputs left once the input has ended (resample's trailing zeros). */
  end(): Float64Array {
    if (this.kern === undefined) return new Float64Array(0);
    const { L, M, width } = this.kern;
    // resample's trailing zeros, and a kernel's span more: the last block's unused phases may
    // reach past them, the outputs kept never do.
    this.append(new Float64Array(width + L + this.span));
    return this.emit(Math.ceil((M * this.inputs) / L));
  }

  private append(x: Float64Array): void {
    if (this.len + x.length > this.buf.length) {
      const grown = new Float64Array(Math.max(this.len + x.length, 2 * this.buf.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(x, this.len);
    this.len += x.length;
  }

  /** Every output block whose taps lie in the buffer, up to `limit` outputs in all. */
  private emit(limit: number): Float64Array {
    const { L, M, start, count, offset, taps } = this.kern!;
    // Block q needs xp[q·L … q·L + span); the buffer holds xp[base … base + len).
    const ready = Math.max(0, Math.floor((this.base + this.len - this.span) / L) + 1 - this.q);
    const n = Math.max(0, Math.min(ready * M, limit - this.outputs));
    const y = new Float64Array(n);
    const xp = this.buf;
    const first = this.q * L - this.base; // where the next block's input starts in the buffer
    for (let j = 0; j < M; j++) {
      const s = start[j]!;
      const c = count[j]!;
      const o = offset[j]!;
      for (let out = j, b = first + s; out < n; out += M, b += L) {
        let acc = 0;
        for (let i = 0; i < c; i++) acc += taps[o + i]! * xp[b + i]!;
        y[out] = acc;
      }
    }
    this.q += ready;
    this.outputs += n;
    // Input before the next block's start is no longer needed.
    const drop = this.q * L - this.base;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.base += drop;
    }
    return y;
  }
}
