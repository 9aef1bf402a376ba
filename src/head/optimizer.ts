import type { FloatArray } from './graph.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019, Algorithm 2): Adam moments (float32, as in PyTorch) with bias correction and weight
 * decay decoupled from the gradient. In JavaScript rather than in the graph: the step is one
 * pass over each parameter, and in-graph it would have to copy parameters and both moments out
 * of onnxruntime every step (see docs/head.md for the measurement).
 */
export class AdamW {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(private readonly options: AdamWOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
  }

  /**
   * One step over every parameter in `grads`; `decay(name)` says whether weight decay applies.
   * `sparse` names parameters whose gradient is zero outside some rows (an embedding table:
   * the rows a batch's ids name), given compactly: their gradient in `grads` holds those rows
   * only, in the order of `rows`. Only those rows are updated, their moments included, as
   * TensorFlow Addons' LazyAdam does; other rows keep their moments until their next use,
   * instead of decaying them on every step where their gradient is exactly zero.
   */
  step(
    params: Map<string, FloatArray>,
    grads: Map<string, FloatArray>,
    lr: number,
    decay: (name: string) => boolean,
    scale = 1,
    sparse: ReadonlyMap<string, { rows: Int32Array; width: number }> = new Map(),
  ): void {
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const stepSize = lr / c1;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (m === undefined || v === undefined) {
        m = new Float32Array(p.length);
        v = new Float32Array(p.length);
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const wd = decay(name) ? 1 - lr * this.options.weightDecay : 1;
      const eps = this.eps;
      const sqrtC2 = Math.sqrt(c2);
      const a1 = 1 - b1;
      const a2 = 1 - b2;
      const update = (from: number, to: number, gAt: number) => {
        for (let i = from; i < to; i++) {
          const gi = g[i - from + gAt]! * scale;
          const mi = b1 * m[i]! + a1 * gi;
          const vi = b2 * v[i]! + a2 * gi * gi;
          m[i] = mi;
          v[i] = vi;
          p[i] = p[i]! * wd - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + eps);
        }
      };
      const rows = sparse.get(name);
      if (rows === undefined) update(0, p.length, 0);
      else rows.rows.forEach((r, k) => update(r * rows.width, (r + 1) * rows.width, k * rows.width));
    }
  }
}

/** Global L2 norm of the gradients, for clipping (a compact sparse gradient holds all its non-zeros). */
export function globalNorm(grads: Map<string, FloatArray>): number {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/** Linear warm-up to `peak` over `warmup` steps, then cosine decay to `floor`·peak at `total`. */
export function learningRate(step: number, total: number, warmup: number, peak: number, floor = 0): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
