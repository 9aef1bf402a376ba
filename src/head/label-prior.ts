import { z } from 'zod';
import { EmoflowError } from '../core/errors.js';
import type { FeatureDataset, TaskLabels } from '../data/feature-dataset.js';
import { isAdversarial, type HeadDescription, type TaskSpec } from './head-spec.js';

/**
 * Label priors kept apart from evidence (logit adjustment, Menon et al. 2021, "Long-tail learning
 * via logit adjustment", ICLR, eq. 10).
 *
 * Training: each corpus's class prior π_k is added to the logits in the loss,
 * softmax(z + log π_k), so the corpus's label frequencies are explained by that training-only
 * term and the head's own logits z carry the evidence: softmax(z) is the posterior under a
 * uniform prior. Inference: a stated prior π gives softmax(z/T + log π) = normalise(p_u · π),
 * with p_u = softmax(z/T) what head.onnx outputs. The temperature T is fitted on dev with each
 * dev corpus's own prior added the same way (evaluate.ts `calibrate`), so it scales evidence
 * only and stays valid under any prior.
 *
 * A head trained without adjustment outputs the posterior under its training mix's prior; a
 * stated prior π is then applied as p · π / π_train (post-hoc correction, the same paper's
 * eq. 5), so every head that records its priors can take `--prior`.
 */

/**
 * A class prior as users state it: by name, a training corpus's, the training mix's shares
 * raised to a power (`training^0.5`: between uniform, 0, and the mix, 1), or one weight per
 * class (normalised here).
 */
export type PriorChoice = 'uniform' | 'training' | { corpus: string } | { trainingPower: number } | number[];

/** `training^a` as written in configs, head.json and `--prior`. */
const TRAINING_POWER = /^training\^(\d+(?:\.\d+)?)$/;

/**
 * A head's default prior as a config and head.json state it: `uniform`, `training`, `training^a`
 * (the mix's shares to the power a) or one non-negative weight per class.
 */
export const priorDefaultSchema = z.union([
  z.enum(['uniform', 'training']),
  z.string().regex(TRAINING_POWER, 'a prior is uniform, training, training^<a> or weights'),
  z.array(z.number().nonnegative()).min(2),
]);

/** A prior's name in head.json and the eval JSON. */
export function priorName(choice: PriorChoice): string | number[] {
  if (typeof choice === 'string' || Array.isArray(choice)) return choice;
  return 'corpus' in choice ? `corpus:${choice.corpus}` : `training^${choice.trainingPower}`;
}

/** Added to every class's count before a corpus's prior is taken, so an absent class is rare, not impossible. */
export const PRIOR_PSEUDO_COUNT = 1;

export const priorRecordSchema = z.object({
  /**
   * `uniform`: the head's outputs are the posterior under a uniform prior (trained with
   * per-corpus logit adjustment); `training`: under `training` (trained without).
   */
  base: z.enum(['uniform', 'training']),
  /** The training mix's class shares (repeats and pairs included). */
  training: z.array(z.number().nonnegative()),
  /** Each training corpus's class shares. */
  corpora: z.record(z.string(), z.array(z.number().nonnegative())),
  /** What eval, ingest and the workers apply unless told otherwise. */
  default: priorDefaultSchema,
});
export type PriorRecord = z.infer<typeof priorRecordSchema>;

/** The target mass of each class summed over the labelled rows (added into `into` when given). */
export function classMass(
  labels: TaskLabels,
  classes: number,
  into: Float64Array = new Float64Array(classes),
): Float64Array {
  for (let i = 0; i < labels.has.length; i++)
    if (labels.has[i] === 1) for (let c = 0; c < classes; c++) into[c]! += labels.targets[i * classes + c]!;
  return into;
}

/** The share of target mass of each class over the labelled rows, with `pseudo` added to every class count. */
export function classPrior(labels: TaskLabels, classes: number, pseudo = 0): Float64Array {
  const mass = classMass(labels, classes, new Float64Array(classes).fill(pseudo));
  const total = mass.reduce((a, b) => a + b, 0);
  return total > 0 ? mass.map((m) => m / total) : new Float64Array(classes).fill(1 / classes);
}

/** The classification tasks whose priors are adjusted (adversarial ones serve training only). */
export function adjustedTasks(tasks: readonly TaskSpec[]): Extract<TaskSpec, { type: 'classification' }>[] {
  return tasks.filter(
    (t): t is Extract<TaskSpec, { type: 'classification' }> =>
      t.type === 'classification' && !isAdversarial(t),
  );
}

/**
 * The datasets with each classification task's `logPrior` set: log of that dataset's own class
 * prior (PRIOR_PSEUDO_COUNT added), the same for every row. Each dataset counts as one corpus.
 */
export function withCorpusPriors(sets: readonly FeatureDataset[]): FeatureDataset[] {
  return sets.map((d) => {
    const tasks: Record<string, TaskLabels> = {};
    for (const [name, t] of Object.entries(d.tasks)) {
      if (t.spec.type !== 'classification' || isAdversarial(t.spec)) {
        tasks[name] = t;
        continue;
      }
      const c = t.spec.labels.length;
      const log = classPrior(t, c, PRIOR_PSEUDO_COUNT).map(Math.log);
      const logPrior = new Float32Array(d.size * c);
      for (let i = 0; i < d.size; i++) for (let k = 0; k < c; k++) logPrior[i * c + k] = log[k]!;
      tasks[name] = { ...t, logPrior };
    }
    return { ...d, tasks };
  });
}

