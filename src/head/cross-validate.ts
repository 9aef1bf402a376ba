import { EmoflowError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { applySpeakerNorm } from '../data/speaker-norm.js';
import { prepareTrainingSets } from './fit-head.js';
import { subset } from '../data/dataset-rows.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import type { TaskMetrics } from '../eval/metrics.js';
import type { SessionFactory } from '../models/session-factory.js';
import { headOnnx } from './artifact.js';
import { evaluate, predict } from './evaluate.js';
import type { TrainConfig } from './train-config.js';
import { graphSession, trainHead } from './trainer.js';

/** k folds of whole groups: groups shuffled with the seed, dealt round-robin. */
export function groupFolds(groups: readonly string[], k: number, seed: number): number[][] {
  const distinct = [...new Set(groups)].sort();
  if (distinct.length < k) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--cv ${k} needs at least ${k} groups; the data has ${distinct.length}`,
    );
  }
  new Random(seed).shuffle(distinct);
  const foldOf = new Map(distinct.map((g, i) => [g, i % k]));
  const folds: number[][] = Array.from({ length: k }, () => []);
  groups.forEach((g, row) => folds[foldOf.get(g)!]!.push(row));
  return folds;
}

/** Mean and sample standard deviation (n − 1) of per-fold figures. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1)) };
}

export interface CrossValidation {
  k: number;
  group: 'group' | 'speaker';
  folds: { groups: string[]; samples: number; tasks: Record<string, TaskMetrics> }[];
  /** Per task, per scalar metric: mean and standard deviation over folds. */
  summary: Record<string, Record<string, { mean: number; std: number }>>;
}

/**
 * Group k-fold cross-validation: for each fold, a head trained with `config` on the other folds'
 * groups (actors, speakers, dialogues: a group is never split) is scored on the held-out fold.
 * No calibration inside folds (there is no dev set); metrics that depend only on the argmax are
 * unaffected.
 */
export async function crossValidate(
  ds: FeatureDataset,
  options: {
    k: number;
    group: 'group' | 'speaker';
    config: TrainConfig;
    factory: SessionFactory;
    /** With speaker normalisation: 'off' scores the held-out fold with the global statistics only (speakers unknown). */
    speakerNormAtTest?: 'auto' | 'off';
    onFold?: (fold: number) => void;
  },
): Promise<CrossValidation> {
  const keys = options.group === 'speaker' ? ds.speakers : ds.groups;
  if (keys === undefined || keys.every((x) => x === '')) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--group ${options.group}: ${ds.name} has no ${options.group} field`,
    );
  }
  const folds = groupFolds(keys, options.k, options.config.seed);
  const results: CrossValidation['folds'] = [];
  for (let f = 0; f < options.k; f++) {
    options.onFold?.(f);
    const held = folds[f]!;
    const heldSet = new Set(held);
    const trainRows = Array.from({ length: ds.size }, (_, i) => i).filter((i) => !heldSet.has(i));
    // Speaker normalisation (when configured) is fitted on the training folds; the held-out
    // speakers are standardised with their own statistics, as at evaluation.
    const prepared = prepareTrainingSets(
      [subset(ds, trainRows, `${ds.name} (fold ${f + 1} train)`)],
      options.config,
    );
    const train = prepared.sets[0]!;
    const rawTest = subset(ds, held, `${ds.name} (fold ${f + 1})`);
    const test = applySpeakerNorm(rawTest, prepared.speakerNorm, options.speakerNormAtTest !== 'off');
    const r = await trainHead({ train, config: options.config, factory: options.factory });
    const session = await graphSession(options.factory, headOnnx(r.desc, r.params, `cv-${f}`));
    const ev = evaluate(r.desc, await predict(session, r.desc, test), test);
    results.push({
      groups: [...new Set(held.map((i) => keys[i]!))].sort(),
      samples: test.size,
      tasks: ev.tasks,
    });
  }
  const summary: CrossValidation['summary'] = {};
  for (const task of Object.keys(results[0]?.tasks ?? {})) {
    summary[task] = {};
    const first = results[0]!.tasks[task] as unknown as Record<string, unknown>;
    for (const [metric, v] of Object.entries(first)) {
      if (typeof v !== 'number' || metric === 'samples' || metric === 'excluded') continue;
      const xs = results
        .map((r) => (r.tasks[task] as unknown as Record<string, number>)[metric]!)
        .filter(Number.isFinite);
      summary[task]![metric] = meanStd(xs);
    }
  }
  return { k: options.k, group: options.group, folds: results, summary };
}
