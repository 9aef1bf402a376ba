import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { FER_CNN_LABELS, FER_TO_EMOTIONS, FerCnn, toEmotionOrder } from '../src/features/image/fer-cnn.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { fixture } from './support/paths.js';

/** A copy of the model folder's golden file (test/fixtures/README.md). */
const goldenPath = fixture('models', 'golden', 'fer_mini_xception_golden.json');

interface Golden {
  tolerance_abs: number;
  cases: { name: string; probs: number[]; embedding: number[] }[];
}

/** The two inputs of tools/make_fer_golden.py, built with numpy's float32 steps. */
function goldenInputs(): Float32Array {
  const x = new Float32Array(2 * 4096);
  for (let h = 0; h < 64; h++) {
    for (let w = 0; w < 64; w++) {
      x[h * 64 + w] = Math.sin(0.3 * h) * Math.cos(0.2 * w); // float64, then cast to float32
      const pix = ((h * 64 + w) * 37) % 256;
      x[4096 + h * 64 + w] = Math.fround(Math.fround(Math.fround(pix / 255) * 2) - 1); // float32 ops
    }
  }
  return x;
}

/** FER2013 names of the shared labels, written out independently of the module's table. */
const SHARED_TO_FER: Record<(typeof EMOTIONS)[number], string> = {
  anger: 'angry',
  disgust: 'disgust',
  fear: 'fear',
  joy: 'happy',
  neutral: 'neutral',
  sadness: 'sad',
  surprise: 'surprise',
};

describe('FerCnn', () => {
  const factory = new SessionFactory({ intraOpThreads: 1 });
  let cnn: FerCnn;
  const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as Golden;

  beforeAll(async () => {
    cnn = await FerCnn.load(factory, new ModelStore());
  });
  afterAll(() => factory.release());

  it('maps the CNN order to EMOTIONS', () => {
    expect(FER_TO_EMOTIONS).toEqual([0, 1, 2, 3, 6, 4, 5]);
    EMOTIONS.forEach((e, i) => expect(FER_CNN_LABELS[FER_TO_EMOTIONS[i]!]).toBe(SHARED_TO_FER[e]));
    expect(Array.from(toEmotionOrder(Float32Array.from([0, 1, 2, 3, 4, 5, 6]), 1))).toEqual([
      0, 1, 2, 3, 6, 4, 5,
    ]);
  });

  it('reproduces the numpy float64 golden outputs within 1e-4 (probs in EMOTIONS order)', async () => {
    expect(golden.tolerance_abs).toBe(1e-4);
    const out = await cnn.run(goldenInputs(), 2);
    expect(out.probs.length).toBe(2 * 7);
    expect(out.embedding.length).toBe(2 * 128);
    let maxErr = 0;
    golden.cases.forEach((c, n) => {
      EMOTIONS.forEach((e, k) => {
        const expected =
          c.probs[FER_CNN_LABELS.indexOf(SHARED_TO_FER[e] as (typeof FER_CNN_LABELS)[number])]!;
        maxErr = Math.max(maxErr, Math.abs(out.probs[n * 7 + k]! - expected));
      });
      c.embedding.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(out.embedding[n * 128 + k]! - v))));
    });
    expect(maxErr).toBeLessThan(1e-4);
    // sin_cos is 'neutral' with 0.82 in the golden file.
    expect(EMOTIONS[out.probs.subarray(0, 7).indexOf(Math.max(...out.probs.subarray(0, 7)))]).toBe('neutral');
  });

  it('gives the same outputs for a crop alone and inside a batch', async () => {
    const x = goldenInputs();
    const one = await cnn.run(x.subarray(4096), 1);
    const both = await cnn.run(x, 2);
    for (let k = 0; k < 7; k++) expect(one.probs[k]).toBeCloseTo(both.probs[7 + k]!, 6);
    for (let k = 0; k < 128; k++) expect(one.embedding[k]).toBeCloseTo(both.embedding[128 + k]!, 5);
  });
});
