import type { FileHandle } from 'node:fs/promises';
import { EmoflowError } from '../core/errors.js';
import { openInput } from './paths.js';
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
    const head = new Uint8Array(Math.min(size, HEAD_BYTES));
    await readFully(fh, head, 0);
    const info = readWavInfo(head, shown, size);
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
    await readFully(fh, part, at);
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

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}
