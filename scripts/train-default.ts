/**
 * Trains the shipped default head, models/heads/default/: one head over the training splits of
 * MELD, GoEmotions (Ekman), dair and EmoBank (text), RAVDESS (speech) and FER+ (faces), tasks
 * `emotion`, `valence` and `arousal`, calibrated on the dev splits. Needs ../shared beside the
 * clone. Features are extracted once into the feature cache (.cache/features), so a second run
 * only trains. Same seed and data: the same head.onnx bytes.
 *
 *   npm run train:default [-- --out <dir>] [--cache <dir>]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { MODALITIES } from '../src/core/labels.js';
import { pathToFileURL } from 'node:url';
import { sharedPath } from '../src/bench/bench-inputs.js';
import { packageRoot } from '../src/core/package-root.js';
import { Random } from '../src/core/random.js';
import { loadDataset, mergeDatasets, type DatasetContext } from '../src/data/datasets.js';
import { pairByClass } from '../src/data/pairing.js';
import { subset } from '../src/data/dataset-rows.js';
import { groupFolds, meanStd } from '../src/head/cross-validate.js';
import type { ClassificationMetrics } from '../src/eval/metrics.js';
import { headOnnx } from '../src/head/artifact.js';
import { evaluate, predict } from '../src/head/evaluate.js';
import type { TrainConfig } from '../src/head/train-config.js';
import { graphSession, trainHead } from '../src/head/trainer.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { buildExtractors } from '../src/features/extractors.js';
import type { ModalityExtractor } from '../src/features/modality-extractor.js';
import {
  corpusKey,
  devSet,
  fitHead,
  prepareTrainingSets,
  type FitHeadInput,
  type FitHeadResult,
} from '../src/head/fit-head.js';
import { withCorpusPriors } from '../src/head/label-prior.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import type { SpeakerNorm } from '../src/features/speaker-norm.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { ModelStore } from '../src/models/model-store.js';
import { DEFAULT_LEXICAL_BUCKETS } from '../src/features/text/lexical.js';
import { SessionFactory } from '../src/models/session-factory.js';

/** The default head's settings (docs/RESULTS.md says how they were chosen). */
export const DEFAULT_HEAD_CONFIG = {
  architecture: {
    hidden: 128,
    gate: 32,
    trunk: [128],
    activation: 'gelu',
    fusion: 'gated',
    /**
     * Dialogue context (docs/head.md): one graph-attention layer over MELD's dialogues (and each
     * RAVDESS actor's clips, its group); MELD dev weighted-F1 +0.017 over 3 seeds (docs/RESULTS.md).
     */
    context: { layers: 1, window: 2, speakerEdges: true, maxGroup: 64 },
  },
  /**
   * Label priors apart from evidence (src/head/label-prior.ts): each corpus's class prior is
   * absorbed by a training-only logit bias, so no class weights either (the issue #13 weights
   * [1.16, 1.99, 1.66, 0.73, 0.79, 1.13, 1.2] only pushed the mix's prior the other way; with the
   * adjustment they cost the leave-one-corpus-out faces 0.02 UAR and gained text 0.006: docs/RESULTS.md).
   */
  logitAdjustment: true,
  /**
   * Inference's default prior: uniform. On leave-one-corpus-out it has the best mean UAR (text,
   * face and speech summed: 1.201 against 1.197 for the training mix's shares to the power 0.5
   * and 1.169 for the mix's shares; docs/RESULTS.md). A corpus spec of a training corpus is still
   * scored under that corpus's own prior (label-prior.ts `sourcePrior`).
   */
  prior: 'uniform',
  /**
   * Per-speaker standardisation of audio (RAVDESS actors): joint-head actor cross-validation UAR
   * 0.481 → 0.563 (docs/RESULTS.md).
   */
  speakerNorm: { modalities: ['audio'], minSamples: 8 },
  epochs: 12,
  batchSize: 128,
  lr: 1e-3,
  weightDecay: 0.05,
  dropout: 0.3,
  modalityDropout: 0,
  inputNoise: 0.1,
  /**
   * Word dropout on the lexical bag (src/head/batch-feeder.ts): text-only heads, dev splits, 3 seeds
   * (docs/RESULTS.md "New evidence"): the channel without it lost MELD and EmoBank what it gained
   * elsewhere; at 0.5 it keeps most of dair's gain and more of GoEmotions'.
   */
  lexicalDropout: 0.5,
  seed: 1,
  threads: 1,
};

