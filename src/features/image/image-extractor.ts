import { EmoflowError, isEmoflowError } from '../../core/errors.js';
import { NUM_EMOTIONS } from '../../core/labels.js';
import { decodeImage, type RgbImage } from '../../io/image.js';
import type { ModelStore } from '../../models/model-store.js';
import type { SessionFactory } from '../../models/session-factory.js';
import { CROP_PIXELS, wholeImageBox, writeFaceCrop, type Box } from './face-crop.js';
import { FER_EMBEDDING_DIM, FerCnn } from './fer-cnn.js';
import { DETECTOR_INPUT_LENGTH, UltraFace, type FaceBox } from './ultraface.js';

/**
 * The image feature spec (DESIGN.md §6): the 128-d mini-XCEPTION embedding followed by its 7
 * probabilities in EMOTIONS order. Bump `version` whenever pre-processing or models change,
 * so that cached features are recomputed.
 */
export const IMAGE_FEATURE_SPEC = {
  name: 'image-fer-mini-xception',
  version: '1',
  dim: FER_EMBEDDING_DIM + NUM_EMOTIONS,
} as const;

/** Which face the record describes (DESIGN.md §4). */
export interface FaceInfo {
  /** `whole-image` when the detector found no face (tight crops such as FER+ are common). */
  source: 'detector' | 'whole-image';
  /** Detector box [x, y, w, h] in original pixels (EXIF-rotated); [0, 0, W, H] for whole-image. */
  box: [number, number, number, number];
  /** Detector face probability; null for whole-image. */
  score: number | null;
  /** How many faces the detector found in the image (whole-image too: a face filling the image counts). */
  count: number;
}

/** Features of one face. `vector` = embedding ++ probs; each array owns its buffer. */
export interface FaceFeatures {
  vector: Float32Array;
  probs: Float32Array;
  embedding: Float32Array;
  face: FaceInfo;
}

/** Features of one image: its largest face; with `faces: 'all'`, also every face, largest first. */
export interface ImageFeatures extends FaceFeatures {
  faces?: FaceFeatures[];
}

export type ImageBatchResult = ImageFeatures | { error: EmoflowError };

export interface ImageInput {
  bytes: Uint8Array;
  path?: string;
}

export type FaceSelection = 'largest' | 'all';

export interface ImagePipelineOptions {
  /** 'largest' (default): the largest detected box by area; 'all': one feature set per face. */
  faces?: FaceSelection;
  /** Pixel limit passed to the decoder (default 50 MP). */
  maxPixels?: number;
}

/** The two loaded models of the image path. */
export interface ImageModels {
  detector: UltraFace;
  cnn: FerCnn;
}

export async function loadImageModels(factory: SessionFactory, store: ModelStore): Promise<ImageModels> {
  const [detector, cnn] = await Promise.all([UltraFace.load(factory, store), FerCnn.load(factory, store)]);
  return { detector, cnn };
}

/**
 * A detected face whose box side is at least this fraction of the image's shorter side means
 * the image is already a face crop (FER+, FER2013, most face datasets): the whole image is used.
 * UltraFace's boxes are tight (brow to chin), and cutting them out of such an image drops the
 * margin mini-XCEPTION was trained with. Chosen on FER+ Valid (the dev split), CNN argmax vs the
 * majority vote on its first 1,440 untied images: whole image 0.642, detector box 0.599, box
 * enlarged 1.25x 0.609 (`node dist/scripts/fer-crop-policy.js`).
 */
export const WHOLE_IMAGE_FACE_FRACTION = 0.5;

/**
 * The faces to crop from one image: the largest box by area (or all, largest first); the whole
 * image when no face is found or when the largest face fills it (WHOLE_IMAGE_FACE_FRACTION). A
 * whole image gets the same square crop as a face box, so a non-square image is padded with
 * black to a square rather than stretched (FER2013's faces are square crops).
 */
