import * as ort from 'onnxruntime-node';
import { normalizeText } from '../io/text.js';
import { TextExtractor } from '../features/text/text-extractor.js';
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
