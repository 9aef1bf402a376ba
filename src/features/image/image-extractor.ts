import { EmoflowError, isEmoflowError } from '../../core/errors.js';
import { NUM_EMOTIONS } from '../../core/labels.js';
import { decodeImage, type RgbImage } from '../../io/image.js';
import type { ModelStore } from '../../models/model-store.js';
import type { SessionFactory } from '../../models/session-factory.js';
import {
  CROP_PIXELS,
  FACE_CROP_PADDING,
  framedCropRect,
  isFramedInput,
  rectToBox,
  squareCropRect,
  wholeImageBox,
  writeCrop,
  type Box,
  type CropRect,
} from './face-crop.js';
import { FER_EMBEDDING_DIM, FerCnn } from './fer-cnn.js';
import { DETECTOR_INPUT_LENGTH, iou, UltraFace, type FaceBox } from './ultraface.js';

/**
 * The image feature spec (docs/features.md): the 128-d mini-XCEPTION embedding followed by its 7
 * probabilities in EMOTIONS order. Bump `version` whenever pre-processing or models change,
 * so that cached features are recomputed.
 */
export const IMAGE_FEATURE_SPEC = {
  name: 'image-fer-mini-xception',
  version: '2',
  dim: FER_EMBEDDING_DIM + NUM_EMOTIONS,
} as const;

/**
 * How the CNN's input was framed (docs/features.md "Image"):
 * - `fer`: a square cut around the detector's box so that the face sits in it as FER2013's faces
 *   sit in theirs (FER_FRAMING);
 * - `input`: the image is already framed like a FER2013 face, or tighter (FER_FRAMED_INPUT), and
 *   goes whole;
 * - `unsure`: the face fills much of the image but the detector is unsure of it
 *   (SURE_FACE_SCORE); the whole image goes to the CNN;
 * - `no-face`: the detector found no face; the whole image goes to the CNN.
 */
export type FaceFraming = 'fer' | 'input' | 'unsure' | 'no-face';

