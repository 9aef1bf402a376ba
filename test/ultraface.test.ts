import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DETECTOR_HEIGHT,
  DETECTOR_WIDTH,
  decodeDetections,
  detectorInput,
  hardNms,
  iou,
  pictureAround,
  UltraFace,
} from '../src/features/image/ultraface.js';
import { decodeImage } from '../src/io/image.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { sharedNeed } from './support/paths.js';

const FER_VALID = sharedNeed('data/face/ferplus/FER2013Valid');
const ferValid = FER_VALID.path;

/**
 * No real photo is staged in ../shared, so two FER+ faces are enlarged and pasted on a gray
 * 640x480 canvas: a 120 px face at (60, 200) and a 180 px face at (380, 120).
 */
async function twoFaceCanvas(): Promise<Buffer> {
  const a = await sharp(readFileSync(join(ferValid, 'fer0028638.png')))
    .resize(120, 120)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  const b = await sharp(readFileSync(join(ferValid, 'fer0028643.png')))
    .resize(180, 180)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite([
      { input: a, left: 60, top: 200 },
      { input: b, left: 380, top: 120 },
    ])
    .png()
    .toBuffer();
}

describe('iou', () => {
  it('is inter / (areaA + areaB - inter + 1e-5) with negative sizes clamped to 0', () => {
    expect(iou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / (4 + 4 - 1 + 1e-5), 12);
    expect(iou([0, 0, 2, 2], [0, 0, 2, 2])).toBeCloseTo(4 / (4 + 1e-5), 12);
    expect(iou([0, 0, 1, 1], [2, 2, 3, 3])).toBe(0);
    expect(iou([2, 2, 1, 1], [0, 0, 3, 3])).toBe(0); // inverted box: area 0
    // The 1e-5 matters on normalised boxes: two identical 0.01 x 0.01 boxes give 1e-4 / 1.1e-4.
    expect(iou([0, 0, 0.01, 0.01], [0, 0, 0.01, 0.01])).toBeCloseTo(1e-4 / (1e-4 + 1e-5), 9);
  });
});

describe('hardNms', () => {
  it('keeps the best box and drops those with IoU > 0.3, best first', () => {
    const boxes = [
      [0, 0, 10, 10], // 0: A 0.9
      [1, 1, 11, 11], // 1: IoU with A 81/119 = 0.68 -> dropped
      [20, 20, 30, 30], // 2: disjoint, 0.85
      [0, 0, 10, 5], // 3: IoU with A 0.5 -> dropped
      [5, 0, 15, 10], // 4: IoU with A 50/150 = 0.333 -> dropped
      [6, 0, 16, 10], // 5: IoU with A 40/160 = 0.25 -> kept
    ].flat();
    const scores = [0.9, 0.8, 0.85, 0.95 - 0.2, 0.75, 0.72];
    expect(hardNms(boxes, scores, [0, 1, 2, 3, 4, 5], 0.3, 200)).toEqual([0, 2, 5]);
    // Only the best `candidates` enter NMS.
    expect(hardNms(boxes, scores, [0, 1, 2, 3, 4, 5], 0.3, 2)).toEqual([0, 2]);
  });
});

describe('decodeDetections', () => {
  it('thresholds at > 0.7, scales by the original size, clips to the image and sorts by score', () => {
    const scores = Float32Array.from([0.3, 0.7, 0.2, 0.8, 0.05, 0.95, 0.5, 0.5]); // face = odd entries
    const boxes = Float32Array.from(
      [
        [0.1, 0.1, 0.2, 0.2], // score 0.7: not > 0.7
        [-0.1, 0.5, 0.3, 1.2], // 0.8: clipped to x >= 0, y <= 1
        [0.5, 0.25, 0.75, 0.5], // 0.95
        [0, 0, 1, 1], // 0.5
      ].flat(),
    );
    const d = decodeDetections(scores, boxes, 200, 100);
    expect(d.length).toBe(2);
    expect(d[0]!.score).toBeCloseTo(0.95, 6);
    expect([d[0]!.x, d[0]!.y, d[0]!.w, d[0]!.h].map((v) => Math.round(v * 1000) / 1000)).toEqual([
      100, 25, 50, 25,
    ]);
    expect(d[1]!.score).toBeCloseTo(0.8, 6);
    expect([d[1]!.x, d[1]!.y, d[1]!.w, d[1]!.h].map((v) => Math.round(v * 1000) / 1000)).toEqual([
      0, 50, 60, 50,
    ]);
  });
});

describe('detectorInput', () => {
  it('stretches to 320x240 with cv2 INTER_LINEAR sampling, (x - 127) / 128, planar RGB', () => {
    // 2x1 image: black then (255, 128, 0). Column x samples s = (x + 0.5) * 2 / 320 - 0.5.
    for (const kernel of ['auto', 'js'] as const) {
      const t = detectorInput(
        { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 128, 0]) },
        undefined,
        kernel,
      );
      expect(t.length).toBe(3 * DETECTOR_WIDTH * DETECTOR_HEIGHT);
      const plane = DETECTOR_WIDTH * DETECTOR_HEIGHT;
      const at = (c: number, y: number, x: number): number => t[c * plane + y * DETECTOR_WIDTH + x]!;
      const f159 = (159.5 * 2) / 320 - 0.5; // 0.496875
      for (const y of [0, 100, 239]) {
        expect(at(0, y, 0)).toBeCloseTo(-127 / 128, 6); // clamped at the left edge
        expect(at(0, y, 159)).toBeCloseTo((f159 * 255 - 127) / 128, 5);
        expect(at(1, y, 159)).toBeCloseTo((f159 * 128 - 127) / 128, 5);
        expect(at(0, y, 319)).toBeCloseTo((255 - 127) / 128, 6);
        expect(at(1, y, 319)).toBeCloseTo((128 - 127) / 128, 6);
        expect(at(2, y, 319)).toBeCloseTo(-127 / 128, 6);
      }
    }
  });

  it('gives the same tensor from the WebAssembly SIMD blend and the JS loop, enlarging and shrinking', () => {
    let s = 7;
    for (const [width, height] of [
      [48, 48],
      [1000, 700],
      [333, 97],
    ] as const) {
      const data = Uint8Array.from(
        { length: width * height * 3 },
        () => (s = (s * 1103515245 + 12345) % 2147483648) >> 23,
      );
      const img = { width, height, data };
      const simd = detectorInput(img, undefined, 'auto');
      const js = detectorInput(img, undefined, 'js');
      let maxDiff = 0;
      for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(simd[i]! - js[i]!));
      expect(maxDiff).toBeLessThan(1e-6);
      // Enlarging, the top-left output is the clamped top-left pixel.
      if (width === 48) expect(js[0]).toBeCloseTo((data[0]! - 127) / 128, 6);
    }
  });
});

