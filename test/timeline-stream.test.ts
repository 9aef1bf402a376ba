import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resample, StreamResampler } from '../src/features/audio/resample.js';
import { featureSpans, timelineSegments } from '../src/features/audio/segmenter.js';
import { speechProbabilities, VAD_CHUNK, VadStream } from '../src/features/audio/vad.js';
import { AudioExtractor, VAD_MODEL } from '../src/features/audio/audio-extractor.js';
import { decodeWav } from '../src/io/wav.js';
import { openWavBlocks } from '../src/io/wav-stream.js';
import { readModality, sha256, sha256OfInput } from '../src/io/read-input.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { repoRoot } from './support/paths.js';
import { rng } from './support/rng.js';

const factory = new SessionFactory({ intraOpThreads: 1 });
afterAll(() => factory.release());

/** Feeds `x` in blocks of the given sizes (cycled) and joins what comes out. */
function inBlocks(
  x: Float64Array,
  sizes: readonly number[],
  push: (b: Float64Array) => Float64Array,
): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0, k = 0; i < x.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(push(x.subarray(i, i + n)));
    i += n;
  }
  return out;
}

function join64(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('StreamResampler', () => {
  const r = rng(7);
  const x = Float64Array.from({ length: 20011 }, () => r());

  for (const [from, to] of [
    [44100, 16000],
    [48000, 16000],
    [22050, 16000],
    [8000, 16000],
    [44101, 16000],
  ] as const) {
    it(`${from} -> ${to} in blocks equals resample of the whole, value for value`, () => {
      const whole = resample(x, from, to);
      for (const sizes of [[1], [441, 7, 3000], [20011], [4096]]) {
        const s = new StreamResampler(from, to);
        const parts = inBlocks(x, sizes, (b) => s.push(b));
        parts.push(s.end());
        const got = join64(parts);
        expect(got.length).toBe(whole.length);
        expect(Buffer.from(got.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
      }
    });
  }

  it('16 kHz passes through', () => {
    const s = new StreamResampler(16000, 16000);
    expect(s.push(x)).toBe(x);
    expect(s.end()).toHaveLength(0);
  });
});

describe('VadStream', () => {
  it('probabilities in blocks equal speechProbabilities of the whole clip', async () => {
    const session = await factory.session(await new ModelStore().path(VAD_MODEL));
    const d = decodeWav(readFileSync(join(repoRoot, 'examples', 'calls', '0001.wav')));
    const x = resample(d.mono, d.sampleRate, 16000);
    const whole = await speechProbabilities(session, x);
    expect(whole.length).toBe(Math.ceil(x.length / VAD_CHUNK));
    const vad = new VadStream(session);
    const parts: Float32Array[] = [];
    for (let i = 0, k = 0; i < x.length; k++) {
      const n = [100, 512, 1500, 7][k % 4]!;
      parts.push(await vad.push(x.subarray(i, i + n)));
      i += n;
    }
    parts.push(await vad.end());
    expect(Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(Array.from(whole));
    expect(Math.max(...whole)).toBeGreaterThan(0.5);
  });
});

describe('openWavBlocks', () => {
  for (const name of ['0001.wav', '0003.wav']) {
    it(`${name}: the blocks of the file, and of its bytes, join to decodeWav's mono`, async () => {
      const path = join(repoRoot, 'examples', 'calls', name);
      const bytes = readFileSync(path);
      const whole = decodeWav(bytes);
      for (const source of [path, new Uint8Array(bytes)]) {
        const w = await openWavBlocks(source, name);
        expect(w.info.sampleRate).toBe(whole.sampleRate);
        const parts: Float64Array[] = [];
        for await (const b of w.blocks(1000)) {
          expect(b.length).toBeLessThanOrEqual(1000);
          parts.push(b.slice());
        }
        await w.close();
        expect(Array.from(join64(parts))).toEqual(Array.from(whole.mono));
      }
    });
  }

  it('a 2 MiB LIST chunk before the samples: read as decodeWav reads the whole file', async () => {
    const bytes = readFileSync(join(repoRoot, 'examples', 'calls', '0001.wav'));
    // RIFF header, then a LIST chunk of 2 MiB, then the file's own chunks.
    const list = Buffer.alloc(8 + 2 * 1024 * 1024);
    list.write('LIST', 0);
    list.writeUInt32LE(2 * 1024 * 1024, 4);
    const withList = Buffer.concat([bytes.subarray(0, 12), list, bytes.subarray(12)]);
    withList.writeUInt32LE(withList.length - 8, 4);
    const dir = mkdtempSync(join(tmpdir(), 'emoflow-wavlist-'));
    try {
      const path = join(dir, 'list.wav');
      writeFileSync(path, withList);
      const w = await openWavBlocks(path, 'list.wav');
      const parts: Float64Array[] = [];
      for await (const b of w.blocks(4096)) parts.push(b.slice());
      await w.close();
      expect(Array.from(join64(parts))).toEqual(Array.from(decodeWav(withList).mono));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file cut short after its header was read is AUDIO_DECODE_FAILED, not stale samples', async () => {
    const bytes = readFileSync(join(repoRoot, 'examples', 'calls', '0001.wav'));
    const dir = mkdtempSync(join(tmpdir(), 'emoflow-wavcut-'));
    try {
      const path = join(dir, 'cut.wav');
      writeFileSync(path, bytes);
      const w = await openWavBlocks(path, 'cut.wav');
      truncateSync(path, 44 + 2 * 6000);
      const read = async () => {
        for await (const b of w.blocks(4000)) expect(b.length).toBeGreaterThan(0);
      };
      await expect(read()).rejects.toMatchObject({
        code: 'AUDIO_DECODE_FAILED',
        message: expect.stringMatching(/changed while it was read/),
      });
      await w.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a silent file is AUDIO_EMPTY once its blocks are read', async () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + 3200, 4);
    header.write('WAVEfmt ', 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(16000, 24);
    header.writeUInt32LE(32000, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(3200, 40);
    const w = await openWavBlocks(new Uint8Array(Buffer.concat([header, Buffer.alloc(3200)])), 'quiet.wav');
    const read = async () => {
      for await (const b of w.blocks(256)) expect(b.length).toBeGreaterThan(0);
    };
    await expect(read()).rejects.toMatchObject({ code: 'AUDIO_EMPTY' });
  });
});

describe('timelineSegments', () => {
  const sr = 16000;
  const chunks = (seconds: number) => Math.round((seconds * sr) / VAD_CHUNK);

  it('merges regions across pauses shorter than the gap, keeps longer pauses apart', () => {
    const probs = new Float32Array(chunks(20)).fill(0.9);
    const s = (a: number, b: number) => ({ start: a * sr, end: b * sr });
    const segs = timelineSegments([s(1, 2), s(2.3, 3.5), s(5, 6.5)], probs);
    expect(segs.map((x) => [x.start / sr, x.end / sr])).toEqual([
      [1, 3.5],
      [5, 6.5],
    ]);
    expect(segs[0]!.speech).toEqual([s(1, 2), s(2.3, 3.5)]);
  });

  it('cuts a run longer than 10 s at its quietest chunk, leaving parts of 1-10 s', () => {
    const probs = new Float32Array(chunks(40)).fill(0.95);
    const dip = chunks(7.2);
    probs[dip] = 0.2; // the softest moment of the first 10 s
    const segs = timelineSegments([{ start: 0, end: 25 * sr }], probs);
    expect(segs[0]).toMatchObject({ start: 0, end: dip * VAD_CHUNK });
    for (const g of segs) {
      expect(g.end - g.start).toBeLessThanOrEqual(10 * sr);
      expect(g.end - g.start).toBeGreaterThanOrEqual(1 * sr);
    }
    expect(segs[segs.length - 1]!.end).toBe(25 * sr);
    // Contiguous: nothing of the run is lost.
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.start).toBe(segs[i - 1]!.end);
  });

  it('feature spans grow a segment into its pauses, never past their middle or the recording', () => {
    const segs = [
      { start: 1 * sr, end: 3 * sr },
      { start: 3.4 * sr, end: 5 * sr },
      { start: 8 * sr, end: 9.8 * sr },
    ];
    expect(featureSpans(segs, 10 * sr, 0.5 * sr)).toEqual([
      { start: 0.5 * sr, end: 3.2 * sr }, // 0.4 s pause after it: half each
      { start: 3.2 * sr, end: 5.5 * sr },
      { start: 7.5 * sr, end: 10 * sr }, // the recording ends 0.2 s after it
    ]);
    expect(featureSpans(segs, 10 * sr, 0)).toEqual(segs);
  });

  it('keeps a short isolated utterance as a segment of its own', () => {
    const probs = new Float32Array(chunks(10)).fill(0.9);
    const segs = timelineSegments([{ start: 2 * sr, end: 2.4 * sr }], probs);
    expect(segs).toEqual([{ start: 2 * sr, end: 2.4 * sr, speech: [{ start: 2 * sr, end: 2.4 * sr }] }]);
  });
});

describe('AudioExtractor.timeline on hostile headers', () => {
  /** A 16-bit PCM WAV with `channels` channels at `rate`, of `frames` frames of noise. */
  function wavOf(channels: number, rate: number, frames: number): Uint8Array {
    const data = Buffer.alloc(frames * channels * 2);
    const r = rng(3);
    for (let i = 0; i < data.length; i += 2) data.writeInt16LE(Math.round(r() * 3000), i);
    const h = Buffer.alloc(44);
    h.write('RIFF', 0);
    h.writeUInt32LE(36 + data.length, 4);
    h.write('WAVEfmt ', 8);
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(channels, 22);
    h.writeUInt32LE(rate, 24);
    h.writeUInt32LE(Math.min(rate * channels * 2, 0xffffffff), 28); // byte rate: not read
    h.writeUInt16LE(channels * 2, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36);
    h.writeUInt32LE(data.length, 40);
    return new Uint8Array(Buffer.concat([h, data]));
  }

  it('4096 channels at 768 kHz: blocks stay small (4 s of such frames would be 25 GB); the clip is AUDIO_EMPTY', async () => {
    const ex = new AudioExtractor({ factory, store: new ModelStore(), vad: true });
    await expect(ex.timeline(wavOf(4096, 768000, 3000), 'wide.wav')).rejects.toMatchObject({
      code: 'AUDIO_EMPTY',
    });
  });

  it('a recording over the timeline limit is AUDIO_TOO_LONG before it is read', async () => {
    const ex = new AudioExtractor({ factory, store: new ModelStore(), vad: true });
    await expect(
      ex.timeline(wavOf(1, 16000, 32000), 'long.wav', { maxTimelineSeconds: 1 }),
    ).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/^long\.wav: 2\.0 s/) });
  });
});

describe('sha256OfInput', () => {
  it('hashes a file in pieces to the sha256 of the bytes readModality reads; a missing file is its error', async () => {
    const root = join(repoRoot, 'examples');
    for (const [m, rel] of [
      ['audio', 'calls/0003.wav'],
      ['image', 'mixed/launch.jpg'],
    ] as const) {
      const sample = { id: 's', root, labels: {}, [m]: rel };
      const read = await readModality(sample, m);
      expect(read?.status).toBe('ok');
      const got = await sha256OfInput(sample, m);
      expect(got).toEqual({
        status: 'ok',
        sha256: sha256(read!.status === 'ok' ? read!.input.bytes : new Uint8Array()),
      });
    }
    const missing = await sha256OfInput({ id: 'x', root, labels: {}, audio: 'calls/none.wav' }, 'audio');
    expect(missing).toMatchObject({ status: 'error', error: { code: 'FILE_NOT_FOUND' } });
  });
});
