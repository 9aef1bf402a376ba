import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../src/data/csv.js';
import { TextEncoder } from '../src/features/text/text-encoder.js';
import { TextExtractor } from '../src/features/text/text-extractor.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { fixture, sharedNeed } from './support/paths.js';

const TINY_BERT = sharedNeed('models/tiny-random-bert');
const MELD_DEV = sharedNeed('data/text/meld/dev_sent_emo.csv');

interface TinyExpected {
  sentences: string[];
  input_ids: number[][];
  batchPaddedLength: number;
  meanPooled: number[][];
  tolerance: number;
}
interface UseReference {
  sentences: string[];
  input_ids: number[][];
  embeddings: number[][];
  tolerance: number;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe.skipIf(TINY_BERT.missing)(
  `TextEncoder on the tiny random BERT (test fixture) ${TINY_BERT.tag}`,
  () => {
    let expected: TinyExpected;
    let encoder: TextEncoder;
    beforeAll(async () => {
      expected = JSON.parse(readFileSync(join(TINY_BERT.path, 'expected.json'), 'utf8')) as TinyExpected;
      encoder = await TextEncoder.load({
        model: TINY_BERT.path,
        factory: new SessionFactory({ intraOpThreads: 1 }),
      });
    });
    afterAll(async () => encoder.dispose());

    it('tokenises exactly as the independent reference', () => {
      const tokens = encoder.tokenize(expected.sentences);
      expect(tokens.map((t) => t.ids)).toEqual(expected.input_ids);
      expect(tokens.every((t) => !t.truncated)).toBe(true);
    });

    it('pads one length-bucketed batch to the longest sentence', () => {
      const [batch, ...rest] = encoder.batches(encoder.tokenize(expected.sentences));
      expect(rest).toHaveLength(0);
      expect(batch!.length).toBe(expected.batchPaddedLength);
      expect(batch!.indices).toEqual([0, 1, 2]); // sorted by length, which is already the order here
      expect(batch!.tokenTypeIds).toBeDefined(); // BERT takes token_type_ids
    });

    it('mean-pools within 1e-4 of the numpy float64 forward pass, batched and one by one', async () => {
      expect(encoder.dim).toBe(32);
      const { vectors } = await encoder.embed(expected.sentences);
      expect(vectors.length).toBe(3 * 32);
      let worst = 0;
      expected.meanPooled.forEach((row, i) =>
        row.forEach((v, d) => (worst = Math.max(worst, Math.abs(vectors[i * 32 + d]! - v)))),
      );
      expect(worst).toBeLessThan(1e-4);
      for (let i = 0; i < 3; i++) {
        const single = (await encoder.embed([expected.sentences[i]!])).vectors;
        for (let d = 0; d < 32; d++) expect(Math.abs(single[d]! - vectors[i * 32 + d]!)).toBeLessThan(1e-5);
      }
    });

    it('truncates at the maximum length with a TEXT_TRUNCATED warning and keeps [SEP]', async () => {
      const long = Array.from({ length: 300 }, () => 'happy').join(' ');
      const extractor = new TextExtractor(encoder);
      const res = (await extractor.extractBatch([{ text: long, path: 'long.txt' }]))[0]!;
      expect(res.status).toBe('ok');
      if (res.status !== 'ok') return;
      expect(res.features.tokens).toBe(128);
      expect(res.features.warnings).toEqual([
        { code: 'TEXT_TRUNCATED', message: expect.stringContaining('302 tokens') as string },
      ]);
      const ids = encoder.tokenize([long])[0]!.ids;
      expect(ids[0]).toBe(2); // [CLS]
      expect(ids[127]).toBe(3); // [SEP]
    });

    it('reports input errors per item and still embeds the others', async () => {
      const extractor = new TextExtractor(encoder);
      const res = await extractor.extractBatch([
        { text: '   ' },
        { bytes: new Uint8Array([0x61, 0xff]), path: 'bad.txt' },
        { text: expected.sentences[0]! },
      ]);
      expect(res.map((r) => (r.status === 'ok' ? 'ok' : r.error.code))).toEqual([
        'TEXT_EMPTY',
        'TEXT_ENCODING',
        'ok',
      ]);
      if (res[2]!.status === 'ok') {
        expect(res[2]!.features.vector[0]).toBeCloseTo(expected.meanPooled[0]![0]!, 4);
      }
    });
  },
);

describe('TextEncoder on the committed USE-lite model', () => {
  const ref = JSON.parse(
    // A copy of the TF.js reference beside the model's conversion (test/fixtures/README.md).
    readFileSync(fixture('models/universal-sentence-encoder-lite/reference_tfjs.json'), 'utf8'),
  ) as UseReference;
  let encoder: TextEncoder;
  beforeAll(async () => {
    const store = new ModelStore();
    encoder = await TextEncoder.load({
      model: await store.folder('universal-sentence-encoder-lite'),
      factory: new SessionFactory({ intraOpThreads: 1 }),
      batchSize: 5,
    });
  });
  afterAll(async () => encoder.dispose());

  it('cuts a long text before tokenising: a 2 MB text gives the ids of the whole text, truncated', async () => {
    const words = ['happy', 'sad', 'tomorrow', 'never', 'again', 'wonderful', 'the', 'news'];
    const text = (n: number) => Array.from({ length: n }, (_, i) => words[(i * 7) % words.length]).join(' ');
    // 3,000 words (about 20 kB): small enough to tokenise whole, long enough to be cut.
    const medium = text(3000);
    const whole = encoder.tokenize([medium])[0]!;
    expect(whole.truncated).toBe(true);
    expect(whole.lowerBound).toBe(true);
    expect(whole.ids).toHaveLength(128);
    // The same ids as cutting the tokenizer's own output of the whole text.
    const direct = (encoder as unknown as { tokenizer: { encode(t: string): number[] } }).tokenizer.encode(
      medium,
    );
    expect(direct.length).toBeGreaterThan(1000);
    expect(whole.ids).toEqual(direct.slice(0, 128));
    // 2 MB: bounded work, the same ids, and an embedding.
    const huge = text(330_000);
    expect(huge.length).toBeGreaterThan(2_000_000);
    const t0 = performance.now();
    const big = encoder.tokenize([huge])[0]!;
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(big.ids).toEqual(whole.ids);
    const extractor = new TextExtractor(encoder);
    const res = (await extractor.extractBatch([{ text: huge, path: 'huge.txt' }]))[0]!;
    expect(res.status).toBe('ok');
    if (res.status === 'ok')
      expect(res.features.warnings).toEqual([
        { code: 'TEXT_TRUNCATED', message: expect.stringContaining('at least') as string },
      ]);
    // A cut never splits a surrogate pair: emoji across the 2,048-character boundary.
    const emoji = '\u{1F600}'.repeat(5000);
    expect(() => encoder.tokenize([emoji])).not.toThrow();
  });

  it('gives the TF.js token ids and embeddings within 1e-5 over several length buckets', async () => {
    expect(encoder.dim).toBe(512);
    expect(encoder.maxLength).toBe(128);
    expect(encoder.tokenize(ref.sentences).map((t) => t.ids)).toEqual(ref.input_ids);
    const { vectors } = await encoder.embed(ref.sentences);
    let worst = 0;
    ref.embeddings.forEach((row, i) =>
      row.forEach((v, d) => (worst = Math.max(worst, Math.abs(vectors[i * 512 + d]! - v)))),
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it.skipIf(MELD_DEV.missing)(
    `embeds real MELD dev utterances read in place: 512-d unit vectors, one per sentence ${MELD_DEV.tag}`,
    async () => {
      const rows = parseCsv(readFileSync(MELD_DEV.path, 'utf8'), 'dev_sent_emo.csv');
      const col = rows[0]!.fields.indexOf('Utterance');
      const sentences = rows.slice(1, 101).map((r) => r.fields[col]!);
      const results = await new TextExtractor(encoder).extractBatch(sentences.map((text) => ({ text })));
      expect(results).toHaveLength(100);
      for (const r of results) {
        expect(r.status).toBe('ok');
        if (r.status !== 'ok') continue;
        expect(r.features.vector).toHaveLength(512);
        let norm = 0;
        for (const v of r.features.vector) norm += v * v;
        expect(Math.sqrt(norm)).toBeCloseTo(1, 4); // USE-lite's embedding is unit length
        expect(r.features.tokens).toBeGreaterThan(0);
        expect(r.features.tokens).toBeLessThanOrEqual(128);
      }
    },
  );

  it('ranks each paraphrase above every unrelated sentence', async () => {
    // Pairs (0,1) joy, (2,3) anger, (4,...) train; distractors are the off-topic sentences.
    const pairs: [string, string][] = [
      [ref.sentences[0]!, ref.sentences[1]!],
      [ref.sentences[2]!, ref.sentences[3]!],
      [ref.sentences[6]!, 'The puppy enjoys chasing a ball outside.'],
      [ref.sentences[4]!, 'The train departs at 7 am.'],
    ];
    const unrelated = [
      ref.sentences[5]!,
      ref.sentences[7]!,
      'The invoice is attached to this email.',
      'Quantum computers use qubits.',
    ];
    const all = [...pairs.flat(), ...unrelated];
    const { vectors } = await encoder.embed(all);
    const v = (i: number) => vectors.subarray(i * 512, (i + 1) * 512);
    pairs.forEach((_, p) => {
      const para = cosine(v(2 * p), v(2 * p + 1));
      for (let u = 0; u < unrelated.length; u++)
        expect(para).toBeGreaterThan(cosine(v(2 * p), v(pairs.length * 2 + u)));
    });
  });
});
