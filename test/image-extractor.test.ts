import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { EmoflowError } from '../src/core/errors.js';
import {
  CROP_PIXELS,
  FACE_CROP_PADDING,
  framedCropRect,
  rectToBox,
  writeCrop,
  writeFaceCrop,
} from '../src/features/image/face-crop.js';
import { FerCnn } from '../src/features/image/fer-cnn.js';
import {
  IMAGE_FEATURE_SPEC,
  ImageExtractor,
  needsPictureCheck,
  PICTURE_CHECK_FRACTION,
  selectFaces,
  SURE_FACE_SCORE,
  type ImageBatchResult,
  type ImageFeatures,
} from '../src/features/image/image-extractor.js';
import { decodeImage } from '../src/io/image.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { repoRoot, sharedNeed } from './support/paths.js';

const FER_VALID = sharedNeed('data/face/ferplus/FER2013Valid');
const ferValid = FER_VALID.path;
const names = (FER_VALID.missing ? [] : readdirSync(ferValid))
  .filter((f) => f.endsWith('.png'))
  .sort()
  .slice(0, 12);
const items = names.map((n) => ({ bytes: readFileSync(join(ferValid, n)), path: join(ferValid, n) }));

const factory = new SessionFactory({ intraOpThreads: 1 });
const store = new ModelStore();
afterAll(() => factory.release());

function ok(r: ImageBatchResult | undefined): ImageFeatures {
  if (r === undefined || 'error' in r) throw new Error(`expected features, got ${JSON.stringify(r)}`);
  return r;
}

