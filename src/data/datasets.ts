import { stat } from 'node:fs/promises';
import { EmoflowError, type EmoflowWarning } from '../core/errors.js';
import { MODALITIES } from '../core/labels.js';
import { argmaxRow } from '../core/numerics.js';
import type { ModalityExtractor } from '../features/modality-extractor.js';
import { CORPUS_ADAPTERS } from './adapters/index.js';
import { readMosi } from './adapters/mosi.js';
import type { Corpus } from './corpus.js';
import { corpusToDataset } from './corpus-dataset.js';
import type { ExtractSummary } from './extract-features.js';
import { parseCorpusSpec, type CorpusSpec } from './corpus-spec.js';
import type { FeatureDataset, TaskLabels } from './feature-dataset.js';

type FeatureAdapter = (path: string, split: string | undefined) => Promise<FeatureDataset>;

/** Adapters whose corpora ship features (MOSI's release). */
const FEATURE_ADAPTERS: Record<string, FeatureAdapter> = {
  mosi: async (path, split) => {
    if (split !== undefined) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `mosi: name the split's file (train.jsonl.gz, valid.jsonl.gz) instead of #${split}`,
      );
    }
    return readMosi(path);
  },
};

export function datasetAdapters(): string[] {
  return [...Object.keys(CORPUS_ADAPTERS), ...Object.keys(FEATURE_ADAPTERS)].sort();
}

/** What turning raw inputs into features needs: the extractors and the cache folder. */
export interface DatasetContext {
  extractors: () => Promise<readonly ModalityExtractor[]>;
  cacheDir: string;
  onProgress?: (corpus: string, done: number, total: number) => void;
  /** Called once per raw corpus with its extraction summary (input errors by code). */
  onSummary?: (corpus: string, summary: ExtractSummary) => void;
  /** Warnings of extraction (CACHE_WAIT while another process writes the cache). */
  onWarning?: (w: EmoflowWarning) => void;
}

export async function loadCorpus(spec: string | CorpusSpec): Promise<Corpus> {
  const s = typeof spec === 'string' ? parseCorpusSpec(spec) : spec;
  // A corpus file that is a FIFO, socket or device would block its adapter's read forever.
  const st = await stat(s.path).catch(() => undefined);
  if (st !== undefined && !st.isFile() && !st.isDirectory())
    throw new EmoflowError(
      'INPUT_NOT_REGULAR',
      `${s.path}: neither a folder nor a regular file (a FIFO, socket or device); it was not opened`,
      { path: s.path },
    );
  const adapter = CORPUS_ADAPTERS[s.adapter];
  if (adapter === undefined) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `unknown corpus adapter '${s.adapter}' (known: ${datasetAdapters().join(', ')})`,
    );
  }
  return adapter(s.path, s.split);
}

/**
 * A feature dataset for `train` and `eval`: directly from a feature corpus (mosi), or from raw
 * inputs through the extractors and the feature cache.
 */
export async function loadDataset(
  spec: string | CorpusSpec,
  context?: DatasetContext,
): Promise<FeatureDataset> {
  const s = typeof spec === 'string' ? parseCorpusSpec(spec) : spec;
  const direct = FEATURE_ADAPTERS[s.adapter];
  let ds: FeatureDataset;
  if (direct !== undefined) ds = await direct(s.path, s.split);
  else {
    const corpus = await loadCorpus(s);
    if (context === undefined)
      throw new Error(`loadDataset(${s.adapter}): raw corpora need a DatasetContext`);
    const { dataset, summary } = await corpusToDataset(corpus, {
      extractors: await context.extractors(),
      cacheDir: context.cacheDir,
      ...(context.onProgress === undefined
        ? {}
        : { onProgress: (d: number, t: number) => context.onProgress!(corpus.name, d, t) }),
      ...(context.onWarning === undefined ? {} : { onWarning: context.onWarning }),
    });
    context.onSummary?.(corpus.name, summary);
    ds = dataset;
  }
  if (s.split !== undefined) ds.source.split = s.split;
  return ds;
}

/**
 * A dataset's groups for its `copy`-th repeat in a merge (0: as they are): a corpus listed
 * twice (oversampling) must not join each dialogue with its own copy in the context graph.
 */
function copyGroups(d: FeatureDataset, copy: number): string[] {
  const groups = d.groups ?? d.ids.map(() => '');
  return copy === 0 ? groups : groups.map((g) => (g === '' ? g : `${g}#${copy}`));
}

