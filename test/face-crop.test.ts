import { describe, expect, it } from 'vitest';
import {
  bilinearTaps,
  CROP_PIXELS,
  squareCropRect,
  writeFaceCrop,
  type Box,
} from '../src/features/image/face-crop.js';
import type { RgbImage } from '../src/io/image.js';

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

/** The deterministic RGB pattern also fed to PIL for the reference values below. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + x * y * 7) % 256;
  return { width, height, data };
}

function crop(img: RgbImage, box: Box): Float32Array {
  const out = new Float32Array(CROP_PIXELS);
  writeFaceCrop(img, box, out, 0);
  return out;
}

/** Apply taps to a 1-D signal. */
function resample1d(src: number[], outSize: number): number[] {
  const t = bilinearTaps(src.length, outSize);
  return Array.from({ length: outSize }, (_, i) => {
    let acc = 0;
    for (let k = 0; k < t.count[i]!; k++) acc += t.weights[i * t.maxTaps + k]! * src[t.start[i]! + k]!;
    return acc;
  });
}

describe('squareCropRect', () => {
  it('centres a square of side max(w, h) on the box, rounding half to even like Python', () => {
    expect(squareCropRect([10, 20, 30, 40])).toEqual({ left: 5, top: 20, right: 45, bottom: 60 });
    // cx = 5.5, cy = 4, side 7: top = round(0.5) = 0, bottom = round(7.5) = 8.
    expect(squareCropRect([2, 1, 7, 6])).toEqual({ left: 2, top: 0, right: 9, bottom: 8 });
  });
});

describe('bilinearTaps', () => {
  it('enlarges 2 -> 4 with pixel centres at i + 0.5 and clamped edges', () => {
    const out = resample1d([0, 100], 4);
    [0, 25, 75, 100].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it('shrinks 4 -> 2 with the filter widened by the scale, as PIL does', () => {
    // Hand-computed: weights [3, 3, 1] / 7 and [1, 3, 3] / 7; PIL 9.4 gives [50, 160] on this row.
    const out = resample1d([0, 70, 140, 210], 2);
    expect(out[0]).toBeCloseTo((3 * 0 + 3 * 70 + 140) / 7, 5);
    expect(out[1]).toBeCloseTo((70 + 3 * 140 + 3 * 210) / 7, 5);
  });
});

describe('writeFaceCrop', () => {
  it('uses Rec.601 weights: pure red, green, blue give 0.299, 0.587, 0.114 of 255', () => {
    for (const [rgb, w] of [
      [[255, 0, 0], 0.299],
      [[0, 255, 0], 0.587],
      [[0, 0, 255], 0.114],
    ] as const) {
      const out = crop(solid(8, 8, [...rgb]), [0, 0, 8, 8]);
      const expected = ((w * 255) / 255) * 2 - 1; // gray 0.299*255 = 76.245 for red
      for (let i = 0; i < CROP_PIXELS; i += 131) expect(out[i]).toBeCloseTo(expected, 6);
    }
  });

  it('fills the part of the square outside the image with black instead of clamping', () => {
    // 64x64 white image, box half outside on the left: a 64x64 crop (no resize) whose left half is black.
    const out = crop(solid(64, 64, [255, 255, 255]), [-32, 0, 64, 64]);
    for (let y = 0; y < 64; y += 7) {
      expect(out[y * 64]).toBe(-1);
      expect(out[y * 64 + 31]).toBe(-1);
      expect(out[y * 64 + 32]).toBeCloseTo(1, 6);
      expect(out[y * 64 + 63]).toBeCloseTo(1, 6);
    }
    // A box on the bottom-right corner: rows and columns past the image are black.
    const corner = crop(solid(10, 10, [255, 255, 255]), [5, 5, 10, 10]); // rect [5, 5, 15, 15]
    expect(corner[0]).toBeCloseTo(1, 6);
    expect(corner[63 * 64 + 63]).toBe(-1);
    expect(corner[63]).toBe(-1);
    expect(corner[63 * 64]).toBe(-1);
  });

  it('gives hand-computed bilinear values when enlarging a 2x2 crop to 64x64', () => {
    // Left column black, right column white. Output column i reads centre (i + 0.5) / 32:
    // columns 0-15 are pure black, column 31 = 0.484375 white, column 32 = 0.515625 white.
    const img: RgbImage = {
      width: 2,
      height: 2,
      data: Uint8Array.from([0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]),
    };
    const out = crop(img, [0, 0, 2, 2]);
    for (const y of [0, 20, 63]) {
      expect(out[y * 64 + 0]).toBe(-1);
      expect(out[y * 64 + 15]).toBe(-1);
      expect(out[y * 64 + 31]).toBeCloseTo(0.484375 * 2 - 1, 6);
      expect(out[y * 64 + 32]).toBeCloseTo(0.515625 * 2 - 1, 6);
      expect(out[y * 64 + 63]).toBeCloseTo(1, 6);
    }
  });

  it('matches PIL convert("L").crop().resize((64, 64), BILINEAR) within one gray level', () => {
    // Reference values from PIL 9.4 (uint8; PIL rounds its gray and intermediate rows to 8 bits).
    const positions = [
      [0, 0],
      [0, 63],
      [63, 0],
      [63, 63],
      [10, 20],
      [31, 32],
      [40, 7],
      [50, 50],
      [17, 60],
      [33, 3],
    ] as const;
    const cases: [RgbImage, Box, number[]][] = [
      [pattern(13, 9), [2, 1, 7, 6], [117, 83, 84, 88, 85, 136, 124, 134, 146, 125]], // enlarge 7x8 -> 64
      [pattern(150, 120), [20, 10, 100, 90], [154, 114, 150, 142, 96, 138, 109, 121, 128, 97]], // shrink 100 -> 64
      [pattern(150, 120), [100, 60, 80, 80], [110, 0, 0, 0, 177, 133, 153, 0, 0, 107]], // partly outside
    ];
    for (const [img, box, pil] of cases) {
      const out = crop(img, box);
      positions.forEach(([r, c], i) => {
        const gray = ((out[r * 64 + c]! + 1) / 2) * 255;
        expect(Math.abs(gray - pil[i]!)).toBeLessThanOrEqual(1.0);
      });
    }
  });

  it('writes at the given offset of a batch tensor and leaves the rest untouched', () => {
    const batch = new Float32Array(3 * CROP_PIXELS).fill(7);
    writeFaceCrop(solid(4, 4, [255, 255, 255]), [0, 0, 4, 4], batch, CROP_PIXELS);
    expect(batch[CROP_PIXELS - 1]).toBe(7);
    expect(batch[CROP_PIXELS]).toBeCloseTo(1, 6);
    expect(batch[2 * CROP_PIXELS - 1]).toBeCloseTo(1, 6);
    expect(batch[2 * CROP_PIXELS]).toBe(7);
  });
});
