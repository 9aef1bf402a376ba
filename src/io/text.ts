import { EmoflowError } from '../core/errors.js';

/**
 * Byte offset of the first invalid UTF-8 sequence in `bytes`, or -1 when valid.
 * Strict per RFC 3629: no overlongs, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    if (i + need >= n) return i; // sequence cut off by the end of the file
    const c1 = bytes[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * The most bytes of one text that are read, from a file or an inline text (1 MiB). A text model
 * keeps a few hundred tokens, a few kilobytes of text; the cap bounds the memory and time one
 * input can take (a whole 50 MB text decoded and normalised took gigabytes), far above any text
 * a model can use.
 */
export const DEFAULT_MAX_TEXT_BYTES = 1024 * 1024;

/** The longest prefix of `bytes` of at most `max` bytes that does not cut a UTF-8 character in two. */
export function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = Math.max(0, Math.floor(max));
  // bytes[end] is the first byte left out: if it continues a character, cut before that character.
  let k = end;
  while (k > 0 && k > end - 4 && (bytes[k]! & 0xc0) === 0x80) k--;
  if (k < end && bytes[k]! >= 0xc0) end = k;
  return bytes.subarray(0, end);
}

/** An inline text as UTF-8, at most `max` bytes of it (whole characters), and its full size. */
export function encodeTextCapped(text: string, max: number): { bytes: Uint8Array; size: number } {
  const size = Buffer.byteLength(text, 'utf8');
  if (size <= max) return { bytes: new Uint8Array(Buffer.from(text, 'utf8')), size };
  const into = new Uint8Array(Math.max(0, Math.floor(max)));
  // encodeInto writes whole characters only, and encodes no more of the text than fits.
  const { written } = new globalThis.TextEncoder().encodeInto(text, into);
  return { bytes: into.subarray(0, written), size };
}

/** Typographic quotes and primes folded to ASCII, so that tokenisers see one spelling. */
const QUOTE_FOLDS: Record<string, string> = {
  '\u2018': "'", // left single quotation mark
  '\u2019': "'", // right single quotation mark / apostrophe
  '\u201A': "'", // single low-9
  '\u201B': "'", // single high-reversed-9
  '\u2032': "'", // prime
  '\u00B4': "'", // acute accent used as an apostrophe
  '\u201C': '"', // left double quotation mark
  '\u201D': '"', // right double quotation mark
  '\u201E': '"', // double low-9
  '\u201F': '"', // double high-reversed-9
  '\u2033': '"', // double prime
  '\u00AB': '"', // guillemets
  '\u00BB': '"',
};
const QUOTE_RE = new RegExp(`[${Object.keys(QUOTE_FOLDS).join('')}]`, 'g');

/** NFC, typographic quotes folded, trimmed (docs/features.md). Throws TEXT_EMPTY for blank text. */
export function normalizeText(text: string, path?: string): string {
  const out = text
    .normalize('NFC')
    .replace(QUOTE_RE, (c) => QUOTE_FOLDS[c] ?? c)
    .trim();
  if (out.length === 0) {
    throw new EmoflowError(
      'TEXT_EMPTY',
      `${path ?? 'text'}: the text is empty or only white space`,
      pathOption(path),
    );
  }
  return out;
}

/** Strict UTF-8 decoding of a text file's bytes (a leading BOM is dropped), then `normalizeText`. */
export function decodeText(bytes: Uint8Array, path?: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const hex = Array.from(bytes.subarray(bad, bad + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new EmoflowError(
      'TEXT_ENCODING',
      `${path ?? 'text'}: not valid UTF-8 at byte offset ${bad} (bytes ${hex}); save the file as UTF-8`,
      pathOption(path),
    );
  }
  // NUL is valid UTF-8 but never in text people write: it is UTF-16 (ASCII text in UTF-16 is
  // otherwise valid UTF-8, every other byte 0) or a binary file with a .txt name.
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new EmoflowError(
      'TEXT_ENCODING',
      `${path ?? 'text'}: a NUL byte at byte offset ${nul}: this looks like UTF-16 or binary data, not UTF-8 text; save the file as UTF-8`,
      pathOption(path),
    );
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return normalizeText(
    Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.length - start).toString('utf8'),
    path,
  );
}

function pathOption(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}
