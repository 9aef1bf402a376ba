import sharp from 'sharp';
import { EmoflowError } from '../core/errors.js';

/** A decoded image: 8-bit RGB, interleaved, rows top to bottom, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** docs/errors.md: images over 50 megapixels are refused (decompression bombs). */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface DecodeImageOptions {
  /** Largest width*height accepted, from the file's header; default 50 MP. */
  maxPixels?: number;
  /** Where the bytes came from, for error messages. */
  path?: string;
}

const SUPPORTED = 'JPEG, PNG, WebP, GIF, TIFF, AVIF or uncompressed BMP';

/**
 * Decodes any image sharp reads (plus uncompressed BMP, which sharp's libvips build lacks and
 * which docs/ingest.md lists as an image extension) to 8-bit RGB: EXIF orientation applied,
 * alpha flattened onto white, `failOn: 'warning'` so that truncated or corrupt files fail
 * instead of decoding half an image. The first frame of an animation is used.
 *
 * Errors: `IMAGE_DECODE_FAILED` (empty, truncated, corrupt, not an image) and
 * `IMAGE_TOO_LARGE` (header's width*height over `maxPixels`).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const where = options.path ?? '<image bytes>';
  if (bytes.length === 0) {
    throw new EmoflowError(
      'IMAGE_DECODE_FAILED',
      `${where}: the file is empty (0 bytes); expected a ${SUPPORTED} image`,
      {
        ...pathOption(options.path),
      },
    );
  }
  if (isBmp(bytes)) return decodeBmp(bytes, maxPixels, where, options.path);

  // One sharp pipeline per image (each costs ~1 ms of fixed overhead even for 48x48 PNGs).
  // sharp enforces limitInputPixels on the header's width*height before decoding; only when
  // it refuses do we read the header again (metadata()) so that the message can name the size.
  try {
    const { data, info } = await sharp(bytes, {
      failOn: 'warning',
      limitInputPixels: maxPixels,
      autoOrient: true,
    })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new Error(`decoder returned ${info.channels} channels instead of 3`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (e) {
    const reason = sharpReason(e);
    if (/pixel limit/i.test(reason)) {
      const size = await headerSize(bytes);
      const dims =
        size === undefined
          ? 'over'
          : `${size.width}x${size.height} = ${size.width * size.height} pixels, over`;
      throw new EmoflowError(
        'IMAGE_TOO_LARGE',
        `${where}: image is ${dims} the limit of ${maxPixels} pixels; downscale it or raise the pixel limit`,
        { ...pathOption(options.path), cause: e },
      );
    }
    throw new EmoflowError(
      'IMAGE_DECODE_FAILED',
      `${where}: cannot decode image (${reason}); expected a complete ${SUPPORTED} file`,
      { ...pathOption(options.path), cause: e },
    );
  }
}

function pathOption(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}

async function headerSize(bytes: Uint8Array): Promise<{ width: number; height: number } | undefined> {
  try {
    const m = await sharp(bytes, { limitInputPixels: false }).metadata();
    return m.width !== undefined && m.height !== undefined ? { width: m.width, height: m.height } : undefined;
  } catch {
    return undefined;
  }
}

/** sharp/libvips repeat lines ("premature end of JPEG image" several times): keep distinct ones. */
function sharpReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = [
    ...new Set(
      msg
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    ),
  ];
  return lines.slice(0, 3).join('; ') || 'unknown decoder error';
}

// ---------------------------------------------------------------------------------------------
// BMP. sharp 0.35's prebuilt libvips has no BMP loader ("unsupported image format"), so the
// common uncompressed kinds are decoded here: 1/4/8-bit palette, 24-bit BGR, 32-bit BGRX or
// BGRA (BI_RGB or BI_BITFIELDS masks), bottom-up or top-down. RLE and JPEG/PNG-in-BMP are
// reported as unsupported.

function isBmp(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
}