/** Whether speech goes through Silero VAD (chosen on RAVDESS actor cross-validation, docs/RESULTS.md). */
export const DEFAULT_HEAD_VAD = false;

/** The feature options of a recipe beyond the extractors' defaults (part of the feature specs). */
export interface RecipeFeatures {
  /** Speech prosody appended to the MFCC statistics (src/features/audio/prosody.ts). */
  prosody: boolean;
  /** The lexical text channel's bucket count (src/features/text/lexical.ts); null: off. */
  lexicalBuckets: number | null;
}

/** The shipped head's feature options (docs/RESULTS.md, "New evidence", says how they were chosen). */
export const DEFAULT_FEATURES: RecipeFeatures = { prosody: true, lexicalBuckets: DEFAULT_LEXICAL_BUCKETS };

/** A corpus the default head can train on, and what it is scored on when held out or as dev. */
export interface CorpusEntry {
  modality: 'text' | 'image' | 'audio';
  /** The corpus spec it trains on. */
  train: string;
  /** Its dev split, where it has one (dev figures, calibration, and leave-one-corpus-out scoring). */
  dev?: string;
}

/** Every corpus of ../shared/data the default head may use, by its adapter name. */
export const CORPORA: Record<string, CorpusEntry> = {
  meld: {
    modality: 'text',
    train: `meld:${sharedPath('data', 'text', 'meld', 'train_sent_emo.csv')}`,
    dev: `meld:${sharedPath('data', 'text', 'meld', 'dev_sent_emo.csv')}`,
  },
  'goemotions-ekman': {
    modality: 'text',
    train: `goemotions-ekman:${sharedPath('data', 'text', 'goemotions', 'train.tsv')}`,
    dev: `goemotions-ekman:${sharedPath('data', 'text', 'goemotions', 'dev.tsv')}`,
  },
  dair: {
    modality: 'text',
    train: `dair:${sharedPath('data', 'text', 'dair', 'train.txt')}`,
    dev: `dair:${sharedPath('data', 'text', 'dair', 'val.txt')}`,
  },
  emobank: {
    modality: 'text',
    train: `emobank:${sharedPath('data', 'text', 'emobank', 'emobank.csv')}#train`,
    dev: `emobank:${sharedPath('data', 'text', 'emobank', 'emobank.csv')}#dev`,
  },
  emorynlp: {
    modality: 'text',
    train: `emorynlp:${sharedPath('data', 'text', 'emorynlp')}#train`,
    dev: `emorynlp:${sharedPath('data', 'text', 'emorynlp')}#dev`,
  },
  ferplus: {
    modality: 'image',
    train: `ferplus:${sharedPath('data', 'face', 'ferplus', 'FER2013Train')}`,
    dev: `ferplus:${sharedPath('data', 'face', 'ferplus', 'FER2013Valid')}`,
  },
  tcce: { modality: 'image', train: `tcce:${sharedPath('data', 'face', 'tcce_performers')}` },
  ravdess: { modality: 'audio', train: `ravdess:${sharedPath('data', 'speech', 'ravdess')}` },
  emodb: { modality: 'audio', train: `emodb:${sharedPath('data', 'speech', 'emodb')}` },
  emovo: { modality: 'audio', train: `emovo:${sharedPath('data', 'speech', 'emovo')}` },
  nemo: { modality: 'audio', train: `nemo:${sharedPath('data', 'speech', 'nemo')}` },
};

