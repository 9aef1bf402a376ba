import { describe, expect, it } from 'vitest';
import { Random } from '../src/core/random.js';
import { DOMAIN_TASK, withDomainTask, withoutLabels } from '../src/data/domain-task.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { applySpeakerNorm, fitSpeakerNorm } from '../src/data/speaker-norm.js';
import { Moments, speakerNormSchema, speakerStatistics } from '../src/features/speaker-norm.js';

const DIM = 3;

/** An audio-only dataset: rows of speakers `speakers`, row 5 without audio (mask 0, zeros). */
function audioSet(speakers: string[], seed: number, corpus = 'c'): FeatureDataset {
  const r = new Random(seed);
  const n = speakers.length;
  const data = new Float32Array(n * DIM);
  const mask = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (i === 5) continue;
    mask[i * 3 + 2] = 1;
    // Each speaker has its own offset and scale, as voices do.
    const off = speakers[i] === 'a' ? 10 : speakers[i] === 'b' ? -4 : 0;
    for (let d = 0; d < DIM; d++) data[i * DIM + d] = off + (d + 1) * (r.next() * 2 - 1);
  }
  return {
    name: corpus,
    size: n,
    ids: speakers.map((_, i) => `s${i}`),
    speakers,
    features: { audio: { spec: { name: 'mfcc', version: '1', dim: DIM }, data } },
    mask,
    tasks: {},
    source: { corpus, path: '/x', licence: 'test' },
  };
}

/** Mean and population sd of column d over rows. */
function colStats(data: Float32Array, rows: number[], d: number): { mean: number; std: number } {
  const xs = rows.map((i) => data[i * DIM + d]!);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

describe('per-speaker standardisation', () => {
  // Speaker a: rows 0-3 and 6 (5 clips); b: rows 4, 7 (2 clips); row 8 unknown; row 5 no audio.
  const speakers = ['a', 'a', 'a', 'a', 'b', 'a', 'a', 'b', ''];

  it('Moments gives the mean and population standard deviation', () => {
    const m = new Moments(2);
    m.add([1, 10]);
    m.add([3, 10]);
    m.add([5, 10]);
    const s = m.stats();
    expect(s.mean).toEqual([3, 10]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    expect(s.std[1]).toBe(0);
  });

  it('standardises speakers with enough clips by their own statistics, the others by the fallback', () => {
    const ds = audioSet(speakers, 1);
    const plan = fitSpeakerNorm([ds], { modalities: ['audio'], minSamples: 3 });
    expect(speakerNormSchema.parse(plan)).toEqual(plan);
    const present = [0, 1, 2, 3, 4, 6, 7, 8];
    for (let d = 0; d < DIM; d++) {
      const g = colStats(ds.features.audio!.data, present, d);
      expect(plan.fallback.audio!.mean[d]).toBeCloseTo(g.mean, 4);
      expect(plan.fallback.audio!.std[d]).toBeCloseTo(g.std, 4);
    }
    const out = applySpeakerNorm(ds, plan);
    const x = out.features.audio!.data;
    const raw = ds.features.audio!.data;
    const a = [0, 1, 2, 3, 6];
    for (let d = 0; d < DIM; d++) {
      const s = colStats(x, a, d);
      expect(s.mean).toBeCloseTo(0, 5);
      expect(s.std).toBeCloseTo(1, 4);
      // b has 2 clips (< 3) and row 8 no speaker: the global statistics.
      for (const i of [4, 7, 8])
        expect(x[i * DIM + d]).toBeCloseTo(
          (raw[i * DIM + d]! - plan.fallback.audio!.mean[d]!) / plan.fallback.audio!.std[d]!,
          5,
        );
      expect(x[5 * DIM + d]).toBe(0);
    }
    // The input is not modified.
    expect(raw).not.toBe(x);
    expect(Array.from(raw.subarray(0, DIM))).not.toEqual(Array.from(x.subarray(0, DIM)));
  });

  it('with per-speaker statistics off, every row gets the fallback', () => {
    const ds = audioSet(speakers, 2);
    const plan = fitSpeakerNorm([ds], { modalities: ['audio'], minSamples: 2 });
    const out = applySpeakerNorm(ds, plan, false);
    for (const i of [0, 4, 8])
      for (let d = 0; d < DIM; d++)
        expect(out.features.audio!.data[i * DIM + d]).toBeCloseTo(
          (ds.features.audio!.data[i * DIM + d]! - plan.fallback.audio!.mean[d]!) /
            plan.fallback.audio!.std[d]!,
          5,
        );
  });

  it('speakerStatistics keeps only speakers with minSamples present rows', () => {
    const ds = audioSet(speakers, 3);
    const stats = speakerStatistics(
      ds.features.audio!.data,
      DIM,
      (i) => ds.mask[i * 3 + 2] === 1,
      speakers,
      2,
    );
    expect([...stats.keys()].sort()).toEqual(['a', 'b']);
    const b = colStats(ds.features.audio!.data, [4, 7], 0);
    expect(stats.get('b')!.mean[0]).toBeCloseTo(b.mean, 5);
    expect(stats.get('b')!.std[0]).toBeCloseTo(b.std, 5);
  });
});

describe('the domain task', () => {
  it('labels each row with its corpus, one-hot, behind gradient reversal', () => {
    const sets = withDomainTask([audioSet(['a', 'b'], 1, 'x'), audioSet(['c'], 2, 'y')], 0.3);
    const t0 = sets[0]!.tasks[DOMAIN_TASK]!;
    expect(t0.spec).toMatchObject({ type: 'classification', labels: ['x', 'y'], reverseGradient: 0.3 });
    expect(Array.from(t0.targets)).toEqual([1, 0, 1, 0]);
    expect(Array.from(sets[1]!.tasks[DOMAIN_TASK]!.targets)).toEqual([0, 1]);
    expect(Array.from(t0.has)).toEqual([1, 1]);
  });

  it('needs two corpora, and unlabelled data keeps only its features', () => {
    expect(() => withDomainTask([audioSet(['a'], 1, 'x'), audioSet(['b'], 2, 'x')], 0.3)).toThrow(
      /two corpora/,
    );
    const ds = { ...audioSet(['a'], 1), tasks: { emotion: {} as never } };
    expect(Object.keys(withoutLabels(ds).tasks)).toEqual([]);
  });
});
