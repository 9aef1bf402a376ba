import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { EmoflowError } from '../src/core/errors.js';
import { CROP_PIXELS, writeFaceCrop } from '../src/features/image/face-crop.js';
import { FerCnn } from '../src/features/image/fer-cnn.js';
import {
  IMAGE_FEATURE_SPEC,
  ImageExtractor,
  selectFaces,
  WHOLE_IMAGE_FACE_FRACTION,
  type ImageBatchResult,
  type ImageFeatures,
} from '../src/features/image/image-extractor.js';
import { decodeImage } from '../src/io/image.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { shared } from './support/paths.js';

const ferValid = shared('data', 'face', 'ferplus', 'FER2013Valid');
const names = readdirSync(ferValid)
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
  if (f.face.source === 'whole-image') {
    expect(f.face.box).toEqual([0, 0, width, height]);
    expect(f.face.score).toBeNull();
    expect(f.face.count).toBeGreaterThanOrEqual(0);
  } else {
    expect(f.face.source).toBe('detector');
    expect(f.face.score).toBeGreaterThan(0.7);
    expect(f.face.count).toBeGreaterThanOrEqual(1);
    expect(w * h).toBeGreaterThan(0);
  }
}

describe('selectFaces', () => {
  const img = { width: 200, height: 100 };
  const box = (x: number, y: number, w: number, h: number, score = 0.9) => ({ x, y, w, h, score });

  it('uses the whole image when no face is found', () => {
    expect(selectFaces([], img, 'largest')).toEqual([
      { source: 'whole-image', box: [0, 0, 200, 100], score: null, count: 0 },
    ]);
  });

  it('uses the whole image when the largest face fills it (the image is already a face crop)', () => {
    expect(WHOLE_IMAGE_FACE_FRACTION).toBe(0.5);
    // side 50 = 0.5 x the shorter side (100): a face crop
    expect(selectFaces([box(10, 10, 40, 50), box(150, 10, 20, 20)], img, 'all')).toEqual([
      { source: 'whole-image', box: [0, 0, 200, 100], score: null, count: 2 },
    ]);
  });

  it('crops the largest face, or all faces largest first, when faces are small in the image', () => {
    const faces = [box(150, 10, 20, 20, 0.99), box(10, 10, 40, 45, 0.8)];
    expect(selectFaces(faces, img, 'largest')).toEqual([
      { source: 'detector', box: [10, 10, 40, 45], score: 0.8, count: 2 },
    ]);
    expect(selectFaces(faces, img, 'all').map((f) => f.box)).toEqual([
      [10, 10, 40, 45],
      [150, 10, 20, 20],
    ]);
  });
});

describe('ImageExtractor', () => {
  it('declares the 135-d feature spec', () => {
    expect(IMAGE_FEATURE_SPEC).toEqual({ name: 'image-fer-mini-xception', version: '1', dim: 135 });
  });

  it('extracts 128 + 7 features from real FER+ images, with faces found or the whole image', async () => {
    const ex = new ImageExtractor({ factory, store });
    const results = await ex.extractBatch(items);
    expect(results.length).toBe(items.length);
    const sources = new Set<string>();
    for (const r of results) {
      const f = ok(r);
      checkFeatures(f, 48, 48);
      expect(f.faces).toBeUndefined();
      sources.add(f.face.source);
    }
    // FER+ images are tight face crops: a face is either not found (fer0028648.png, best score
    // 0.57) or fills the image, and either way the whole image is the CNN's input.
    expect(sources).toEqual(new Set(['whole-image']));
    expect(ok(results[names.indexOf('fer0028648.png')]).face.count).toBe(0);
    expect(results.some((r) => ok(r).face.count > 0)).toBe(true);
  });

  it('feeds the CNN the square crop: a whole-image item equals the CNN on writeFaceCrop of the image', async () => {
    const ex = new ImageExtractor({ factory, store });
    const item = items[names.indexOf('fer0028648.png')]!;
    const f = await ex.extract(item.bytes, item.path);
    const crop = new Float32Array(CROP_PIXELS);
    writeFaceCrop(await decodeImage(item.bytes), [0, 0, 48, 48], crop, 0);
    const direct = await (await FerCnn.load(factory, store)).run(crop, 1);
    for (let k = 0; k < 7; k++) expect(f.probs[k]).toBeCloseTo(direct.probs[k]!, 5);
    for (let k = 0; k < 128; k++) expect(f.embedding[k]).toBeCloseTo(direct.embedding[k]!, 5);
  });

  it('returns a corrupt item its error and the others their features, unchanged by the batch', async () => {
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
  });

  it('refuses images over maxPixels with IMAGE_TOO_LARGE', async () => {
    const ex = new ImageExtractor({ factory, store, maxPixels: 48 * 48 - 1 });
    const [r] = await ex.extractBatch([items[0]!]);
    expect(r !== undefined && 'error' in r && r.error.code).toBe('IMAGE_TOO_LARGE');
  });

  it("picks the largest face, and with faces: 'all' gives one feature set per face, largest first", async () => {
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
  });
});