function checkFeatures(f: ImageFeatures, width: number, height: number): void {
  expect(f.vector.length).toBe(135);
  expect(f.embedding.length).toBe(128);
  expect(f.probs.length).toBe(7);
  expect(Array.from(f.vector.subarray(0, 128))).toEqual(Array.from(f.embedding));
  expect(Array.from(f.vector.subarray(128))).toEqual(Array.from(f.probs));
  expect(Math.abs(f.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
  for (const p of f.probs) expect(p).toBeGreaterThanOrEqual(0);
  const [x, y, w, h] = f.face.box;
  expect(x).toBeGreaterThanOrEqual(0);
  expect(y).toBeGreaterThanOrEqual(0);
  expect(x + w).toBeLessThanOrEqual(width + 1e-3);
  expect(y + h).toBeLessThanOrEqual(height + 1e-3);
  const [cx, cy, cw, ch] = f.face.crop;
  for (const v of f.face.crop) expect(Number.isInteger(v)).toBe(true);
  expect(Math.abs(cw - ch)).toBeLessThanOrEqual(1); // a square, rounded
  if (f.face.source === 'whole-image') {
    expect(f.face.box).toEqual([0, 0, width, height]);
    expect(f.face.score).toBeNull();
    expect(f.face.count).toBeGreaterThanOrEqual(0);
    expect(['input', 'unsure', 'no-face']).toContain(f.face.framing);
    expect(f.face.framing === 'no-face').toBe(f.face.count === 0);
    const side = Math.max(width, height);
    expect(f.face.crop).toEqual([(width - side) / 2, (height - side) / 2, side, side]);
  } else {
    expect(f.face.source).toBe('detector');
    expect(f.face.framing).toBe('fer');
    expect(f.face.score).toBeGreaterThan(0.7);
    expect(f.face.count).toBeGreaterThanOrEqual(1);
    expect(w * h).toBeGreaterThan(0);
    // the crop is about as tall as the box (FER_FRAMING), around it
    expect(cw / Math.max(w, h)).toBeGreaterThan(0.8);
    expect(cw / Math.max(w, h)).toBeLessThan(1.25);
    expect(cx).toBeLessThanOrEqual(x + w / 2);
    expect(cx + cw).toBeGreaterThanOrEqual(x + w / 2);
    expect(cy).toBeLessThanOrEqual(y + h / 2);
    expect(cy + ch).toBeGreaterThanOrEqual(y + h / 2);
  }
}

/** The CNN on one crop rectangle written as the pipeline writes it. */
async function cnnOn(bytes: Uint8Array, crop: readonly number[]): Promise<Float32Array> {
  const [left, top, w, h] = crop as [number, number, number, number];
  const input = new Float32Array(CROP_PIXELS);
  writeCrop(
    await decodeImage(bytes),
    { left, top, right: left + w, bottom: top + h },
    input,
    0,
    FACE_CROP_PADDING,
  );
  return (await (await FerCnn.load(factory, store)).run(input, 1)).probs;
}

/** A FER+ face enlarged to `size` and pasted on a mid-gray canvas: a small face in a larger picture. */
async function pasted(
  name: string,
  size: number,
  canvas: number,
  left: number,
  top: number,
): Promise<Buffer> {
  const face = await sharp(readFileSync(join(ferValid, name)))
    .resize(size, size)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return sharp({
    create: { width: canvas, height: canvas, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([{ input: face, left, top }])
    .png()
    .toBuffer();
}

describe('selectFaces', () => {
  const img = { width: 200, height: 100 };
  const square = { width: 100, height: 100 };
  const box = (x: number, y: number, w: number, h: number, score = 0.99) => ({ x, y, w, h, score });

  it('uses the whole image when no face is found, padded to a square', () => {
    expect(selectFaces([], img, 'largest')).toEqual([
      {
        source: 'whole-image',
        box: [0, 0, 200, 100],
        score: null,
        count: 0,
        framing: 'no-face',
        crop: [0, -50, 200, 200],
      },
    ]);
  });

  it('looks again in a picture only when the largest face is at least half the shorter side', () => {
    expect(PICTURE_CHECK_FRACTION).toBe(0.5);
    expect(needsPictureCheck([], img)).toBe(false);
    expect(needsPictureCheck([box(10, 10, 40, 49), box(0, 0, 45, 45)], img)).toBe(false);
    expect(needsPictureCheck([box(10, 10, 40, 50)], img)).toBe(true);
  });

  it('uses the whole image when the face in the picture shows it is framed as FER2013 already', () => {
    // As is, the detector sees a smaller face (no context); in the picture it fills the image.
    expect(selectFaces([box(20, 20, 60, 60)], square, 'all', [box(2, 3, 96, 98)])).toEqual([
      {
        source: 'whole-image',
        box: [0, 0, 100, 100],
        score: null,
        count: 1,
        framing: 'input',
        crop: [0, 0, 100, 100],
      },
    ]);
  });

  it('uses the whole image when a face filling it is one the detector is unsure of', () => {
    expect(SURE_FACE_SCORE).toBe(0.9);
    const [f] = selectFaces([box(14, 22, 72, 72, 0.8)], square, 'largest', [box(14, 22, 72, 72, 0.85)]);
    expect(f).toMatchObject({ source: 'whole-image', framing: 'unsure', crop: [0, 0, 100, 100] });
    // the same face when sure: framed
    const [g] = selectFaces([box(14, 22, 72, 72, 0.8)], square, 'largest', [box(14, 22, 72, 72, 0.95)]);
    expect(g).toMatchObject({ source: 'detector', framing: 'fer', score: 0.95 });
  });

  it("frames a whole-head portrait's face as FER2013, with the box found in the picture", () => {
    // box 0.73 of the side, centre 0.075 low: a whole head, not a FER crop
    const [f] = selectFaces([box(14, 22, 72, 72, 0.99)], square, 'largest', [box(13, 21, 73, 73, 0.995)]);
    expect(f).toEqual({
      source: 'detector',
      box: [13, 21, 73, 73],
      score: 0.995,
      count: 1,
      framing: 'fer',
      crop: rectToBox(framedCropRect([13, 21, 73, 73])),
    });
    // side 73 / 1.01 = 72.28, centre (49.5 - 0.51, 57.5 - 1.30) = (48.99, 56.20): left round(12.86),
    // top round(20.06), right round(85.13), bottom round(92.34)
    expect(f!.crop).toEqual([13, 20, 72, 72]);
  });

  it('clips the recorded box to the image but frames the face with the whole box', () => {
    const inPicture = box(8, -4, 64, 80);
    const [f] = selectFaces([box(10, 5, 60, 70)], square, 'largest', [inPicture]);
    expect(f!.box).toEqual([8, 0, 64, 76]);
    expect(f!.crop).toEqual(rectToBox(framedCropRect([8, -4, 64, 80])));
    expect(f!.crop[1]).toBeLessThan(0); // the crop reaches past the top: padded
  });

  it('keeps the as-is box when the picture has no face matching it', () => {
    const [f] = selectFaces([box(14, 22, 72, 72)], square, 'largest', [box(80, 80, 10, 10)]);
    expect(f!.box).toEqual([14, 22, 72, 72]);
  });

  it('crops the largest face, or all faces largest first, when faces are small in the image', () => {
    const faces = [box(150, 10, 20, 20, 0.99), box(10, 10, 40, 45, 0.8)];
    expect(selectFaces(faces, img, 'largest')).toEqual([
      {
        source: 'detector',
        box: [10, 10, 40, 45],
        score: 0.8,
        count: 2,
        framing: 'fer',
        crop: rectToBox(framedCropRect([10, 10, 40, 45])),
      },
    ]);
    const all = selectFaces(faces, img, 'all');
    expect(all.map((f) => f.box)).toEqual([
      [10, 10, 40, 45],
      [150, 10, 20, 20],
    ]);
    expect(all[1]!.crop).toEqual(rectToBox(framedCropRect([150, 10, 20, 20])));
  });
});

describe('ImageExtractor', () => {
  it('declares the 135-d feature spec', () => {
    expect(IMAGE_FEATURE_SPEC).toEqual({ name: 'image-fer-mini-xception', version: '2', dim: 135 });
  });

  it.skipIf(FER_VALID.missing)(
    `extracts 128 + 7 features from real FER+ images, most of them going to the CNN whole ${FER_VALID.tag}`,
    async () => {
      const ex = new ImageExtractor({ factory, store });
      const results = await ex.extractBatch(items);
      expect(results.length).toBe(items.length);
      const framed: string[] = [];
      for (const [i, r] of results.entries()) {
        const f = ok(r);
        checkFeatures(f, 48, 48);
        expect(f.faces).toBeUndefined();
        if (f.face.framing === 'fer') framed.push(names[i]!);
        else expect(f.face.crop).toEqual([0, 0, 48, 48]);
      }
      // FER+ images are FER2013's own framing: the face is either not found (fer0028648.png, best
      // score 0.57) or, found in a picture, shows the image framed already ('input'), and the whole
      // image is the CNN's input. Three faces come out looser or off-centre and are framed.
      expect(ok(results[names.indexOf('fer0028648.png')]).face).toMatchObject({
        framing: 'no-face',
        count: 0,
      });
      expect(results.filter((r) => ok(r).face.framing === 'input').length).toBe(8);
      expect(framed).toEqual(['fer0028638.png', 'fer0028642.png', 'fer0028646.png']);
    },
  );

  it.skipIf(FER_VALID.missing)(
    `feeds the CNN the square crop: a whole-image item equals the CNN on writeFaceCrop of the image ${FER_VALID.tag}`,
    async () => {
      const ex = new ImageExtractor({ factory, store });
      const item = items[names.indexOf('fer0028648.png')]!;
      const f = await ex.extract(item.bytes, item.path);
      const crop = new Float32Array(CROP_PIXELS);
      writeFaceCrop(await decodeImage(item.bytes), [0, 0, 48, 48], crop, 0);
      const direct = await (await FerCnn.load(factory, store)).run(crop, 1);
      for (let k = 0; k < 7; k++) expect(f.probs[k]).toBeCloseTo(direct.probs[k]!, 5);
      for (let k = 0; k < 128; k++) expect(f.embedding[k]).toBeCloseTo(direct.embedding[k]!, 5);
    },
  );

  it.skipIf(FER_VALID.missing)(
    `frames a small face in a larger picture as FER2013 framed it, and feeds the CNN that crop ${FER_VALID.tag}`,
    async () => {
      // fer0028641.png goes whole on its own; enlarged to 96 px on a 256 px canvas at (80, 60), its
      // FER framing is found again: a crop within 15% of the pasted square (FER+ Train's boxes in a
      // picture have quartiles 0.94-1.09 of the face's side).
      const bytes = await pasted('fer0028641.png', 96, 256, 80, 60);
      const f = await new ImageExtractor({ factory, store }).extract(bytes, 'pasted.png');
      checkFeatures(f, 256, 256);
      expect(f.face).toMatchObject({ source: 'detector', framing: 'fer', count: 1 });
      const [x, y, w] = f.face.crop;
      expect(Math.abs(w - 96)).toBeLessThan(0.15 * 96);
      expect(Math.abs(x + w / 2 - 128)).toBeLessThan(0.15 * 96);
      expect(Math.abs(y + w / 2 - 108)).toBeLessThan(0.15 * 96);
      const direct = await cnnOn(bytes, f.face.crop);
      for (let k = 0; k < 7; k++) expect(f.probs[k]).toBeCloseTo(direct[k]!, 5);
    },
  );

  it("frames the repository's example portraits, the whole-head crop included", async () => {
    const ex = new ImageExtractor({ factory, store });
    for (const [file, size] of [
      ['astronaut.jpg', 512],
      ['astronaut-face.png', 96],
    ] as const) {
      const bytes = readFileSync(join(repoRoot, 'examples', 'photos', file));
      const f = await ex.extract(bytes, file);
      checkFeatures(f, size, size);
      expect(f.face).toMatchObject({ source: 'detector', framing: 'fer', count: 1 });
    }
  });

  const TCCE = sharedNeed('data/face/tcce_performers/0621g08.jpg');
  const tcce = TCCE.path;
  it.skipIf(TCCE.missing)(
    `frames a whole-head portrait (tcce) to the face instead of using it whole ${TCCE.tag}`,
    async () => {
      const bytes = readFileSync(tcce);
      const f = await new ImageExtractor({ factory, store }).extract(bytes, tcce);
      checkFeatures(f, 256, 256);
      expect(f.face).toMatchObject({ source: 'detector', framing: 'fer', count: 1 });
      const [x, y, w, h] = f.face.crop;
      // brow to chin: about 0.73 of the image, inside it (hair, neck and background cut away)
      expect(w / 256).toBeGreaterThan(0.65);
      expect(w / 256).toBeLessThan(0.8);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(256);
      expect(y + h).toBeLessThanOrEqual(256);
      const direct = await cnnOn(bytes, f.face.crop);
      for (let k = 0; k < 7; k++) expect(f.probs[k]).toBeCloseTo(direct[k]!, 5);
      const whole = await cnnOn(bytes, [0, 0, 256, 256]);
      expect(Array.from(f.probs)).not.toEqual(Array.from(whole));
    },
  );

  it.skipIf(FER_VALID.missing)(
    `returns a corrupt item its error and the others their features, unchanged by the batch ${FER_VALID.tag}`,
    async () => {
      const ex = new ImageExtractor({ factory, store });
      const corrupt = { bytes: items[1]!.bytes.subarray(0, 200), path: 'broken/face.png' };
      const batch = [items[0]!, corrupt, items[2]!, { bytes: new Uint8Array(0), path: 'empty.png' }];
      const results = await ex.extractBatch(batch);
      expect(results.length).toBe(4);
      const err = results[1];
      expect(err !== undefined && 'error' in err).toBe(true);
      if (err !== undefined && 'error' in err) {
        expect(err.error).toBeInstanceOf(EmoflowError);
        expect(err.error.code).toBe('IMAGE_DECODE_FAILED');
        expect(err.error.message).toContain('broken/face.png');
      }
      const empty = results[3];
      expect(empty !== undefined && 'error' in empty && empty.error.code).toBe('IMAGE_DECODE_FAILED');
      for (const i of [0, 2]) {
        const alone = await ex.extract(batch[i]!.bytes, batch[i]!.path);
        const inBatch = ok(results[i]);
        checkFeatures(inBatch, 48, 48);
        expect(inBatch.face).toEqual(alone.face);
        for (let k = 0; k < 135; k++) expect(inBatch.vector[k]).toBeCloseTo(alone.vector[k]!, 5);
      }
      await expect(ex.extract(corrupt.bytes, corrupt.path)).rejects.toMatchObject({
        code: 'IMAGE_DECODE_FAILED',
      });
    },
  );

  it.skipIf(FER_VALID.missing)(
    `refuses images over maxPixels with IMAGE_TOO_LARGE ${FER_VALID.tag}`,
    async () => {
      const ex = new ImageExtractor({ factory, store, maxPixels: 48 * 48 - 1 });
      const [r] = await ex.extractBatch([items[0]!]);
      expect(r !== undefined && 'error' in r && r.error.code).toBe('IMAGE_TOO_LARGE');
    },
  );

  it.skipIf(FER_VALID.missing)(
    `picks the largest face, and with faces: 'all' gives one feature set per face, largest first ${FER_VALID.tag}`,
    async () => {
      const face = (n: string, s: number): Promise<Buffer> =>
        sharp(readFileSync(join(ferValid, n)))
          .resize(s, s)
          .toColourspace('srgb')
          .png()
          .toBuffer();
      const canvas = await sharp({
        create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } },
      })
        .composite([
          { input: await face('fer0028638.png', 120), left: 60, top: 200 },
          { input: await face('fer0028643.png', 180), left: 380, top: 120 },
        ])
        .jpeg({ quality: 95 })
        .toBuffer();

      const largest = await new ImageExtractor({ factory, store }).extract(canvas, 'two.jpg');
      checkFeatures(largest, 640, 480);
      expect(largest.face.source).toBe('detector');
      expect(largest.face.framing).toBe('fer');
      // the pasted 180 px FER+ face at (380, 120), framed again within 15%
      const [cx, cy, cw] = largest.face.crop;
      expect(Math.abs(cw - 180)).toBeLessThan(0.15 * 180);
      expect(Math.abs(cx + cw / 2 - 470)).toBeLessThan(0.15 * 180);
      expect(Math.abs(cy + cw / 2 - 210)).toBeLessThan(0.15 * 180);
      expect(largest.face.count).toBe(2);
      expect(largest.face.box[0]).toBeGreaterThan(320); // the 180 px face on the right

      const all = await new ImageExtractor({ factory, store, faces: 'all' }).extract(canvas, 'two.jpg');
      expect(all.faces?.length).toBe(2);
      const [first, second] = all.faces!;
      checkFeatures(first!, 640, 480);
      checkFeatures(second!, 640, 480);
      expect(first!.face.box[2] * first!.face.box[3]).toBeGreaterThan(
        second!.face.box[2] * second!.face.box[3],
      );
      expect(first!.face).toEqual(largest.face);
      expect(second!.face.box[0]).toBeLessThan(320);
      for (let k = 0; k < 135; k++) expect(all.vector[k]).toBeCloseTo(largest.vector[k]!, 5);
      expect(Array.from(second!.probs)).not.toEqual(Array.from(first!.probs));
    },
  );
});