/** Each corpus's terms in a head's notice (the adapters' licence fields hold the references). */
const TERMS: Record<string, string> = {
  meld: 'MELD (GPL-3.0)',
  'goemotions-ekman': 'GoEmotions (Apache-2.0)',
  dair: 'dair emotion (research and education use only)',
  emobank: 'EmoBank (CC BY-SA 4.0)',
  emorynlp: 'EmoryNLP (Apache-2.0)',
  ferplus: 'FER+ votes (MIT) on FER2013 images (research use only)',
  tcce: 'TCCE performers (research use only, licence not stated)',
  ravdess: 'RAVDESS (CC BY-NC-SA 4.0)',
  emodb: 'EmoDB (free of charge from its authors, no explicit licence)',
  emovo: 'EMOVO (research and non-commercial use, no licence file)',
  nemo: 'nEMO (CC BY-NC-SA 4.0)',
};

/** head.json's notice for a mix: non-commercial as soon as one corpus is. */
export function noticeOf(mix: readonly string[]): string {
  return (
    'For non-commercial research use: its training data include corpora licensed for non-commercial or ' +
    `research use only. Training data: ${mix.map((k) => TERMS[k] ?? k).join(', ')}. See training.corpora.`
  );
}

/** The corpora of the shipped default head's training mix (docs/RESULTS.md says how they were chosen). */
export const DEFAULT_MIX = [
  'meld',
  'goemotions-ekman',
  'dair',
  'emobank',
  'emorynlp',
  'ferplus',
  'tcce',
  'ravdess',
  'emodb',
  'emovo',
  'nemo',
];

const TASKS = new Set(['emotion', 'valence', 'arousal']);

/**
 * Passes over each training corpus per epoch. The text corpora hold ~87k samples, RAVDESS 792
 * and FER+ 8,652: repeating the small ones gives them the exposure they need alone (speech
 * reached its best actor-CV UAR at about 60 epochs; docs/RESULTS.md) within one schedule.
 */
export const REPEATS: Record<string, number> = {
  ravdess: 5,
  ferplus: 2,
  // The small corpora added by issue #18 (378 to 588 samples each), as often as RAVDESS.
  tcce: 3,
  emodb: 5,
  emovo: 5,
  nemo: 5,
};

/**
 * Multimodal samples made by pairing rows of the same emotion across the corpora (src/data/pairing.ts):
 * the only samples where the fusion gate sees modalities together.
 */
export const PAIRED = 20000;

/**
 * `times` passes over a corpus: whole copies, and for a fractional part a seeded subset of that
 * share of its rows (0.5 = half the corpus each epoch, the same half every epoch).
 */
export function repeatCorpus(ds: FeatureDataset, times: number, seed: number): FeatureDataset[] {
  const whole = Math.floor(times);
  const out: FeatureDataset[] = Array.from({ length: whole }, () => ds);
  const part = Math.round((times - whole) * ds.size);
  if (part > 0) {
    const idx = Array.from({ length: ds.size }, (_, i) => i);
    new Random(seed).shuffle(idx);
    out.push(
      subset(
        ds,
        idx.slice(0, part).sort((a, b) => a - b),
      ),
    );
  }
  return out;
}

/** A paired dev set with only modality `m` kept (rows that have it), to compare with the fused result. */
export function onlyModality(ds: FeatureDataset, m: number): FeatureDataset {
  const rows: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.mask[i * 3 + m] === 1) rows.push(i);
  const part = subset(ds, rows, `${ds.name} (${['text', 'image', 'audio'][m]} only)`);
  for (let i = 0; i < part.size; i++) for (let c = 0; c < 3; c++) if (c !== m) part.mask[i * 3 + c] = 0;
  return part;
}

/**
 * Where the default head's corpora get their features: the feature cache, filled on a miss by
 * the default extractors (VAD as DEFAULT_HEAD_VAD; prosody and the lexical channel as `features`
 * says) on every core.
 */
export function featureContext(
  cacheDir: string,
  features: RecipeFeatures = DEFAULT_FEATURES,
): { context: DatasetContext; release: () => Promise<void> } {
  const store = new ModelStore();
  const extraction = new SessionFactory({
    onWarning: (w) => process.stderr.write(`warning ${w.code}: ${w.message}\n`),
  });
  let extractors: Promise<readonly ModalityExtractor[]> | undefined;
  const context: DatasetContext = {
    cacheDir,
    extractors: () =>
      (extractors ??= buildExtractors({
        factory: extraction,
        store,
        modalities: ['text', 'image', 'audio'],
        vad: DEFAULT_HEAD_VAD,
        prosody: features.prosody,
        ...(features.lexicalBuckets === null ? {} : { lexicalBuckets: features.lexicalBuckets }),
      })),
    onProgress: (corpus, done, total) => {
      if (done === total || done % 4096 < 256) process.stderr.write(`features ${corpus}: ${done}/${total}\n`);
    },
  };
  return { context, release: () => extraction.release() };
}

