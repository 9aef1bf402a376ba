import { EmoflowError, type EmoflowWarning } from '../core/errors.js';
import type { Modality } from '../core/labels.js';
import type { ModelStore } from '../models/model-store.js';
import type { SessionFactory } from '../models/session-factory.js';
import { AudioExtractor } from './audio/audio-extractor.js';
import { ImageExtractor } from './image/image-extractor.js';
import type { ExtractorInput } from '../core/sample.js';
import type { ExtractorResult, ModalityExtractor } from './modality-extractor.js';
import { TextEncoder } from './text/text-encoder.js';
import { TextExtractor } from './text/text-extractor.js';

/** The image extractor as a ModalityExtractor: batches of `batch` images, one CNN run each. */
export class ImageModality implements ModalityExtractor {
  readonly modality = 'image' as const;
  readonly spec;
  constructor(
    private readonly extractor: ImageExtractor,
    private readonly batch: number,
  ) {
    this.spec = extractor.spec;
  }

  async extract(inputs: readonly ExtractorInput[]): Promise<ExtractorResult[]> {
    const out: ExtractorResult[] = [];
    for (let i = 0; i < inputs.length; i += this.batch) {
      const results = await this.extractor.extractBatch(inputs.slice(i, i + this.batch));
      results.forEach((r, k) => {
        if ('error' in r) return out.push({ status: 'error', error: r.error });
        const meta: Record<string, unknown> = { face: r.face };
        // No face: the CNN saw the whole picture (a tight crop the detector missed, or no face
        // at all); the head keeps such an image out of the fused result (head-runner.ts).
        if (r.face.framing === 'no-face')
          meta['warnings'] = [
            {
              code: 'FACE_NOT_FOUND',
              message: `${inputs[i + k]!.path ?? 'image'}: no face found; the whole image was scored, and its scores get no weight in the fused result`,
            } satisfies EmoflowWarning,
          ];
        return out.push({ status: 'ok', vector: r.vector, meta });
      });
    }
    return out;
  }
}

/**
 * The audio extractor as a ModalityExtractor: one clip at a time (the VAD is a stream). An input
 * marked `timeline` is a recording: the result's `meta.timeline` holds its segments' vectors
 * (AudioExtractor.timeline) and its own vector is empty.
 */
export class AudioModality implements ModalityExtractor {
  readonly modality = 'audio' as const;
  readonly spec;
  constructor(private readonly extractor: AudioExtractor) {
    const { name, version, dim } = extractor.spec;
    this.spec = { name, version, dim };
  }

  async extract(inputs: readonly ExtractorInput[]): Promise<ExtractorResult[]> {
    const out: ExtractorResult[] = [];
    for (const input of inputs) {
      try {
        if (input.timeline === true) {
          const timeline = await this.extractor.timeline(input.file ?? input.bytes, input.path);
          out.push({ status: 'ok', vector: new Float32Array(0), meta: { timeline } });
          continue;
        }
        const f = await this.extractor.extract(input.bytes, input.path);
        const meta: Record<string, unknown> = { frames: f.frames, warnings: f.warnings };
        if (f.vad !== undefined) meta['vad'] = f.vad;
        out.push({ status: 'ok', vector: f.vector, meta });
      } catch (e) {
        if (!(e instanceof EmoflowError) || e.fatal) throw e;
        out.push({ status: 'error', error: e });
      }
    }
    return out;
  }
}

export interface ExtractorSetOptions {
  factory: SessionFactory;
  store: ModelStore;
  modalities: readonly Modality[];
  /** Text model folder or hub id; default: the store's USE-lite. */
  textModel?: string;
  allowRemote?: boolean;
  vad?: boolean;
  /** Append speech prosody to the audio features (AUDIO_FEATURE_SPEC). */
  prosody?: boolean;
  /** Append the lexical bag, hashed into this many buckets, to the text features (lexical.ts). */
  lexicalBuckets?: number;
  batch?: number;
}

/** The extractors of the named modalities, models loaded. */
export async function buildExtractors(options: ExtractorSetOptions): Promise<ModalityExtractor[]> {
  const batch = options.batch ?? 32;
  const out: ModalityExtractor[] = [];
  for (const m of options.modalities) {
    if (m === 'text') {
      const model = options.textModel ?? (await options.store.folder('universal-sentence-encoder-lite'));
      const encoder = await TextEncoder.load({
        model,
        factory: options.factory,
        batchSize: batch,
        ...(options.allowRemote === true ? { allowRemote: true } : {}),
      });
      out.push(
        new TextExtractor(
          encoder,
          options.lexicalBuckets === undefined ? {} : { lexicalBuckets: options.lexicalBuckets },
        ),
      );
    } else if (m === 'image') {
      const ex = new ImageExtractor({ factory: options.factory, store: options.store });
      await ex.models();
      out.push(new ImageModality(ex, batch));
    } else {
      out.push(
        new AudioModality(
          new AudioExtractor({
            factory: options.factory,
            store: options.store,
            vad: options.vad === true,
            prosody: options.prosody === true,
          }),
        ),
      );
    }
  }
  return out;
}