export function selectFaces(
  detections: readonly FaceBox[],
  img: { width: number; height: number },
  mode: FaceSelection,
): FaceInfo[] {
  const count = detections.length;
  // Stable sort: equal areas keep the detector's order (best score first).
  const byArea = [...detections].sort((a, b) => b.w * b.h - a.w * a.h);
  const largest = byArea[0];
  if (
    largest === undefined ||
    Math.max(largest.w, largest.h) >= WHOLE_IMAGE_FACE_FRACTION * Math.min(img.width, img.height)
  ) {
    return [{ source: 'whole-image', box: [...wholeImageBox(img)], score: null, count }];
  }
  const chosen = mode === 'all' ? byArea : byArea.slice(0, 1);
  return chosen.map((d) => ({ source: 'detector', box: [d.x, d.y, d.w, d.h], score: d.score, count }));
}

/** A growable [n, 1, 64, 64] batch tensor: sized once for one crop per image, grown only by 'all'. */
class CropBatch {
  data: Float32Array;
  n = 0;

  constructor(capacity: number) {
    this.data = new Float32Array(Math.max(capacity, 1) * CROP_PIXELS);
  }

  add(img: RgbImage, box: Box): void {
    if ((this.n + 1) * CROP_PIXELS > this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    writeFaceCrop(img, box, this.data, this.n * CROP_PIXELS);
    this.n++;
  }
}

async function decodeOrError(
  item: ImageInput,
  maxPixels: number | undefined,
): Promise<RgbImage | EmoflowError> {
  try {
    return await decodeImage(item.bytes, {
      ...(maxPixels === undefined ? {} : { maxPixels }),
      ...(item.path === undefined ? {} : { path: item.path }),
    });
  } catch (e) {
    if (isEmoflowError(e)) return e;
    throw e;
  }
}

/**
 * Decode -> detect -> crop for a batch, one image at a time (the detector's input is fixed at
 * batch 1; at most two decoded images are held at once, so memory does not grow with image
 * size times batch). Returns per item its faces or its input error, and the crop batch.
 * `keepDetectorInputs` keeps each image's detector tensor (the benchmark's raw-ORT inputs).
 */
async function detectAndCrop(
  models: ImageModels,
  items: readonly ImageInput[],
  options: ImagePipelineOptions,
  keepDetectorInputs: boolean,
): Promise<{ faces: (FaceInfo[] | EmoflowError)[]; crops: CropBatch; detectorInputs: Float32Array[] }> {
  const mode = options.faces ?? 'largest';
  const crops = new CropBatch(items.length);
  const detectorInputs: Float32Array[] = [];
  let scratch = new Float32Array(DETECTOR_INPUT_LENGTH);
  const faces: (FaceInfo[] | EmoflowError)[] = [];
  const decode = (i: number): Promise<RgbImage | EmoflowError> | undefined => {
    const item = items[i];
    if (item === undefined) return undefined;
    const p = decodeOrError(item, options.maxPixels);
    p.catch(() => undefined); // an unexpected error surfaces when awaited, not as an unhandled rejection
    return p;
  };
  // One image of look-ahead: sharp's decode of image i+1 (about half of its ~1 ms for a small
  // PNG runs on a libuv thread) overlaps the detector on image i. Nothing else can overlap:
  // onnxruntime-node 1.30 runs a session synchronously on the JS thread (its `run` only defers
  // the call with setImmediate). At most two decoded images are alive at once.
  let next = decode(0);
  for (let i = 0; i < items.length; i++) {
    const img = (await next)!;
    next = decode(i + 1);
    if (img instanceof EmoflowError) {
      faces.push(img);
      continue;
    }
    const chosen = selectFaces(await models.detector.detect(img, scratch), img, mode);
    if (keepDetectorInputs) {
      detectorInputs.push(scratch);
      scratch = new Float32Array(DETECTOR_INPUT_LENGTH);
    }
    for (const f of chosen) crops.add(img, f.box);
    faces.push(chosen);
  }
  return { faces, crops, detectorInputs };
}

/**
 * The full image path on a batch of encoded images (DESIGN.md §6): decode, detect, crop, and
 * one mini-XCEPTION run over every crop of the batch. An item's input error
 * (IMAGE_DECODE_FAILED, IMAGE_TOO_LARGE) is returned in its slot; anything else throws.
 */
export async function extractImageBatch(
  models: ImageModels,
  items: readonly ImageInput[],
  options: ImagePipelineOptions = {},
): Promise<ImageBatchResult[]> {
  const { faces, crops } = await detectAndCrop(models, items, options, false);
  const out = crops.n > 0 ? await models.cnn.run(crops.data, crops.n) : undefined;
  let row = 0;
  return faces.map((f): ImageBatchResult => {
    if (f instanceof EmoflowError) return { error: f };
    const sets = f.map((info) => faceFeatures(out!.probs, out!.embedding, row++, info));
    const first = sets[0]!;
    return options.faces === 'all' ? { ...first, faces: sets } : first;
  });
}

function faceFeatures(
  probs: Float32Array,
  embedding: Float32Array,
  row: number,
  face: FaceInfo,
): FaceFeatures {
  const e = embedding.slice(row * FER_EMBEDDING_DIM, (row + 1) * FER_EMBEDDING_DIM);
  const p = probs.slice(row * NUM_EMOTIONS, (row + 1) * NUM_EMOTIONS);
  const vector = new Float32Array(IMAGE_FEATURE_SPEC.dim);
  vector.set(e, 0);
  vector.set(p, FER_EMBEDDING_DIM);
  return { vector, probs: p, embedding: e, face };
}

/** Inputs for timing onnxruntime alone: what the full path feeds it, already decoded and resized. */
export interface PreparedOrtInputs {
  /** One [1, 3, 240, 320] tensor per decodable image. */
  detector: Float32Array[];
  /** [n, 1, 64, 64] crops of the batch. */
  crops: Float32Array;
  n: number;
}

/** Runs the full path once and keeps the tensors it fed onnxruntime (benchmarks). */
export async function prepareOrtInputs(
  models: ImageModels,
  items: readonly ImageInput[],
  options: ImagePipelineOptions = {},
): Promise<PreparedOrtInputs> {
  const { crops, detectorInputs } = await detectAndCrop(models, items, options, true);
  return { detector: detectorInputs, crops: crops.data.subarray(0, crops.n * CROP_PIXELS), n: crops.n };
}

/** Bare onnxruntime on prepared inputs: one detector run per image, one CNN run for the batch. */
export async function runOrtOnly(models: ImageModels, inputs: PreparedOrtInputs): Promise<void> {
  for (const t of inputs.detector) await models.detector.run(t);
  if (inputs.n > 0) await models.cnn.runRaw(inputs.crops, inputs.n);
}

export interface ImageExtractorOptions extends ImagePipelineOptions {
  factory: SessionFactory;
  store: ModelStore;
}

/** The image extractor: encoded image bytes -> IMAGE_FEATURE_SPEC features. Models load on first use. */
export class ImageExtractor {
  readonly spec = IMAGE_FEATURE_SPEC;
  private readonly factory: SessionFactory;
  private readonly store: ModelStore;
  private readonly options: ImagePipelineOptions;
  private loaded: Promise<ImageModels> | undefined;

  constructor(opts: ImageExtractorOptions) {
    this.factory = opts.factory;
    this.store = opts.store;
    this.options = {
      ...(opts.faces === undefined ? {} : { faces: opts.faces }),
      ...(opts.maxPixels === undefined ? {} : { maxPixels: opts.maxPixels }),
    };
  }

  models(): Promise<ImageModels> {
    if (this.loaded === undefined) {
      const p = loadImageModels(this.factory, this.store);
      this.loaded = p;
      p.catch(() => {
        if (this.loaded === p) this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  /** Features of one image; throws its EmoflowError (IMAGE_DECODE_FAILED, IMAGE_TOO_LARGE). */
  async extract(bytes: Uint8Array, path?: string): Promise<ImageFeatures> {
    const [r] = await this.extractBatch([path === undefined ? { bytes } : { bytes, path }]);
    if (r === undefined) throw new Error('image extractor returned no result');
    if ('error' in r) throw r.error;
    return r;
  }

  /** Features per item, or that item's input error; one CNN run for the whole batch. */
  async extractBatch(items: readonly ImageInput[]): Promise<ImageBatchResult[]> {
    if (items.length === 0) return [];
    return extractImageBatch(await this.models(), items, this.options);
  }
}
