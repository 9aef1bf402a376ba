import type { EmoflowWarning } from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import type { Sample } from '../../core/sample.js';
import type { FeatureSpec } from '../../features/feature-spec.js';
import type { Device } from '../../models/session-factory.js';
import type { SampleFeatures } from '../../pipeline/extract.js';

/** What an extraction worker is started with (structured-cloned into the thread). */
export interface ExtractWorkerInit {
  modalities: Modality[];
  vad: boolean;
  /** Audio features with speech prosody appended (absent: off). */
  prosody?: boolean;
  /** Text features with the lexical bag appended, hashed into this many buckets (absent: off). */
  lexicalBuckets?: number;
  device: Device;
  threads: number;
  batch: number;
  modelsDir?: string;
  textModel?: string;
  /** Models the parent thread has checked (sha256) before starting threads: not hashed again. */
  verifiedModels?: string[];
  /** The most bytes of a text read (DEFAULT_MAX_TEXT_BYTES when absent). */
  maxTextBytes?: number;
  /** The process-wide device lock (src/models/device-lock.ts), shared with the calling thread. */
  deviceLock?: SharedArrayBuffer;
}

export type ToWorker = { type: 'extract'; id: number; samples: Sample[] } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; specs: { modality: Modality; spec: FeatureSpec }[]; device: Device }
  | { type: 'result'; id: number; features: SampleFeatures[]; seconds: number }
  /** A micro-batch threw a non-fatal error: the pool extracts its samples again one by one. */
  | { type: 'failed'; id: number; error: { code: string; message: string } }
  | { type: 'warning'; warning: EmoflowWarning }
  | { type: 'fatal'; error: { code: string; message: string } };
