import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { EmoflowError } from '../core/errors.js';
import { MODALITIES } from '../core/labels.js';
import { architectureSchema, taskSchema } from './head-spec.js';
import { priorDefaultSchema } from './label-prior.js';

/**
 * Training settings, validated once at the edge. The defaults are what emoflow ships: a small
 * head, strong regularisation (dropout, modality dropout, input noise, weight decay) and a
 * fixed, short schedule that ends by itself, so that training is sound without early stopping
 * on a dev set (which may be contaminated, as MOSI's is: docs/head.md).
 */
export const trainConfigSchema = z
  .object({
    architecture: architectureSchema.default({
      hidden: 128,
      gate: 32,
      trunk: [128],
      activation: 'gelu',
      fusion: 'gated',
    }),
    /** Task settings by name (weights, label smoothing, class weights, regression loss); tasks come from the data. */
    tasks: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    epochs: z.number().int().positive().default(20),
    batchSize: z.number().int().positive().default(64),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().nonnegative().default(0.05),
    /** Fraction of all steps spent warming the learning rate up. */
    warmup: z.number().min(0).max(0.5).default(0.05),
    /** Global gradient-norm clip (0 = off). */
    clip: z.number().nonnegative().default(1),
    dropout: z.number().min(0).max(0.9).default(0.3),
    /** Per present modality, the chance of hiding it from a training sample (one always stays). */
    modalityDropout: z.number().min(0).max(0.9).default(0.2),
    /** Gaussian noise added to standardised inputs while training (standard deviations). */
    inputNoise: z.number().min(0).default(0.1),
    /**
     * Lexical channel (training only): each id of a text's bag is left out with this probability
     * and the rest renormalised to unit length (word dropout), so the head cannot lean on a few
     * n-grams it memorised.
     */
    lexicalDropout: z.number().min(0).max(0.9).default(0),
    /** Stop after this many epochs without a better dev metric and keep the best epoch (0 = off). */
    patience: z.number().int().nonnegative().default(0),
    /**
     * Fine-tuning: re-estimate each modality's standardisation statistics on the new training data
     * (a new corpus or speaker population shifts them; as in adaptive batch normalisation).
     */
    refitStatistics: z.boolean().default(false),
    /**
     * How task losses are weighted: `static` (each task's `weight`), `uncertainty` (learned
     * per-task log-variances, Kendall et al. 2018), or `dwa` (Dynamic Weight Average, Liu et al.
     * 2019: weights from how fast each task's loss fell over the last two epochs, temperature 2).
     */
    lossWeighting: z.enum(['static', 'uncertainty', 'dwa']).default('static'),
    /**
     * Per-speaker standardisation of these modalities' features before the head, where samples
     * name their speaker (src/data/speaker-norm.ts says what it assumes); recorded in head.json,
     * which makes `eval` and `ingest` apply it too. null: off.
     */
    speakerNorm: z
      .object({
        modalities: z.array(z.enum(MODALITIES)).min(1).default(['audio']),
        /** Speakers with fewer samples (of that modality) get the training data's global statistics. */
        minSamples: z.number().int().min(2).default(8),
      })
      .strict()
      .nullable()
      .default(null),
    /**
     * Domain-adversarial training: a training-only `corpus` classifier behind a gradient-reversal
     * layer of this factor (0: off); the shared layers learn features that hide the corpus.
     */
    domainAdversarial: z.number().nonnegative().default(0),
    /**
     * Label priors apart from evidence (src/head/label-prior.ts): each training corpus's class
     * prior is added to the logits inside the loss (logit adjustment), so the head's outputs are
     * the posterior under a uniform prior and `prior` chooses what inference applies.
     */
    logitAdjustment: z.boolean().default(false),
    /**
     * The prior eval, ingest and the workers apply by default (head.json `priors.default`;
     * `--prior` overrides it): `training` (the training mix's class shares), `uniform`,
     * `training^a` (the mix's shares to the power a), or one non-negative weight per class of
     * the `emotion` task (normalised).
     */
    prior: priorDefaultSchema.default('training'),
    seed: z.number().int().nonnegative().default(1),
    /** onnxruntime intra-op threads while training (0 = onnxruntime's default). */
    threads: z.number().int().nonnegative().default(1),
  })
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

export function parseTrainConfig(raw: unknown, where = 'config'): TrainConfig {
  const r = trainConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new EmoflowError(
      'CONFIG_INVALID',
      `${where}: ${issue.path.join('.') || '(top)'}: ${issue.message}`,
    );
  }
  // Task overrides are checked against the task schema when tasks are known (trainer).
  return r.data;
}

export async function readTrainConfig(path: string): Promise<TrainConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new EmoflowError('CONFIG_INVALID', `${path}: ${(e as Error).message}`, { path, cause: e });
  }
  return parseTrainConfig(raw, path);
}

export { taskSchema };