/** The default head's corpora, raw (only its tasks): training splits of `mix`, and the dev splits they have. */
export async function loadDefaultCorpora(
  context: DatasetContext,
  mix: readonly string[] = DEFAULT_MIX,
): Promise<{ train: FeatureDataset[]; dev: FeatureDataset[] }> {
  const train: FeatureDataset[] = [];
  const dev: FeatureDataset[] = [];
  for (const key of mix) {
    const entry = CORPORA[key];
    if (entry === undefined)
      throw new Error(`unknown corpus '${key}' (known: ${Object.keys(CORPORA).join(', ')})`);
    train.push(keepTasks(await loadDataset(entry.train, context)));
    if (entry.dev !== undefined) dev.push(keepTasks(await loadDataset(entry.dev, context)));
  }
  return { train, dev };
}

/**
 * The default head's training mix under `config`: the corpora prepared (speaker normalisation
 * and the domain task when the config asks for them; the shipped config does not), each
 * repeated per epoch as `repeats` says, plus `pairs` cross-corpus pairs; the dev corpora, and
 * paired dev samples (dev texts with dev faces of the same class; speech has no dev split) that
 * measure what fusion adds over each modality alone.
 */
export function defaultMix(
  raw: { train: FeatureDataset[]; dev: FeatureDataset[] },
  config: TrainConfig,
  options: { repeats: Record<string, number>; pairs: number },
): {
  prepared: ReturnType<typeof prepareTrainingSets>;
  trainSets: FeatureDataset[];
  datasets: FeatureDataset[];
  train: FeatureDataset;
  dev: FeatureDataset;
  devSets: FeatureDataset[];
} {
  const prepared = prepareTrainingSets(raw.train, config);
  const trainSets = prepared.sets;
  const repeated = trainSets.flatMap((ds, i) =>
    repeatCorpus(ds, options.repeats[corpusKey(ds)] ?? 1, config.seed + 10 * i),
  );
  const devSets = raw.dev.map((ds) => devSet(applySpeakerNorm(ds, prepared.speakerNorm), config));
  // Pairs need two modalities with emotion labels (a leave-one-corpus-out fold may leave one).
  const pairs =
    options.pairs > 0 && emotionModalities(trainSets) >= 2
      ? pairByClass(trainSets, { size: options.pairs, seed: config.seed })
      : undefined;
  // The pairs are a corpus of their own (classes about uniform): their own prior.
  const paired = pairs !== undefined && config.logitAdjustment ? withCorpusPriors([pairs])[0]! : pairs;
  if (paired !== undefined) repeated.push(paired);
  const pairedDev =
    emotionModalities(devSets) >= 2 ? pairByClass(devSets, { size: 3000, seed: 7 }) : undefined;
  return {
    prepared,
    trainSets,
    datasets: paired !== undefined ? [...trainSets, paired] : trainSets,
    train: mergeDatasets(repeated),
    dev: mergeDatasets(devSets),
    devSets: [
      ...devSets,
      ...(pairedDev === undefined ? [] : [pairedDev, onlyModality(pairedDev, 0), onlyModality(pairedDev, 1)]),
    ],
  };
}

/** How many modalities the datasets' emotion-labelled corpora cover. */
function emotionModalities(sets: readonly FeatureDataset[]): number {
  return new Set(
    sets
      .filter((d) => d.tasks['emotion'] !== undefined)
      .flatMap((d) => MODALITIES.filter((m) => d.features[m] !== undefined)),
  ).size;
}