/** Which face the record describes (docs/ingest.md). */
export interface FaceInfo {
  /** `whole-image` when the CNN saw the whole image (framing `input`, `unsure` or `no-face`). */
  source: 'detector' | 'whole-image';
  /**
   * Detector box [x, y, w, h] in original pixels (EXIF-rotated), clipped to the image; [0, 0, W, H]
   * for whole-image.
   */
  box: [number, number, number, number];
  /** Detector face probability; null for whole-image. */
  score: number | null;
  /** How many faces the detector found in the image (whole-image too: a face filling the image counts). */
  count: number;
  /** How the CNN's input was framed. */
  framing: FaceFraming;
  /**
   * The square fed to the CNN, [x, y, w, h] in the same pixels as `box` (integers). It may
   * reach past the image; that part repeats the image's edge pixels (FACE_CROP_PADDING).
   */
  crop: [number, number, number, number];
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
 * When the largest face's side is at least this fraction of the image's shorter side, the face
 * fills much of its frame and the detector runs again with the image inside a larger picture
 * (`UltraFace.detectInPicture`). Without that context UltraFace's box for a face that fills the
 * frame comes out smaller (FER+ Train: 0.81 of the side as is, 1.01 in a picture), so framing it
 * would cut into the face, and a FER-framed image could not be told from a portrait.
 */
export const PICTURE_CHECK_FRACTION = 0.5;

/**
 * A face that fills much of the image (PICTURE_CHECK_FRACTION) is cut out only when the detector
 * is at least this sure of it (in the picture); otherwise the image goes whole: an unsure box
 * says little about where the face is. On FER+ Valid this sends 32 more face crops whole
 * (2,141 right of 3,144 instead of 2,136); tcce's portraits all score over 0.99
 * (`node dist/scripts/face-framing.js compare`).
 */
export const SURE_FACE_SCORE = 0.9;

/** Whether `selectFaces` wants the faces found with the image inside a picture. */
export function needsPictureCheck(
  detections: readonly FaceBox[],
  img: { width: number; height: number },
): boolean {
  const largest = byArea(detections)[0];
  return (
    largest !== undefined &&
    Math.max(largest.w, largest.h) >= PICTURE_CHECK_FRACTION * Math.min(img.width, img.height)
  );
}

/** Stable sort by area, largest first: equal areas keep the detector's order (best score first). */
function byArea(detections: readonly FaceBox[]): FaceBox[] {
  return [...detections].sort((a, b) => b.w * b.h - a.w * a.h);
}

const asBox = (f: FaceBox): Box => [f.x, f.y, f.w, f.h];

/**
 * The largest face by area, with its box from `inPicture` (the faces found with the image in a
 * picture) when the same face is there; undefined when no face was found.
 */
export function largestFace(
  detections: readonly FaceBox[],
  inPicture: readonly FaceBox[] = [],
): FaceBox | undefined {
  const first = byArea(detections)[0];
  return first === undefined ? undefined : (sameFace(first, inPicture) ?? first);
}

/** The face of `inPicture` that is `face` (the best IoU, at least 0.3), if any. */
function sameFace(face: FaceBox, inPicture: readonly FaceBox[]): FaceBox | undefined {
  const corners = (f: FaceBox): number[] => [f.x, f.y, f.x + f.w, f.y + f.h];
  let best: FaceBox | undefined;
  let bestIou = 0.3;
  for (const f of inPicture) {
    const o = iou(corners(face), corners(f));
    if (o >= bestIou) {
      best = f;
      bestIou = o;
    }
  }
  return best;
}

/** `box` clipped to the image (the record's `box`; a box found in a picture may reach past it). */
function clipBox(box: Box, img: { width: number; height: number }): [number, number, number, number] {
  const x0 = Math.min(Math.max(box[0], 0), img.width);
  const y0 = Math.min(Math.max(box[1], 0), img.height);
  const x1 = Math.min(Math.max(box[0] + box[2], 0), img.width);
  const y1 = Math.min(Math.max(box[1] + box[3], 0), img.height);
  return [x0, y0, x1 - x0, y1 - y0];
}

/**
 * The faces to crop from one image: the largest box by area (or all, largest first), each cut
 * out as FER2013 frames its faces (`framedCropRect`: about the detector's brow-to-chin box).
 * `inPicture` holds the faces found with the image inside a picture, when `needsPictureCheck`
 * asked for them: the largest face's box is then taken from there. The whole image goes to the
 * CNN when no face is found, when the largest face shows that the image is already framed as
 * FER2013 (`isFramedInput`: FER+ and other tight face crops), or when that face fills much of
 * the image and the detector is unsure of it (SURE_FACE_SCORE). A whole image gets the same square
 * crop as a face box, so a non-square image is padded to a square (FACE_CROP_PADDING) rather than
 * stretched (FER2013's faces are square crops).
 */
export function selectFaces(
  detections: readonly FaceBox[],
  img: { width: number; height: number },
  mode: FaceSelection,
  inPicture: readonly FaceBox[] = [],
): FaceInfo[] {
  const count = detections.length;
  const largest = largestFace(detections, inPicture);
  const wholeCrop = rectToBox(squareCropRect(wholeImageBox(img)));
  const whole = (framing: FaceFraming): FaceInfo[] => [
    { source: 'whole-image', box: [...wholeImageBox(img)], score: null, count, framing, crop: wholeCrop },
  ];
  if (largest === undefined) return whole('no-face');
  if (isFramedInput(asBox(largest), img)) return whole('input');
  if (needsPictureCheck(detections, img) && largest.score < SURE_FACE_SCORE) return whole('unsure');
  const chosen = mode === 'all' ? [largest, ...byArea(detections).slice(1)] : [largest];
  return chosen.map((d) => ({
    source: 'detector',
    box: clipBox(asBox(d), img),
    score: d.score,
    count,
    framing: 'fer',
    crop: rectToBox(framedCropRect(asBox(d))),
  }));
}

/** A growable [n, 1, 64, 64] batch tensor: sized once for one crop per image, grown only by 'all'. */
class CropBatch {
  data: Float32Array;
  n = 0;

  constructor(capacity: number) {
    this.data = new Float32Array(Math.max(capacity, 1) * CROP_PIXELS);
  }

  add(img: RgbImage, rect: CropRect): void {
    if ((this.n + 1) * CROP_PIXELS > this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    writeCrop(img, rect, this.data, this.n * CROP_PIXELS, FACE_CROP_PADDING);
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
    const found = await models.detector.detect(img, scratch);
    if (keepDetectorInputs) {
      detectorInputs.push(scratch);
      scratch = new Float32Array(DETECTOR_INPUT_LENGTH);
    }
    let inPicture: FaceBox[] = [];
    if (needsPictureCheck(found, img)) {
      inPicture = await models.detector.detectInPicture(img, scratch);
      if (keepDetectorInputs) {
        detectorInputs.push(scratch);
        scratch = new Float32Array(DETECTOR_INPUT_LENGTH);
      }
    }
    const chosen = selectFaces(found, img, mode, inPicture);
    for (const f of chosen) {
      const [left, top, w, h] = f.crop;
      crops.add(img, { left, top, right: left + w, bottom: top + h });
    }
    faces.push(chosen);
  }
  return { faces, crops, detectorInputs };
}

/**
 * The full image path on a batch of encoded images (docs/features.md): decode, detect, crop, and
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
  /** One [1, 3, 240, 320] tensor per detector run (one per decodable image, two when a face fills it). */
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

/** Bare onnxruntime on prepared inputs: the detector runs of each image, one CNN run for the batch. */
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
