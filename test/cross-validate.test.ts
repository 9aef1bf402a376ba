import { describe, expect, it } from 'vitest';
import { readMosi } from '../src/data/adapters/mosi.js';
import { subset } from '../src/data/dataset-rows.js';
import { crossValidate, groupFolds } from '../src/head/cross-validate.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { sharedNeed } from './support/paths.js';

const MOSI = sharedNeed('data/multimodal/mosi/train.jsonl.gz');

describe('group cross-validation', () => {
  it('deals whole groups into k folds, deterministically per seed', () => {
    const groups = ['a', 'a', 'b', 'c', 'c', 'c', 'd', 'e', 'e', 'f'];
    const folds = groupFolds(groups, 3, 1);
    expect(folds.flat().sort((x, y) => x - y)).toEqual(groups.map((_, i) => i));
    for (const f of folds) {
      const gs = new Set(f.map((i) => groups[i]));
      for (const other of folds)
        if (other !== f) for (const i of other) expect(gs.has(groups[i])).toBe(false);
      expect(gs.size).toBe(2); // 6 groups over 3 folds
    }
    expect(groupFolds(groups, 3, 1)).toEqual(folds);
    expect(() => groupFolds(groups, 7, 1)).toThrowError(/needs at least 7 groups/);
  });

  it.skipIf(MOSI.missing)(
    `trains on k-1 folds of MOSI videos and scores the held-out videos ${MOSI.tag}`,
    async () => {
      const ds = await readMosi(MOSI.path);
      const part = subset(
        ds,
        Array.from({ length: 400 }, (_, i) => i),
      );
      expect(part.size).toBe(400);
      expect(part.features.audio!.data).toEqual(ds.features.audio!.data.subarray(0, 400 * 73));
      const cv = await crossValidate(part, {
        k: 3,
        group: 'group',
        config: parseTrainConfig({ epochs: 3 }),
        factory: new SessionFactory({ intraOpThreads: 1 }),
      });
      expect(cv.folds).toHaveLength(3);
      expect(cv.folds.reduce((a, f) => a + f.samples, 0)).toBe(400);
      const videos = cv.folds.flatMap((f) => f.groups);
      expect(new Set(videos).size).toBe(videos.length); // no video in two folds
      const acc = cv.folds.map((f) => (f.tasks['sentiment'] as { accuracy: number }).accuracy);
      const mean = acc.reduce((a, b) => a + b, 0) / 3;
      expect(cv.summary['sentiment']!['accuracy']!.mean).toBeCloseTo(mean, 12);
      expect(cv.summary['sentiment_score']!['ccc']).toBeDefined();
    },
  );
});
