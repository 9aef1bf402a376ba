import { MODALITIES, type Modality } from '../core/labels.js';
import { Random } from '../core/random.js';
import type { FeatureDataset, TaskLabels } from './feature-dataset.js';

export interface PairingOptions {
  /** Samples to make. */
  size: number;
  seed: number;
  /** The classification task whose classes match the modalities (default `emotion`). */
  task?: string;
  /** A row joins a class's pool only when its target puts at least this mass on the class. */
  minMass?: number;
}

/**
 * Multimodal training samples made from single-modality corpora: each combines rows of two or
 * three modalities that carry the same class (a text, a face and a voice all labelled anger), with
 * that class as its target. Corpora like MELD, FER+ and RAVDESS each hold one modality, so
 * without such samples the fusion gate, which only learns where modalities meet, would never be
 * trained. Rows are drawn with a seeded RNG: the same inputs and seed give the same samples.
 */
export function pairByClass(sources: readonly FeatureDataset[], options: PairingOptions): FeatureDataset {
  const taskName = options.task ?? 'emotion';
  const minMass = options.minMass ?? 0.99;
  const spec = sources.map((s) => s.tasks[taskName]?.spec).find((s) => s !== undefined);
  if (spec === undefined || spec.type !== 'classification')
    throw new Error(`pairByClass: no classification task '${taskName}'`);
  const c = spec.labels.length;
  // pools[m][k]: (source, row) pairs whose modality m is present and whose class is k.
  const pools = MODALITIES.map(() => Array.from({ length: c }, () => [] as [number, number][]));
  const specs: Partial<Record<Modality, FeatureDataset['features'][Modality]>> = {};
  sources.forEach((ds, si) => {
    const t = ds.tasks[taskName];
    if (t === undefined) return;
    for (let i = 0; i < ds.size; i++) {
      if (t.has[i] === 0 || t.multiLabel?.[i] === 1) continue;
      const k = classOf(t, i, c, minMass);
      if (k < 0) continue;
      MODALITIES.forEach((m, mi) => {
        if (ds.mask[i * 3 + mi] === 1 && ds.features[m] !== undefined) {
          pools[mi]![k]!.push([si, i]);
          specs[m] ??= ds.features[m];
        }
      });
    }
  });
  const rnd = new Random(options.seed);
  const n = options.size;
  const features: FeatureDataset['features'] = {};
  for (const m of MODALITIES) {
    const f = specs[m];
    if (f !== undefined) features[m] = { spec: f.spec, data: new Float32Array(n * f.spec.dim) };
  }
  const mask = new Uint8Array(n * 3);
  const targets = new Float32Array(n * c);
  const classes = Array.from({ length: c }, (_, k) => k).filter(
    (k) => pools.filter((p) => p[k]!.length > 0).length >= 2,
  );
  if (classes.length === 0) throw new Error('pairByClass: no class has rows in two modalities');
  for (let i = 0; i < n; i++) {
    const k = classes[rnd.int(classes.length)]!;
    const avail = MODALITIES.map((_, mi) => mi).filter((mi) => pools[mi]![k]!.length > 0);
    rnd.shuffle(avail);
    const take = avail.length >= 3 && rnd.next() < 0.5 ? 3 : 2;
    for (const mi of avail.slice(0, take)) {
      const m = MODALITIES[mi]!;
      const pool = pools[mi]![k]!;
      const [si, row] = pool[rnd.int(pool.length)]!;
      const src = sources[si]!.features[m]!;
      const dim = src.spec.dim;
      features[m]!.data.set(src.data.subarray(row * dim, (row + 1) * dim), i * dim);
      mask[i * 3 + mi] = 1;
    }
    targets[i * c + k] = 1;
  }
  const labels: TaskLabels = { spec, targets, has: new Uint8Array(n).fill(1) };
  return {
    name: `paired:${taskName}`,
    size: n,
    ids: Array.from({ length: n }, (_, i) => `paired/${i}`),
    features,
    mask,
    tasks: { [taskName]: labels },
    source: { corpus: 'pairs of the corpora above (same class)', path: '-', licence: 'as the corpora above' },
  };
}

function classOf(t: TaskLabels, i: number, c: number, minMass: number): number {
  if (t.truth !== undefined) return t.truth[i]!;
  let best = 0;
  for (let k = 1; k < c; k++) if (t.targets[i * c + k]! > t.targets[i * c + best]!) best = k;
  return t.targets[i * c + best]! >= minMass ? best : -1;
}
