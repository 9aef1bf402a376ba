import type { FileHandle } from 'node:fs/promises';
import { EmoflowError } from '../core/errors.js';
import { openInput, readError } from './paths.js';
import { decodeFrames, readWavInfo, type WavInfo } from './wav.js';

/**
 * A WAV recording read in blocks, so that a long file (an hour of a call) never sits in memory
 * whole: its header is parsed from the first bytes, then its samples are decoded a block at a
 * time into the channel mean, exactly as decodeWav decodes them (same errors, same values).
 */
export interface WavBlocks {
  info: WavInfo;
  /** Mono blocks of at most `frames` frames each, in order, the last one shorter. */
  blocks(frames: number): AsyncGenerator<Float64Array>;
  close(): Promise<void>;
}

/** Bytes read for the header: far more than any real file's chunks before its samples. */
const HEAD_BYTES = 1 << 20;

/**
 * Opens a WAV file (regular files only, as `openInput`; `shown` names it in messages) or wraps bytes already read (queue jobs carry
 * them). Throws AUDIO_DECODE_FAILED for a bad header, as decodeWav would; the blocks throw
 * AUDIO_DECODE_FAILED for a non-finite float sample and AUDIO_EMPTY when the data holds no frame
 * or only zeros (found at the end, as the whole file must be seen to know it).
 */
export async function openWavBlocks(source: string | Uint8Array, shown: string): Promise<WavBlocks> {
  if (typeof source !== 'string') return bytesBlocks(source, shown);
  const { fh, size } = await openInput(source, shown);
  try {
    const info = await fileInfo(fh, size, shown);
    return {
      info,
      blocks: (frames) => fileBlocks(fh, info, frames, shown),
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function bytesBlocks(bytes: Uint8Array, shown: string): WavBlocks {
  const info = readWavInfo(bytes, shown);
  const blockAlign = info.channels * (info.bitsPerSample >> 3);
  return {
    info,
    async *blocks(frames) {
      const check = emptyCheck(info, shown);
      for (let f = 0; f < info.frames; f += frames) {
        const n = Math.min(frames, info.frames - f);
        yield check.block(decodeFrames(bytes, info.dataOffset + f * blockAlign, n, info));
      }
      check.end();
    },
    close: async () => undefined,
  };
}

/**
 * The header of a WAV file, parsed from its first MiB as readWavInfo parses a whole file. Where
 * the 'fmt ' or 'data' chunk lies past it (a large LIST or artwork chunk first), the chunk
 * headers are walked with small reads and a header of just RIFF, 'fmt ' and 'data' is parsed
 * instead (messages then count bytes in that header).
 */
async function fileInfo(fh: FileHandle, size: number, shown: string): Promise<WavInfo> {
  const head = new Uint8Array(Math.min(size, HEAD_BYTES));
  await readExactly(fh, head, 0, shown);
  const chunks = head.length < size ? await walkChunks(fh, size, shown) : undefined;
  if (chunks === undefined || chunks.reach <= head.length) return readWavInfo(head, shown, size);
  const { fmt, data } = chunks;
  const fmtBody = new Uint8Array(Math.min(fmt.size, 40));
  await readExactly(fh, fmtBody, fmt.at + 8, shown);
  const compact = new Uint8Array(12 + 8 + fmtBody.length + 8);
  const v = new DataView(compact.buffer);
  compact.set(head.subarray(0, 12));
  compact.set([0x66, 0x6d, 0x74, 0x20], 12); // 'fmt '
  v.setUint32(16, fmtBody.length, true);
  compact.set(fmtBody, 20);
  const d = 20 + fmtBody.length;
  compact.set([0x64, 0x61, 0x74, 0x61], d); // 'data'
  v.setUint32(d + 4, data.size, true);
  const info = readWavInfo(compact, shown, compact.length + (size - (data.at + 8)));
  return { ...info, dataOffset: data.at + 8 };
}

/** Where the 'fmt ' and 'data' chunks start, and how far into the file their headers reach. */
async function walkChunks(
  fh: FileHandle,
  size: number,
  shown: string,
): Promise<
  { fmt: { at: number; size: number }; data: { at: number; size: number }; reach: number } | undefined
> {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  let fmt: { at: number; size: number } | undefined;
  let data: { at: number; size: number } | undefined;
  for (let pos = 12; pos + 8 <= size && (fmt === undefined || data === undefined);) {
    await readExactly(fh, h, pos, shown);
    const id = String.fromCharCode(h[0]!, h[1]!, h[2]!, h[3]!);
    const chunkSize = v.getUint32(4, true);
    if (id === 'fmt ') fmt = { at: pos, size: chunkSize };
    else if (id === 'data') data = { at: pos, size: chunkSize };
    pos += 8 + chunkSize + (chunkSize & 1);
  }
  if (fmt === undefined || data === undefined) return undefined;
  return { fmt, data, reach: Math.max(fmt.at + 8 + Math.min(fmt.size, 40), data.at + 8) };
}

async function* fileBlocks(
  fh: FileHandle,
  info: WavInfo,
  frames: number,
  shown: string,
): AsyncGenerator<Float64Array> {
  const blockAlign = info.channels * (info.bitsPerSample >> 3);
  const buf = new Uint8Array(frames * blockAlign);
  const check = emptyCheck(info, shown);
  for (let f = 0; f < info.frames; f += frames) {
    const n = Math.min(frames, info.frames - f);
    const at = info.dataOffset + f * blockAlign;
    const part = buf.subarray(0, n * blockAlign);
    await readExactly(fh, part, at, shown);
    const got = decodeFrames(part, 0, n, info);
    if (got.nonFiniteAt >= 0) got.nonFiniteAt += at;
    yield check.block(got);
  }
  check.end();
}

/** decodeWav's refusals, applied across blocks: no frame, a non-finite sample, only zeros. */
function emptyCheck(info: WavInfo, shown: string) {
  let anyNonZero = false;
  const where = { path: shown };
  if (info.frames === 0)
    throw new EmoflowError('AUDIO_EMPTY', `${shown}: the 'data' chunk holds no samples`, where);
  return {
    block(got: { mono: Float64Array; anyNonZero: boolean; nonFiniteAt: number }): Float64Array {
      if (got.nonFiniteAt >= 0)
        throw new EmoflowError(
          'AUDIO_DECODE_FAILED',
          `${shown}: float sample at byte ${got.nonFiniteAt} is not finite (NaN or infinity); the file is corrupt`,
          where,
        );
      anyNonZero ||= got.anyNonZero;
      return got.mono;
    },
    end(): void {
      if (!anyNonZero)
        throw new EmoflowError(
          'AUDIO_EMPTY',
          `${shown}: all ${info.frames} sample frames are exactly zero (digital silence); there is no sound to analyse`,
          where,
        );
    },
  };
}

/**
 * Fills `into` from `position`; FILE_UNREADABLE for a failing read, AUDIO_DECODE_FAILED when the
 * file ends first (it shrank, or was replaced, since its header was read).
 */
async function readExactly(fh: FileHandle, into: Uint8Array, position: number, shown: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(into, done, into.length - done, position + done));
    } catch (e) {
      throw readError(e, shown);
    }
    if (bytesRead === 0)
      throw new EmoflowError(
        'AUDIO_DECODE_FAILED',
        `${shown}: the file ended at byte ${position + done}, before the ${position + into.length} its header promised; it changed while it was read`,
        { path: shown },
      );
    done += bytesRead;
  }
}
