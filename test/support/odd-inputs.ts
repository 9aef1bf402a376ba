/**
 * Builds a batch folder of good, odd and broken inputs (issue: embedded ingestion) from the
 * committed examples, and says what each sample's record must be. Every file is made here, in
 * a temporary folder; nothing is committed.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ErrorCode } from '../../src/core/errors.js';
import { decodeWav } from '../../src/io/wav.js';
import { resample } from '../../src/features/audio/resample.js';
import { repoRoot } from './paths.js';

export type Kind = 'u8' | 's16' | 's24' | 'f32';

/** A WAV file of `channels` copies of `mono` at `rate` (WAVE_FORMAT_EXTENSIBLE when asked). */
export function encodeWav(
  mono: ArrayLike<number>,
  options: { rate: number; kind: Kind; channels?: number; extensible?: boolean },
): Uint8Array {
  const channels = options.channels ?? 1;
  const bits = { u8: 8, s16: 16, s24: 24, f32: 32 }[options.kind];
  const bytesPer = bits / 8;
  const frames = mono.length;
  const data = Buffer.alloc(frames * channels * bytesPer);
  let at = 0;
  for (let i = 0; i < frames; i++) {
    const x = Math.max(-1, Math.min(1 - 1 / 32768, mono[i]!));
    for (let c = 0; c < channels; c++) {
      if (options.kind === 'u8') data.writeUInt8(Math.round(x * 127) + 128, at);
      else if (options.kind === 's16') data.writeInt16LE(Math.round(x * 32767), at);
      else if (options.kind === 's24') data.writeIntLE(Math.round(x * 8388607), at, 3);
      else data.writeFloatLE(x, at);
      at += bytesPer;
    }
  }
  const tag = options.kind === 'f32' ? 3 : 1;
  const ext = options.extensible === true;
  const fmt = Buffer.alloc(ext ? 40 : 16);
  fmt.writeUInt16LE(ext ? 0xfffe : tag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(options.rate, 4);
  fmt.writeUInt32LE(options.rate * channels * bytesPer, 8);
  fmt.writeUInt16LE(channels * bytesPer, 12);
  fmt.writeUInt16LE(bits, 14);
  if (ext) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt32LE(channels === 2 ? 3 : 4, 20);
    // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: {0000000x-0000-0010-8000-00aa00389b71}
    Buffer.from([tag, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]).copy(fmt, 24);
  }
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'ascii');
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body, body.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('data', data)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return new Uint8Array(Buffer.concat([riff, body]));
}

