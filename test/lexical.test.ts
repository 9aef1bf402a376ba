import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../src/core/random.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import {
  LEXICAL_MAX_IDS,
  LEXICAL_TAIL,
  fnv1a32,
  lexicalBag,
  lexicalBucketsOfSpec,
  lexicalFeatureStrings,
  lexicalSpecName,
  lexicalTokens,
  packLexical,
  unpackLexicalRows,
} from '../src/features/text/lexical.js';
import { loadHead } from '../src/head/artifact.js';
import { predict } from '../src/head/evaluate.js';
import { fitHead } from '../src/head/fit-head.js';
import { paramShapes } from '../src/head/head-model.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { describeHead, graphSession, lexicalRows } from '../src/head/trainer.js';
import { BatchFeeder, NO_AUGMENT } from '../src/head/batch-feeder.js';
import { decodeModel } from '../src/head/onnx/proto.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { AdamW, globalNorm } from '../src/head/optimizer.js';
import * as ort from 'onnxruntime-node';
import {
  checkWithPythonOnnx,
  skipPythonReference,
  skipPythonReferenceMessage,
} from './support/python-onnx.js';

describe('lexical ids (emoflow-lexical-1)', () => {
  it('hashes with 32-bit FNV-1a (published test vectors)', () => {
    // From the FNV reference test suite (Fowler, Noll, Vo; draft-eastlake-fnv, appendix C).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // UTF-8 bytes, not UTF-16 units: 'é' is C3 A9.
    expect(fnv1a32('é')).toBe(Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0);
  });

  it('tokenises NFKC lower-cased text into words (inner apostrophes kept) and single symbols', () => {
    expect(lexicalTokens("I DON'T like it!!  ﬁne 😀")).toEqual([
      'i',
      "don't",
      'like',
      'it',
      '!',
      '!',
      'fine',
      '😀',
    ]);
    expect(lexicalTokens('')).toEqual([]);
  });

  it('builds word uni/bi-grams and character 3-5-grams of <word>', () => {
    expect(lexicalFeatureStrings(['ok', '!'])).toEqual(['w:ok', 'b:ok !', 'c:<ok', 'c:ok>', 'c:<ok>', 'w:!']);
  });

  it('gives a bag of distinct ascending ids whose weights are counts over their L2 norm', () => {
    const bag = lexicalBag('so so happy', 1 << 20);
    const strings = lexicalFeatureStrings(['so', 'so', 'happy']);
    const counts = new Map<number, number>();
    for (const s of strings)
      counts.set(fnv1a32(s) % (1 << 20), (counts.get(fnv1a32(s) % (1 << 20)) ?? 0) + 1);
    expect(Array.from(bag.ids)).toEqual([...counts.keys()].sort((a, b) => a - b));
    const w = fnv1a32('w:so') % (1 << 20);
    const norm = Math.sqrt([...counts.values()].reduce((a, c) => a + c * c, 0));
    expect(bag.weights[Array.from(bag.ids).indexOf(w)]).toBeCloseTo(2 / norm, 6);
    expect(bag.weights.reduce((a, b) => a + b * b, 0)).toBeCloseTo(1, 6);
    expect(lexicalBag('', 1024).ids.length).toBe(0);
  });

  it('keeps the most frequent LEXICAL_MAX_IDS ids of a long text', () => {
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`);
    const bag = lexicalBag([...words, 'again', 'again', 'again'].join(' '), 1 << 22);
    expect(bag.ids.length).toBe(LEXICAL_MAX_IDS);
    expect(Array.from(bag.ids)).toContain(fnv1a32('w:again') % (1 << 22));
  });

  it('packs into a float tail and unpacks to int64 ids and weights exactly', () => {
    const bag = lexicalBag('a quick test of packing', 131072);
    const row = new Float32Array(3 + LEXICAL_TAIL);
    row.set([0.5, -1, 2]);
    packLexical(bag, row, 3);
    const { ids, weights } = unpackLexicalRows(row, row.length, 3, 1);
    expect(Array.from(ids.subarray(0, bag.ids.length), Number)).toEqual(Array.from(bag.ids));
    expect(Array.from(weights.subarray(0, bag.ids.length))).toEqual(Array.from(bag.weights));
    expect(weights.subarray(bag.ids.length).every((x) => x === 0)).toBe(true);
  });

  it('names the channel in the text spec', () => {
    expect(lexicalSpecName('text-use-mean', 131072)).toBe('text-use-mean+lex131072');
    expect(lexicalBucketsOfSpec('text-use-mean+lex131072')).toBe(131072);
    expect(lexicalBucketsOfSpec('text-use-mean')).toBeUndefined();
  });
});

/**
 * A text corpus whose label is carried by one word only, while its dense features are noise:
 * what only a lexical channel can learn. Each sentence is filler words plus a cue word of its
 * class (`glad` / `angry` / `calm`).
 */
function cueCorpus(n: number, seed: number, buckets: number): FeatureDataset {
  const rnd = new Random(seed);
  const cues = ['glad', 'angry', 'calm'];
  const filler = ['the', 'day', 'was', 'long', 'and', 'we', 'went', 'home', 'after', 'work'];
  const dense = 6;
  const dim = dense + LEXICAL_TAIL;
  const data = new Float32Array(n * dim);
  const targets = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = rnd.int(3);
    const words = Array.from({ length: 6 }, () => filler[rnd.int(filler.length)]!);
    words.splice(rnd.int(words.length), 0, cues[c]!);
    for (let d = 0; d < dense; d++) data[i * dim + d] = rnd.normal();
    packLexical(lexicalBag(words.join(' '), buckets), data, i * dim + dense);
    targets[i * 3 + c] = 1;
  }
  return {
    name: `cues-${seed}`,
    size: n,
    ids: Array.from({ length: n }, (_, i) => `s${i}`),
    features: { text: { spec: { name: lexicalSpecName('t', buckets), version: '1', dim }, data } },
    mask: Uint8Array.from({ length: n * 3 }, (_, k) => (k % 3 === 0 ? 1 : 0)),
    tasks: {
      mood: {
        spec: {
          name: 'mood',
          type: 'classification',
          labels: ['glad', 'angry', 'calm'],
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        },
        targets,
        has: new Uint8Array(n).fill(1),
      },
    },
    source: { corpus: 'cues', path: 'generated', licence: 'generated' },
  };
}

describe('a head with the lexical channel', () => {
  const work = mkdtempSync(join(tmpdir(), 'emoflow-lex-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const factory = new SessionFactory({ intraOpThreads: 1 });
  const buckets = 4096;
  const train = cueCorpus(600, 1, buckets);
  const dev = cueCorpus(200, 2, buckets);
  const config = parseTrainConfig({
    epochs: 10,
    batchSize: 32,
    lr: 3e-3,
    architecture: { hidden: 16, trunk: [16], lexicalDim: 8 },
  });
  const fit = (out: string) => fitHead({ datasets: [train], train, dev, config, factory, name: 'lex', out });

  it('learns what only its words carry, writes the channel into head.json and head.onnx, and repeats byte for byte', async () => {
    await fit(join(work, 'a'));
    const head = await loadHead(join(work, 'a'));
    expect(head.json.features.text!.lexical).toEqual({
      tokenizer: 'emoflow-lexical-1',
      hash: 'fnv1a-32',
      buckets,
      maxIds: LEXICAL_MAX_IDS,
      wordNgrams: 2,
      charNgrams: [3, 5],
      dim: 8,
    });
    expect(paramShapes(head.desc).find((s) => s.name === 'text.lex.E')!.shape).toEqual([buckets, 8]);
    const model = decodeModel(head.onnx);
    const inputs = Object.fromEntries(model.graph.inputs.map((v) => [v.name, [v.elemType, v.shape]]));
    expect(inputs['text']).toEqual([1, ['N', 6]]);
    expect(inputs['text_ids']).toEqual([7, ['N', LEXICAL_MAX_IDS]]);
    expect(inputs['text_weights']).toEqual([1, ['N', LEXICAL_MAX_IDS]]);
    // The dense features are noise: the cue word alone decides, and the head finds it.
    const session = await graphSession(factory, head.onnx);
    const p = (await predict(session, head.desc, dev)).get('mood')!;
    let right = 0;
    const truth = dev.tasks['mood']!.targets;
    for (let i = 0; i < dev.size; i++) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      if (truth[i * 3 + row.indexOf(Math.max(...row))] === 1) right++;
    }
    expect(right / dev.size).toBeGreaterThan(0.95);
    await fit(join(work, 'b'));
    const again = await loadHead(join(work, 'b'));
    expect(Buffer.compare(Buffer.from(again.onnx), Buffer.from(head.onnx))).toBe(0);
    if (skipPythonReference) {
      console.warn(skipPythonReferenceMessage);
      return;
    }
    const check = await checkWithPythonOnnx(head.onnx);
    expect(check.message).toBe('');
    expect(check.ok).toBe(true);
  }, 120_000);
});

describe('word dropout on the lexical bag (lexicalDropout)', () => {
  it('zeroes about that share of each bag in training feeds, renormalises the rest, and leaves evaluation feeds alone', () => {
    const ds = cueCorpus(64, 3, 4096);
    const config = parseTrainConfig({ lexicalDropout: 0.5 });
    const desc = describeHead({ train: ds, config, factory: new SessionFactory({}) });
    const idx = Int32Array.from({ length: 64 }, (_, i) => i);
    const plain = new BatchFeeder(ds, desc, NO_AUGMENT, 1).feeds(idx, false, []);
    const dropped = new BatchFeeder(ds, desc, config, 1).feeds(idx, true, []);
    const w0 = plain['text_weights']!.data as Float32Array;
    const w1 = dropped['text_weights']!.data as Float32Array;
    let kept = 0;
    let total = 0;
    for (let r = 0; r < 64; r++) {
      const a = w0.subarray(r * LEXICAL_MAX_IDS, (r + 1) * LEXICAL_MAX_IDS);
      const b = w1.subarray(r * LEXICAL_MAX_IDS, (r + 1) * LEXICAL_MAX_IDS);
      let norm = 0;
      for (let i = 0; i < LEXICAL_MAX_IDS; i++) {
        if (a[i] === 0) expect(b[i]).toBe(0);
        else {
          total++;
          if (b[i] !== 0) kept++;
        }
        norm += b[i]! * b[i]!;
      }
      expect(norm).toBeCloseTo(1, 5);
    }
    expect(kept / total).toBeGreaterThan(0.4);
    expect(kept / total).toBeLessThan(0.6);
    // The evaluation feeds are the bags as extracted.
    expect(
      Array.from(
        new BatchFeeder(ds, desc, config, 1).feeds(idx, false, [])['text_weights']!.data as Float32Array,
      ),
    ).toEqual(Array.from(w0));
  });
});

describe('lazy rows of AdamW (the lexical table)', () => {
  it('feeds a batch the rows its ids use, renumbered, and updates those rows exactly as the dense step would', () => {
    const width = 2;
    const p0 = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const params = new Map([['t', Float32Array.from(p0)]]);
    const ids = new ort.Tensor('int64', BigInt64Array.from([3n, 0n, 1n, 3n]), [2, 2]);
    const weights = new ort.Tensor('float32', Float32Array.from([0.8, 0, 0.6, 0.6]), [2, 2]);
    const { feeds, rows } = lexicalRows(
      { ids, weights },
      [{ param: 't', ids: 'ids', weights: 'weights', width }],
      params,
    );
    // Rows 1 and 3 are used (id 0 has weight 0: padding, pointed at compact row 0, adds nothing).
    expect(Array.from(rows.get('t')!.rows)).toEqual([1, 3]);
    expect(Array.from(feeds['ids']!.data as BigInt64Array)).toEqual([1n, 0n, 0n, 1n]);
    expect(Array.from(feeds['t']!.data as Float32Array)).toEqual([3, 4, 7, 8]);
    expect(feeds['t']!.dims).toEqual([2, 2]);
    // The compact gradient of rows 1 and 3, and the same gradient over the whole table.
    const compact = Float32Array.from([0.5, -0.25, 0.125, 1]);
    const full = Float32Array.from([0, 0, 0.5, -0.25, 0, 0, 0.125, 1]);
    const dense = new Map([['t', Float32Array.from(p0)]]);
    new AdamW({ lr: 0.1, weightDecay: 0 }).step(dense, new Map([['t', full]]), 0.1, () => false);
    new AdamW({ lr: 0.1, weightDecay: 0 }).step(params, new Map([['t', compact]]), 0.1, () => false, 1, rows);
    expect(Array.from(params.get('t')!)).toEqual(Array.from(dense.get('t')!));
    expect(params.get('t')![2]).not.toBe(3);
    expect(globalNorm(new Map([['t', compact]]))).toBeCloseTo(globalNorm(new Map([['t', full]])), 6);
  });
});
