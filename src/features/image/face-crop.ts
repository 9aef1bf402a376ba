import type { RgbImage } from '../../io/image.js';

/** mini-XCEPTION's input side (MODELS.md §1): crops are 64x64 grayscale. */
export const CROP_SIZE = 64;
export const CROP_PIXELS = CROP_SIZE * CROP_SIZE;

/** A box in image pixels: x, y of the top-left corner, width, height (docs/ingest.md). */
export type Box = readonly [x: number, y: number, w: number, h: number];

/** A pixel rectangle, right and bottom exclusive; may extend past the image. */
export interface CropRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Rec.601 luma (MODELS.md §1 step 2; PIL "L" and cv2 BGR2GRAY use the same weights). */
export const REC601 = [0.299, 0.587, 0.114] as const;

/**
 * The square crop of MODELS.md §1: centred on the box, side = max(w, h), not clamped (the part
 * outside the image is black). Rounded as `tools/verify_mini_xception.py` rounds it (Python's
 * round(), half to even), so the rectangle can be one pixel off square; at least 1x1.
 */
export function squareCropRect(box: Box): CropRect {
  const [x, y, w, h] = box;
  const side = Math.max(w, h);
  const cx = x + w / 2;
  const cy = y + h / 2;
  const left = roundHalfEven(cx - side / 2);
  const top = roundHalfEven(cy - side / 2);
  const right = Math.max(roundHalfEven(cx + side / 2), left + 1);
  const bottom = Math.max(roundHalfEven(cy + side / 2), top + 1);
  return { left, top, right, bottom };
}

/**
 * Where a face box sits in a square crop: the box's side (max(w, h)) over the crop's side, and
 * the box centre minus the crop centre in crop sides (+x right, +y down).
 */
export interface Framing {
  boxToCrop: number;
  offsetX: number;
  offsetY: number;
}

/**
 * FER2013's framing as UltraFace sees it: medians over FER+ Train's 48x48 faces, each detected
 * inside a larger picture (`UltraFace.detectInPicture`), as a face in a portrait is
 * (`node dist/scripts/face-framing.js measure`; docs/features.md "Image"). UltraFace's box runs
 * from brow to chin, and FER2013's crops are about that tight: the box is as tall as the crop
 * and sits a little below its centre.
 */
export const FER_FRAMING: Framing = { boxToCrop: 1.01, offsetX: 0.007, offsetY: 0.018 };

/**
 * The square crop that shows the face of `box` as FER2013 shows its faces: side = box side /
 * `framing.boxToCrop`, centred `framing.offset*` crop sides away from the box centre, rounded as
 * `squareCropRect`; not clamped (the part outside the image is padded).
 */
export function framedCropRect(box: Box, framing: Framing = FER_FRAMING): CropRect {
  const [x, y, w, h] = box;
  const side = Math.max(w, h) / framing.boxToCrop;
  const cx = x + w / 2 - framing.offsetX * side;
  const cy = y + h / 2 - framing.offsetY * side;
  return squareCropRect([cx - side / 2, cy - side / 2, side, side]);
}

/**
 * The framing of `box` in the whole image as the CNN gets a whole image: the square of side
 * max(width, height) centred on the image (`squareCropRect(wholeImageBox(img))`).
 */
export function framingInImage(box: Box, img: { width: number; height: number }): Framing {
  const [x, y, w, h] = box;
  const side = Math.max(img.width, img.height);
  return {
    boxToCrop: Math.max(w, h) / side,
    offsetX: (x + w / 2 - img.width / 2) / side,
    offsetY: (y + h / 2 - img.height / 2) / side,
  };
}

/** How close to FER_FRAMING an image's face must be for the image to count as framed already. */
export interface FramedInputTolerance {
  /**
   * The box's side over the image square's side is at least this. No upper bound: an image
   * framed tighter than FER2013 goes whole too (framing it would pad it with a border).
   */
  minBoxToCrop: number;
  /** Each axis of the box centre's offset (in image sides) is within this of the framing's. */
  maxOffset: number;
}

/**
 * FER+ Train's faces found in a picture have a box of 0.94-1.09 of the side (quartiles; 10th
 * percentile 0.86) and a centre within 0.03 of FER_FRAMING's (quartiles); these bounds hold 84%
 * of them, and 6% of tcce's whole-head portraits (box 0.72 of the side, centre 0.08 low)
 * (`node dist/scripts/face-framing.js measure`).
 */
export const FER_FRAMED_INPUT: FramedInputTolerance = { minBoxToCrop: 0.85, maxOffset: 0.1 };

/**
 * Whether `box` (a face found with the image inside a larger picture, so not clipped to the
 * image) shows that `img` is already framed as FER2013 frames its faces, and can go to the CNN
 * whole.
 */
export function isFramedInput(
  box: Box,
  img: { width: number; height: number },
  framing: Framing = FER_FRAMING,
  tolerance: FramedInputTolerance = FER_FRAMED_INPUT,
): boolean {
  const f = framingInImage(box, img);
  return (
    f.boxToCrop >= tolerance.minBoxToCrop &&
    Math.abs(f.offsetX - framing.offsetX) <= tolerance.maxOffset &&
    Math.abs(f.offsetY - framing.offsetY) <= tolerance.maxOffset
  );
}

