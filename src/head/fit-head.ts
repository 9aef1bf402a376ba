import { MODALITIES, type Modality } from '../core/labels.js';
import { EmoflowError } from '../core/errors.js';
import { withDomainTask } from '../data/domain-task.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import { applySpeakerNorm, fitSpeakerNorm } from '../data/speaker-norm.js';
import type { SpeakerNorm } from '../features/speaker-norm.js';
import type { SessionFactory } from '../models/session-factory.js';
import { headOnnx, saveHead, type LoadedHead } from './artifact.js';
import { calibrate, evaluate, predict } from './evaluate.js';
import { buildHead } from './head-model.js';
import { encodeModel } from './onnx/proto.js';
import {
  adjustedTasks,
  classMass,
  classPrior,
  priorFactors,
  priorName,
  sourcePrior,
  withCorpusPriors,
  withPriors,
  type PriorRecord,
} from './label-prior.js';
import type { HeadDescription } from './head-spec.js';
import type { TrainConfig } from './train-config.js';
import { evalOutputs, graphSession, trainHead, type TrainProgress, type TrainResult } from './trainer.js';

export interface FitHeadInput {
  datasets: FeatureDataset[];
  train: FeatureDataset;
  dev?: FeatureDataset;
  /** Dev corpora scored one by one into head.json's metrics (besides `dev`, which calibrates). */
  devSets?: FeatureDataset[];
  config: TrainConfig;
  factory: SessionFactory;
  init?: LoadedHead;
  freeze?: 'trunk';
  name: string;
  /** Terms of use that follow from the training data, recorded in head.json. */
  notice?: string;
  out: string;
  /** The per-speaker standardisation the data went through (prepareTrainingSets), for head.json. */
  speakerNorm?: SpeakerNorm;
  onProgress?: (p: TrainProgress) => void;
}

/**
 * The training corpora as the head sees them, before they are merged: standardised per speaker
 * (the config's `speakerNorm`, or the initial head's plan when fine-tuning one trained with it),
 * with the training-only `corpus` task when the config sets `domainAdversarial`, and with each
 * corpus's log prior when it sets `logitAdjustment`. Dev and evaluation sets go through
 * `applySpeakerNorm` with the returned plan (and a dev set through `withCorpusPriors`, which
 * `fitHead` calibrates with).
 */
export function prepareTrainingSets(
  sets: readonly FeatureDataset[],
  config: TrainConfig,
  init?: LoadedHead,
): { sets: FeatureDataset[]; speakerNorm?: SpeakerNorm } {
  let plan: SpeakerNorm | undefined;
  if (init !== undefined && init.json.speakerNorm !== null) plan = init.json.speakerNorm;
  else if (config.speakerNorm !== null) {
    if (init !== undefined)
      throw new EmoflowError(
        'CONFIG_INVALID',
        `the initial head ${init.json.name} was trained without speakerNorm: its inputs are raw features, so fine-tuning cannot switch it on`,
      );
    plan = fitSpeakerNorm(sets, config.speakerNorm);
  }
  let out = sets.map((d) => applySpeakerNorm(d, plan));
  if (config.domainAdversarial > 0) out = withDomainTask(out, config.domainAdversarial);
  if (config.logitAdjustment) out = withCorpusPriors(out);
  return plan === undefined ? { sets: out } : { sets: out, speakerNorm: plan };
}

/** A dev corpus as `fitHead` calibrates with it: with its own log prior under logit adjustment. */
export function devSet(ds: FeatureDataset, config: TrainConfig): FeatureDataset {
  return config.logitAdjustment ? withCorpusPriors([ds])[0]! : ds;
}

export interface FitHeadResult {
  onnxPath: string;
  sha256: string;
  result: TrainResult;
  metrics: Record<string, unknown>;
}

/** Modalities present in the rows that label each task. */
function taskModalities(ds: FeatureDataset): Record<string, Modality[]> {
  const out: Record<string, Modality[]> = {};
  for (const [name, t] of Object.entries(ds.tasks)) {
    out[name] = MODALITIES.filter((m, c) => {
      if (ds.features[m] === undefined) return false;
      for (let i = 0; i < ds.size; i++) if (t.has[i] === 1 && ds.mask[i * 3 + c] === 1) return true;
      return false;
    });
  }
  return out;
}

function corpusRecord(ds: FeatureDataset): {
  corpus: string;
  path: string;
  split?: string;
  samples: number;
  licence: string;
} {
  return {
    corpus: ds.source.corpus,
    path: ds.source.path,
    ...(ds.source.split === undefined ? {} : { split: ds.source.split }),
    samples: ds.size,
    licence: ds.source.licence,
  };
}

/**
 * `emoflow train` below its flags: train (or fine-tune), calibrate the tasks it trained on dev
 * (temperature, multi-label thresholds; tasks it did not train keep theirs, so that a task added
 * under a frozen trunk leaves the others' outputs exactly as they were), measure dev metrics with
 * the final head.onnx, and write the head folder.
 */
