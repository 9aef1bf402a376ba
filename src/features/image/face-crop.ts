import type { RgbImage } from '../../io/image.js';

/** mini-XCEPTION's input side (MODELS.md §1): crops are 64x64 grayscale. */
export const CROP_SIZE = 64;
export const CROP_PIXELS = CROP_SIZE * CROP_SIZE;

/** A box in image pixels: x, y of the top-left corner, width, height (DESIGN.md §4). */
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

/**
 * Writes the FER CNN input for one face into `out[offset .. offset + 4096)`: the square crop of
 * `box` (black outside the image), Rec.601 grayscale, bilinear to 64x64 (PIL's taps, see
 * `bilinearTaps`), scaled x/255*2-1 (MODELS.md §1 steps 1-5, row-major h*64+w).
 *
 * Unlike PIL, gray levels and the intermediate of the separable resize stay in float instead of
 * being rounded to 8 bits, so values can differ from PIL's by up to about one gray level.
 */
export function writeFaceCrop(img: RgbImage, box: Box, out: Float32Array, offset: number): void {
  const { left, top, right, bottom } = squareCropRect(box);
  const cw = right - left;
  const ch = bottom - top;
  const { width, height, data } = img;
  const hTaps = bilinearTaps(cw, CROP_SIZE);
  const vTaps = bilinearTaps(ch, CROP_SIZE);

  // Horizontal pass: every crop row -> 64 columns; rows outside the image stay 0 (black).
  const gray = new Float32Array(cw);
  const mid = new Float32Array(ch * CROP_SIZE);
  const x0 = Math.max(left, 0);
  const x1 = Math.min(right, width);
  const [wr, wg, wb] = REC601;
  for (let yy = 0; yy < ch; yy++) {
    const sy = top + yy;
    if (sy < 0 || sy >= height) continue;
    gray.fill(0);
    let p = (sy * width + x0) * 3;
    for (let sx = x0; sx < x1; sx++, p += 3)
      gray[sx - left] = wr * data[p]! + wg * data[p + 1]! + wb * data[p + 2]!;
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

/** The whole image as a box: what is cropped when the detector finds no face (DESIGN.md §4). */
export function wholeImageBox(img: { width: number; height: number }): Box {
  return [0, 0, img.width, img.height];
}
