import { describe, expect, it } from 'vitest';
import {
  bilinearTaps,
  CROP_PIXELS,
  FER_FRAMED_INPUT,
  FER_FRAMING,
  framedCropRect,
  framingInImage,
  isFramedInput,
  rectToBox,
  squareCropRect,
  writeCrop,
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

describe('framedCropRect', () => {
  it('scales the box side by 1 / boxToCrop and moves the centre by the offset, in crop sides', () => {
    // side 80 / 0.8 = 100; box centre (70, 100); crop centre (70 - 0.1*100, 100 + 0.05*100) = (60, 105).
    const framing = { boxToCrop: 0.8, offsetX: 0.1, offsetY: -0.05 };
    expect(framedCropRect([40, 60, 60, 80], framing)).toEqual({ left: 10, top: 55, right: 110, bottom: 155 });
  });

  it('is not clamped: near a corner the crop reaches past the image (that part is padded)', () => {
    // side 50 / 0.5 = 100 around the centre (20, 25).
    const rect = framedCropRect([0, 0, 40, 50], { boxToCrop: 0.5, offsetX: 0, offsetY: 0 });
    expect(rect).toEqual({ left: -30, top: -25, right: 70, bottom: 75 });
    expect(rectToBox(rect)).toEqual([-30, -25, 100, 100]);
  });

  it('with FER_FRAMING: about the box itself, the face a little below the centre', () => {
    expect(FER_FRAMING).toEqual({ boxToCrop: 1.01, offsetX: 0.007, offsetY: 0.018 });
    // side 101 / 1.01 = 100; centre (150 - 0.7, 150.5 - 1.8) = (149.3, 148.7): left round(99.3) = 99,
    // top round(98.7) = 99, right round(199.3) = 199, bottom round(198.7) = 199.
    expect(framedCropRect([100, 100, 100, 101])).toEqual({ left: 99, top: 99, right: 199, bottom: 199 });
  });
});

describe('framingInImage and isFramedInput', () => {
  it("measures the box against the whole image's square (side max(width, height))", () => {
    expect(framingInImage([5, 6, 90, 90], { width: 100, height: 100 })).toEqual({
      boxToCrop: 0.9,
      offsetX: 0,
      offsetY: 0.01,
    });
    const wide = framingInImage([50, 0, 100, 100], { width: 200, height: 100 });
    expect(wide.boxToCrop).toBeCloseTo(0.5, 12);
    expect(wide.offsetX).toBeCloseTo(0, 12);
    expect(wide.offsetY).toBeCloseTo(0, 12);
  });

  it('takes a large, centred face as an image framed already, and a looser or off-centre one not', () => {
    const img = { width: 100, height: 100 };
    expect(FER_FRAMED_INPUT).toEqual({ minBoxToCrop: 0.85, maxOffset: 0.1 });
    expect(isFramedInput([5, 6, 90, 90], img)).toBe(true);
    // tighter than FER2013 (the box reaches past the image): still whole
    expect(isFramedInput([-10, -8, 120, 125], img)).toBe(true);
    // a whole-head portrait: box 0.72 of the side, 0.08 low
    expect(isFramedInput([14, 22, 72, 72], img)).toBe(false);
    // large but off-centre: centre 0.15 to the right of the image's
    expect(isFramedInput([20, 5, 90, 90], img)).toBe(false);
    // a face filling the height of a 2:1 image is half of its square: not a face crop
    expect(isFramedInput([50, 0, 100, 100], { width: 200, height: 100 })).toBe(false);
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

  it("repeats the nearest edge pixel outside the image with 'edge' padding", () => {
    // 32x32 image, gray = 8 * column; a 64x64 rect from (-16, -16): no resize, so output column c
    // reads column clamp(c - 16, 0, 31) with 'edge', and is black outside with 'black'.
    const data = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) data.fill(8 * x, (y * 32 + x) * 3, (y * 32 + x + 1) * 3);
    const img: RgbImage = { width: 32, height: 32, data };
    const rect = { left: -16, top: -16, right: 48, bottom: 48 };
    const edge = new Float32Array(CROP_PIXELS);
    const black = new Float32Array(CROP_PIXELS);
    writeCrop(img, rect, edge, 0, 'edge');
    writeCrop(img, rect, black, 0, 'black');
    const scaled = (gray: number): number => (gray / 255) * 2 - 1;
    for (const y of [0, 15, 16, 40, 47, 48, 63]) {
      for (const c of [0, 15, 16, 30, 47, 48, 63]) {
        const col = Math.min(Math.max(c - 16, 0), 31);
        expect(edge[y * 64 + c]).toBeCloseTo(scaled(8 * col), 5);
        const inside = y >= 16 && y < 48 && c >= 16 && c < 48;
        expect(black[y * 64 + c]).toBeCloseTo(inside ? scaled(8 * col) : -1, 5);
      }
    }
  });

  it('writeFaceCrop is writeCrop of the square crop with black padding', () => {
    const img = pattern(150, 120);
    const box: Box = [100, 60, 80, 70];
    const a = crop(img, box);
    const b = new Float32Array(CROP_PIXELS);
    writeCrop(img, squareCropRect(box), b, 0);
    expect(Array.from(a)).toEqual(Array.from(b));
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
