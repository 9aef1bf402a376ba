import * as ort from 'onnxruntime-node';
import { MODALITIES } from '../core/labels.js';
import { Random } from '../core/random.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import { contextAdjacency } from './context-graph.js';
import { taskWidth } from '../core/tasks.js';
import { lexicalInputNames, slotFeeds, slotLayout } from './slot-inputs.js';
import {
  contextOf,
  isAdversarial,
  type ContextSpec,
  type HeadDescription,
  type TaskSpec,
} from './head-spec.js';
import type { TrainConfig } from './train-config.js';

/** What a training batch perturbs. */
export type Augment = Pick<TrainConfig, 'modalityDropout' | 'inputNoise' | 'dropout'> &
  Partial<Pick<TrainConfig, 'lexicalDropout'>>;

/** No perturbation: evaluation and inference. */
export const NO_AUGMENT: Augment = { modalityDropout: 0, inputNoise: 0, dropout: 0 };

/**
 * The head's input tensors for rows of a dataset: mask, one input per modality slot (zeros, and
 * mask 0, where the dataset lacks that modality), and in training the dropout masks, targets,
 * per-sample weights and per-task loss weights, with modality dropout and input noise. A
 * context head also gets `adj`, the graph of the rows' groups (callers batch whole groups).
 */
export class BatchFeeder {
  private readonly rnd: Random;
  /** Per-task factors on the loss weights (dynamic weighting sets them between epochs). */
  readonly taskScale = new Map<string, number>();
  constructor(
    private readonly ds: FeatureDataset,
    private readonly desc: HeadDescription,
    private readonly config: Augment,
    seed: number,
    /** Train feeds include `logprior.<task>` for the classification tasks (head-model.ts `logitAdjustment`). */
    private readonly logitAdjustment = false,
  ) {
    this.rnd = new Random(seed);
  }

  /**
   * Word dropout on a batch's lexical weights (b rows): each non-zero weight is zeroed with
   * probability p, and each row's survivors rescaled to unit L2 norm, as its bag had.
   */
  private dropLexical(w: Float32Array, b: number, p: number): void {
    const k = w.length / b;
    for (let r = 0; r < b; r++) {
      let sum = 0;
      for (let i = r * k; i < (r + 1) * k; i++) {
        if (w[i] === 0) continue;
        if (this.rnd.next() < p) w[i] = 0;
        else sum += w[i]! * w[i]!;
      }
      if (sum > 0) {
        const scale = 1 / Math.sqrt(sum);
        for (let i = r * k; i < (r + 1) * k; i++) w[i]! *= scale;
      }
    }
  }