function decodeBmp(b: Uint8Array, maxPixels: number, where: string, path: string | undefined): RgbImage {
  const fail = (why: string): EmoflowError =>
    new EmoflowError(
      'IMAGE_DECODE_FAILED',
      `${where}: cannot decode BMP (${why}); convert the image to PNG or JPEG`,
      {
        ...pathOption(path),
      },
    );
  if (b.length < 54) throw fail(`file is ${b.length} bytes, shorter than the 54-byte BMP header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (headerSize < 40) throw fail(`OS/2 header of ${headerSize} bytes is not supported`);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw fail(`invalid size ${width}x${rawHeight}`);
  if (width * height > maxPixels) {
    throw new EmoflowError(
      'IMAGE_TOO_LARGE',
      `${where}: image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} pixels; downscale it or raise the pixel limit`,
      { ...pathOption(path) },
    );
  }
  // 3 = BI_BITFIELDS, 6 = BI_ALPHABITFIELDS; masks follow a 40-byte header or sit inside V4/V5.
  let masks: [number, number, number, number] | undefined;
  if (compression === 3 || compression === 6) {
    if (bpp !== 32) throw fail(`bit-field masks with ${bpp} bits per pixel are not supported`);
    if (b.length < 14 + 40 + 12) throw fail('truncated bit-field masks');
    const alpha = compression === 6 || headerSize >= 56 ? dv.getUint32(14 + 52, true) : 0;
    masks = [dv.getUint32(14 + 40, true), dv.getUint32(14 + 44, true), dv.getUint32(14 + 48, true), alpha];
  } else if (compression !== 0) {
    throw fail(
      `compression type ${compression} (RLE or embedded JPEG/PNG) is not supported; only uncompressed BMP is`,
    );
  }
  if (![1, 4, 8, 24, 32].includes(bpp)) throw fail(`${bpp} bits per pixel is not supported`);

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const used = dv.getUint32(46, true);
    const count = used === 0 ? 1 << bpp : used;
    const start = 14 + headerSize;
    if (count > 1 << bpp || start + count * 4 > b.length) throw fail('truncated or invalid palette');
    palette = b.subarray(start, start + count * 4);
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > b.length) {
    throw fail(`truncated: pixel data needs ${dataOffset + stride * height} bytes, file has ${b.length}`);
  }

  const out = new Uint8Array(width * height * 3);
  const shifts = masks?.map(maskShift);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      let r: number;
      let g: number;
      let bl: number;
      let a = 255;
      if (palette !== undefined) {
        const bit = x * bpp;
        const byte = b[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        if (idx * 4 + 2 >= palette.length) throw fail(`palette index ${idx} out of range`);
        bl = palette[idx * 4]!;
        g = palette[idx * 4 + 1]!;
        r = palette[idx * 4 + 2]!;
      } else if (bpp === 24) {
        const p = row + x * 3;
        bl = b[p]!;
        g = b[p + 1]!;
        r = b[p + 2]!;
      } else if (masks !== undefined && shifts !== undefined) {
        const v = dv.getUint32(row + x * 4, true);
        r = extract(v, masks[0], shifts[0]!);
        g = extract(v, masks[1], shifts[1]!);
        bl = extract(v, masks[2], shifts[2]!);
        if (masks[3] !== 0) a = extract(v, masks[3], shifts[3]!);
      } else {
        // 32-bit BI_RGB: the fourth byte is unused by the format (BGRX).
        const p = row + x * 4;
        bl = b[p]!;
        g = b[p + 1]!;
        r = b[p + 2]!;
      }
      if (a !== 255) {
        // Flatten onto white, as sharp's flatten() does for the other formats.
        r = Math.round((r * a + 255 * (255 - a)) / 255);
        g = Math.round((g * a + 255 * (255 - a)) / 255);
        bl = Math.round((bl * a + 255 * (255 - a)) / 255);
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = bl;
    }
  }
  return { width, height, data: out };
}

function maskShift(mask: number): number {
  if (mask === 0) return 0;
  let s = 0;
  while (((mask >>> s) & 1) === 0) s++;
  return s;
}

/** A masked channel scaled to 0..255 whatever the mask's width (5-6-5, 8-8-8-8, 10-10-10). */
function extract(v: number, mask: number, shift: number): number {
  if (mask === 0) return 0;
  const max = mask >>> shift;
  return Math.round((((v & mask) >>> shift) * 255) / max);
}
