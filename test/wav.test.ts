import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import wav from 'node-wav';
import { describe, expect, it } from 'vitest';
import { EmoflowError, type ErrorCode } from '../src/core/errors.js';
import { decodeWav, readWavInfo } from '../src/io/wav.js';
import { sharedNeed } from './support/paths.js';

const FIXTURES = sharedNeed('fixtures/mfcc');
const fixtures = FIXTURES.path;

interface ManifestEntry {
  sourceSampleRate: number;
  channels: number;
  bitsPerSample: number;
  encoding: string;
  formatTag: string;
  samples: number;
  seconds: number;
}
const manifest = (
  FIXTURES.missing ? {} : JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8'))
) as Record<string, ManifestEntry>;

// ---- a small WAV writer for synthetic files -------------------------------------------------

interface Chunk {
  id: string;
  body: Uint8Array;
}

function chunk(id: string, body: Uint8Array): Chunk {
  return { id, body };
}

/** RIFF/WAVE with the given chunks in order; odd-sized chunks get their pad byte. */
function riff(chunks: Chunk[], opts: { riffId?: string; waveId?: string } = {}): Uint8Array {
  const size = 12 + chunks.reduce((n, c) => n + 8 + c.body.length + (c.body.length & 1), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, opts.riffId ?? 'RIFF');
  v.setUint32(4, size - 8, true);
  ascii(8, opts.waveId ?? 'WAVE');
  let p = 12;
  for (const c of chunks) {
    ascii(p, c.id);
    v.setUint32(p + 4, c.body.length, true);
    out.set(c.body, p + 8);
    p += 8 + c.body.length + (c.body.length & 1);
  }
  return out;
}

function fmtChunk(tag: number, channels: number, rate: number, bits: number): Chunk {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const block = channels * (bits >> 3);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * block, true);
  v.setUint16(12, block, true);
  v.setUint16(14, bits, true);
  return chunk('fmt ', b);
}

/** WAVE_FORMAT_EXTENSIBLE fmt chunk (40 bytes) whose sub-format GUID starts with `subTag`. */
function fmtExtensible(
  subTag: number,
  channels: number,
  rate: number,
  bits: number,
  validBits = bits,
): Chunk {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  const block = channels * (bits >> 3);
  v.setUint16(0, 0xfffe, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * block, true);
  v.setUint16(12, block, true);
  v.setUint16(14, bits, true);
  v.setUint16(16, 22, true); // cbSize
  v.setUint16(18, validBits, true);
  v.setUint32(20, channels === 1 ? 0x4 : 0x3, true); // channel mask
  // KSDATAFORMAT_SUBTYPE_*: {0000xxxx-0000-0010-8000-00aa00389b71}
  v.setUint16(24, subTag, true);
  b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  return chunk('fmt ', b);
}

/** Interleaved samples encoded little-endian. */
function samples(kind: 'u8' | 's16' | 's24' | 's32' | 'f32' | 'f64', values: number[]): Uint8Array {
  const width = { u8: 1, s16: 2, s24: 3, s32: 4, f32: 4, f64: 8 }[kind];
  const b = new Uint8Array(values.length * width);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => {
    const p = i * width;
    if (kind === 'u8') v.setUint8(p, x);
    else if (kind === 's16') v.setInt16(p, x, true);
    else if (kind === 's24') {
      const u = x & 0xffffff;
      b[p] = u & 0xff;
      b[p + 1] = (u >> 8) & 0xff;
      b[p + 2] = (u >> 16) & 0xff;
    } else if (kind === 's32') v.setInt32(p, x, true);
    else if (kind === 'f32') v.setFloat32(p, x, true);
    else v.setFloat64(p, x, true);
  });
  return b;
}

function expectError(f: () => unknown, code: ErrorCode, message: RegExp): EmoflowError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EmoflowError);
  const e = err as EmoflowError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

// ---- tests ---------------------------------------------------------------------------------

