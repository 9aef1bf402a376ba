import type { EmoflowWarning } from '../core/errors.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import type { Sample } from '../core/sample.js';
import { readModality } from '../data/extract-features.js';
import type { ExtractorInput, ModalityExtractor } from '../features/modality-extractor.js';
import type { PredictionRecord, RecordError } from './record.js';

/** One modality of one sample after extraction: its feature vector, or its input error. */
export type ModalityOutcome =
  | { status: 'ok'; vector: Float32Array; meta: Record<string, unknown> }
  | { status: 'error'; error: RecordError };

/**
 * A sample's features: what the head needs, and what the record reports besides. Plain data
 * (typed arrays, objects), so it crosses worker threads and queues by structured clone.
 */
export interface SampleFeatures {
  id: string;
  inputs: PredictionRecord['inputs'];
  modalities: Partial<Record<Modality, ModalityOutcome>>;
  warnings: EmoflowWarning[];
}

/** The modalities a sample has (a path or inline text), whether or not they can be read. */
export function presentModalities(sample: Sample): Modality[] {
  return MODALITIES.filter((m) =>
    m === 'text'
      ? sample.text !== undefined || sample.textPath !== undefined
      : (m === 'image' ? sample.image : sample.audio) !== undefined,
  );
}

/** The record's `inputs`: each file-backed modality's path as written in the input. */
export function inputsOf(sample: Sample): PredictionRecord['inputs'] {
  const inputs: PredictionRecord['inputs'] = {};
  if (sample.textPath !== undefined && sample.text === undefined) inputs.text = sample.textPath;
  if (sample.image !== undefined) inputs.image = sample.image;
  if (sample.audio !== undefined) inputs.audio = sample.audio;
  return inputs;
}

/**
 * Reads and extracts every modality of `samples` that an extractor is given for: one batched
 * call per modality, so ONNX runs see the whole micro-batch. A modality whose input is bad
 * becomes that modality's error; its neighbours and the other samples are unaffected. A
 * modality without an extractor (the head takes no such input) is left out with a
 * MODALITY_UNUSED warning. Only fatal errors (a model missing) throw.
 */
export async function extractSamples(
  samples: readonly Sample[],
  extractors: readonly ModalityExtractor[],
): Promise<SampleFeatures[]> {
  const out: SampleFeatures[] = samples.map((s) => ({
    id: s.id,
    inputs: inputsOf(s),
    modalities: {},
    warnings: [],
  }));
  const byModality = new Map(extractors.map((e) => [e.modality, e]));
  samples.forEach((s, i) => {
    for (const m of presentModalities(s)) {
      if (!byModality.has(m))
        out[i]!.warnings.push({
          code: 'MODALITY_UNUSED',
          message: `${s.id}: the head takes no ${m} input; the ${m} was not read`,
        });
    }
  });
  for (const extractor of extractors) {
    const m = extractor.modality;
    const inputs: ExtractorInput[] = [];
    const at: number[] = [];
    for (let i = 0; i < samples.length; i++) {
      const read = await readModality(samples[i]!, m);
      if (read === undefined) continue;
      if (read.status === 'error') {
        out[i]!.modalities[m] = { status: 'error', error: read.error.toRecord() };
        continue;
      }
      inputs.push(read.input);
      at.push(i);
    }
    if (inputs.length === 0) continue;
    const results = await extractor.extract(inputs);
    results.forEach((r, k) => {
      const target = out[at[k]!]!;
      if (r.status === 'error') {
        target.modalities[m] = { status: 'error', error: r.error.toRecord() };
        return;
      }
      const { warnings, ...meta } = r.meta as { warnings?: EmoflowWarning[] } & Record<string, unknown>;
      if (Array.isArray(warnings)) target.warnings.push(...warnings);
      target.modalities[m] = { status: 'ok', vector: r.vector, meta };
    });
  }
  return out;
}
