/**
 * File names are bytes on Linux, and not every name is valid UTF-8 (a Latin-1 name copied off an
 * old disk). Node decodes names to strings as UTF-8 with U+FFFD for the bad bytes, which loses
 * them: such a file could be listed but never opened. emoflow keeps the bytes the way Python's
 * `surrogateescape` does (PEP 383): each byte of a name that is not part of valid UTF-8 becomes
 * the lone surrogate U+DC00 + byte, so that the name is an ordinary string (sample ids, JSON
 * records, worker messages, queue jobs) and turns back into exactly the bytes on disk.
 */
import { firstInvalidUtf8 } from './text.js';

/** A name (or path) as bytes, decoded: valid UTF-8 as text, every other byte as U+DC00 + byte. */
export function decodeFileName(raw: Uint8Array): string {
  let out = '';
  let at = 0;
  while (at < raw.length) {
    const rest = raw.subarray(at);
    const bad = firstInvalidUtf8(rest);
    if (bad < 0) return out + Buffer.from(rest).toString('utf8');
    out += Buffer.from(rest.subarray(0, bad)).toString('utf8');
    out += String.fromCharCode(0xdc00 + rest[bad]!);
    at += bad + 1;
  }
  return out;
}

const ESCAPED = /[\udc80-\udcff]/;

/**
 * The path to hand to `fs`: the string itself when it holds no escaped byte (the common case),
 * else its bytes, escapes turned back into the raw bytes of the name.
 */
export function fsPath(path: string): string | Buffer {
  if (!ESCAPED.test(path)) return path;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    // A lone low surrogate; a valid pair's low half follows a high one and is left as text.
    const prev = i > 0 ? path.charCodeAt(i - 1) : 0;
    if (prev >= 0xd800 && prev <= 0xdbff) continue;
    parts.push(Buffer.from(path.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
    start = i + 1;
  }
  parts.push(Buffer.from(path.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
