import type { EmoflowWarning } from '../core/errors.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import { modalityPath, type Sample } from '../core/sample.js';
import type { ExtractorInput } from '../core/sample.js';
import { readModality, type ReadOptions } from '../io/read-input.js';
import type { AudioTimeline } from '../features/audio/audio-extractor.js';
import type { ModalityExtractor } from '../features/modality-extractor.js';
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
  /** The sample's dialogue, position and speaker where the input names them (context graph, speaker standardisation). */
  group?: string;
  order?: number;
  speaker?: string;
  /** With segments on: the audio's timeline, scored segment by segment (head-runner.ts), instead of `modalities.audio`. */
  timeline?: AudioTimeline;
}

/** The modalities a sample has (a path or inline text), whether or not they can be read. */
export function presentModalities(sample: Sample): Modality[] {
  return MODALITIES.filter(
    (m) =>
      sample.bytes?.[m] !== undefined ||
      modalityPath(sample, m) !== undefined ||
      (m === 'text' && sample.text !== undefined),
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

/** A sample's features before anything is read: its ids and inputs, no modality yet. */
function emptyFeatures(s: Sample): SampleFeatures {
  return {
    id: s.id,
    inputs: inputsOf(s),
    modalities: {},
    warnings: [],
    ...(s.group === undefined || s.group === '' ? {} : { group: s.group }),
    ...(s.order === undefined ? {} : { order: s.order }),
    ...(s.speaker === undefined || s.speaker === '' ? {} : { speaker: s.speaker }),
  };
}

/**
 * The features of a sample whose extraction failed as a whole (it crashed its worker thread):
 * each of `modalities` the sample has gets `error`, so that its record says what happened.
 */
export function failedFeatures(
  sample: Sample,
  modalities: readonly Modality[],
  error: RecordError,
): SampleFeatures {
  const f = emptyFeatures(sample);
  for (const m of presentModalities(sample))
    if (modalities.includes(m)) f.modalities[m] = { status: 'error', error };
  return f;
}

/** A micro-batch whose files have been read: per modality, the inputs and where they go. */
export interface ReadBatch {
  features: SampleFeatures[];
  inputs: Partial<Record<Modality, { at: number[]; inputs: ExtractorInput[] }>>;
}

/**
 * Reads the files of every modality of `samples` that one of `modalities` takes, all at once
 * (the reads overlap each other, and the extraction of a previous batch). A file that cannot
 * be read, or a path that leaves the root, becomes that modality's error. A modality the head
 * takes no input for is left out with a MODALITY_UNUSED warning.
 */
export async function readSamples(
  samples: readonly Sample[],
  modalities: readonly Modality[],
  options: ReadOptions = {},
): Promise<ReadBatch> {
  const features = samples.map(emptyFeatures);
  samples.forEach((s, i) => {
    for (const m of presentModalities(s)) {
      if (!modalities.includes(m))
        features[i]!.warnings.push({
          code: 'MODALITY_UNUSED',
          message: `${s.id}: the head takes no ${m} input; the ${m} was not read`,
        });
    }
  });
  const inputs: ReadBatch['inputs'] = {};
  for (const m of modalities) {
    const reads = await Promise.all(samples.map((s) => readModality(s, m, options)));
    const slot = { at: [] as number[], inputs: [] as ExtractorInput[] };
    reads.forEach((read, i) => {
      if (read === undefined) return;
      if (read.status === 'error')
        features[i]!.modalities[m] = { status: 'error', error: read.error.toRecord() };
      else {
        slot.at.push(i);
        slot.inputs.push(read.input);
        features[i]!.warnings.push(...read.warnings);
      }
    });
    if (slot.inputs.length > 0) inputs[m] = slot;
  }
  return { features, inputs };
}

/**
 * Extracts a read batch: one batched call per modality, so ONNX runs see the whole
 * micro-batch. A modality whose input is bad becomes that modality's error; its neighbours and
 * the other samples are unaffected. Only fatal errors (a model missing) throw.
 */
export async function extractRead(
  batch: ReadBatch,
  extractors: readonly ModalityExtractor[],
): Promise<SampleFeatures[]> {
  const out = batch.features;
  for (const extractor of extractors) {
    const m = extractor.modality;
    const slot = batch.inputs[m];
    if (slot === undefined) continue;
    const results = await extractor.extract(slot.inputs);
    results.forEach((r, k) => {
      const target = out[slot.at[k]!]!;
      if (r.status === 'error') {
        target.modalities[m] = { status: 'error', error: r.error.toRecord() };
        return;
      }
      const { warnings, timeline, ...meta } = r.meta as {
        warnings?: EmoflowWarning[];
        timeline?: AudioTimeline;
      } & Record<string, unknown>;
      if (Array.isArray(warnings)) target.warnings.push(...warnings);
      if (timeline !== undefined) target.timeline = timeline;
      else target.modalities[m] = { status: 'ok', vector: r.vector, meta };
    });
  }
  return out;
}

/** Reads and extracts `samples` (readSamples, then extractRead). */
export async function extractSamples(
  samples: readonly Sample[],
  extractors: readonly ModalityExtractor[],
  options: ReadOptions = {},
): Promise<SampleFeatures[]> {
  return extractRead(
    await readSamples(
      samples,
      extractors.map((e) => e.modality),
      options,
    ),
    extractors,
  );
}
