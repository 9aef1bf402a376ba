import { describe, expect, it } from 'vitest';
import { EMOTION_TASK } from '../src/data/corpus.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { pairByClass } from '../src/data/pairing.js';

/** One single-modality corpus: row i has class classes[i] and feature value 100*m + i. */
function corpus(modality: 'text' | 'image' | 'audio', classes: number[], soft = false): FeatureDataset {
  const n = classes.length;
  const col = ['text', 'image', 'audio'].indexOf(modality);
  const targets = new Float32Array(n * 7);
  classes.forEach((k, i) => {
    if (soft) {
      targets[i * 7 + k] = 0.6;
      targets[i * 7 + ((k + 1) % 7)] = 0.4;
    } else targets[i * 7 + k] = 1;
  });
  return {
    name: modality,
    size: n,
    ids: classes.map((_, i) => `${modality}/${i}`),
    features: {
      [modality]: {
        spec: { name: modality, version: '1', dim: 1 },
        data: Float32Array.from(classes, (_, i) => 100 * col + i),
      },
    },
    mask: Uint8Array.from({ length: n * 3 }, (_, k) => (k % 3 === col ? 1 : 0)),
    tasks: { emotion: { spec: EMOTION_TASK, targets, has: new Uint8Array(n).fill(1) } },
    source: { corpus: modality, path: '-', licence: '-' },
  };
}

describe('pairByClass', () => {
  it('combines rows of two or three modalities that share a class, deterministically', () => {
    const text = corpus('text', [0, 1, 0, 3]);
    const image = corpus('image', [0, 1, 1, 5]);
    const audio = corpus('audio', [1, 0, 6]);
    const p = pairByClass([text, image, audio], { size: 500, seed: 3 });
    expect(p.size).toBe(500);
    const textClass = [0, 1, 0, 3];
    const imageClass = [0, 1, 1, 5];
    const audioClass = [1, 0, 6];
    for (let i = 0; i < p.size; i++) {
      const k = p.tasks['emotion']!.targets.subarray(i * 7, i * 7 + 7).indexOf(1);
      expect([0, 1]).toContain(k); // only classes present in at least two modalities
      const present = [0, 1, 2].filter((c) => p.mask[i * 3 + c] === 1);
      expect(present.length).toBeGreaterThanOrEqual(2);
      if (p.mask[i * 3] === 1) expect(textClass[p.features.text!.data[i]!]).toBe(k);
      if (p.mask[i * 3 + 1] === 1) expect(imageClass[p.features.image!.data[i]! - 100]).toBe(k);
      if (p.mask[i * 3 + 2] === 1) expect(audioClass[p.features.audio!.data[i]! - 200]).toBe(k);
    }
    expect(pairByClass([text, image, audio], { size: 500, seed: 3 })).toEqual(p);
  });

  it('leaves out rows whose class is uncertain (soft targets below the mass threshold)', () => {
    const p = pairByClass([corpus('text', [2, 2], true), corpus('image', [2]), corpus('audio', [2])], {
      size: 50,
      seed: 1,
    });
    for (let i = 0; i < p.size; i++) expect(p.mask[i * 3]).toBe(0); // no text row qualifies
  });
});