/** A crop rectangle as [x, y, w, h] (the record's `face.crop`). */
export function rectToBox(rect: CropRect): [number, number, number, number] {
  return [rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top];
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Per-output taps of a 1-D resampling: output i reads `count[i]` inputs from `start[i]`. */
export interface ResampleTaps {
  start: Int32Array;
  count: Int32Array;
  /** `maxTaps` weights per output, normalised to sum 1. */
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Bilinear (triangle-filter) taps as PIL's `Image.resize(..., BILINEAR)` computes them
 * (libImaging/Resample.c precompute_coeffs): pixel centres at i + 0.5, and when shrinking the
 * filter is widened by the scale factor, so that a large face is averaged rather than point
 * sampled. When enlarging (FER+'s 48x48 faces) this is the same as cv2's INTER_LINEAR with
 * edge clamping. MODELS.md's verification resized with PIL; upstream's demos used cv2, which
 * does not widen the filter when shrinking; the two differ only for crops larger than 64 px.
 */
export function bilinearTaps(inSize: number, outSize: number): ResampleTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support is 1, widened by filterScale
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // Math.trunc, as C's (int) cast in PIL.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = Math.min(xmax - xmin, maxTaps);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const t = Math.abs((k + xmin - center + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[i * maxTaps + k] = w;
      sum += w;
    }
    if (sum > 0) for (let k = 0; k < n; k++) weights[i * maxTaps + k] = weights[i * maxTaps + k]! / sum;
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, maxTaps };
}

/** How the part of a crop outside the image is filled. */
export type CropPadding = 'black' | 'edge';

/**
 * The pipeline's padding: the nearest edge pixel repeated. On FER+ Valid, where 150 of the framed
 * crops reach past the image, the CNN's argmax gets 6 more of them right than with black
 * (MODELS.md §1's verification padded black); on tcce with crops 1.5x too large, UAR 0.444
 * against 0.368 (`node dist/scripts/face-framing.js compare`).
 */
export const FACE_CROP_PADDING: CropPadding = 'edge';

/**
 * Writes the FER CNN input for one face into `out[offset .. offset + 4096)`: the square crop of
 * `box` (black outside the image), Rec.601 grayscale, bilinear to 64x64 (PIL's taps, see
 * `bilinearTaps`), scaled x/255*2-1 (MODELS.md §1 steps 1-5, row-major h*64+w).
 */
export function writeFaceCrop(img: RgbImage, box: Box, out: Float32Array, offset: number): void {
  writeCrop(img, squareCropRect(box), out, offset);
}

/**
 * Writes the CNN input for the pixel rectangle `rect` (see `writeFaceCrop`). The part of `rect`
 * outside the image is black (`'black'`, MODELS.md §1's verification: PIL `crop`) or repeats the
 * nearest edge pixel (`'edge'`).
 *
 * Unlike PIL, gray levels and the intermediate of the separable resize stay in float instead of
 * being rounded to 8 bits, so values can differ from PIL's by up to about one gray level.
 */
export function writeCrop(
  img: RgbImage,
  rect: CropRect,
  out: Float32Array,
  offset: number,
  padding: CropPadding = 'black',
): void {
  const { left, top, right, bottom } = rect;
  const cw = right - left;
  const ch = bottom - top;
  const { width, height, data } = img;
  const hTaps = bilinearTaps(cw, CROP_SIZE);
  const vTaps = bilinearTaps(ch, CROP_SIZE);
  const edge = padding === 'edge';

  // Horizontal pass: every crop row -> 64 columns; with black padding, rows outside the image stay 0.
  const gray = new Float32Array(cw);
  const mid = new Float32Array(ch * CROP_SIZE);
  const x0 = Math.min(Math.max(left, 0), width);
  const x1 = Math.max(Math.min(right, width), x0);
  const [wr, wg, wb] = REC601;
  const luma = (p: number): number => wr * data[p]! + wg * data[p + 1]! + wb * data[p + 2]!;
  for (let yy = 0; yy < ch; yy++) {
    let sy = top + yy;
    if (sy < 0 || sy >= height) {
      if (!edge) continue;
      sy = sy < 0 ? 0 : height - 1;
    }
    gray.fill(0);
    const row = sy * width;
    let p = (row + x0) * 3;
    for (let sx = x0; sx < x1; sx++, p += 3) gray[sx - left] = luma(p);
    if (edge) {
      const first = luma(row * 3);
      const last = luma((row + width - 1) * 3);
      for (let sx = left; sx < Math.min(0, right); sx++) gray[sx - left] = first;
      for (let sx = Math.max(width, left); sx < right; sx++) gray[sx - left] = last;
    }
    const rowOut = yy * CROP_SIZE;
    for (let ox = 0; ox < CROP_SIZE; ox++) {
      const s0 = hTaps.start[ox]!;
      const n = hTaps.count[ox]!;
      const wOff = ox * hTaps.maxTaps;
      let acc = 0;
      for (let k = 0; k < n; k++) acc += hTaps.weights[wOff + k]! * gray[s0 + k]!;
      mid[rowOut + ox] = acc;
    }
  }

  // Vertical pass, then x/255*2-1.
  for (let oy = 0; oy < CROP_SIZE; oy++) {
    const s0 = vTaps.start[oy]!;
    const n = vTaps.count[oy]!;
    const wOff = oy * vTaps.maxTaps;
    const o = offset + oy * CROP_SIZE;
    for (let ox = 0; ox < CROP_SIZE; ox++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += vTaps.weights[wOff + k]! * mid[(s0 + k) * CROP_SIZE + ox]!;
      out[o + ox] = (acc / 255) * 2 - 1;
    }
  }
}

/** The whole image as a box: what is cropped when the detector finds no face (docs/ingest.md). */
export function wholeImageBox(img: { width: number; height: number }): Box {
  return [0, 0, img.width, img.height];
}