export async function fitHead(input: FitHeadInput): Promise<FitHeadResult> {
  const { train, dev, config, factory, init } = input;
  const result = await trainHead({
    train,
    ...(dev === undefined ? {} : { dev }),
    config,
    factory,
    ...(init === undefined ? {} : { init: { desc: init.desc, params: init.params } }),
    ...(input.freeze === undefined ? {} : { freeze: input.freeze }),
    ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }),
  });
  const desc = result.desc;
  const trainedTasks = desc.tasks.filter((t) => train.tasks[t.name] !== undefined);
  const priors = priorRecords(desc, input.datasets, train, config, init);
  const factors = priorFactors(desc, priors);
  let thresholds: Record<string, number[]> = { ...(init?.json.thresholds ?? {}) };
  let metrics: Record<string, unknown> = {};
  if (dev !== undefined) {
    const evalGraph = buildHead(desc, result.params, 'eval');
    const session = await graphSession(factory, encodeModel(evalGraph.graph.toModel({ params: 'inputs' })));
    const cal = calibrate(trainedTasks, await evalOutputs(session, desc, result.params, dev), dev, factors);
    desc.temperature = { ...desc.temperature, ...cal.temperature };
    thresholds = { ...thresholds, ...cal.thresholds };
    const head = await graphSession(factory, headOnnx(desc, result.params, input.name));
    const ev = evaluate(desc, withPriors(await predict(head, desc, dev), desc, factors), dev, thresholds);
    metrics = { dev: { corpus: dev.name, samples: ev.samples, tasks: ev.tasks } };
    if (input.devSets !== undefined) {
      const per: Record<string, unknown> = {};
      // Each dev corpus as `emoflow eval` scores a spec of it: under its own training prior where
      // the head records one (label-prior.ts sourcePrior), else the default.
      for (const d of input.devSets) {
        const source = sourcePrior(priors['emotion'], corpusKey(d));
        const f = source === undefined ? factors : priorFactors(desc, priors, { emotion: source });
        const e = evaluate(desc, withPriors(await predict(head, desc, d), desc, f), d, thresholds);
        per[d.name] = {
          samples: e.samples,
          ...(source === undefined ? {} : { prior: priorName(source) }),
          tasks: e.tasks,
        };
      }
      metrics['devByCorpus'] = per;
    }
  }
  const oldModalities = Object.fromEntries(init?.json.tasks.map((t) => [t.name, t.modalities]) ?? []);
  const saved = await saveHead(input.out, desc, result.params, {
    name: input.name,
    ...(input.notice === undefined ? {} : { notice: input.notice }),
    thresholds,
    metrics,
    taskModalities: { ...oldModalities, ...taskModalities(train) },
    ...(input.speakerNorm === undefined ? {} : { speakerNorm: input.speakerNorm }),
    priors,
    training: {
      corpora: input.datasets.map(corpusRecord),
      dev: dev === undefined ? null : corpusRecord(dev),
      seed: config.seed,
      config: config as unknown as Record<string, unknown>,
      init: init === undefined ? null : { name: init.json.name, sha256: init.json.sha256 },
      freeze: input.freeze ?? null,
      trained: result.trained,
      steps: result.steps,
      seconds: result.seconds,
      time: new Date().toISOString(),
      log: result.log as unknown as Record<string, unknown>[],
    },
  });
  return { onnxPath: saved.onnxPath, sha256: saved.sha256, result, metrics };
}

/** The corpus name a dataset's priors are recorded under: its adapter (`meld` of `meld:train.csv`). */
export function corpusKey(ds: FeatureDataset): string {
  const colon = ds.name.indexOf(':');
  return colon > 0 ? ds.name.slice(0, colon) : ds.name;
}

/**
 * head.json `priors`, per classification task: the training mix's class shares, each training
 * corpus's, what the outputs embody (uniform with logit adjustment, else the mix's) and the
 * default that inference applies (config `prior`). A fine-tuned head keeps its initial head's
 * corpora and adds the new ones.
 */
function priorRecords(
  desc: HeadDescription,
  datasets: readonly FeatureDataset[],
  train: FeatureDataset,
  config: TrainConfig,
  init: LoadedHead | undefined,
): Record<string, PriorRecord> {
  const out: Record<string, PriorRecord> = {};
  for (const t of adjustedTasks(desc.tasks)) {
    const c = t.labels.length;
    const old = init?.json.priors?.[t.name];
    const labels = train.tasks[t.name];
    // Splits of one corpus (two specs of one adapter) add up under its name.
    const mass = new Map<string, Float64Array>();
    for (const d of datasets) {
      const l = d.tasks[t.name];
      if (l !== undefined) mass.set(corpusKey(d), classMass(l, c, mass.get(corpusKey(d))));
    }
    const corpora: Record<string, number[]> = { ...(old?.corpora ?? {}) };
    for (const [key, m] of mass) {
      const total = m.reduce((a, b) => a + b, 0);
      if (total > 0) corpora[key] = Array.from(m, (v) => round6(v / total));
    }
    const trainingShares =
      labels === undefined
        ? (old?.training ?? new Array<number>(c).fill(1 / c))
        : Array.from(classPrior(labels, c), round6);
    if (Array.isArray(config.prior) && config.prior.length !== c)
      throw new EmoflowError(
        'CONFIG_INVALID',
        `config prior: ${config.prior.length} numbers for task ${t.name}, which has ${c} classes`,
      );
    out[t.name] = {
      base: old?.base ?? (config.logitAdjustment ? 'uniform' : 'training'),
      training: trainingShares,
      corpora,
      default: config.prior,
    };
  }
  return out;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
