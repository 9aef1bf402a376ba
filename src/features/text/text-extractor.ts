import { EmoflowError, type EmoflowWarning } from '../../core/errors.js';
import { decodeText, normalizeText } from '../../io/text.js';
import type { FeatureSpec } from '../feature-spec.js';
import type { ExtractorInput, ExtractorResult, ModalityExtractor } from '../modality-extractor.js';
import type { TextEncoder } from './text-encoder.js';

export interface TextFeatures {
  vector: Float32Array;
  tokens: number;
  warnings: EmoflowWarning[];
}

export type TextInput = { text: string; path?: string } | { bytes: Uint8Array; path?: string };

export type TextResult = { status: 'ok'; features: TextFeatures } | { status: 'error'; error: EmoflowError };

/** Text features: strict decoding and normalisation per item, then one batched encoder pass. */
export class TextExtractor implements ModalityExtractor {
  readonly modality = 'text' as const;
  readonly spec: FeatureSpec;
  private readonly encoder: TextEncoder;

  constructor(encoder: TextEncoder) {
    this.encoder = encoder;
    this.spec = { name: `text-${encoder.modelId}-mean`, version: '1', dim: encoder.dim };
  }

  async extractBatch(inputs: readonly TextInput[]): Promise<TextResult[]> {
    const results: (TextResult | undefined)[] = new Array(inputs.length);
    const texts: string[] = [];
    const positions: number[] = [];
    inputs.forEach((input, i) => {
      try {
        const text =
          'bytes' in input ? decodeText(input.bytes, input.path) : normalizeText(input.text, input.path);
        texts.push(text);
        positions.push(i);
      } catch (e) {
        if (!(e instanceof EmoflowError)) throw e;
        results[i] = { status: 'error', error: e };
      }
    });
    if (texts.length > 0) {
      const { vectors, tokens } = await this.encoder.embed(texts);
      const dim = this.encoder.dim;
      positions.forEach((i, k) => {
        const tok = tokens[k]!;
        const warnings: EmoflowWarning[] = tok.truncated
          ? [
              {
                code: 'TEXT_TRUNCATED',
                message: `${inputs[i]!.path ?? 'text'}: ${tok.lowerBound === true ? 'at least ' : ''}${tok.fullLength} tokens, cut to the model's maximum of ${this.encoder.maxLength}`,
              },
            ]
          : [];
        results[i] = {
          status: 'ok',
          features: { vector: vectors.slice(k * dim, (k + 1) * dim), tokens: tok.ids.length, warnings },
        };
      });
    }
    return results as TextResult[];
  }

  async extract(inputs: readonly ExtractorInput[]): Promise<ExtractorResult[]> {
    const results = await this.extractBatch(inputs);
    return results.map((r) =>
      r.status === 'ok'
        ? {
            status: 'ok',
            vector: r.features.vector,
            meta: { tokens: r.features.tokens, warnings: r.features.warnings },
          }
        : r,
    );
  }
}
