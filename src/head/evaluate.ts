import { describeSpec, sameSpec } from '../features/feature-spec.js';
import * as ort from 'onnxruntime-node';
import { EmoflowError } from '../core/errors.js';
import { MODALITIES } from '../core/labels.js';
import { argmaxRow } from '../core/numerics.js';
import { gatherRows } from '../data/dataset-rows.js';
import type { FeatureDataset, TaskLabels } from '../data/feature-dataset.js';
import {
  classificationMetrics,
  fitThresholds,
  multiLabelMetrics,
  regressionMetrics,
  reliabilityBins,
  type MultiLabelMetrics,
  type ReliabilityBin,
  type TaskMetrics,
} from '../eval/metrics.js';
import { fitTemperature } from './calibration.js';
import { applyPrior, applyRowLogPriors } from './label-prior.js';
import { BatchFeeder, NO_AUGMENT } from './batch-feeder.js';
import { contextUnits, packUnits } from './context-graph.js';
import { taskWidth } from '../core/tasks.js';
import { contextOf, type HeadDescription, type TaskSpec } from './head-spec.js';

/** Checks that a dataset's features are what the head was trained on (HEAD_INCOMPATIBLE otherwise). */
export function checkCompatible(desc: HeadDescription, ds: FeatureDataset): void {
  for (const m of MODALITIES) {
    const f = ds.features[m];
    if (f === undefined) continue;
    const slot = desc.slots.find((s) => s.modality === m);
    if (slot === undefined) continue; // the head ignores a modality it has no input for
    if (!sameSpec(f.spec, slot.spec)) {
      throw new EmoflowError(
        'HEAD_INCOMPATIBLE',
        `${ds.name}: ${m} features are ${describeSpec(f.spec)}, the head takes ${describeSpec(slot.spec)}`,
      );
    }
  }
}

/**
 * Rows with no input the head takes (every modality of the head failed or is absent): such a
 * sample has no record to score (its status would be `failed`), so evaluation leaves it out.
 */
export function rowsWithoutInput(desc: HeadDescription, ds: FeatureDataset): number[] {
  const slots = desc.slots.map((s) => MODALITIES.indexOf(s.modality));
  const rows: number[] = [];
  for (let i = 0; i < ds.size; i++) if (!slots.some((k) => ds.mask[i * 3 + k] === 1)) rows.push(i);
  return rows;
}

/** The dataset with `rows` unlabelled for every task: they are predicted but never scored. */
export function withoutLabels(ds: FeatureDataset, rows: readonly number[]): FeatureDataset {
  if (rows.length === 0) return ds;
  const tasks: FeatureDataset['tasks'] = {};
  for (const [name, t] of Object.entries(ds.tasks)) {
    const has = Uint8Array.from(t.has);
    for (const r of rows) has[r] = 0;
    tasks[name] = { ...t, has };
  }
  return { ...ds, tasks };
}

/** Runs a head session over a dataset (head.onnx; or the eval graph, its parameters in `extra`): each task's output and the contribution. */
export async function predict(
  session: ort.InferenceSession,
  desc: HeadDescription,
  ds: FeatureDataset,
  batch = 1024,
  /** Feeds every run also gets (the parameters, for the eval graph). */
  extra: Record<string, ort.Tensor> = {},
): Promise<Map<string, Float32Array>> {
  checkCompatible(desc, ds);
  const out = new Map<string, Float32Array>();
  for (const t of desc.tasks)
    out.set(t.name, new Float32Array(ds.size * (t.type === 'regression' ? 1 : taskWidth(t))));
  out.set('contribution', new Float32Array(ds.size * 3));
  const feeder = new BatchFeeder(ds, desc, NO_AUGMENT, 0);
  // Rows in order; a context head sees whole graphs instead (batches of whole units).
  const context = contextOf(desc.architecture);
  let batches: ArrayLike<number>[];
  if (context === undefined) {
    batches = [];
    for (let start = 0; start < ds.size; start += batch)
      batches.push(Array.from({ length: Math.min(batch, ds.size - start) }, (_, k) => start + k));
  } else {
    const units = contextUnits(ds.size, ds.groups, ds.order, context.maxGroup);
    batches = packUnits(
      units,
      Int32Array.from(units, (_, k) => k),
      batch,
    );
  }
  for (const idx of batches) {
    const res = await session.run({ ...extra, ...feeder.feeds(idx, false, []) });
    for (const [name, buf] of out) {
      const w = buf.length / ds.size;
      const got = res[name]!.data as Float32Array;
      for (let k = 0; k < idx.length; k++) buf.set(got.subarray(k * w, (k + 1) * w), idx[k]! * w);
    }
  }
  return out;
}

/** The class index each row is scored against: the vote-majority truth when given, else the target's argmax; -1 unlabelled. */
export function truthOf(labels: TaskLabels, c: number): Int32Array {
  const n = labels.has.length;
  const truth = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (labels.has[i] === 0) continue;
    if (labels.truth !== undefined) {
      truth[i] = labels.truth[i]!;
      continue;
    }
    truth[i] = argmaxRow(labels.targets, i, c);
  }
  return truth;
}

export interface Evaluation {
  samples: number;
  tasks: Record<string, TaskMetrics>;
  reliability: Record<string, ReliabilityBin[]>;
}