/** `fitHead` over a default mix: the shipped head, or one run of the ablation. */
export function fitMix(
  mix: ReturnType<typeof defaultMix>,
  config: TrainConfig,
  factory: SessionFactory,
  options: Pick<FitHeadInput, 'name' | 'out' | 'notice' | 'onProgress'>,
): Promise<FitHeadResult> {
  return fitHead({
    datasets: mix.datasets,
    train: mix.train,
    dev: mix.dev,
    devSets: mix.devSets,
    config,
    factory,
    ...(mix.prepared.speakerNorm === undefined ? {} : { speakerNorm: mix.prepared.speakerNorm }),
    ...options,
  });
}

/** A dataset without its speakers, groups and order: clips as a user's folder gives them (lone samples). */
export function anonymous(ds: FeatureDataset): FeatureDataset {
  const out = { ...ds };
  delete out.groups;
  delete out.speakers;
  delete out.order;
  return out;
}

/** The default recipe with an overrides file's keys merged over it. */
export interface Recipe {
  config: TrainConfig;
  /** Passes per epoch by corpus (REPEATS, overridden). */
  repeats: Record<string, number>;
  /** Cross-corpus pairs (PAIRED, overridden). */
  pairs: number;
  /** The corpora trained on (DEFAULT_MIX, overridden). */
  mix: string[];
  /** Feature options (DEFAULT_FEATURES, overridden key by key). */
  features: RecipeFeatures;
}

/**
 * The recipe of `npm run train:default -- --config <file>` (and the ablation and LOCO scripts'):
 * the file's keys over DEFAULT_HEAD_CONFIG, plus `repeats` (merged over REPEATS), `paired`,
 * `mix` and `features` (merged over DEFAULT_FEATURES); `extra` keys (a `--seed`, say) go over both.
 */
