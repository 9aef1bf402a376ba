import { describe, expect, it } from 'vitest';
import { isEmoflowError } from '../src/core/errors.js';
import { decodeText, firstInvalidUtf8, normalizeText } from '../src/io/text.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('firstInvalidUtf8', () => {
  it('accepts valid text of every sequence length', () => {
    expect(firstInvalidUtf8(enc('a é € 😀'))).toBe(-1);
  });
  it.each([
    ['lone continuation byte', [0x61, 0x80], 1],
    ['overlong 2-byte', [0x41, 0xc0, 0xaf], 1],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf], 0],
    ['UTF-16 surrogate', [0x61, 0x62, 0xed, 0xa0, 0x80], 2],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['truncated at the end', [0x61, 0xe2, 0x82], 1],
    ['latin-1 e-acute', [0x63, 0x61, 0x66, 0xe9], 3],
  ])('finds %s at its offset', (_name, bytes, offset) => {
    expect(firstInvalidUtf8(new Uint8Array(bytes))).toBe(offset);
  });
});

describe('decodeText', () => {
  it('names the byte offset of invalid UTF-8', () => {
    try {
      decodeText(new Uint8Array([0x68, 0x69, 0x20, 0xff, 0x21]), 'a/b.txt');
      expect.unreachable();
    } catch (e) {
      expect(isEmoflowError(e, 'TEXT_ENCODING')).toBe(true);
      expect((e as Error).message).toContain('byte offset 3');
      expect((e as Error).message).toContain('a/b.txt');
    }
  });
  it('rejects UTF-16 without a BOM (valid UTF-8 byte by byte, but full of NULs) with TEXT_ENCODING', () => {
    const utf16 = new Uint8Array(Buffer.from('Hi there', 'utf16le'));
    expect(() => decodeText(utf16, 'u.txt')).toThrowError(
      expect.objectContaining({
        code: 'TEXT_ENCODING',
        message: expect.stringContaining('byte offset 1'),
      }) as Error,
    );
  });
  it('drops a BOM, applies NFC and folds typographic quotes', () => {
    const decomposed = 'cafe\u0301'; // e + combining acute
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc(`  \u201CHi\u201D, it\u2019s ${decomposed}\n`)]);
    expect(decodeText(bytes)).toBe('"Hi", it\'s caf\u00e9');
  });
  it('rejects blank text with TEXT_EMPTY', () => {
    expect(() => decodeText(enc(' \n\t '))).toThrowError(
      expect.objectContaining({ code: 'TEXT_EMPTY' }) as Error,
    );
    expect(() => normalizeText('')).toThrowError(expect.objectContaining({ code: 'TEXT_EMPTY' }) as Error);
  });
});