  /** Feeds for rows `idx` (train: with dropout masks, modality dropout and noise). */
  feeds(
    idx: ArrayLike<number>,
    train: boolean,
    dropout: { name: string; width: number }[],
  ): Record<string, ort.Tensor> {
    const b = idx.length;
    const { ds, desc, config } = this;
    const feeds: Record<string, ort.Tensor> = {};
    const mask = new Float32Array(b * 3);
    const missing = desc.slots
      .filter((s) => ds.features[s.modality] === undefined)
      .map((s) => MODALITIES.indexOf(s.modality));
    for (let r = 0; r < b; r++) {
      const i = idx[r]!;
      for (let c = 0; c < 3; c++) mask[r * 3 + c] = ds.mask[i * 3 + c]!;
      for (const c of missing) mask[r * 3 + c] = 0;
      if (train && config.modalityDropout > 0) {
        const present = [0, 1, 2].filter(
          (c) => mask[r * 3 + c] === 1 && desc.slots.some((s) => MODALITIES.indexOf(s.modality) === c),
        );
        if (present.length > 1) {
          const kept = present.filter(() => this.rnd.next() >= config.modalityDropout);
          const keep = kept.length > 0 ? kept : [present[this.rnd.int(present.length)]!];
          for (const c of present) if (!keep.includes(c)) mask[r * 3 + c] = 0;
        }
      }
    }
    feeds['mask'] = new ort.Tensor('float32', mask, [b, 3]);
    for (const slot of desc.slots) {
      const dim = slot.spec.dim;
      const layout = slotLayout(slot);
      const src = ds.features[slot.modality];
      const x = new Float32Array(b * dim);
      if (src !== undefined) {
        for (let r = 0; r < b; r++) x.set(src.data.subarray(idx[r]! * dim, (idx[r]! + 1) * dim), r * dim);
        if (train && config.inputNoise > 0) {
          // Noise on the dense values only: a lexical tail holds ids.
          const noisy = layout.dense;
          for (let r = 0; r < b; r++)
            for (let d = 0; d < noisy; d++)
              x[r * dim + d]! +=
                this.rnd.normal() * config.inputNoise * (slot.std[d]! > 1e-8 ? slot.std[d]! : 1);
        }
      }
      Object.assign(feeds, slotFeeds(slot, x, b));
      const p = config.lexicalDropout ?? 0;
      if (train && p > 0 && layout.lexical !== undefined)
        this.dropLexical(feeds[lexicalInputNames(slot).weights]!.data as Float32Array, b, p);
    }
    const context = contextOf(desc.architecture);
    if (context !== undefined)
      feeds['adj'] = new ort.Tensor('float32', adjacencyOf(ds, idx, context), [b, b]);
    if (train) {
      const keep = 1 - config.dropout;
      for (const d of dropout) {
        const m = new Float32Array(b * d.width);
        this.rnd.fillBernoulli(m, keep, 1 / keep);
        feeds[d.name] = new ort.Tensor('float32', m, [b, d.width]);
      }
      for (const t of desc.tasks) {
        const labels = ds.tasks[t.name];
        const width = taskWidth(t);
        const target = new Float32Array(b * width);
        const weight = new Float32Array(b);
        let total = 0;
        if (labels !== undefined) {
          const cw = classWeightsOf(t, labels);
          const eps = t.type === 'classification' ? t.labelSmoothing : 0;
          for (let r = 0; r < b; r++) {
            const i = idx[r]!;
            if (labels.has[i] === 0) continue;
            let w = 1;
            if (t.type === 'regression') target[r] = labels.targets[i]!;
            else {
              w = 0;
              for (let c = 0; c < width; c++) {
                const y = labels.targets[i * width + c]!;
                target[r * width + c] = eps > 0 ? (1 - eps) * y + eps / width : y;
                w += y * (cw?.[c] ?? 1);
              }
              if (t.type === 'multilabel') w = 1;
            }
            weight[r] = w;
            total += w;
          }
        }
        if (total > 0) for (let r = 0; r < b; r++) weight[r]! /= total;
        feeds[`target.${t.name}`] = new ort.Tensor(
          'float32',
          target,
          t.type === 'regression' ? [b, 1] : [b, width],
        );
        feeds[`weight.${t.name}`] = new ort.Tensor('float32', weight, [b]);
        if (this.logitAdjustment && t.type === 'classification' && !isAdversarial(t)) {
          const logPrior = new Float32Array(b * width);
          const src = labels?.logPrior;
          if (src !== undefined)
            for (let r = 0; r < b; r++)
              logPrior.set(src.subarray(idx[r]! * width, (idx[r]! + 1) * width), r * width);
          feeds[`logprior.${t.name}`] = new ort.Tensor('float32', logPrior, [b, width]);
        }
        const lambda = total > 0 ? t.weight * (this.taskScale.get(t.name) ?? 1) : 0;
        feeds[`lambda.${t.name}`] = new ort.Tensor('float32', Float32Array.of(lambda), []);
      }
    }
    return feeds;
  }
}

/** The context graph of some rows of a dataset, from its groups, order and speakers. */
function adjacencyOf(ds: FeatureDataset, idx: ArrayLike<number>, context: ContextSpec): Float32Array {
  return contextAdjacency(
    Array.from(idx, (i) => ({ group: ds.groups?.[i], order: ds.order?.[i], speaker: ds.speakers?.[i] })),
    context,
  );
}

const classWeightCache = new WeakMap<object, Float64Array | undefined>();

/** Per-class loss weights: given, 'balanced' (inverse frequency, mean 1), or none. */
function classWeightsOf(t: TaskSpec, labels: FeatureDataset['tasks'][string]): Float64Array | undefined {
  if (t.type !== 'classification' || t.classWeights === 'none') return undefined;
  if (Array.isArray(t.classWeights)) return Float64Array.from(t.classWeights);
  if (classWeightCache.has(labels)) return classWeightCache.get(labels);
  const c = t.labels.length;
  const freq = new Float64Array(c);
  const n = labels.has.length;
  for (let i = 0; i < n; i++)
    if (labels.has[i] === 1) for (let k = 0; k < c; k++) freq[k]! += labels.targets[i * c + k]!;
  const present = freq.filter((f) => f > 0).length;
  const total = freq.reduce((a, b) => a + b, 0);
  const w = Float64Array.from(freq, (f) => (f > 0 ? total / (present * f) : 0));
  classWeightCache.set(labels, w);
  return w;
}
