import type { ExtractorInput } from '../../src/core/sample.js';
import type { ExtractorResult, ModalityExtractor } from '../../src/features/modality-extractor.js';

/** A text extractor whose vector is [byte length, first byte]: enough to follow rows and tell inputs apart. */
export const toyTextExtractor: ModalityExtractor = {
  modality: 'text',
  spec: { name: 'toy-text', version: '1', dim: 2 },
  async extract(inputs: readonly ExtractorInput[]): Promise<ExtractorResult[]> {
    return inputs.map((x) => ({
      status: 'ok',
      vector: Float32Array.of(x.bytes.length, x.bytes[0]!),
      meta: {},
    }));
  },
};
