import type { EmoflowWarning } from '../core/errors.js';
import { MODALITIES } from '../core/labels.js';
import type { ModalityExtractor } from '../features/modality-extractor.js';
import { argmaxRow } from '../core/numerics.js';
import { taskWidth } from '../core/tasks.js';
import type { Corpus } from './corpus.js';
import { extractToCache, type ExtractSummary } from './extract-features.js';
import { sampleIndexName } from './feature-cache.js';
import type { FeatureDataset, TaskLabels } from './feature-dataset.js';

export interface MaterialiseOptions {
  extractors: readonly ModalityExtractor[];
  cacheDir: string;
  onProgress?: (done: number, total: number) => void;
  /** Warnings of extraction (CACHE_WAIT while another process writes the cache). */
  onWarning?: (w: EmoflowWarning) => void;
}

/**
 * A corpus of raw inputs as a feature dataset: each modality of each sample extracted once per
 * (content sha256, extractor, version) into the feature cache (resumable; later runs read it
 * back), then gathered with the corpus's targets. A modality whose input failed is absent for
 * that sample (mask 0); the failures are counted in the returned summary.
 */
export async function corpusToDataset(
  corpus: Corpus,
  options: MaterialiseOptions,
): Promise<{ dataset: FeatureDataset; summary: ExtractSummary }> {
  const n = corpus.samples.length;
  const used = options.extractors.filter((ex) =>
    corpus.samples.some((s) =>
      ex.modality === 'text'
        ? s.text !== undefined || s.textPath !== undefined
        : ex.modality === 'image'
          ? s.image !== undefined
          : s.audio !== undefined,
    ),
  );
  const features: FeatureDataset['features'] = {};
  for (const ex of used)
    features[ex.modality] = { spec: { ...ex.spec }, data: new Float32Array(n * ex.spec.dim) };
  const mask = new Uint8Array(n * 3);
  const summary = await extractToCache(corpus.samples, used, options.cacheDir, sampleIndexName(corpus), {
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    onVector: (i, m, v) => {
      const f = features[m]!;
      f.data.set(v, i * f.spec.dim);
      mask[i * 3 + MODALITIES.indexOf(m)] = 1;
    },
  });
  const tasks: Record<string, TaskLabels> = {};
  for (const spec of corpus.tasks) {
    const width = spec.type === 'regression' ? 1 : taskWidth(spec);
    const t: TaskLabels = { spec, targets: new Float32Array(n * width), has: new Uint8Array(n) };
    const withTruth = corpus.samples.some((s) => s.truth?.[spec.name] !== undefined);
    if (withTruth) t.truth = new Int32Array(n).fill(-1);
    corpus.samples.forEach((s, i) => {
      const y = s.targets[spec.name];
      if (y === undefined) return;
      t.has[i] = 1;
      if (typeof y === 'number') t.targets[i * width] = y;
      else t.targets.set(y, i * width);
      // Rows without an explicit truth are scored against their target's argmax.
      if (t.truth !== undefined) t.truth[i] = s.truth?.[spec.name] ?? argmaxRow(t.targets, i, width);
    });
    // A corpus with label-set rows (several classes with mass, no vote-majority truth) is scored as sets.
    if (spec.type === 'classification' && !withTruth) {
      let sets = false;
      for (let i = 0; i < n && !sets; i++) {
        let k = 0;
        for (let c = 0; c < width; c++) if (t.targets[i * width + c]! > 0) k++;
        sets = k > 1;
      }
      if (sets) t.multiLabel = Uint8Array.from(t.has);
    }
    tasks[spec.name] = t;
  }
  const order = corpus.samples.some((s) => s.order !== undefined)
    ? Int32Array.from(corpus.samples, (s) => s.order ?? 0)
    : undefined;
  const dataset: FeatureDataset = {
    name: corpus.name,
    size: n,
    ids: corpus.samples.map((s) => s.id),
    groups: corpus.samples.map((s) => s.group ?? s.id),
    speakers: corpus.samples.map((s) => s.speaker ?? ''),
    features,
    mask,
    tasks,
    source: corpus.source,
  };
  if (order !== undefined) dataset.order = order;
  return { dataset, summary };
}
