import * as ort from 'onnxruntime-node';
import { EMOTIONS, NUM_EMOTIONS, type Emotion } from '../../core/labels.js';
import type { ModelStore } from '../../models/model-store.js';
import type { SessionFactory } from '../../models/session-factory.js';
import { CROP_PIXELS, CROP_SIZE } from './face-crop.js';
import { float32Output } from '../../models/ort-outputs.js';

/** The CNN's own output order, FER2013's (MODELS.md §1, `get_labels('fer2013')` upstream). */
export const FER_CNN_LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type FerCnnLabel = (typeof FER_CNN_LABELS)[number];

/** FER2013 names -> the shared label space (docs/corpora.md). */
const TO_SHARED: Record<FerCnnLabel, Emotion> = {
  angry: 'anger',
  disgust: 'disgust',
  fear: 'fear',
  happy: 'joy',
  sad: 'sadness',
  surprise: 'surprise',
  neutral: 'neutral',
};

/** For each index of EMOTIONS, the CNN output index holding it: [0, 1, 2, 3, 6, 4, 5]. */
export const FER_TO_EMOTIONS: readonly number[] = EMOTIONS.map((e) => {
  const i = FER_CNN_LABELS.findIndex((l) => TO_SHARED[l] === e);
  if (i < 0) throw new Error(`FER CNN has no output for emotion '${e}'`);
  return i;
});

export const FER_EMBEDDING_DIM = 128;

/** Outputs for a batch of n crops. */
export interface FerOutputs {
  n: number;
  /** [n, 7] probabilities in EMOTIONS order. */
  probs: Float32Array;
  /** [n, 128] embeddings (GAP of the last residual block, not normalised; MODELS.md §1). */
  embedding: Float32Array;
}

/** `probs` [n, 7] in the CNN's order -> [n, 7] in EMOTIONS order. */
export function toEmotionOrder(probs: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * NUM_EMOTIONS);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < NUM_EMOTIONS; k++)
      out[r * NUM_EMOTIONS + k] = probs[r * NUM_EMOTIONS + FER_TO_EMOTIONS[k]!]!;
  }
  return out;
}

/** mini-XCEPTION (fer_mini_xception_emb.onnx) on an onnxruntime session. */
export class FerCnn {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(factory: SessionFactory, store: ModelStore): Promise<FerCnn> {
    return new FerCnn(await factory.session(await store.path('fer_mini_xception_emb')));
  }

  /**
   * One onnxruntime run on the first n crops of `input` ([n, 1, 64, 64], see `writeFaceCrop`);
   * probabilities in the CNN's own order (FER_CNN_LABELS).
   */
  async runRaw(input: Float32Array, n: number): Promise<{ probs: Float32Array; embedding: Float32Array }> {
    if (n < 1 || input.length < n * CROP_PIXELS) {
      throw new RangeError(`FER CNN input has ${input.length} floats, needs ${n} x ${CROP_PIXELS} (n >= 1)`);
    }
    const tensor = new ort.Tensor('float32', input.subarray(0, n * CROP_PIXELS), [
      n,
      1,
      CROP_SIZE,
      CROP_SIZE,
    ]);
    const res = await this.session.run({ input: tensor });
    return { probs: float32Output(res, 'probs'), embedding: float32Output(res, 'embedding') };
  }

  /** As `runRaw`, with the probabilities permuted into EMOTIONS order. */
  async run(input: Float32Array, n: number): Promise<FerOutputs> {
    const raw = await this.runRaw(input, n);
    return { n, probs: toEmotionOrder(raw.probs, n), embedding: raw.embedding };
  }
}
