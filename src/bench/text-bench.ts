import * as ort from 'onnxruntime-node';
import { normalizeText } from '../io/text.js';
import { TextExtractor } from '../features/text/text-extractor.js';
import { DEFAULT_LEXICAL_BUCKETS, lexicalBag } from '../features/text/lexical.js';
import type { TextEncoder, TokenBatch } from '../features/text/text-encoder.js';
import type { SessionFactory } from '../models/session-factory.js';
import { cpuModel, timeAlternating } from './timing.js';

export interface StageBench {
  stage: 'text' | 'image';
  perSecond: number;
  rawOrtPerSecond: number;
  ratio: number;
  threads: number;
  batch: number;
  items: number;
  device: string;
  cpu: string;
  /**
   * Text only: the lexical channel's bag (tokenise, hash, count; lexical.ts) alone, texts per
   * second, and its time as a share of the whole extractor's (measured alternately in one run).
   */
  lexical?: { perSecond: number; shareOfExtractor: number; buckets: number };
}

/**
 * Sentences per second through the text extractor (normalising, tokenising, length
 * bucketing, model, pooling) against the same model's bare onnxruntime rate on the same
 * batches already tokenised, measured alternately in one run.
 */
export async function benchText(
  sentences: readonly string[],
  encoder: TextEncoder,
  factory: SessionFactory,
  rounds = 3,
): Promise<StageBench> {
  if (encoder.onnxPath === undefined) throw new Error('bench text needs a local model folder');
  const extractor = new TextExtractor(encoder);
  const inputs = sentences.map((text) => ({ text }));
  // The raw side gets exactly the token batches the extractor builds (after normalisation).
  const batches = encoder.batches(encoder.tokenize(sentences.map((s) => normalizeText(s))));
  const raw = await factory.session(encoder.onnxPath);
  const feeds = batches.map((b) => feedsOf(b, raw.inputNames));
  const t = await timeAlternating(
    async () => {
      await extractor.extractBatch(inputs);
    },
    async () => {
      for (const f of feeds) await raw.run(f);
    },
    rounds,
  );
  const perSecond = sentences.length / t.a;
  const rawOrtPerSecond = sentences.length / t.b;
  const normalised = sentences.map((s) => normalizeText(s));
  const lex = await timeAlternating(
    async () => {
      for (const s of normalised) lexicalBag(s, DEFAULT_LEXICAL_BUCKETS);
    },
    async () => {
      await extractor.extractBatch(inputs);
    },
    rounds,
  );
  return {
    stage: 'text',
    perSecond,
    rawOrtPerSecond,
    ratio: perSecond / rawOrtPerSecond,
    threads: factory.threads,
    batch: encoder.batchSize,
    items: sentences.length,
    device: factory.effectiveDevice,
    cpu: cpuModel(),
    lexical: {
      perSecond: sentences.length / lex.a,
      shareOfExtractor: lex.a / lex.b,
      buckets: DEFAULT_LEXICAL_BUCKETS,
    },
  };
}

function feedsOf(b: TokenBatch, inputNames: readonly string[]): Record<string, ort.Tensor> {
  const dims = [b.rows, b.length];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', b.inputIds, dims),
    attention_mask: new ort.Tensor('int64', b.attentionMask, dims),
  };
  if (inputNames.includes('token_type_ids'))
    feeds['token_type_ids'] = new ort.Tensor(
      'int64',
      b.tokenTypeIds ?? new BigInt64Array(b.rows * b.length),
      dims,
    );
  return feeds;
}