describe.skipIf(FIXTURES.missing)(`decodeWav: the 10 fixture clips ${FIXTURES.tag}`, () => {
  for (const [name, m] of Object.entries(manifest)) {
    it(`${name}: ${m.encoding}, ${m.channels} ch, ${m.sourceSampleRate} Hz`, () => {
      const d = decodeWav(readFileSync(join(fixtures, 'clips', `${name}.wav`)));
      expect(d.sampleRate).toBe(m.sourceSampleRate);
      expect(d.channels).toBe(m.channels);
      expect(d.bitsPerSample).toBe(m.bitsPerSample);
      expect(d.format).toBe(m.encoding.startsWith('float') ? 'float' : 'pcm');
      expect(d.frames).toBe(m.samples);
      expect(d.mono).toHaveLength(m.samples);
      expect(d.frames / d.sampleRate).toBeCloseTo(m.seconds, 5);
      let peak = 0;
      for (const x of d.mono) peak = Math.max(peak, Math.abs(x));
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(1);
    });
  }

  it('agrees with node-wav on the 16-bit clip within 1/32768 (node-wav divides positives by 32767)', () => {
    const bytes = readFileSync(join(fixtures, 'clips', 'speech_16k_s16_mono.wav'));
    const ours = decodeWav(bytes);
    const theirs = wav.decode(bytes);
    expect(theirs.sampleRate).toBe(16000);
    const ch = theirs.channelData[0]!;
    expect(ch).toHaveLength(ours.frames);
    let max = 0;
    for (let i = 0; i < ch.length; i++) max = Math.max(max, Math.abs(ch[i]! - ours.mono[i]!));
    expect(max).toBeLessThanOrEqual(1 / 32768);
    // and exactly x / 32768 for the negative samples
    for (let i = 0; i < ch.length; i++) if (ours.mono[i]! < 0) expect(ch[i]).toBe(Math.fround(ours.mono[i]!));
  });

  it('agrees with node-wav on the stereo clip (mean of the two channels)', () => {
    const bytes = readFileSync(join(fixtures, 'clips', 'speech_44k_s16_stereo.wav'));
    const ours = decodeWav(bytes);
    const [l, r] = wav.decode(bytes).channelData;
    let max = 0;
    for (let i = 0; i < ours.frames; i++)
      max = Math.max(max, Math.abs((l![i]! + r![i]!) / 2 - ours.mono[i]!));
    expect(max).toBeLessThanOrEqual(1 / 32768);
  });
});