/** Parses a `--prior` value: uniform, training, training^a, corpus:<name>, 7 comma-separated numbers or a JSON array. */
export function parsePriorChoice(text: string, classes: number): PriorChoice {
  const s = text.trim();
  if (s === 'uniform' || s === 'training') return s;
  if (s.startsWith('corpus:')) return { corpus: s.slice('corpus:'.length) };
  const power = TRAINING_POWER.exec(s);
  if (power !== null) return { trainingPower: Number(power[1]) };
  let values: unknown;
  try {
    values = s.startsWith('[') ? JSON.parse(s) : s.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  } catch {
    values = undefined;
  }
  if (
    !Array.isArray(values) ||
    values.length !== classes ||
    values.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0) ||
    !values.some((v) => (v as number) > 0)
  ) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prior ${text}: expected uniform, training, training^<a> (a >= 0), corpus:<name> or ${classes} non-negative numbers (comma-separated or a JSON array), not all zero`,
    );
  }
  return values as number[];
}

/** A prior as shares summing to 1. */
function normalised(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  const total = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / total);
}

/** The class shares a choice names, from a head's prior record. */
export function priorShares(record: PriorRecord, choice: PriorChoice, classes: number): Float64Array {
  if (choice === 'uniform') return new Float64Array(classes).fill(1 / classes);
  if (choice === 'training') return normalised(record.training);
  if (Array.isArray(choice)) return normalised(choice);
  if ('trainingPower' in choice)
    return normalised(record.training.map((v) => Math.pow(v, choice.trainingPower)));
  const shares = record.corpora[choice.corpus];
  if (shares === undefined)
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prior corpus:${choice.corpus}: the head has no such training corpus (it has: ${Object.keys(record.corpora).join(', ')})`,
    );
  return normalised(shares);
}

/**
 * The per-class factor that turns the head's outputs into the posterior under `choice`
 * (undefined choice: the head's default): target shares over the shares the outputs embody.
 * A head without a prior record cannot be re-weighted: CONFIG_INVALID when a choice is given,
 * undefined (outputs as they are) otherwise.
 */
export function priorFactor(
  record: PriorRecord | undefined,
  choice: PriorChoice | undefined,
  classes: number,
): Float64Array | undefined {
  if (record === undefined) {
    if (choice === undefined) return undefined;
    throw new EmoflowError(
      'CONFIG_INVALID',
      '--prior: this head records no label priors (trained before emoflow recorded them); retrain or fine-tune it to use --prior',
    );
  }
  const target = priorShares(record, choice ?? recordedChoice(record.default, classes), classes);
  const base = priorShares(record, record.base, classes);
  return target.map((t, k) => (base[k]! > 0 ? t / base[k]! : 0));
}

/**
 * Re-weights each row of probabilities in place by its own log prior (N x C, as
 * `TaskLabels.logPrior`): p_c ← p_c·exp(lp_c) / Σ_k p_k·exp(lp_k), i.e. softmax(z/T + log π).
 */
export function applyRowLogPriors(probs: Float32Array, classes: number, logPrior: Float32Array): void {
  const factor = new Float64Array(classes);
  for (let r = 0; r < probs.length / classes; r++) {
    for (let c = 0; c < classes; c++) factor[c] = Math.exp(logPrior[r * classes + c]!);
    applyPrior(probs.subarray(r * classes, (r + 1) * classes), classes, factor);
  }
}

/** Re-weights rows of probabilities in place: p_c ← p_c·f_c / Σ_k p_k·f_k (rows that sum to 0 stay). */
export function applyPrior(probs: Float32Array, classes: number, factor: ArrayLike<number>): void {
  for (let r = 0; r < probs.length / classes; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += probs[r * classes + c]! * factor[c]!;
    if (!(sum > 0)) continue;
    for (let c = 0; c < classes; c++) probs[r * classes + c] = (probs[r * classes + c]! * factor[c]!) / sum;
  }
}

/**
 * Per classification task, the factor that applies its prior: `choices[task]` where given, else
 * the head's default; tasks where the factor changes nothing are left out.
 */
export function priorFactors(
  desc: HeadDescription,
  priors: Record<string, PriorRecord> | undefined,
  choices: Record<string, PriorChoice | undefined> = {},
): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const t of desc.tasks) {
    if (t.type !== 'classification') continue;
    const f = priorFactor(priors?.[t.name], choices[t.name], t.labels.length);
    if (f !== undefined && f.some((v) => Math.abs(v - f[0]!) > 1e-12)) out[t.name] = f;
  }
  return out;
}

/** The head's outputs with each task's prior factor applied (probabilities re-weighted in place). */
export function withPriors(
  outputs: Map<string, Float32Array>,
  desc: HeadDescription,
  factors: Record<string, Float64Array>,
): Map<string, Float32Array> {
  for (const t of desc.tasks) {
    const f = factors[t.name];
    if (f !== undefined && t.type === 'classification') applyPrior(outputs.get(t.name)!, t.labels.length, f);
  }
  return outputs;
}

/** head.json's `default` as a choice. */
export function recordedChoice(value: PriorRecord['default'], classes: number): PriorChoice {
  return Array.isArray(value) ? value : parsePriorChoice(value, classes);
}

/**
 * The prior of a named data source: a corpus spec of one of the head's training corpora
 * (`meld:test.csv`) is scored under that corpus's class shares from its training split, since
 * the source's label frequencies are known; anything else (a folder, a manifest, another
 * corpus) gets the head's default (undefined here).
 */
export function sourcePrior(
  record: PriorRecord | undefined,
  corpus: string | undefined,
): PriorChoice | undefined {
  return corpus !== undefined && record?.corpora[corpus] !== undefined ? { corpus } : undefined;
}
