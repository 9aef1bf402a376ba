import { EmoflowError, type EmoflowWarning } from '../../core/errors.js';
import { decodeText, normalizeText } from '../../io/text.js';
import type { FeatureSpec } from '../feature-spec.js';
import type { ExtractorInput } from '../../core/sample.js';
import type { ExtractorResult, ModalityExtractor } from '../modality-extractor.js';
import type { TextEncoder } from './text-encoder.js';
import { LEXICAL_TAIL, lexicalBag, lexicalSpecName, packLexical } from './lexical.js';

export interface TextFeatures {
  vector: Float32Array;
  tokens: number;
  warnings: EmoflowWarning[];
}

export type TextInput = { text: string; path?: string } | { bytes: Uint8Array; path?: string };

export type TextResult = { status: 'ok'; features: TextFeatures } | { status: 'error'; error: EmoflowError };

/**
 * Text features: strict decoding and normalisation per item, then one batched encoder pass.
 * With `lexicalBuckets`, each vector is the sentence embedding followed by the text's lexical
 * bag (lexical.ts, packed: ids then weights), and the spec is `<base>+lex<buckets>`.
 */
export class TextExtractor implements ModalityExtractor {
  readonly modality = 'text' as const;
  readonly spec: FeatureSpec;
  private readonly encoder: TextEncoder;
  private readonly lexicalBuckets: number | undefined;

  constructor(encoder: TextEncoder, options: { lexicalBuckets?: number } = {}) {
    this.encoder = encoder;
    this.lexicalBuckets = options.lexicalBuckets;
    const base = `text-${encoder.modelId}-mean`;
    this.spec =
      options.lexicalBuckets === undefined
        ? { name: base, version: '1', dim: encoder.dim }
        : {
            name: lexicalSpecName(base, options.lexicalBuckets),
            version: '1',
            dim: encoder.dim + LEXICAL_TAIL,
          };
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
        let vector = vectors.slice(k * dim, (k + 1) * dim);
        if (this.lexicalBuckets !== undefined) {
          const full = new Float32Array(this.spec.dim);
          full.set(vector);
          packLexical(lexicalBag(texts[k]!, this.lexicalBuckets), full, dim);
          vector = full;
        }
        results[i] = { status: 'ok', features: { vector, tokens: tok.ids.length, warnings } };
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