/**
 * One dataset from several: rows concatenated; a modality one lacks is absent (mask 0) in its
 * rows; a task one lacks is unlabelled there (partial labels). Feature specs must agree.
 */
export function mergeDatasets(list: readonly FeatureDataset[]): FeatureDataset {
  if (list.length === 1) return list[0]!;
  const size = list.reduce((a, d) => a + d.size, 0);
  const merged: FeatureDataset = {
    name: list.map((d) => d.name).join('+'),
    size,
    ids: list.flatMap((d) => d.ids),
    groups: list.flatMap((d, k) => copyGroups(d, list.slice(0, k).filter((e) => e === d).length)),
    speakers: list.flatMap((d) => d.speakers ?? d.ids.map(() => '')),
    features: {},
    mask: new Uint8Array(size * 3),
    tasks: {},
    source: {
      corpus: list.map((d) => d.source.corpus).join(' + '),
      path: list.map((d) => d.source.path).join(', '),
      licence: list.map((d) => d.source.licence).join('; '),
    },
  };
  for (const m of MODALITIES) {
    const withM = list.filter((d) => d.features[m] !== undefined);
    if (withM.length === 0) continue;
    const spec = withM[0]!.features[m]!.spec;
    for (const d of withM) {
      const s = d.features[m]!.spec;
      if (s.name !== spec.name || s.version !== spec.version || s.dim !== spec.dim) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `${d.name}: ${m} features ${s.name}@${s.version} differ from ${spec.name}@${spec.version} of another dataset`,
        );
      }
    }
    merged.features[m] = { spec, data: new Float32Array(size * spec.dim) };
  }
  // Positions in a group, for the context graph: a dataset without them counts its rows.
  if (list.some((d) => d.order !== undefined))
    merged.order = Int32Array.from(list.flatMap((d) => Array.from(d.order ?? d.ids.map((_, k) => k))));
  const taskNames = [...new Set(list.flatMap((d) => Object.keys(d.tasks)))];
  for (const name of taskNames) {
    const first = list.find((d) => d.tasks[name] !== undefined)!.tasks[name]!;
    for (const d of list) {
      const other = d.tasks[name]?.spec;
      if (other !== undefined && JSON.stringify(other) !== JSON.stringify(first.spec)) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `task '${name}' differs between the datasets (${d.name}: ${JSON.stringify(other)})`,
        );
      }
    }
    const width = first.targets.length / first.has.length;
    const t: TaskLabels = {
      spec: first.spec,
      targets: new Float32Array(size * width),
      has: new Uint8Array(size),
    };
    if (list.some((d) => d.tasks[name]?.truth !== undefined)) t.truth = new Int32Array(size).fill(-1);
    if (list.some((d) => d.tasks[name]?.multiLabel !== undefined)) t.multiLabel = new Uint8Array(size);
    if (list.some((d) => d.tasks[name]?.logPrior !== undefined)) t.logPrior = new Float32Array(size * width);
    merged.tasks[name] = t;
  }
  let offset = 0;
  for (const d of list) {
    merged.mask.set(d.mask, offset * 3);
    for (const m of MODALITIES) {
      const f = d.features[m];
      if (f !== undefined) merged.features[m]!.data.set(f.data, offset * f.spec.dim);
      else for (let i = 0; i < d.size; i++) merged.mask[(offset + i) * 3 + MODALITIES.indexOf(m)] = 0;
    }
    for (const [name, t] of Object.entries(merged.tasks)) {
      const src = d.tasks[name];
      if (src === undefined) continue;
      const width = t.targets.length / size;
      t.targets.set(src.targets, offset * width);
      t.has.set(src.has, offset);
      if (t.truth !== undefined) {
        // Rows of a corpus without vote-majority truth are scored against their target's argmax.
        if (src.truth !== undefined) t.truth.set(src.truth, offset);
        else
          for (let i = 0; i < d.size; i++)
            if (src.has[i] === 1) t.truth[offset + i] = argmaxRow(src.targets, i, width);
      }
      if (t.multiLabel !== undefined && src.multiLabel !== undefined)
        t.multiLabel.set(src.multiLabel, offset);
      if (t.logPrior !== undefined && src.logPrior !== undefined)
        t.logPrior.set(src.logPrior, offset * width);
    }
    offset += d.size;
  }
  return merged;
}
