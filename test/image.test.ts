import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { EmoflowError } from '../src/core/errors.js';
import { decodeImage, type RgbImage } from '../src/io/image.js';
import { sharedNeed } from './support/paths.js';

const FER_VALID = sharedNeed('data/face/ferplus/FER2013Valid');
const ferValid = FER_VALID.path;

function pixel(img: RgbImage, x: number, y: number): number[] {
  const p = (y * img.width + x) * 3;
  return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
}

async function decodeError(
  bytes: Uint8Array,
  options: { maxPixels?: number; path?: string } = {},
): Promise<EmoflowError> {
  try {
    await decodeImage(bytes, options);
  } catch (e) {
    if (e instanceof EmoflowError) return e;
    throw e;
  }
  throw new Error('expected decodeImage to fail');
}

/** A BMP file: 40-byte BITMAPINFOHEADER, `rows` given top to bottom as bytes per pixel. */
function bmp(
  width: number,
  rowsTopDown: number[][],
  bpp: 24 | 32,
  opts: { compression?: number; topDown?: boolean } = {},
): Uint8Array {
  const height = rowsTopDown.length;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  const size = 54 + stride * height;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b[0] = 0x42;
  b[1] = 0x4d;
  dv.setUint32(2, size, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, width, true);
  dv.setInt32(22, opts.topDown === true ? -height : height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bpp, true);
  dv.setUint32(30, opts.compression ?? 0, true);
  rowsTopDown.forEach((row, y) => {
    const fileRow = opts.topDown === true ? y : height - 1 - y;
    b.set(row, 54 + fileRow * stride);
  });
  return b;
}

/** Independent reference: an 8-bit grayscale, non-interlaced PNG decoded by hand (zlib + PNG filters). */
function grayPng(png: Uint8Array): Uint8Array {
  const b = Buffer.from(png);
  let p = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (p < b.length) {
    const len = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    if (type === 'IHDR') {
      width = b.readUInt32BE(p + 8);
      height = b.readUInt32BE(p + 12);
      expect([b[p + 16], b[p + 17], b[p + 20]]).toEqual([8, 0, 0]); // 8-bit, gray, not interlaced
    }
    if (type === 'IDAT') idat.push(b.subarray(p + 8, p + 8 + len));
    p += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (width + 1)]!;
    for (let x = 0; x < width; x++) {
      const v = raw[y * (width + 1) + 1 + x]!;
      const a = x > 0 ? out[y * width + x - 1]! : 0;
      const up = y > 0 ? out[(y - 1) * width + x]! : 0;
      const c = x > 0 && y > 0 ? out[(y - 1) * width + x - 1]! : 0;
      const pa = Math.abs(up - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + up - 2 * c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      const pred = [0, a, up, (a + up) >> 1, paeth][filter]!;
      out[y * width + x] = (v + pred) & 255;
    }
  }
  return out;
}