export async function readRecipe(
  file: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<Recipe> {
  const { repeats, paired, mix, features, ...train } =
    file === undefined ? {} : (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>);
  return {
    config: parseTrainConfig({ ...DEFAULT_HEAD_CONFIG, ...train, ...extra }),
    repeats: { ...REPEATS, ...(repeats as Record<string, number> | undefined) },
    pairs: (paired as number | undefined) ?? PAIRED,
    mix: (mix as string[] | undefined) ?? DEFAULT_MIX,
    features: { ...DEFAULT_FEATURES, ...(features as Partial<RecipeFeatures> | undefined) },
  };
}

/** Only the default head's tasks. */
export function keepTasks(ds: FeatureDataset): FeatureDataset {
  return { ...ds, tasks: Object.fromEntries(Object.entries(ds.tasks).filter(([name]) => TASKS.has(name))) };
}

/**
 * Group k-fold cross-validation of the joint default head over RAVDESS actors: each fold trains
 * the whole head (every corpus, RAVDESS without the fold's actors, pairs rebuilt from that) and
 * scores the held-out actors' clips.
 */
async function crossValidateRavdess(
  trainSets: FeatureDataset[],
  times: number[],
  pairs: number,
  config: TrainConfig,
  k: number,
  /** RAVDESS before preparation, and the speaker normalisation: each fold is also scored with its actors unknown. */
  raw: { ravdess: FeatureDataset; speakerNorm?: SpeakerNorm },
): Promise<Record<string, unknown>> {
  const ri = trainSets.findIndex((d) => corpusKey(d) === 'ravdess');
  const rav = trainSets[ri]!;
  const folds = groupFolds(rav.speakers!, k, config.seed);
  const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  const results: {
    actors: string[];
    samples: number;
    uar: number;
    accuracy: number;
    uarSpeakersUnknown: number;
  }[] = [];
  for (let f = 0; f < k; f++) {
    const held = new Set(folds[f]!);
    const ravTrain = subset(
      rav,
      Array.from({ length: rav.size }, (_, i) => i).filter((i) => !held.has(i)),
    );
    const sets = trainSets.map((d, i) => (i === ri ? ravTrain : d));
    const repeated = sets.flatMap((d, i) => repeatCorpus(d, times[i]!, config.seed + 10 * i));
    const paired = pairByClass(sets, { size: pairs, seed: config.seed });
    if (paired.size > 0) repeated.push(paired);
    const r = await trainHead({ train: mergeDatasets(repeated), config, factory });
    const test = subset(rav, folds[f]!);
    const session = await graphSession(factory, headOnnx(r.desc, r.params, `cv-${f}`));
    const m = evaluate(r.desc, await predict(session, r.desc, test), test).tasks[
      'emotion'
    ] as ClassificationMetrics;
    // The same clips as a user without a manifest would give them: no speaker, no group (lone
    // samples, the head's global statistics).
    const blind = applySpeakerNorm(anonymous(subset(raw.ravdess, folds[f]!)), raw.speakerNorm, false);
    const mb = evaluate(r.desc, await predict(session, r.desc, blind), blind).tasks[
      'emotion'
    ] as ClassificationMetrics;
    results.push({
      actors: [...new Set(folds[f]!.map((i) => rav.speakers![i]!))].sort(),
      samples: test.size,
      uar: m.uar,
      accuracy: m.accuracy,
      uarSpeakersUnknown: mb.uar,
    });
    process.stderr.write(`fold ${f + 1}/${k}: UAR ${m.uar.toFixed(4)}\n`);
  }
  await factory.release();
  return {
    corpus: 'ravdess',
    k,
    group: 'speaker',
    folds: results,
    uar: meanStd(results.map((r) => r.uar)),
    accuracy: meanStd(results.map((r) => r.accuracy)),
    uarSpeakersUnknown: meanStd(results.map((r) => r.uarSpeakersUnknown)),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      cache: { type: 'string' },
      config: { type: 'string' },
      'cv-ravdess': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(
      'Usage: npm run train:default [-- --out <dir>] [--cache <dir>] [--config <overrides.json>] [--cv-ravdess <k>]\n' +
        '--cv-ravdess k: instead of writing the head, k-fold cross-validation of the whole default head over\n' +
        '  RAVDESS actors (each fold trains on every corpus but the held-out actors, scores those actors).\n' +
        "--config merges keys over the default head's config (for experiments; the shipped head uses none);\n" +
        '  also "repeats" ({"meld": 2, "dair": 0.5}: passes per epoch, fractions a seeded subset), "paired" (pairs)\n' +
        '  "mix" (the corpora trained on, names of CORPORA) and "features" ({"prosody": true, "lexicalBuckets": 131072}).\n',
    );
    return;
  }
  const out = values.out ?? join(packageRoot(), 'models', 'heads', 'default');
  const cacheDir = values.cache ?? join(packageRoot(), '.cache', 'features');
  const t0 = Date.now();
  const { config, repeats, pairs, mix: mixKeys, features } = await readRecipe(values.config);
  const { context, release: releaseExtraction } = featureContext(cacheDir, features);
  const raw = await loadDefaultCorpora(context, mixKeys);
  const mix = defaultMix(raw, config, { repeats, pairs });
  const { trainSets } = mix;
  const extractedSeconds = (Date.now() - t0) / 1000;
  await releaseExtraction();
  if (values['cv-ravdess'] !== undefined) {
    const times = trainSets.map((d) => repeats[corpusKey(d)] ?? 1);
    process.stdout.write(
      JSON.stringify(
        await crossValidateRavdess(trainSets, times, pairs, config, Number(values['cv-ravdess']), {
          ravdess: raw.train.find((d) => corpusKey(d) === 'ravdess')!,
          ...(mix.prepared.speakerNorm === undefined ? {} : { speakerNorm: mix.prepared.speakerNorm }),
        }),
      ) + '\n',
    );
    return;
  }

  const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  const fitted = await fitMix(mix, config, factory, {
    name: 'default',
    notice: noticeOf(mixKeys),
    out,
    onProgress: (p) => {
      if (p.devMetric !== undefined)
        process.stderr.write(
          `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} dev ${p.devMetric.toFixed(4)}\n`,
        );
    },
  });
  await factory.release();
  process.stdout.write(
    JSON.stringify({
      head: fitted.onnxPath,
      sha256: fitted.sha256,
      extractSeconds: extractedSeconds,
      trainSeconds: fitted.result.seconds,
      totalSeconds: (Date.now() - t0) / 1000,
    }) + '\n',
  );
}

// Run only as a script (scripts/ablation.ts imports the settings above).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((e: unknown) => {
    process.stderr.write(`train-default: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
