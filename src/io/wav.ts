import { EmoflowError } from '../core/errors.js';

/**
 * A decoded WAV file: its header facts and the channel mean as float64 in [-1, 1)
 * (../shared/fixtures/mfcc/SPEC.md §1–2).
 */
export interface DecodedWav {
  sampleRate: number;
  channels: number;
  /** Container bits per sample (8, 16, 24, 32 or 64). */
  bitsPerSample: number;
  format: 'pcm' | 'float';
  /** Sample frames (samples per channel). */
  frames: number;
  /** mono[n] = (ch0[n] + ch1[n] + …) / channels. */
  mono: Float64Array;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Known format tags, for messages that say what a rejected file is. */
const TAG_NAMES: Record<number, string> = {
  0x0002: 'MS ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0055: 'MPEG layer 3',
};

function fail(message: string, path: string | undefined): EmoflowError {
  const where = path === undefined ? '' : `${path}: `;
  return new EmoflowError('AUDIO_DECODE_FAILED', where + message, path === undefined ? {} : { path });
}

function tagName(tag: number): string {
  const hex = '0x' + tag.toString(16).padStart(4, '0');
  const name = TAG_NAMES[tag];
  return name === undefined ? `format tag ${hex}` : `format tag ${hex} (${name})`;
}

function fourcc(v: DataView, at: number): string {
  return String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
}

const RESAVE_HINT = 'convert it to 16-bit PCM, e.g. `sox in.wav -b 16 -e signed-integer out.wav`';

/** What the header says, before any sample is decoded. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: 'pcm' | 'float';
  /** Whole sample frames in the data chunk. */
  frames: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
}

/**
 * Decodes a RIFF/WAVE file (SPEC §1): format tags 1 (PCM), 3 (IEEE float) and 0xFFFE
 * (WAVE_FORMAT_EXTENSIBLE with a PCM or float sub-format); PCM 8 (unsigned), 16, 24 and 32 bit,
 * float 32 and 64 bit; any channel count and rate. Chunks are walked in order, unknown ones
 * skipped; an odd-sized chunk is followed by one pad byte (RIFF rule). The RIFF size field is not
 * trusted (writers often get it wrong): the walk stops at the end of the bytes.
 *
 * A data chunk that claims more bytes than the file holds fails (`truncated data`) rather than
 * decoding what is there: a cut-off file is usually a failed copy or a recording in progress,
 * and silently analysing part of it would give features of a different clip. A partial last
 * frame (data size not a multiple of the frame size) is ignored, as sox does.
 *
 * Throws EmoflowError `AUDIO_DECODE_FAILED` (message says which problem and where) or
 * `AUDIO_EMPTY` (no sample frames, or every sample exactly zero: digital silence).
 */
