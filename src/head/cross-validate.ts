import { EmoflowError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { FeatureDataset, TaskLabels } from '../data/feature-dataset.js';
import type { TaskMetrics } from '../eval/metrics.js';
import type { SessionFactory } from '../models/session-factory.js';
import { headOnnx } from './artifact.js';
import { evaluate, predict } from './evaluate.js';
import type { TrainConfig } from './train-config.js';
import { graphSession, trainHead } from './trainer.js';

/** Rows `rows` of a dataset, as a dataset of their own. */
export function subset(ds: FeatureDataset, rows: readonly number[], name = ds.name): FeatureDataset {
  const pickRows = (a: Float32Array, width: number): Float32Array => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
    return out;
  };
  const features: FeatureDataset['features'] = {};
  for (const [m, f] of Object.entries(ds.features) as [
    keyof FeatureDataset['features'],
    { spec: { dim: number; name: string; version: string }; data: Float32Array },
  ][]) {
    features[m] = { spec: f.spec, data: pickRows(f.data, f.spec.dim) };
  }
  const tasks: Record<string, TaskLabels> = {};
  for (const [name2, t] of Object.entries(ds.tasks)) {
    const width = t.targets.length / ds.size;
    const sub: TaskLabels = {
      spec: t.spec,
      targets: pickRows(t.targets, width),
      has: Uint8Array.from(rows, (r) => t.has[r]!),
    };
    if (t.truth !== undefined) sub.truth = Int32Array.from(rows, (r) => t.truth![r]!);
    tasks[name2] = sub;
  }
  const out: FeatureDataset = {
    name,
    size: rows.length,
    ids: rows.map((r) => ds.ids[r]!),
    features,
    mask: Uint8Array.from(
      { length: rows.length * 3 },
      (_, k) => ds.mask[rows[Math.floor(k / 3)]! * 3 + (k % 3)]!,
    ),
    tasks,
    source: ds.source,
  };
  if (ds.groups !== undefined) out.groups = rows.map((r) => ds.groups![r]!);
  if (ds.speakers !== undefined) out.speakers = rows.map((r) => ds.speakers![r]!);
  if (ds.order !== undefined) out.order = Int32Array.from(rows, (r) => ds.order![r]!);
  return out;
}

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
    const train = subset(ds, trainRows, `${ds.name} (fold ${f + 1} train)`);
    const test = subset(ds, held, `${ds.name} (fold ${f + 1})`);
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
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
      summary[task]![metric] = { mean, std };
    }
  }
  return { k: options.k, group: options.group, folds: results, summary };
}
