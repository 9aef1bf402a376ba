import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { EMOTION_TASK } from '../src/data/corpus.js';
import { mergeDatasets } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { classificationMetrics } from '../src/eval/metrics.js';
import { loadHead } from '../src/head/artifact.js';
import { fitTemperature } from '../src/head/calibration.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { devSet, fitHead, prepareTrainingSets } from '../src/head/fit-head.js';
import { buildHead } from '../src/head/head-model.js';
import {
  applyPrior,
  classPrior,
  parsePriorChoice,
  priorFactor,
  priorFactors,
  sourcePrior,
  withCorpusPriors,
  withPriors,
  type PriorRecord,
} from '../src/head/label-prior.js';
import { encodeModel } from '../src/head/onnx/proto.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { describeHead, initParams, paramFeeds } from '../src/head/trainer.js';
import { BatchFeeder } from '../src/head/batch-feeder.js';
import { paramShapes } from '../src/head/head-model.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { rng } from './support/rng.js';

const C = EMOTIONS.length;
const work = mkdtempSync(join(tmpdir(), 'emoflow-prior-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A corpus of `counts[k]` rows of class k with 8-d text features: class k shifts dimension k by
 * `shift` over unit Gaussian noise (weak evidence), so the prior matters for the decision.
 */
function corpus(name: string, counts: number[], seed: number, shift = 0.8): FeatureDataset {
  const n = counts.reduce((a, b) => a + b, 0);
  const dim = 8;
  const r = rng(seed);
  const gauss = () => {
    let s = 0;
    for (let k = 0; k < 6; k++) s += r();
    return s / Math.sqrt(2); // sum of 6 U(-1,1): variance 2
  };
  const data = new Float32Array(n * dim);
  const targets = new Float32Array(n * C);
  let i = 0;
  counts.forEach((count, k) => {
    for (let j = 0; j < count; j++, i++) {
      for (let d = 0; d < dim; d++) data[i * dim + d] = gauss() + (d === k ? shift : 0);
      targets[i * C + k] = 1;
    }
  });
  return {
    name: `${name}:synthetic`,
    size: n,
    ids: Array.from({ length: n }, (_, j) => `${name}/${j}`),
    features: { text: { spec: { name: 'synthetic', version: '1', dim }, data } },
    mask: Uint8Array.from({ length: n * 3 }, (_, k) => (k % 3 === 0 ? 1 : 0)),
    tasks: {
      emotion: {
        spec: { ...EMOTION_TASK },
        targets,
        has: new Uint8Array(n).fill(1),
      },
    },
    source: { corpus: name, path: '-', licence: 'synthetic' },
  };
}

describe('label priors (logit adjustment)', () => {
  it('takes each corpus prior from its targets, with one pseudo-count per class', () => {
    const ds = corpus('a', [6, 2, 0, 0, 0, 0, 0], 1);
    const p = classPrior(ds.tasks['emotion']!, C);
    expect(Array.from(p)).toEqual([0.75, 0.25, 0, 0, 0, 0, 0]);
    const [adjusted] = withCorpusPriors([ds]);
    const lp = adjusted!.tasks['emotion']!.logPrior!;
    expect(lp.length).toBe(8 * C);
    // (6 + 1) / (8 + 7), (2 + 1) / 15, 1 / 15 for the absent classes; the same on every row.
    for (const row of [0, 7]) {
      expect(lp[row * C]).toBeCloseTo(Math.log(7 / 15), 6);
      expect(lp[row * C + 1]).toBeCloseTo(Math.log(3 / 15), 6);
      expect(lp[row * C + 4]).toBeCloseTo(Math.log(1 / 15), 6);
    }
    // A merge keeps each corpus's rows' priors.
    const [b] = withCorpusPriors([corpus('b', [0, 0, 3, 0, 0, 0, 0], 2)]);
    const merged = mergeDatasets([adjusted!, b!]);
    expect(merged.tasks['emotion']!.logPrior![8 * C + 2]).toBeCloseTo(Math.log(4 / 10), 6);
    expect(merged.tasks['emotion']!.logPrior![0]).toBeCloseTo(Math.log(7 / 15), 6);
  });

  it('parses --prior values and refuses malformed ones with CONFIG_INVALID', () => {
    expect(parsePriorChoice('uniform', C)).toBe('uniform');
    expect(parsePriorChoice('training', C)).toBe('training');
    expect(parsePriorChoice('corpus:meld', C)).toEqual({ corpus: 'meld' });
    expect(parsePriorChoice('training^0.5', C)).toEqual({ trainingPower: 0.5 });
    expect(parsePriorChoice('1,2,3,4,5,6,7', C)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parsePriorChoice('[0.1,0,0,0,0.9,0,0]', C)).toEqual([0.1, 0, 0, 0, 0.9, 0, 0]);
    for (const bad of [
      '1,2,3',
      '0,0,0,0,0,0,0',
      '1,2,3,4,5,6,-7',
      'flat',
      '1,2,,4,5,6,7',
      'training^-1',
      'training^',
    ])
      expect(() => parsePriorChoice(bad, C)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('re-weights probabilities by target prior over the prior the outputs embody', () => {
    const record: PriorRecord = {
      base: 'uniform',
      training: [0.1, 0.05, 0.05, 0.2, 0.4, 0.1, 0.1],
      corpora: { meld: [0.1, 0.03, 0.03, 0.17, 0.47, 0.07, 0.13] },
      default: 'uniform',
    };
    // The default (uniform) over a uniform base changes nothing.
    expect(Array.from(priorFactor(record, undefined, C)!)).toEqual(new Array(C).fill(1));
    expect(
      priorFactors({ tasks: [{ name: 'emotion', type: 'classification', labels: [...EMOTIONS] }] } as never, {
        emotion: record,
      }),
    ).toEqual({});
    const p = Float32Array.from([0.3, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1]);
    applyPrior(p, C, priorFactor(record, 'training', C)!);
    // normalise(p · π): hand-computed.
    const raw = [0.03, 0.005, 0.005, 0.02, 0.08, 0.01, 0.01];
    const z = raw.reduce((a, b) => a + b, 0);
    raw.forEach((v, k) => expect(p[k]).toBeCloseTo(v / z, 6));
    // training^0.5: the square roots of the mix's shares, normalised (a uniform base).
    const half = priorFactor({ ...record, default: 'training^0.5' }, undefined, C)!;
    const roots = record.training.map(Math.sqrt);
    const rootSum = roots.reduce((a, b) => a + b, 0);
    roots.forEach((r, k) => expect(half[k]! / 7).toBeCloseTo(r / rootSum, 9));
    // A head trained without adjustment embodies its training mix: uniform divides it out.
    const f = priorFactor({ ...record, base: 'training' }, 'uniform', C)!;
    record.training.forEach((t, k) => expect(f[k]).toBeCloseTo(1 / 7 / t, 9));
    expect(() => priorFactor(record, { corpus: 'nope' }, C)).toThrow(/no such training corpus/);
    expect(() => priorFactor(undefined, 'uniform', C)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(priorFactor(undefined, undefined, C)).toBeUndefined();
    // A named source of the head's training corpora gets its prior; others the default.
    expect(sourcePrior(record, 'meld')).toEqual({ corpus: 'meld' });
    expect(sourcePrior(record, 'emodb')).toBeUndefined();
    expect(sourcePrior(record, undefined)).toBeUndefined();
    expect(sourcePrior(undefined, 'meld')).toBeUndefined();
  });

  it('adds logprior inside the training loss only: loss = cross-entropy of softmax(z + log π)', async () => {
    const ds = withCorpusPriors([corpus('a', [30, 10, 4, 0, 0, 0, 2], 3)])[0]!;
    const config = parseTrainConfig({ logitAdjustment: true, dropout: 0, inputNoise: 0, modalityDropout: 0 });
    const desc = describeHead({ train: ds, config, factory: undefined as never });
    const params = initParams(desc, 5);
    // Task heads start at zero; give them values so that z is not constant.
    const r = rng(9);
    for (const [name, v] of params)
      if (name.startsWith('task.')) for (let i = 0; i < v.length; i++) v[i] = r();
    const shapes = new Map(paramShapes(desc).map((s) => [s.name, s.shape]));
    const factory = new SessionFactory({ intraOpThreads: 1 });
    const train = buildHead(desc, params, 'train', { logitAdjustment: true });
    const trainSession = await ort.InferenceSession.create(
      encodeModel(train.graph.toModel({ params: 'inputs' })),
    );
    const evalSession = await ort.InferenceSession.create(
      encodeModel(buildHead(desc, params, 'eval').graph.toModel({ params: 'inputs' })),
    );
    const rows = Int32Array.from({ length: ds.size }, (_, i) => i);
    const feeds = new BatchFeeder(ds, desc, config, 1, true).feeds(rows, true, train.dropout);
    expect(feeds['logprior.emotion']!.dims).toEqual([ds.size, C]);
    const pf = paramFeeds(params, [...shapes.keys()], shapes);
    const loss = ((await trainSession.run({ ...pf, ...feeds }))['loss.emotion']!.data as Float32Array)[0]!;
    const z = (await predict(evalSession, desc, ds, 1024, pf)).get('emotion')!;
    const lp = ds.tasks['emotion']!.logPrior!;
    let want = 0;
    for (let i = 0; i < ds.size; i++) {
      const v = Array.from({ length: C }, (_, k) => z[i * C + k]! + lp[i * C + k]!);
      const m = Math.max(...v);
      const lse = m + Math.log(v.reduce((a, b) => a + Math.exp(b - m), 0));
      const k = truthOf(ds.tasks['emotion']!, C)[i]!;
      want += (lse - v[k]!) / ds.size; // uniform per-sample weights, summing to 1
    }
    expect(loss).toBeCloseTo(want, 4);
    await factory.release();
  });

  it('fits the temperature on softmax(z / T + offset): recovers T where the data were drawn so', () => {
    // Rows drawn from softmax(z / 2 + log π): the fit with the offset finds T = 2; without it, not.
    const r = rng(11);
    const n = 4000;
    const c = 3;
    const logPi = [Math.log(0.7), Math.log(0.2), Math.log(0.1)];
    const z = new Float64Array(n * c);
    const offset = new Float64Array(n * c);
    const truth = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p: number[] = [];
      for (let k = 0; k < c; k++) {
        z[i * c + k] = r() * 6;
        offset[i * c + k] = logPi[k]!;
        p.push(Math.exp(z[i * c + k]! / 2 + logPi[k]!));
      }
      const s = p.reduce((a, b) => a + b, 0);
      let u = ((r() + 1) / 2) * s;
      let k = 0;
      while (k < c - 1 && u > p[k]!) u -= p[k++]!;
      truth[i] = k;
    }
    const withOffset = fitTemperature(z, truth, c, undefined, offset);
    expect(withOffset.temperature).toBeGreaterThan(1.8);
    expect(withOffset.temperature).toBeLessThan(2.2);
    // Against a grid: no temperature does better.
    const nll = (t: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const v = [0, 1, 2].map((k) => z[i * c + k]! / t + offset[i * c + k]!);
        const m = Math.max(...v);
        s += m + Math.log(v.reduce((a, b) => a + Math.exp(b - m), 0)) - v[truth[i]!]!;
      }
      return s / n;
    };
    for (const t of [1.5, 1.9, 2.1, 2.5]) expect(withOffset.nllAfter).toBeLessThanOrEqual(nll(t) + 1e-12);
    expect(withOffset.nllAfter).toBeCloseTo(nll(withOffset.temperature), 10);
  });

  it('trained with adjustment on a skewed corpus, the uniform prior recovers the rare class; head.json records the priors', async () => {
    // Corpus a: 90 % anger; corpus b: balanced; the same evidence. Scored on a balanced set.
    const a = corpus('a', [900, 100, 0, 0, 0, 0, 0], 21, 0.6);
    const b = corpus('b', [300, 300, 0, 0, 0, 0, 0], 22, 0.6);
    const test = corpus('test', [500, 500, 0, 0, 0, 0, 0], 23, 0.6);
    const factory = new SessionFactory({ intraOpThreads: 1 });
    const uar = async (adjust: boolean, prior: string) => {
      const config = parseTrainConfig({ epochs: 6, logitAdjustment: adjust, prior, seed: 3 });
      const sets = prepareTrainingSets([a, b], config).sets;
      const out = join(work, `h-${adjust}-${prior}`);
      await fitHead({
        datasets: sets,
        train: mergeDatasets(sets),
        dev: devSet(corpus('dev', [300, 100, 0, 0, 0, 0, 0], 24, 0.6), config),
        config,
        factory,
        name: 'prior-test',
        out,
      });
      const head = await loadHead(out);
      const session = await ort.InferenceSession.create(head.onnx);
      const y = withPriors(
        await predict(session, head.desc, test),
        head.desc,
        priorFactors(head.desc, head.json.priors),
      );
      return {
        uar: classificationMetrics(y.get('emotion')!, truthOf(test.tasks['emotion']!, C), [...EMOTIONS]).uar,
        head,
      };
    };
    const plain = await uar(false, 'training');
    const adjusted = await uar(true, 'uniform');
    expect(adjusted.uar).toBeGreaterThan(plain.uar + 0.03);
    const rec = adjusted.head.json.priors!['emotion']!;
    expect(rec.base).toBe('uniform');
    expect(rec.default).toBe('uniform');
    expect(rec.corpora['a']![0]).toBeCloseTo(0.9, 6);
    expect(rec.corpora['b']![1]).toBeCloseTo(0.5, 6);
    expect(rec.training[0]).toBeCloseTo(0.75, 6);
    expect(plain.head.json.priors!['emotion']!.base).toBe('training');
    // A tempered default is recorded as written and applied between the two.
    const tempered = await uar(true, 'training^0.5');
    expect(tempered.head.json.priors!['emotion']!.default).toBe('training^0.5');
    expect(tempered.uar).toBeGreaterThan(plain.uar);
    await factory.release();
  }, 60_000);
});
