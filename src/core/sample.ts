import type { Modality } from './labels.js';

/**
 * A sample: an id plus any of a text, an image and a speech clip (docs/ingest.md). Paths are
 * as written in the input (relative to `root`); they are resolved, and checked to stay inside
 * the root, only when the modality is read, so that a bad path fails that modality alone.
 */
export interface Sample {
  id: string;
  /** The folder that every path of this sample must stay inside. */
  root: string;
  /** Inline text. */
  text?: string;
  /** A UTF-8 text file. */
  textPath?: string;
  image?: string;
  audio?: string;
  /**
   * Input bytes carried with the sample rather than read from a file (queue jobs of producers
   * that share no disk with the workers); shown in messages under `id (modality)`.
   */
  bytes?: Partial<Record<Modality, Uint8Array>>;
  group?: string;
  order?: number;
  speaker?: string;
  /** Read the audio as a timeline of speech segments (`--segments`, docs/timelines.md). */
  timeline?: boolean;
  /** Every other column, as read: label columns for training and evaluation. */
  labels: Record<string, string | number | boolean | null>;
}

/** One input's bytes (a text, an image or a clip as read), and the path shown in messages. */
export interface ExtractorInput {
  bytes: Uint8Array;
  path: string;
  /** A recording to read as a timeline (AudioExtractor.timeline)… */
  timeline?: boolean;
  /** …from this file, streamed, instead of `bytes` (then empty). */
  file?: string;
}

/** The file a sample names for modality `m` (its text file, image or clip), as written. */
export function modalityPath(sample: Sample, m: Modality): string | undefined {
  return m === 'text' ? sample.textPath : m === 'image' ? sample.image : sample.audio;
}