describe('pictureAround', () => {
  it('centres a small image, unscaled, on a mid-gray 4:3 picture twice its longer side high', () => {
    const data = Uint8Array.from({ length: 48 * 40 * 3 }, (_, i) => i % 251);
    const p = pictureAround({ width: 48, height: 40, data });
    expect([p.image.width, p.image.height, p.left, p.top, p.scaleX, p.scaleY]).toEqual([
      128, 96, 40, 28, 1, 1,
    ]);
    const px = (x: number, y: number): number[] =>
      Array.from(p.image.data.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([128, 128, 128]);
    expect(px(39, 28)).toEqual([128, 128, 128]);
    expect(px(40, 28)).toEqual(Array.from(data.subarray(0, 3)));
    const last = (39 * 48 + 47) * 3;
    expect(px(87, 67)).toEqual(Array.from(data.subarray(last, last + 3)));
    expect(px(88, 67)).toEqual([128, 128, 128]);
  });

  it("makes larger pictures at the detector's 320x240, the image shrunk into the middle", () => {
    const p = pictureAround({ width: 512, height: 256, data: new Uint8Array(512 * 256 * 3).fill(200) });
    // height 2 * 512 * (240 / 1024) = 240; the image becomes 120x60 at (100, 90)
    expect([p.image.width, p.image.height, p.left, p.top]).toEqual([320, 240, 100, 90]);
    expect(p.scaleX).toBeCloseTo(120 / 512, 12);
    expect(p.scaleY).toBeCloseTo(60 / 256, 12);
    const at = (x: number, y: number): number => p.image.data[(y * 320 + x) * 3]!;
    expect([at(99, 120), at(100, 90), at(219, 149), at(220, 149), at(160, 150)]).toEqual([
      128, 200, 200, 128, 128,
    ]);
  });
});

describe.skipIf(FER_VALID.missing)(`UltraFace on real faces ${FER_VALID.tag}`, () => {
  const factory = new SessionFactory({ intraOpThreads: 1 });
  let detector: UltraFace;
  beforeAll(async () => {
    detector = await UltraFace.load(factory, new ModelStore());
  });
  afterAll(() => factory.release());

  it('finds both pasted faces, inside the squares they were pasted in, best first', async () => {
    const faces = await detector.detect(await decodeImage(await twoFaceCanvas()));
    expect(faces.length).toBe(2);
    expect(faces[0]!.score).toBeGreaterThanOrEqual(faces[1]!.score);
    for (const f of faces) expect(f.score).toBeGreaterThan(0.9);
    const inside = (f: (typeof faces)[number], x: number, y: number, s: number): boolean =>
      f.x >= x - 8 &&
      f.y >= y - 8 &&
      f.x + f.w <= x + s + 8 &&
      f.y + f.h <= y + s + 8 &&
      f.w > s / 2 &&
      f.h > s / 2;
    const small = faces.find((f) => f.x < 320)!;
    const large = faces.find((f) => f.x >= 320)!;
    expect(inside(small, 60, 200, 120)).toBe(true);
    expect(inside(large, 380, 120, 180)).toBe(true);
  });

  it('finds a FER+ face inside a picture, about as large as the image, in the image pixels', async () => {
    // fer0028643.png: as is, the box is clipped and smaller than the face; in a picture it spans
    // about the whole 48x48 image, as FER2013 frames its faces (FER_FRAMING: 1.01 of the side).
    const img = await decodeImage(readFileSync(join(ferValid, 'fer0028643.png')));
    const [asIs] = await detector.detect(img);
    const [inPicture] = await detector.detectInPicture(img);
    expect(inPicture!.score).toBeGreaterThan(0.9);
    const side = Math.max(inPicture!.w, inPicture!.h);
    expect(side / 48).toBeGreaterThan(0.85);
    expect(side / 48).toBeLessThan(1.2);
    expect(Math.abs(inPicture!.x + inPicture!.w / 2 - 24)).toBeLessThan(48 * 0.1);
    expect(Math.abs(inPicture!.y + inPicture!.h / 2 - 24)).toBeLessThan(48 * 0.1);
    expect(side).toBeGreaterThan(Math.max(asIs!.w, asIs!.h));
  });

  it('finds nothing in a uniform image or in a FER+ face too tight for it', async () => {
    const gray = await sharp({
      create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } },
    })
      .png()
      .toBuffer();
    expect(await detector.detect(await decodeImage(gray))).toEqual([]);
    // fer0028656.png: best face score 0.10 (many FER+ faces are found when stretched, this one is not).
    expect(await detector.detect(await decodeImage(readFileSync(join(ferValid, 'fer0028656.png'))))).toEqual(
      [],
    );
  });
});