describe('decodeWav: every encoding (synthetic files)', () => {
  it('8-bit unsigned PCM: (x − 128) / 128', () => {
    const d = decodeWav(
      riff([fmtChunk(1, 1, 8000, 8), chunk('data', samples('u8', [0, 128, 255, 64, 192]))]),
    );
    expect(d).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 8, format: 'pcm', frames: 5 });
    expect(Array.from(d.mono)).toEqual([-1, 0, 127 / 128, -0.5, 0.5]);
  });

  it('16-bit signed PCM: x / 32768', () => {
    const d = decodeWav(
      riff([fmtChunk(1, 1, 16000, 16), chunk('data', samples('s16', [-32768, 0, 32767, 16384, -1]))]),
    );
    expect(Array.from(d.mono)).toEqual([-1, 0, 32767 / 32768, 0.5, -1 / 32768]);
  });

  it('24-bit signed PCM: x / 2^23 (3-byte little-endian, sign-extended)', () => {
    const vals = [-8388608, 1, 8388607, -1, 4194304];
    const d = decodeWav(riff([fmtChunk(1, 1, 22050, 24), chunk('data', samples('s24', vals))]));
    expect(d.bitsPerSample).toBe(24);
    expect(Array.from(d.mono)).toEqual(vals.map((x) => x / 8388608));
  });

  it('32-bit signed PCM: x / 2^31', () => {
    const vals = [-2147483648, 2147483647, 1 << 30, -1];
    const d = decodeWav(riff([fmtChunk(1, 1, 24000, 32), chunk('data', samples('s32', vals))]));
    expect(Array.from(d.mono)).toEqual(vals.map((x) => x / 2147483648));
  });

  it('32-bit float: as stored (values outside [-1, 1] kept)', () => {
    const vals = [0.25, -0.5, 1.5, Math.fround(0.1)];
    const d = decodeWav(riff([fmtChunk(3, 1, 48000, 32), chunk('data', samples('f32', vals))]));
    expect(d.format).toBe('float');
    expect(Array.from(d.mono)).toEqual(vals);
  });

  it('64-bit float: as stored, full precision', () => {
    const vals = [0.1, -0.123456789012345, 1e-300];
    const d = decodeWav(riff([fmtChunk(3, 1, 32000, 64), chunk('data', samples('f64', vals))]));
    expect(d.bitsPerSample).toBe(64);
    expect(Array.from(d.mono)).toEqual(vals);
  });

  it('WAVE_FORMAT_EXTENSIBLE with PCM 24-bit and float 32-bit sub-formats', () => {
    const pcm = decodeWav(
      riff([fmtExtensible(1, 1, 44100, 24), chunk('data', samples('s24', [4194304, -4194304]))]),
    );
    expect(pcm).toMatchObject({ format: 'pcm', bitsPerSample: 24, sampleRate: 44100 });
    expect(Array.from(pcm.mono)).toEqual([0.5, -0.5]);
    const flt = decodeWav(
      riff([fmtExtensible(3, 2, 96000, 32), chunk('data', samples('f32', [0.5, 0.25, -1, 0]))]),
    );
    expect(flt).toMatchObject({ format: 'float', channels: 2, frames: 2 });
    expect(Array.from(flt.mono)).toEqual([0.375, -0.5]);
    // 24 valid bits in a 32-bit container: the container width scales (left-justified samples)
    const c32 = decodeWav(
      riff([fmtExtensible(1, 1, 48000, 32, 24), chunk('data', samples('s32', [0x40000000]))]),
    );
    expect(Array.from(c32.mono)).toEqual([0.5]);
  });

  it('3 and 6 channels: mean over channels', () => {
    const three = decodeWav(
      riff([fmtChunk(1, 3, 16000, 16), chunk('data', samples('s16', [3, 6, 9, -3, -6, 0]))]),
    );
    expect(three.channels).toBe(3);
    expect(three.frames).toBe(2);
    expect(Array.from(three.mono)).toEqual([6 / 32768, -3 / 32768]);
    const six = decodeWav(
      riff([fmtChunk(3, 6, 48000, 32), chunk('data', samples('f32', [1, 0.5, 0, 0, 0, -0.5]))]),
    );
    expect(six.frames).toBe(1);
    expect(six.mono[0]).toBeCloseTo(1 / 6, 15);
  });

  it('skips unknown and odd-sized chunks (with their pad byte) before and after fmt', () => {
    const odd = new Uint8Array([1, 2, 3]); // 3 bytes + 1 pad
    const d = decodeWav(
      riff([
        chunk('JUNK', odd),
        fmtChunk(1, 1, 16000, 16),
        chunk('LIST', new Uint8Array(5)),
        chunk('fact', new Uint8Array(4)),
        chunk('data', samples('s16', [16384, -16384])),
        chunk('id3 ', new Uint8Array(7)),
      ]),
    );
    expect(Array.from(d.mono)).toEqual([0.5, -0.5]);
  });

  it('an odd-sized data chunk (8-bit, 3 samples) followed by another chunk', () => {
    const d = decodeWav(
      riff([
        fmtChunk(1, 1, 8000, 8),
        chunk('data', samples('u8', [0, 255, 128])),
        chunk('LIST', new Uint8Array(4)),
      ]),
    );
    expect(Array.from(d.mono)).toEqual([-1, 127 / 128, 0]);
  });

  it('a data chunk before the fmt chunk', () => {
    const d = decodeWav(riff([chunk('data', samples('s16', [8192])), fmtChunk(1, 1, 16000, 16)]));
    expect(Array.from(d.mono)).toEqual([0.25]);
  });

  it('ignores a partial last frame and a wrong RIFF size field', () => {
    const bytes = riff([fmtChunk(1, 2, 16000, 16), chunk('data', new Uint8Array([0, 64, 0, 64, 0, 32]))]);
    new DataView(bytes.buffer).setUint32(4, 12345, true);
    const d = decodeWav(bytes);
    expect(d.frames).toBe(1);
    expect(Array.from(d.mono)).toEqual([0.5]);
  });

  it('readWavInfo: the header alone (no samples decoded, silence not checked)', () => {
    const bytes = riff([
      chunk('JUNK', new Uint8Array(3)),
      fmtChunk(1, 2, 44100, 24),
      chunk('data', new Uint8Array(600)),
    ]);
    expect(readWavInfo(bytes, 'x.wav')).toEqual({
      sampleRate: 44100,
      channels: 2,
      bitsPerSample: 24,
      format: 'pcm',
      frames: 100,
      dataOffset: 12 + 12 + 24 + 8,
    });
    expect(() => decodeWav(bytes)).toThrow(/digital silence/);
  });

  it('reads a Uint8Array view with a non-zero byteOffset', () => {
    const file = riff([fmtChunk(1, 1, 16000, 16), chunk('data', samples('s16', [-16384, 16384]))]);
    const big = new Uint8Array(file.length + 13);
    big.set(file, 13);
    expect(Array.from(decodeWav(big.subarray(13)).mono)).toEqual([-0.5, 0.5]);
  });

  it('agrees with node-wav on files node-wav writes (16-bit, 32-bit float, 3 channels)', () => {
    const ch = [0, 1, 2].map((c) => Float32Array.from({ length: 50 }, (_, i) => Math.sin(i / 5 + c) * 0.8));
    const pcm = decodeWav(wav.encode(ch, { sampleRate: 11025, bitDepth: 16 }));
    expect(pcm).toMatchObject({ sampleRate: 11025, channels: 3, frames: 50 });
    const flt = decodeWav(wav.encode(ch, { sampleRate: 11025, float: true }));
    for (let i = 0; i < 50; i++) {
      const mean = (ch[0]![i]! + ch[1]![i]! + ch[2]![i]!) / 3;
      expect(Math.abs(flt.mono[i]! - mean)).toBeLessThan(1e-7);
      expect(Math.abs(pcm.mono[i]! - mean)).toBeLessThan(2 / 32768);
    }
  });
});