/** Metrics of every task the dataset labels, from the head's outputs. */
export function evaluate(
  desc: HeadDescription,
  outputs: Map<string, Float32Array>,
  ds: FeatureDataset,
  thresholds: Record<string, number[]> = {},
): Evaluation {
  const tasks: Record<string, TaskMetrics> = {};
  const reliability: Record<string, ReliabilityBin[]> = {};
  for (const t of desc.tasks) {
    const labels = ds.tasks[t.name];
    if (labels === undefined) continue;
    const y = outputs.get(t.name)!;
    if (t.type === 'classification') {
      const truth = truthOf(labels, t.labels.length);
      const metrics: TaskMetrics & { multiLabel?: MultiLabelMetrics } = classificationMetrics(
        y,
        truth,
        t.labels,
      );
      const rows = setRows(labels);
      const c = t.labels.length;
      if (rows.length > 0) {
        // Multi-label rows (GoEmotions): macro-F1 of predicted label sets, the argmax plus every
        // class at or above its dev-fitted threshold (head.json `thresholds`).
        const ml = multiLabelMetrics(
          gatherRows(y, rows, c),
          positives(gatherRows(labels.targets, rows, c)),
          t.labels,
          Float64Array.from(thresholds[t.name] ?? new Array<number>(c).fill(0.5)),
        );
        metrics.macroF1 = ml.macroF1;
        metrics.macroAveragedOver = ml.macroAveragedOver;
        metrics.multiLabel = ml;
      }
      tasks[t.name] = metrics;
      reliability[t.name] = reliabilityBins(y, truth, t.labels.length);
    } else if (t.type === 'multilabel') {
      const rows = labelledRows(labels);
      const c = t.labels.length;
      tasks[t.name] = multiLabelMetrics(
        gatherRows(y, rows, c),
        binary(gatherRows(labels.targets, rows, c)),
        t.labels,
        Float64Array.from(thresholds[t.name] ?? new Array<number>(c).fill(0.5)),
      );
    } else {
      tasks[t.name] = regressionMetrics(y, labels.targets, labels.has);
    }
  }
  return { samples: ds.size, tasks, reliability };
}

function labelledRows(labels: TaskLabels): number[] {
  const rows: number[] = [];
  labels.has.forEach((h, i) => h === 1 && rows.push(i));
  return rows;
}

/** Labelled rows whose target is a label set (TaskLabels.multiLabel). */
function setRows(labels: TaskLabels): number[] {
  const rows: number[] = [];
  labels.multiLabel?.forEach((m, i) => m === 1 && labels.has[i] === 1 && rows.push(i));
  return rows;
}

/** 1 where a (soft) target gives the class any mass. */
function positives(a: Float32Array): Uint8Array {
  return Uint8Array.from(a, (v) => (v > 0 ? 1 : 0));
}

function softmaxRows(z: Float32Array, c: number, temperature: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / c; r++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, z[r * c + k]! / temperature);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += out[r * c + k] = Math.exp(z[r * c + k]! / temperature - max);
    for (let k = 0; k < c; k++) out[r * c + k]! /= sum;
  }
  return out;
}

function binary(a: Float32Array): Uint8Array {
  return Uint8Array.from(a, (v) => (v >= 0.5 ? 1 : 0));
}

/**
 * Calibration on dev (from the eval graph's logits): a softmax temperature per classification
 * task, and per-class thresholds for multi-label tasks.
 */
export function calibrate(
  tasks: readonly TaskSpec[],
  logits: Map<string, Float32Array>,
  dev: FeatureDataset,
  /**
   * Per task, the default prior's factor on the probabilities (label-prior.ts): thresholds are
   * fitted after it, or, for dev rows that carry their corpus's log prior, after that.
   */
  priorFactors: Record<string, ArrayLike<number>> = {},
): { temperature: Record<string, number>; thresholds: Record<string, number[]> } {
  const temperature: Record<string, number> = {};
  const thresholds: Record<string, number[]> = {};
  for (const t of tasks) {
    const labels = dev.tasks[t.name];
    if (labels === undefined || t.type === 'regression') continue;
    const c = t.labels.length;
    const rows = labelledRows(labels);
    if (rows.length === 0) continue;
    const z = gatherRows(logits.get(t.name)!, rows, c);
    if (t.type === 'classification') {
      // With logit adjustment, each dev row's corpus prior is added after the temperature
      // (softmax(z/T + log π)), so T scales the evidence alone (label-prior.ts).
      const offset = labels.logPrior === undefined ? undefined : gatherRows(labels.logPrior, rows, c);
      const temp = fitTemperature(
        z,
        { soft: gatherRows(labels.targets, rows, c) },
        c,
        undefined,
        offset,
      ).temperature;
      temperature[t.name] = temp;
      const sets = setRows(labels);
      if (sets.length > 0) {
        const probs = softmaxRows(gatherRows(logits.get(t.name)!, sets, c), c, temp);
        if (labels.logPrior !== undefined) {
          // Under logit adjustment, each row under its own corpus's prior, as `eval` scores a
          // spec of that corpus (label-prior.ts sourcePrior).
          applyRowLogPriors(probs, c, gatherRows(labels.logPrior, sets, c));
        } else {
          const factor = priorFactors[t.name];
          if (factor !== undefined) applyPrior(probs, c, factor);
        }
        thresholds[t.name] = Array.from(
          fitThresholds(probs, positives(gatherRows(labels.targets, sets, c)), c),
        );
      }
    } else {
      const probs = Float32Array.from(z, (v) => 1 / (1 + Math.exp(-v)));
      thresholds[t.name] = Array.from(fitThresholds(probs, binary(gatherRows(labels.targets, rows, c)), c));
    }
  }
  return { temperature, thresholds };
}