export function decodeWav(bytes: Uint8Array, path?: string): DecodedWav {
  const info = readWavInfo(bytes, path);
  const { sampleRate, channels, bitsPerSample: bits, format, frames } = info;
  const where = path === undefined ? '' : `${path}: `;
  const emptyOptions = path === undefined ? {} : { path };
  if (frames === 0) {
    throw new EmoflowError('AUDIO_EMPTY', `${where}the 'data' chunk holds no samples`, emptyOptions);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { mono, anyNonZero, nonFiniteAt } = decodeSamples(v, info.dataOffset, frames, channels, bits, format);
  if (nonFiniteAt >= 0) {
    throw fail(
      `float sample at byte ${nonFiniteAt} is not finite (NaN or infinity); the file is corrupt`,
      path,
    );
  }
  if (!anyNonZero) {
    throw new EmoflowError(
      'AUDIO_EMPTY',
      `${where}all ${frames} sample frames are exactly zero (digital silence); there is no sound to analyse`,
      emptyOptions,
    );
  }
  return { sampleRate, channels, bitsPerSample: bits, format, frames, mono };
}

/**
 * Parses and checks the header of a RIFF/WAVE file without decoding samples (so that a caller
 * can refuse an over-long file before allocating its samples). Same rules and AUDIO_DECODE_FAILED
 * errors as decodeWav; a data chunk with no whole frame gives frames 0 here.
 */
export function readWavInfo(bytes: Uint8Array, path?: string, fileSize = bytes.byteLength): WavInfo {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // `bytes` may be the head of a longer file (wav-stream.ts): sizes are checked against the
  // file, and a chunk header past the bytes read is refused rather than read out of range.
  const size = fileSize;
  const head = bytes.byteLength;
  if (size < 12) {
    if (size >= 4 && fourcc(v, 0) !== 'RIFF')
      throw fail(`not a RIFF/WAVE file (starts with '${fourcc(v, 0)}')`, path);
    throw fail(`truncated header: the file has ${size} bytes, a WAV header needs at least 12`, path);
  }
  const riff = fourcc(v, 0);
  const wave = fourcc(v, 8);
  if (riff !== 'RIFF' || wave !== 'WAVE') {
    const hint = riff === 'RF64' ? ' (RF64 is not supported; ' + RESAVE_HINT + ')' : '';
    throw fail(
      `not a RIFF/WAVE file (bytes 0-3 are '${printable(riff)}', bytes 8-11 '${printable(wave)}')${hint}`,
      path,
    );
  }

  let fmt: { tag: number; channels: number; sampleRate: number; bits: number; at: number } | undefined;
  let data: { at: number; size: number } | undefined;
  let pos = 12;
  while (pos < size && (fmt === undefined || data === undefined)) {
    if (pos + 8 > size) {
      throw fail(`truncated header: chunk header at byte ${pos} is cut off (file has ${size} bytes)`, path);
    }
    if (pos + 8 > head) {
      throw fail(
        `unsupported layout: the chunk header at byte ${pos} lies past the first ${head} bytes read`,
        path,
      );
    }
    const id = fourcc(v, pos);
    const chunkSize = v.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (chunkSize < 16 || body + 16 > head) {
        throw fail(
          `truncated header: 'fmt ' chunk at byte ${pos} has ${Math.min(chunkSize, size - body)} bytes, needs 16`,
          path,
        );
      }
      let tag = v.getUint16(body, true);
      const channels = v.getUint16(body + 2, true);
      const sampleRate = v.getUint32(body + 4, true);
      const bits = v.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) SubFormat GUID(16) from body+16;
        // the GUID's first two bytes are the plain format tag.
        if (chunkSize < 40 || body + 40 > head) {
          throw fail(
            `truncated header: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk at byte ${pos} has ${chunkSize} bytes, needs 40`,
            path,
          );
        }
        tag = v.getUint16(body + 24, true);
        if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
          throw fail(
            `unsupported encoding: WAVE_FORMAT_EXTENSIBLE with sub-format ${tagName(tag)}; ${RESAVE_HINT}`,
            path,
          );
        }
      }
      fmt = { tag, channels, sampleRate, bits, at: pos };
    } else if (id === 'data') {
      if (body + chunkSize > size) {
        throw fail(
          `truncated data: the 'data' chunk at byte ${pos} says ${chunkSize} bytes, the file has ${size - body} after its header; the file is cut off (re-copy or re-export it)`,
          path,
        );
      }
      data = { at: body, size: chunkSize };
    }
    // RIFF chunks are word-aligned: an odd-sized chunk is followed by a pad byte.
    pos = body + chunkSize + (chunkSize & 1);
  }
  if (fmt === undefined) throw fail(`missing 'fmt ' chunk (walked ${size} bytes of chunks)`, path);
  if (data === undefined) throw fail(`missing 'data' chunk (walked ${size} bytes of chunks)`, path);

  const { tag, channels, sampleRate, bits } = fmt;
  if (channels === 0) throw fail(`'fmt ' chunk at byte ${fmt.at} says 0 channels`, path);
  if (sampleRate === 0) throw fail(`'fmt ' chunk at byte ${fmt.at} says sample rate 0`, path);
  let format: 'pcm' | 'float';
  if (tag === WAVE_FORMAT_PCM) {
    if (bits !== 8 && bits !== 16 && bits !== 24 && bits !== 32) {
      throw fail(`unsupported encoding: ${bits}-bit PCM (supported: 8, 16, 24, 32); ${RESAVE_HINT}`, path);
    }
    format = 'pcm';
  } else if (tag === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits !== 32 && bits !== 64) {
      throw fail(`unsupported encoding: ${bits}-bit float (supported: 32, 64); ${RESAVE_HINT}`, path);
    }
    format = 'float';
  } else {
    throw fail(
      `unsupported encoding: ${tagName(tag)} (supported: PCM, IEEE float, WAVE_FORMAT_EXTENSIBLE); ${RESAVE_HINT}`,
      path,
    );
  }

  const blockAlign = channels * (bits >> 3);
  return {
    sampleRate,
    channels,
    bitsPerSample: bits,
    format,
    frames: Math.floor(data.size / blockAlign),
    dataOffset: data.at,
  };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * `frames` whole frames of interleaved samples at byte `at` of `bytes`, as decodeWav reads them:
 * the channel mean in float64, whether any sample is non-zero, and the byte of the first
 * non-finite float sample (-1: none). For readers of a file in blocks (wav-stream.ts).
 */