/** A PNG header claiming `side`×`side` pixels over a tiny IDAT: a decompression bomb's shape. */
export function bombPng(side: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const row = Buffer.alloc(1 + side); // one zero row: the rest would inflate from nothing
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(row)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** What a sample's record must show. */
export interface Expected {
  status: 'ok' | 'partial' | 'failed';
  /** Per modality: 'ok' or the error code. */
  modalities: Partial<Record<'text' | 'image' | 'audio', 'ok' | ErrorCode>>;
  /** Warning codes the record must carry. */
  warnings?: string[];
  face?: 'detector' | 'whole-image';
}

export interface OddFolder {
  root: string;
  expected: Record<string, Expected>;
  /** Files that must be reported as skipped. */
  skipped: string[];
}

/** Writes the odd-inputs folder under `dir/odd` (and a file outside it for the escape cases). */
export async function makeOddFolder(dir: string): Promise<OddFolder> {
  const root = join(dir, 'odd');
  const expected: Record<string, Expected> = {};
  await mkdir(join(root, 'audio'), { recursive: true });
  await mkdir(join(root, 'image'), { recursive: true });
  await mkdir(join(root, 'text'), { recursive: true });
  await mkdir(join(root, 'mixed'), { recursive: true });
  const put = (rel: string, bytes: Uint8Array | string) => writeFile(join(root, rel), bytes);
  const ok = (m: 'text' | 'image' | 'audio', extra: Partial<Expected> = {}): Expected => ({
    status: 'ok',
    modalities: { [m]: 'ok' },
    ...extra,
  });
  const bad = (m: 'text' | 'image' | 'audio', code: ErrorCode): Expected => ({
    status: 'failed',
    modalities: { [m]: code },
  });

  // Audio: one real 16 kHz utterance in every encoding the reader must take, and broken ones.
  const speechBytes = await readFile(join(repoRoot, 'examples', 'mixed', 'complaint.wav'));
  const speech = decodeWav(new Uint8Array(speechBytes)).mono;
  const at = (rate: number) => (rate === 16000 ? speech : resample(speech, 16000, rate));
  const variants: [string, Uint8Array][] = [
    ['u8', encodeWav(speech, { rate: 16000, kind: 'u8' })],
    ['s24-extensible', encodeWav(speech, { rate: 16000, kind: 's24', extensible: true })],
    ['f32', encodeWav(speech, { rate: 16000, kind: 'f32' })],
    ['stereo', encodeWav(speech, { rate: 16000, kind: 's16', channels: 2 })],
    ['8k', encodeWav(at(8000), { rate: 8000, kind: 's16' })],
    ['44k1', encodeWav(at(44100), { rate: 44100, kind: 's16' })],
    ['96k', encodeWav(at(96000), { rate: 96000, kind: 's16' })],
  ];
  for (const [name, bytes] of variants) {
    await put(`audio/${name}.wav`, bytes);
    expected[`audio/${name}`] = ok('audio');
  }
  await put('audio/truncated.wav', speechBytes.subarray(0, 30));
  expected['audio/truncated'] = bad('audio', 'AUDIO_DECODE_FAILED');
  await put('audio/not-wav.wav', 'this is a text file, not a RIFF/WAVE file\n');
  expected['audio/not-wav'] = bad('audio', 'AUDIO_DECODE_FAILED');
  await put('audio/zero-samples.wav', encodeWav([], { rate: 16000, kind: 's16' }));
  expected['audio/zero-samples'] = bad('audio', 'AUDIO_EMPTY');
  await put('audio/silent.wav', encodeWav(new Float64Array(16000), { rate: 16000, kind: 's16' }));
  expected['audio/silent'] = bad('audio', 'AUDIO_EMPTY');

  // Images.
  const portrait = await readFile(join(repoRoot, 'examples', 'photos', 'astronaut.jpg'));
  await put('image/portrait.jpg', portrait);
  expected['image/portrait'] = ok('image', { face: 'detector' });
  await put('image/truncated.jpg', portrait.subarray(0, Math.floor(portrait.length / 2)));
  expected['image/truncated'] = bad('image', 'IMAGE_DECODE_FAILED');
  await put('image/empty.png', new Uint8Array(0));
  expected['image/empty'] = bad('image', 'IMAGE_DECODE_FAILED');
  await put('image/not-image.jpg', 'GIF89a? no: plain text with an image extension\n');
  expected['image/not-image'] = bad('image', 'IMAGE_DECODE_FAILED');
  await put('image/bomb.png', bombPng(30000));
  expected['image/bomb'] = bad('image', 'IMAGE_TOO_LARGE');
  await put('image/cmyk.jpg', await sharp(portrait).toColourspace('cmyk').jpeg().toBuffer());
  expected['image/cmyk'] = ok('image', { face: 'detector' });
  // Stored sideways with EXIF orientation 6 ("rotate 90° clockwise to display").
  await put(
    'image/exif-rotated.jpg',
    await sharp(portrait).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
  );
  expected['image/exif-rotated'] = ok('image', { face: 'detector' });

  // Text.
  await put('text/blank.txt', '  \n\t \n');
  expected['text/blank'] = bad('text', 'TEXT_EMPTY');
  await put('text/invalid-utf8.txt', Buffer.from([0x48, 0x69, 0x20, 0xc3, 0x28, 0x0a]));
  expected['text/invalid-utf8'] = bad('text', 'TEXT_ENCODING');
  await put('text/utf16.txt', new Uint8Array(Buffer.from('I am so happy today', 'utf16le')));
  expected['text/utf16'] = bad('text', 'TEXT_ENCODING');
  await put('text/long.txt', 'I am so happy today and everything is wonderful. '.repeat(2000));
  expected['text/long'] = ok('text', { warnings: ['TEXT_TRUNCATED'] });
  await put('text/emoji.txt', 'Best birthday ever 🎉🎂😍 thank you all!! ❤️\n');
  expected['text/emoji'] = ok('text');
  await put('text/rtl.txt', 'אני כל כך שמח היום. أنا سعيد جدا اليوم\n');
  expected['text/rtl'] = ok('text');

  // One sample whose image is broken while its text and speech are fine.
  await put('mixed/call.txt', 'You promised you would fix it and you did not.\n');
  await put('mixed/call.wav', speechBytes);
  await put('mixed/call.jpg', portrait.subarray(0, 500));
  expected['mixed/call'] = {
    status: 'partial',
    modalities: { text: 'ok', image: 'IMAGE_DECODE_FAILED', audio: 'ok' },
  };

  // A symlink that leaves the root.
  await writeFile(join(dir, 'outside.txt'), 'a secret outside the input root\n');
  await symlink(join(dir, 'outside.txt'), join(root, 'text', 'escape.txt'));
  expected['text/escape'] = bad('text', 'PATH_OUTSIDE_ROOT');

  // Not inputs: counted as skipped and named; hidden files passed over.
  await put('notes.md', '# not an input\n');
  await put('.hidden.txt', 'hidden files are not samples\n');
  return { root, expected, skipped: ['notes.md'] };
}
