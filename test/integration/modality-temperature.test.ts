import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../src/core/labels.js';
import { temperByModality } from '../../src/head/calibration.js';
import { SessionFactory } from '../../src/models/session-factory.js';
import type { SampleFeatures } from '../../src/pipeline/extract.js';
import { HeadRunner } from '../../src/pipeline/head-runner.js';
import { rng } from '../support/rng.js';
import { repoRoot } from '../support/paths.js';

describe('temperByModality', () => {
  it('tempers each row by its contribution-weighted temperature', () => {
    const probs = new Float32Array([0.7, 0.2, 0.1, 0.5, 0.3, 0.2, 0.6, 0.3, 0.1]);
    // Row 0 audio alone (T = 4), row 1 half text half audio (T = 2.5), row 2 no contribution.
    const contribution = new Float32Array([0, 0, 1, 0.5, 0, 0.5, 0, 0, 0]);
    const before = probs.slice();
    temperByModality(probs, contribution, 3, { audio: 4 });
    const expected = (row: number, t: number) => {
      const w = Array.from(before.subarray(row * 3, row * 3 + 3), (p) => Math.pow(p, 1 / t));
      const s = w.reduce((a, b) => a + b, 0);
      return w.map((v) => v / s);
    };
    expected(0, 4).forEach((v, c) => expect(probs[c]).toBeCloseTo(v, 6));
    expected(1, 2.5).forEach((v, c) => expect(probs[3 + c]).toBeCloseTo(v, 6));
    expect(Array.from(probs.subarray(6))).toEqual(Array.from(before.subarray(6)));
    // The argmax never moves: a temperature changes confidence, not the label.
    expect(probs[0]).toBeGreaterThan(probs[1]!);
  });

  it('leaves scores alone when every factor is 1', () => {
    const probs = new Float32Array([0.9, 0.1]);
    temperByModality(probs, new Float32Array([0, 0, 1]), 2, { audio: 1 });
    expect(Array.from(probs)).toEqual([Math.fround(0.9), Math.fround(0.1)]);
  });
});

// The committed default head only: no corpora needed.
describe('the default head tempers speech scores (head.json modalityTemperature)', () => {
  let work: string;
  let k: number;
  const factory = new SessionFactory({ intraOpThreads: 1, interOpThreads: 1 });
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emoflow-modtemp-'));
    const head = join(repoRoot, 'models', 'heads', 'default');
    const json = JSON.parse(await readFile(join(head, 'head.json'), 'utf8')) as {
      modalityTemperature?: { audio?: number };
    };
    k = json.modalityTemperature!.audio!;
    // The same head without the audio temperature.
    await cp(head, join(work, 'untempered'), { recursive: true });
    delete json.modalityTemperature;
    await writeFile(join(work, 'untempered', 'head.json'), JSON.stringify(json, null, 2) + '\n');
  });
  afterAll(async () => {
    await factory.release();
    await rm(work, { recursive: true, force: true });
  });

  it('audio alone: the untempered scores to the power 1/k; text alone: unchanged', async () => {
    expect(k).toBeGreaterThan(1);
    const tempered = await HeadRunner.load(join(repoRoot, 'models', 'heads', 'default'), factory);
    const raw = await HeadRunner.load(join(work, 'untempered'), factory);
    const random = rng(7);
    // Speech features within the training spread (the head's own standardisation statistics,
    // 1.5 standard deviations at most), and a random text embedding.
    const json = JSON.parse(await readFile(join(work, 'untempered', 'head.json'), 'utf8')) as {
      speakerNorm: { fallback: { audio: { mean: number[]; std: number[] } } };
    };
    const stats = json.speakerNorm.fallback.audio;
    const voice = Float32Array.from(stats.mean, (m, i) => m + 1.5 * random() * stats.std[i]!);
    const sample = (m: 'audio' | 'text', vector: Float32Array): SampleFeatures => ({
      id: m,
      inputs: {},
      modalities: { [m]: { status: 'ok', vector, meta: {} } },
      warnings: [],
    });
    const samples = [
      sample('audio', voice),
      sample(
        'text',
        Float32Array.from({ length: tempered.specs.text!.dim }, () => random()),
      ),
    ];
    const [a, t] = await tempered.predict(samples);
    const [a0, t0] = await raw.predict(samples);
    const rawScores = EMOTIONS.map((e) => a0!.scores![e]);
    const w = rawScores.map((p) => Math.pow(p, 1 / k));
    const sum = w.reduce((x, y) => x + y, 0);
    EMOTIONS.forEach((e, c) => expect(a!.scores![e]).toBeCloseTo(w[c]! / sum, 5));
    expect(Math.max(...EMOTIONS.map((e) => a!.scores![e]))).toBeLessThan(Math.max(...rawScores));
    expect(a!.label).toBe(a0!.label);
    EMOTIONS.forEach((e) => expect(t!.scores![e]).toBeCloseTo(t0!.scores![e], 6));
  });
});