export function decodeFrames(
  bytes: Uint8Array,
  at: number,
  frames: number,
  info: Pick<WavInfo, 'channels' | 'bitsPerSample' | 'format'>,
): { mono: Float64Array; anyNonZero: boolean; nonFiniteAt: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeSamples(v, at, frames, info.channels, info.bitsPerSample, info.format);
}

/** Interleaved little-endian samples -> channel mean; also whether any sample is non-zero. */
function decodeSamples(
  v: DataView,
  at: number,
  frames: number,
  channels: number,
  bits: number,
  format: 'pcm' | 'float',
): { mono: Float64Array; anyNonZero: boolean; nonFiniteAt: number } {
  const mono = new Float64Array(frames);
  const n = frames * channels;
  const bytes = bits >> 3;
  // One pass over interleaved samples, summing into the frame's mono slot; the raw
  // integer (or float) value is checked for zero before any scaling.
  let nz = 0;
  let p = at;
  let f = 0;
  let c = 0;
  let acc = 0;
  const read = sampleReader(v, bits, format);
  const scale = format === 'float' ? 1 : bits === 8 ? 1 / 128 : 1 / 2 ** (bits - 1);
  for (let i = 0; i < n; i++) {
    const raw = read(p);
    p += bytes;
    if (raw !== 0) {
      nz = 1;
      // NaN, ±Infinity (float files only): x - x is 0 for every finite x.
      if (raw - raw !== 0) return { mono, anyNonZero: true, nonFiniteAt: p - bytes };
    }
    acc += raw;
    if (++c === channels) {
      // (Σ raw·scale) / C; scale is a power of two, so scaling the sum is exact.
      mono[f++] = (acc * scale) / channels;
      acc = 0;
      c = 0;
    }
  }
  return { mono, anyNonZero: nz === 1, nonFiniteAt: -1 };
}

/** Reads one sample at a byte offset as its integer value (8-bit offset by 128) or float value. */
function sampleReader(v: DataView, bits: number, format: 'pcm' | 'float'): (p: number) => number {
  if (format === 'float') return bits === 32 ? (p) => v.getFloat32(p, true) : (p) => v.getFloat64(p, true);
  switch (bits) {
    case 8:
      return (p) => v.getUint8(p) - 128;
    case 16:
      return (p) => v.getInt16(p, true);
    case 24:
      return (p) => {
        const x = v.getUint8(p) | (v.getUint8(p + 1) << 8) | (v.getUint8(p + 2) << 16);
        return (x << 8) >> 8; // sign-extend 24 -> 32 bits
      };
    default:
      return (p) => v.getInt32(p, true);
  }
}
