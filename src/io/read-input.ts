import { createHash } from 'node:crypto';
import { EmoflowError, type EmoflowWarning } from '../core/errors.js';
import type { Modality } from '../core/labels.js';
import { modalityPath, type ExtractorInput, type Sample } from '../core/sample.js';
import { openInput, readError, readInputCapped, resolveInside } from './paths.js';
import { DEFAULT_MAX_TEXT_BYTES, encodeTextCapped, utf8Prefix } from './text.js';

/*
 * Reading a sample's inputs: the bytes of each modality, from a file inside the sample's root or
 * carried inline, bounded in size, and their content hash (what keys the feature cache).
 */

/** The hex SHA-256 of an input's bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The SHA-256 of a sample's image or audio file, read in 1 MiB pieces (never whole: a recording
 * may be hours long), or its input error. Equal to `sha256` of the bytes `readModality` reads.
 */
export async function sha256OfInput(
  sample: Sample,
  m: 'image' | 'audio',
): Promise<{ status: 'ok'; sha256: string } | { status: 'error'; error: EmoflowError } | undefined> {
  const rel = modalityPath(sample, m);
  if (rel === undefined) return undefined;
  try {
    const { fh } = await openInput(await resolveInside(sample.root, rel), rel);
    try {
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let at = 0; ;) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await fh.read(buf, 0, buf.length, at));
        } catch (e) {
          throw readError(e, rel);
        }
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        at += bytesRead;
      }
      return { status: 'ok', sha256: hash.digest('hex') };
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof EmoflowError) return { status: 'error', error: e };
    throw e;
  }
}

/**
 * The largest image file read (256 MiB): far above any photo within the 50-megapixel limit,
 * below what would strain a worker's memory.
 */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
/**
 * The largest WAV file read (512 MiB): ten minutes, the duration limit, of 96 kHz stereo 32-bit
 * audio take 461 MB, so a larger file is over the limit in any common format.
 */
export const MAX_AUDIO_BYTES = 512 * 1024 * 1024;

function tooLargeFile(m: Modality, rel: string, size: number, cap: number): EmoflowError {
  const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  return m === 'image'
    ? new EmoflowError(
        'IMAGE_TOO_LARGE',
        `${rel}: the file is ${mib(size)}, over the ${mib(cap)} an image may take; it was not read`,
        { path: rel },
      )
    : new EmoflowError(
        'AUDIO_TOO_LONG',
        `${rel}: the file is ${mib(size)}, over the ${mib(cap)} a clip may take (more than the duration limit in any common format); it was not read`,
        { path: rel },
      );
}

export type ReadResult =
  | { status: 'ok'; input: ExtractorInput; warnings: EmoflowWarning[] }
  | { status: 'error'; error: EmoflowError };

export interface ReadOptions {
  /** The most bytes of a text read (files and inline texts); default DEFAULT_MAX_TEXT_BYTES. */
  maxTextBytes?: number;
}

/**
 * The bytes of one modality of a sample, or its input error; undefined when the sample lacks it.
 * A sample's audio to be read as a timeline is located instead (its file) or, inline, marked so.
 * A text is read up to `maxTextBytes` (cut at a character boundary, with a TEXT_TRUNCATED
 * warning that says how much of how much was read); images and clips are read whole. Anything
 * but a regular file is refused with INPUT_NOT_REGULAR without being opened.
 */
export async function readModality(
  sample: Sample,
  m: Modality,
  options: ReadOptions = {},
): Promise<ReadResult | undefined> {
  const max = m === 'text' ? (options.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES) : Number.POSITIVE_INFINITY;
  const rel = modalityPath(sample, m);
  const inline = sample.bytes?.[m];
  if (inline !== undefined) {
    const shown = `${sample.id} (${m})`;
    const bytes = m === 'text' ? utf8Prefix(inline, max) : inline;
    return ok(
      { bytes, path: shown, ...(m === 'audio' && sample.timeline === true ? { timeline: true } : {}) },
      inline.length,
      max,
    );
  }
  if (m === 'text' && sample.text !== undefined) {
    const shown = `${sample.id} (text)`;
    const { bytes, size } = encodeTextCapped(sample.text, max);
    return ok({ bytes, path: shown }, size, max);
  }
  if (rel === undefined) return undefined;
  try {
    const full = await resolveInside(sample.root, rel);
    // A recording read as a timeline is only located here (path checked): AudioExtractor.timeline
    // streams it in blocks, so neither the byte cap nor a clip's memory applies.
    if (m === 'audio' && sample.timeline === true)
      return ok({ bytes: new Uint8Array(0), path: rel, timeline: true, file: full }, 0, max);
    if (m !== 'text') {
      // An image or clip is read whole, so its size is bounded before a byte is read.
      const cap = m === 'image' ? MAX_IMAGE_BYTES : MAX_AUDIO_BYTES;
      const read = await readInputCapped(full, rel, cap, (size) => tooLargeFile(m, rel, size, cap));
      return ok({ bytes: read.bytes, path: rel }, 0, max);
    }
    // One byte past the cap tells that the text goes on, and where utf8Prefix must cut.
    const read = await readInputCapped(full, rel, max + 1);
    return ok({ bytes: utf8Prefix(read.bytes, max), path: rel }, read.size, max);
  } catch (e) {
    if (e instanceof EmoflowError) return { status: 'error', error: e };
    throw e;
  }
}

/** A read input, with TEXT_TRUNCATED when fewer bytes than the whole (`size`) were kept. */
function ok(input: ExtractorInput, size: number, max: number): ReadResult {
  const kept = input.bytes.length;
  const warnings: EmoflowWarning[] =
    kept < size
      ? [
          {
            code: 'TEXT_TRUNCATED',
            message: `${input.path}: the text is ${size} bytes; only its first ${kept} bytes were read (the text byte cap is ${max} bytes)`,
          },
        ]
      : [];
  return { status: 'ok', input, warnings };
}