describe('decodeWav: errors', () => {
  const good16 = (): Chunk[] => [fmtChunk(1, 1, 16000, 16), chunk('data', samples('s16', [1, 2, 3]))];

  it('not RIFF/WAVE', () => {
    expectError(
      () => decodeWav(new TextEncoder().encode('hello, this is text not audio')),
      'AUDIO_DECODE_FAILED',
      /not a RIFF\/WAVE file/,
    );
    expectError(
      () => decodeWav(riff(good16(), { waveId: 'AVI ' })),
      'AUDIO_DECODE_FAILED',
      /not a RIFF\/WAVE file.*'AVI '/,
    );
    expectError(
      () => decodeWav(riff(good16(), { riffId: 'RF64' })),
      'AUDIO_DECODE_FAILED',
      /RF64 is not supported/,
    );
    expectError(
      () => decodeWav(new Uint8Array([0x89, 0x50, 0x4e, 0x47])),
      'AUDIO_DECODE_FAILED',
      /not a RIFF\/WAVE/,
    );
  });

  it('truncated header: fewer than 12 bytes, a cut chunk header, a short fmt chunk', () => {
    expectError(
      () => decodeWav(new Uint8Array(0)),
      'AUDIO_DECODE_FAILED',
      /truncated header: the file has 0 bytes/,
    );
    expectError(() => decodeWav(riff(good16()).subarray(0, 10)), 'AUDIO_DECODE_FAILED', /truncated header/);
    expectError(
      () => decodeWav(riff(good16()).subarray(0, 16)),
      'AUDIO_DECODE_FAILED',
      /truncated header: chunk header at byte 12/,
    );
    expectError(
      () => decodeWav(riff(good16()).subarray(0, 28)),
      'AUDIO_DECODE_FAILED',
      /truncated header: 'fmt ' chunk at byte 12/,
    );
    expectError(
      () => decodeWav(riff([chunk('fmt ', new Uint8Array(14)), chunk('data', new Uint8Array(2))])),
      'AUDIO_DECODE_FAILED',
      /'fmt ' chunk at byte 12 has 14 bytes, needs 16/,
    );
    const ext = fmtExtensible(1, 1, 16000, 16);
    expectError(
      () => decodeWav(riff([chunk('fmt ', ext.body.subarray(0, 18)), chunk('data', new Uint8Array(2))])),
      'AUDIO_DECODE_FAILED',
      /WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk at byte 12 has 18 bytes, needs 40/,
    );
  });

  it('missing fmt or data chunk', () => {
    expectError(
      () => decodeWav(riff([chunk('data', samples('s16', [1]))])),
      'AUDIO_DECODE_FAILED',
      /missing 'fmt ' chunk/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(1, 1, 16000, 16), chunk('LIST', new Uint8Array(4))])),
      'AUDIO_DECODE_FAILED',
      /missing 'data' chunk/,
    );
    expectError(() => decodeWav(riff([])), 'AUDIO_DECODE_FAILED', /missing 'fmt ' chunk/);
  });

  it('truncated data: the data chunk claims more bytes than the file has', () => {
    const full = riff(good16()); // data chunk header at byte 36, 6 bytes of samples
    const cut = full.subarray(0, full.length - 2);
    expectError(
      () => decodeWav(cut, 'calls/0042.wav'),
      'AUDIO_DECODE_FAILED',
      /^calls\/0042\.wav: truncated data: the 'data' chunk at byte 36 says 6 bytes, the file has 4/,
    );
  });

  it('unsupported encodings: ADPCM, mu-law, 12-bit PCM, 16-bit float, EXTENSIBLE with another sub-format', () => {
    expectError(
      () => decodeWav(riff([fmtChunk(2, 1, 16000, 4), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /unsupported encoding: format tag 0x0002 \(MS ADPCM\)/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(7, 1, 8000, 8), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /format tag 0x0007 \(mu-law\)/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(1, 1, 16000, 12), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /unsupported encoding: 12-bit PCM/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(3, 1, 16000, 16), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /unsupported encoding: 16-bit float/,
    );
    expectError(
      () => decodeWav(riff([fmtExtensible(2, 1, 16000, 16), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /WAVE_FORMAT_EXTENSIBLE with sub-format format tag 0x0002/,
    );
  });

  it('zero channels or zero sample rate', () => {
    expectError(
      () => decodeWav(riff([fmtChunk(1, 0, 16000, 16), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /says 0 channels/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(1, 1, 0, 16), chunk('data', new Uint8Array(8))])),
      'AUDIO_DECODE_FAILED',
      /says sample rate 0/,
    );
  });

  it('a NaN or infinite float sample', () => {
    expectError(
      () => decodeWav(riff([fmtChunk(3, 1, 16000, 32), chunk('data', samples('f32', [0.5, NaN]))])),
      'AUDIO_DECODE_FAILED',
      /float sample at byte 48 is not finite/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(3, 1, 16000, 64), chunk('data', samples('f64', [-Infinity]))])),
      'AUDIO_DECODE_FAILED',
      /not finite/,
    );
  });

  it('AUDIO_EMPTY: no samples, or every sample exactly zero (8-bit: 128)', () => {
    const e = expectError(
      () => decodeWav(riff([fmtChunk(1, 1, 16000, 16), chunk('data', new Uint8Array(0))]), 'a.wav'),
      'AUDIO_EMPTY',
      /^a\.wav: the 'data' chunk holds no samples/,
    );
    expect(e.path).toBe('a.wav');
    expectError(
      () => decodeWav(riff([fmtChunk(1, 2, 16000, 16), chunk('data', new Uint8Array(3))])),
      'AUDIO_EMPTY',
      /no samples/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(1, 2, 16000, 16), chunk('data', new Uint8Array(4000))])),
      'AUDIO_EMPTY',
      /all 1000 sample frames are exactly zero \(digital silence\)/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(1, 1, 8000, 8), chunk('data', new Uint8Array(100).fill(128))])),
      'AUDIO_EMPTY',
      /digital silence/,
    );
    expectError(
      () => decodeWav(riff([fmtChunk(3, 1, 8000, 32), chunk('data', samples('f32', [0, -0, 0]))])),
      'AUDIO_EMPTY',
      /digital silence/,
    );
    // one non-zero sample is enough to be sound
    expect(
      decodeWav(riff([fmtChunk(1, 1, 16000, 16), chunk('data', samples('s16', [0, 0, 1, 0]))])).frames,
    ).toBe(4);
  });

  it('errors carry the path', () => {
    const e = expectError(
      () => decodeWav(new Uint8Array(20), 'in/x.wav'),
      'AUDIO_DECODE_FAILED',
      /^in\/x\.wav: not a RIFF\/WAVE/,
    );
    expect(e.path).toBe('in/x.wav');
    expect(e.fatal).toBe(false);
  });
});
