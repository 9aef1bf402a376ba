import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEmoflowError } from '../src/core/errors.js';
import { readModality } from '../src/io/read-input.js';
import { decodeFileName, fsPath } from '../src/io/file-names.js';
import { readInputCapped } from '../src/io/paths.js';
import { DEFAULT_MAX_TEXT_BYTES, encodeTextCapped, firstInvalidUtf8, utf8Prefix } from '../src/io/text.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-bounds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// 1-, 2-, 3- and 4-byte characters (a, é, €, 😀) over and over.
const MIXED = 'aé€😀'.repeat(50);
const MIXED_BYTES = new Uint8Array(Buffer.from(MIXED, 'utf8'));

describe('utf8Prefix', () => {
  it('cuts at the last character boundary at or before the cap, for every cap', () => {
    // Reference: the boundaries are the byte offsets where a character starts (or the end).
    const starts = new Set<number>([MIXED_BYTES.length]);
    let at = 0;
    for (const ch of MIXED) {
      starts.add(at);
      at += Buffer.byteLength(ch, 'utf8');
    }
    for (let max = 0; max <= MIXED_BYTES.length + 2; max++) {
      const cut = utf8Prefix(MIXED_BYTES, max);
      let want = Math.min(max, MIXED_BYTES.length);
      while (!starts.has(want)) want--;
      expect(cut.length, `cap ${max}`).toBe(want);
      expect(firstInvalidUtf8(cut)).toBe(-1);
    }
  });

  it('returns the bytes themselves when they fit', () => {
    expect(utf8Prefix(MIXED_BYTES, MIXED_BYTES.length)).toBe(MIXED_BYTES);
  });
});

describe('encodeTextCapped', () => {
  it('gives the same bytes as encoding the whole text and cutting it', () => {
    for (const max of [0, 1, 2, 3, 5, 6, 9, 10, 11, 99, 100, 1000]) {
      const { bytes, size } = encodeTextCapped(MIXED, max);
      expect(size).toBe(MIXED_BYTES.length);
      expect(Buffer.from(bytes).equals(Buffer.from(utf8Prefix(MIXED_BYTES, max))), `cap ${max}`).toBe(true);
    }
  });
});

describe('raw file names', () => {
  it('keeps the bytes that are not UTF-8 as U+DC00 + byte, as Python surrogateescape does', () => {
    // Python: b'caf\xe9 \xc3\xa9\xff'.decode('utf-8', 'surrogateescape') == 'caf\udce9 é\udcff'
    const raw = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xc3, 0xa9, 0xff]);
    const name = decodeFileName(raw);
    expect(name).toBe('caf\udce9 é\udcff');
    expect(Buffer.isBuffer(fsPath(name)) && (fsPath(name) as Buffer).equals(raw)).toBe(true);
  });

  it('leaves valid names as strings, astral characters included', () => {
    expect(decodeFileName(Buffer.from('a/😀 é.txt'))).toBe('a/😀 é.txt');
    expect(fsPath('a/😀 é.txt')).toBe('a/😀 é.txt');
  });
});

describe('readInputCapped', () => {
  it('reads at most the cap and reports the whole size', async () => {
    const path = join(work, 'ten.txt');
    writeFileSync(path, '0123456789');
    const r = await readInputCapped(path, 'ten.txt', 4);
    expect(Buffer.from(r.bytes).toString()).toBe('0123');
    expect(r.size).toBe(10);
  });

  it('refuses a FIFO, a folder and a device with INPUT_NOT_REGULAR without blocking', async () => {
    const fifo = join(work, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    for (const [path, kind] of [
      [fifo, 'a FIFO'],
      [work, 'a folder'],
      ['/dev/zero', 'a device'],
    ] as const) {
      const err = await readInputCapped(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isEmoflowError(err, 'INPUT_NOT_REGULAR'), String(err)).toBe(true);
      expect((err as Error).message).toContain(kind);
    }
  }, 10_000);
});

describe('readModality text byte cap', () => {
  it('cuts a file and an inline text at the cap with a TEXT_TRUNCATED warning saying how much of how much', async () => {
    const path = join(work, 'long.txt');
    writeFileSync(path, MIXED);
    const max = 10; // 'aé€' (6 bytes) then '😀' (4): the next 'a' starts at byte 10
    const file = await readModality({ id: 'long', root: work, textPath: 'long.txt', labels: {} }, 'text', {
      maxTextBytes: max,
    });
    const inline = await readModality({ id: 'inline', root: work, text: MIXED, labels: {} }, 'text', {
      maxTextBytes: 9,
    });
    expect(file?.status).toBe('ok');
    expect(inline?.status).toBe('ok');
    if (file?.status !== 'ok' || inline?.status !== 'ok') return;
    expect(Buffer.from(file.input.bytes).toString()).toBe('aé€😀');
    expect(Buffer.from(inline.input.bytes).toString()).toBe('aé€');
    expect(file.warnings).toEqual([
      {
        code: 'TEXT_TRUNCATED',
        message: `long.txt: the text is ${MIXED_BYTES.length} bytes; only its first 10 bytes were read (the text byte cap is 10 bytes)`,
      },
    ]);
    expect(inline.warnings[0]?.message).toContain(
      `the text is ${MIXED_BYTES.length} bytes; only its first 6 bytes`,
    );
  });

  it('reads a text under the default cap whole, without a warning', async () => {
    expect(DEFAULT_MAX_TEXT_BYTES).toBe(1024 * 1024);
    const r = await readModality({ id: 'x', root: work, text: MIXED, labels: {} }, 'text');
    expect(r?.status === 'ok' && r.warnings.length === 0 && r.input.bytes.length === MIXED_BYTES.length).toBe(
      true,
    );
  });
});

describe('image and audio files are bounded before they are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emoflow-bounds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a 300 MiB image and a 600 MiB clip from their size alone (sparse files: no byte read)', async () => {
    // Sparse: the size is there, the disk blocks are not.
    execFileSync('truncate', ['-s', '300M', join(dir, 'huge.jpg')]);
    execFileSync('truncate', ['-s', '600M', join(dir, 'huge.wav')]);
    const sample = { id: 'huge', root: dir, labels: {}, image: 'huge.jpg', audio: 'huge.wav' };
    const before = process.memoryUsage().rss;
    const image = await readModality(sample, 'image');
    const audio = await readModality(sample, 'audio');
    expect(image?.status === 'error' && image.error.code).toBe('IMAGE_TOO_LARGE');
    expect(image?.status === 'error' && image.error.message).toMatch(
      /huge\.jpg: the file is 300 MiB, over the 256 MiB/,
    );
    expect(audio?.status === 'error' && audio.error.code).toBe('AUDIO_TOO_LONG');
    expect(audio?.status === 'error' && audio.error.message).toMatch(
      /huge\.wav: the file is 600 MiB, over the 512 MiB/,
    );
    // Nothing like the files' size was allocated.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});
