import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMOTION_TASK, type Corpus } from '../src/data/corpus.js';
import { corpusToDataset } from '../src/data/corpus-dataset.js';
import { subset } from '../src/data/dataset-rows.js';
import { mergeDatasets } from '../src/data/datasets.js';
import { toyTextExtractor } from './support/extractors.js';

const cache = mkdtempSync(join(tmpdir(), 'emoflow-corpus-ds-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const onehot = (k: number) => Array.from({ length: 7 }, (_, i) => (i === k ? 1 : 0));

function corpus(name: string, rows: { text: string; emotion?: number[]; truth?: number }[]): Corpus {
  return {
    name,
    tasks: [EMOTION_TASK],
    source: { corpus: name, path: '-', licence: '-' },
    samples: rows.map((r, i) => ({
      id: `${name}/${i}`,
      root: cache,
      text: r.text,
      labels: {},
      targets: r.emotion === undefined ? {} : { emotion: r.emotion },
      ...(r.truth === undefined ? {} : { truth: { emotion: r.truth } }),
    })),
  };
}

describe('corpusToDataset and mergeDatasets', () => {
  it('gathers cached vectors with targets, flags label-set corpora, and merges truth per row', async () => {
    const sets = await corpusToDataset(
      corpus('sets', [
        { text: 'ab', emotion: [0.5, 0, 0, 0.5, 0, 0, 0] },
        { text: 'c', emotion: onehot(4) },
        { text: 'zz' },
      ]),
      { extractors: [toyTextExtractor], cacheDir: cache },
    );
    const votes = await corpusToDataset(
      corpus('votes', [
        { text: 'v', emotion: [0.6, 0.4, 0, 0, 0, 0, 0], truth: 0 },
        { text: 'w', emotion: [0.5, 0.5, 0, 0, 0, 0, 0], truth: -1 },
      ]),
      { extractors: [toyTextExtractor], cacheDir: cache },
    );
    const ds = sets.dataset;
    expect(Array.from(ds.features.text!.data)).toEqual([2, 97, 1, 99, 2, 122]);
    expect(Array.from(ds.mask)).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(ds.tasks['emotion']!.has)).toEqual([1, 1, 0]);
    expect(Array.from(ds.tasks['emotion']!.multiLabel!)).toEqual([1, 1, 0]);
    expect(votes.dataset.tasks['emotion']!.multiLabel).toBeUndefined();

    const merged = mergeDatasets([ds, votes.dataset]);
    expect(Array.from(merged.tasks['emotion']!.truth!)).toEqual([0, 4, -1, 0, -1]);
    expect(Array.from(merged.tasks['emotion']!.multiLabel!)).toEqual([1, 1, 0, 0, 0]);
    expect(merged.ids).toEqual(['sets/0', 'sets/1', 'sets/2', 'votes/0', 'votes/1']);
    // Row subsets (cross-validation folds) keep the per-row flags.
    const fold = subset(merged, [1, 3]);
    expect(Array.from(fold.tasks['emotion']!.multiLabel!)).toEqual([1, 0]);
    expect(Array.from(fold.tasks['emotion']!.truth!)).toEqual([4, 0]);
    expect(Array.from(fold.features.text!.data)).toEqual([1, 99, 1, 118]);
  });
});
