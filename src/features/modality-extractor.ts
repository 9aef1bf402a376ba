import type { EmoflowError } from '../core/errors.js';
import type { Modality } from '../core/labels.js';
import type { ExtractorInput } from '../core/sample.js';
import type { FeatureSpec } from './feature-spec.js';

export type ExtractorResult =
  | { status: 'ok'; vector: Float32Array; meta: Record<string, unknown> }
  | { status: 'error'; error: EmoflowError };

/**
 * The common face of the three extractors, for code that treats modalities alike (the feature
 * cache, the pipeline): a feature spec and a batched, order-preserving extract in which one
 * input's error never fails the others.
 */
export interface ModalityExtractor {
  modality: Modality;
  spec: FeatureSpec;
  extract(inputs: readonly ExtractorInput[]): Promise<ExtractorResult[]>;
}