describe('decodeImage', () => {
  it.skipIf(FER_VALID.missing)(
    `decodes real FER+ 48x48 grayscale PNGs to RGB with R = G = B equal to the stored gray ${FER_VALID.tag}`,
    async () => {
      const names = readdirSync(ferValid)
        .filter((f) => f.endsWith('.png'))
        .sort()
        .slice(0, 3);
      for (const name of names) {
        const bytes = readFileSync(join(ferValid, name));
        const img = await decodeImage(bytes, { path: name });
        expect([img.width, img.height, img.data.length]).toEqual([48, 48, 48 * 48 * 3]);
        const gray = grayPng(bytes);
        expect(gray.length).toBe(48 * 48);
        for (let i = 0; i < 48 * 48; i++) {
          expect([img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]]).toEqual([
            gray[i],
            gray[i],
            gray[i],
          ]);
        }
      }
    },
  );

  it('applies EXIF orientation 6 (rotate 90 degrees clockwise)', async () => {
    // Stored 40x20: left half red, right half blue. Orientation 6 displays it rotated clockwise,
    // so the stored left column becomes the top row: 20x40, red on top, blue below.
    const left = await sharp({
      create: { width: 20, height: 20, channels: 3, background: { r: 255, g: 0, b: 0 } },
    })
      .png()
      .toBuffer();
    const jpeg = await sharp({
      create: { width: 40, height: 20, channels: 3, background: { r: 0, g: 0, b: 255 } },
    })
      .composite([{ input: left, left: 0, top: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpeg);
    expect([img.width, img.height]).toEqual([20, 40]);
    const top = pixel(img, 10, 5);
    const bottom = pixel(img, 10, 34);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('flattens alpha onto white', async () => {
    // 4x1 RGBA: transparent black, opaque green, half-transparent black, opaque red.
    const raw = Buffer.from([0, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0, 128, 255, 0, 0, 255]);
    const png = await sharp(raw, { raw: { width: 4, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    expect([img.width, img.height]).toEqual([4, 1]);
    expect(pixel(img, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(img, 1, 0)).toEqual([0, 255, 0]);
    const half = pixel(img, 2, 0);
    for (const v of half) expect(Math.abs(v - 127)).toBeLessThanOrEqual(1);
    expect(pixel(img, 3, 0)).toEqual([255, 0, 0]);
  });

  it('reports a truncated JPEG, an empty file and random bytes as IMAGE_DECODE_FAILED naming the path', async () => {
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 200, b: 30 } },
    })
      .jpeg()
      .toBuffer();
    const truncated = await decodeError(jpeg.subarray(0, Math.floor(jpeg.length / 2)), { path: 'a/b.jpg' });
    expect(truncated.code).toBe('IMAGE_DECODE_FAILED');
    expect(truncated.path).toBe('a/b.jpg');
    expect(truncated.message).toMatch(/^a\/b\.jpg: /);
    expect(truncated.message).toMatch(/premature end|corrupt/i);

    const empty = await decodeError(new Uint8Array(0), { path: 'empty.png' });
    expect(empty.code).toBe('IMAGE_DECODE_FAILED');
    expect(empty.message).toContain('empty.png');
    expect(empty.message).toContain('0 bytes');

    let s = 12345;
    const random = Uint8Array.from({ length: 1000 }, () => (s = (s * 1103515245 + 12345) % 2147483648) & 255);
    const bad = await decodeError(random, { path: 'noise.jpg' });
    expect(bad.code).toBe('IMAGE_DECODE_FAILED');
    expect(bad.message).toMatch(/unsupported image format/);
  });

  it('refuses an image over maxPixels with IMAGE_TOO_LARGE naming its size', async () => {
    const png = await sharp({
      create: { width: 40, height: 20, channels: 3, background: { r: 0, g: 0, b: 0 } },
    })
      .png()
      .toBuffer();
    const e = await decodeError(png, { maxPixels: 799, path: 'big.png' });
    expect(e.code).toBe('IMAGE_TOO_LARGE');
    expect(e.message).toContain('40x20 = 800 pixels');
    expect(e.message).toContain('799');
    const ok = await decodeImage(png, { maxPixels: 800 });
    expect([ok.width, ok.height]).toEqual([40, 20]);
  });

  it('decodes uncompressed 24- and 32-bit BMP itself (sharp has no BMP loader)', async () => {
    // 3x2, rows top to bottom; pixels stored B, G, R.
    const rows24 = [
      [0, 0, 255, 0, 255, 0, 255, 0, 0],
      [10, 20, 30, 40, 50, 60, 70, 80, 90],
    ];
    for (const topDown of [false, true]) {
      const img = await decodeImage(bmp(3, rows24, 24, { topDown }));
      expect([img.width, img.height]).toEqual([3, 2]);
      expect(Array.from(img.data)).toEqual([
        255, 0, 0, 0, 255, 0, 0, 0, 255, 30, 20, 10, 60, 50, 40, 90, 80, 70,
      ]);
    }
    const img32 = await decodeImage(bmp(2, [[1, 2, 3, 0, 4, 5, 6, 0]], 32));
    expect(Array.from(img32.data)).toEqual([3, 2, 1, 6, 5, 4]);

    const rle = await decodeError(bmp(2, [[1, 2, 3, 0, 4, 5, 6, 0]], 32, { compression: 1 }), {
      path: 'x.bmp',
    });
    expect(rle.code).toBe('IMAGE_DECODE_FAILED');
    expect(rle.message).toMatch(/x\.bmp: cannot decode BMP \(compression type 1/);

    const truncated = await decodeError(bmp(3, rows24, 24).subarray(0, 60));
    expect(truncated.code).toBe('IMAGE_DECODE_FAILED');
    expect(truncated.message).toMatch(/truncated/);

    const big = await decodeError(bmp(3, rows24, 24), { maxPixels: 5 });
    expect(big.code).toBe('IMAGE_TOO_LARGE');
    expect(big.message).toContain('3x2 = 6 pixels');
  });
});
