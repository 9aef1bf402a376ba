import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import wav from 'node-wav';
import { afterAll, describe, expect, it } from 'vitest';
import { EmoflowError, type ErrorCode } from '../src/core/errors.js';
import {
  AUDIO_FEATURE_NAMES,
  AUDIO_FEATURE_SPEC,
  AudioExtractor,
  VAD_MODEL,
} from '../src/features/audio/audio-extractor.js';
import { mfccWithDeltas } from '../src/features/audio/mfcc.js';
import { CLIP_STATS_NAMES, clipStats } from '../src/features/audio/clip-stats.js';
import { resample } from '../src/features/audio/resample.js';
import {
  DEFAULT_SEGMENTER,
  speechProbabilities,
  speechSegments,
  trimToSpeech,
} from '../src/features/audio/vad.js';
import { decodeWav } from '../src/io/wav.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { repoRoot, sharedNeed } from './support/paths.js';

const RAVDESS = sharedNeed('data/speech/ravdess/Actor_01');
const EMODB = sharedNeed('data/speech/emodb');
const FIXTURES = sharedNeed('fixtures/mfcc');
const ravdess = RAVDESS.path;
const emodb = EMODB.path;
const clips = join(FIXTURES.path, 'clips');
/** espeak-ng speech shipped with the repository: 16 kHz, 16-bit mono, 4.03 s (examples/README.md). */
const exampleSpeech = join(repoRoot, 'examples', 'calls', '0001.wav');

const store = new ModelStore();
const factory = new SessionFactory({ intraOpThreads: 1 });
const plain = new AudioExtractor({ factory, store, vad: false });
const withVad = new AudioExtractor({ factory, store, vad: true });

afterAll(async () => {
  await factory.release();
});

function wavBytes(x: ArrayLike<number>, sampleRate: number): Uint8Array {
  return wav.encode([Float32Array.from(x)], { sampleRate, bitDepth: 16 });
}

async function expectRejects(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EmoflowError);
  expect((err as EmoflowError).code).toBe(code);
  expect((err as EmoflowError).message).toMatch(message);
}

/** The example speech's first `seconds`, as 16 kHz samples. */
function exampleSamples(seconds: number): Float64Array {
  const d = decodeWav(readFileSync(exampleSpeech), exampleSpeech);
  expect(d.sampleRate).toBe(16000);
  expect(d.frames).toBeGreaterThanOrEqual(seconds * 16000);
  return d.mono.slice(0, seconds * 16000);
}

/** 4.5 s at 16 kHz, 16-bit: 0.75 s of digital silence, 3 s of the example speech, 0.75 s of silence. */
function paddedSpeech(): Uint8Array {
  const x = new Float64Array(4.5 * 16000);
  x.set(exampleSamples(3), 0.75 * 16000);
  return wavBytes(x, 16000);
}

/** 3.0 s at 44.1 kHz, 16-bit stereo: the example speech resampled, the right channel at half gain. */
function speechStereo44k(): Uint8Array {
  const left = Float32Array.from(resample(exampleSamples(3), 16000, 44100));
  expect(left).toHaveLength(3 * 44100);
  const right = left.map((v) => v / 2);
  return wav.encode([left, right], { sampleRate: 44100, bitDepth: 16 });
}

function expectFiniteVector(v: Float32Array): void {
  expect(v).toHaveLength(78);
  for (const x of v) expect(Number.isFinite(x)).toBe(true);
}

describe('feature spec', () => {
  it('VAD on/off are different specs (name and options)', () => {
    expect(AUDIO_FEATURE_SPEC(false)).toEqual({
      name: 'audio-mfcc-stats',
      version: '1',
      dim: 78,
      options: { vad: false },
    });
    expect(AUDIO_FEATURE_SPEC(true)).toEqual({
      name: 'audio-mfcc-stats-vad',
      version: '1',
      dim: 78,
      options: { vad: true },
    });
    expect(plain.spec.name).not.toBe(withVad.spec.name);
  });

  it('78 names in vector order', () => {
    expect(AUDIO_FEATURE_NAMES).toBe(CLIP_STATS_NAMES);
    expect(CLIP_STATS_NAMES).toHaveLength(78);
    expect(new Set(CLIP_STATS_NAMES).size).toBe(78);
    expect(CLIP_STATS_NAMES.slice(0, 2)).toEqual(['mfcc_mean_0', 'mfcc_mean_1']);
    expect(CLIP_STATS_NAMES[13]).toBe('mfcc_std_0');
    expect(CLIP_STATS_NAMES[26]).toBe('delta_mean_0');
    expect(CLIP_STATS_NAMES[77]).toBe('delta2_std_12');
  });
});

describe('clip statistics', () => {
  it.skipIf(FIXTURES.missing)(
    `means and population stds of the torchaudio fixture frames (independent reference) ${FIXTURES.tag}`,
    async () => {
      const fx = JSON.parse(
        readFileSync(join(FIXTURES.path, 'speech_44k_s16_stereo.json'), 'utf8'),
      ) as Record<'mfcc' | 'delta' | 'delta2', number[][]>;
      const r = await plain.extract(readFileSync(join(clips, 'speech_44k_s16_stereo.wav')));
      expect(r.frames).toBe(301);
      let o = 0;
      for (const key of ['mfcc', 'delta', 'delta2'] as const) {
        const rows = fx[key];
        for (let i = 0; i < 13; i++) {
          const col = rows.map((row) => row[i]!);
          const mean = col.reduce((a, b) => a + b, 0) / col.length;
          const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
          expect(Math.abs(r.vector[o + i]! - mean)).toBeLessThan(1e-4);
          expect(Math.abs(r.vector[o + 13 + i]! - std)).toBeLessThan(1e-4);
        }
        o += 26;
      }
    },
  );

  it('a one-frame-constant input: std 0, mean the value', () => {
    const c = new Float32Array(3 * 13).fill(2);
    const v = clipStats(c, c, c, 3);
    expect(v[0]).toBe(2);
    expect(v[13]).toBe(0);
  });

  it('extract = clipStats(mfccWithDeltas(...)) on a 16 kHz file', async () => {
    const bytes = readFileSync(exampleSpeech);
    expect(decodeWav(bytes).sampleRate).toBe(16000);
    const r = await plain.extract(bytes);
    const x = Float64Array.from(wav.decode(bytes).channelData[0]!);
    // node-wav's 32767 divisor differs slightly: compare loosely, the pipeline wiring is the point
    const m = mfccWithDeltas(x);
    const v = clipStats(m.mfcc, m.delta, m.delta2, m.frames);
    for (let i = 0; i < 78; i++) expect(Math.abs(r.vector[i]! - v[i]!)).toBeLessThan(1e-2);
  });
});

describe('AudioExtractor on real corpora', () => {
  it.skipIf(RAVDESS.missing)(
    `RAVDESS Actor_01: every clip gives 78 finite values (48 kHz -> 16 kHz) ${RAVDESS.tag}`,
    async () => {
      const files = readdirSync(ravdess).filter((f) => f.endsWith('.wav'));
      expect(files.length).toBeGreaterThan(40);
      for (const f of files) {
        const path = join(ravdess, f);
        const r = await plain.extract(readFileSync(path), path);
        expectFiniteVector(r.vector);
        expect(r.sampleRate).toBe(16000);
        expect(r.frames).toBeGreaterThan(100);
        expect(r.vad).toBeUndefined();
        expect(r.warnings).toEqual([]);
      }
    },
  );

  it.skipIf(EMODB.missing)(`EmoDB: every clip gives 78 finite values ${EMODB.tag}`, async () => {
    const files = readdirSync(emodb).filter((f) => f.endsWith('.wav'));
    expect(files.length).toBeGreaterThan(500);
    for (const f of files) {
      const path = join(emodb, f);
      const r = await plain.extract(readFileSync(path), path);
      expectFiniteVector(r.vector);
    }
  });

  it.skipIf(RAVDESS.missing)(
    `VAD on RAVDESS clips: 0 < speechSeconds < totalSeconds, and the vector changes ${RAVDESS.tag}`,
    async () => {
      for (const f of readdirSync(ravdess)
        .filter((x) => x.endsWith('.wav'))
        .slice(0, 6)) {
        const bytes = readFileSync(join(ravdess, f));
        const r = await withVad.extract(bytes);
        expect(r.vad).toBeDefined();
        const { speechSeconds, totalSeconds } = r.vad!;
        expect(speechSeconds).toBeGreaterThan(0.5);
        expect(speechSeconds).toBeLessThanOrEqual(totalSeconds);
        expect(r.warnings).toEqual([]);
        expectFiniteVector(r.vector);
        expect(r.frames).toBe(1 + Math.floor((speechSeconds * 16000) / 160));
        // RAVDESS clips open with ~0.2 s of room noise before the actor speaks: that much is trimmed
        expect(speechSeconds).toBeLessThan(totalSeconds - 0.1);
        const p = await plain.extract(bytes);
        expect(Array.from(r.vector)).not.toEqual(Array.from(p.vector));
      }
    },
  );

  it('VAD trims the digital silence around padded speech', async () => {
    const r = await withVad.extract(paddedSpeech());
    expect(r.vad!.totalSeconds).toBeCloseTo(4.5, 6);
    expect(r.vad!.speechSeconds).toBeGreaterThan(0.5);
    expect(r.vad!.speechSeconds).toBeLessThan(r.vad!.totalSeconds - 1);
    expect(r.frames).toBeLessThan(451);
  });

  it('no speech (quiet white noise): whole clip kept, VAD_NO_SPEECH warning, speechSeconds 0', async () => {
    let s = 12345;
    const noise = Array.from({ length: 16000 }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return (s / 2147483648 - 0.5) * 0.02;
    });
    const r = await withVad.extract(wavBytes(noise, 16000), 'noise.wav');
    expect(r.vad).toEqual({ speechSeconds: 0, totalSeconds: 1 });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.code).toBe('VAD_NO_SPEECH');
    expect(r.warnings[0]!.message).toMatch(/^noise\.wav: no speech found/);
    expect(r.frames).toBe(101);
    expectFiniteVector(r.vector);
  });
});

describe('AudioExtractor errors', () => {
  it('a 10 ms clip is AUDIO_EMPTY (shorter than 25 ms after resampling)', async () => {
    const tone = Array.from({ length: 160 }, (_, i) => 0.5 * Math.sin(i / 3));
    await expectRejects(
      plain.extract(wavBytes(tone, 16000), 'short.wav'),
      'AUDIO_EMPTY',
      /^short\.wav: 10\.0 ms of audio \(160 samples at 16 kHz\) is shorter than the 25 ms minimum/,
    );
    // 24 ms at 48 kHz -> 384 samples at 16 kHz: still too short; 25 ms passes
    await expectRejects(
      plain.extract(
        wavBytes(
          Array.from({ length: 1152 }, (_, i) => Math.sin(i)),
          48000,
        ),
      ),
      'AUDIO_EMPTY',
      /384 samples/,
    );
    const ok = await plain.extract(
      wavBytes(
        Array.from({ length: 400 }, (_, i) => 0.3 * Math.sin(i / 4)),
        16000,
      ),
    );
    expect(ok.frames).toBe(3);
    expectFiniteVector(ok.vector);
  });

  it('an all-zero WAV is AUDIO_EMPTY', async () => {
    await expectRejects(
      plain.extract(wavBytes(new Array<number>(16000).fill(0), 16000), 'zeros.wav'),
      'AUDIO_EMPTY',
      /digital silence/,
    );
    await expectRejects(
      withVad.extract(wavBytes(new Array<number>(16000).fill(0), 16000)),
      'AUDIO_EMPTY',
      /digital silence/,
    );
  });

  it('over maxSeconds is AUDIO_TOO_LONG (checked at the file rate, before resampling)', async () => {
    const short = new AudioExtractor({ factory, store, vad: false, maxSeconds: 2 });
    const bytes = speechStereo44k(); // 3.0 s
    await expectRejects(
      short.extract(bytes, 'long.wav'),
      'AUDIO_TOO_LONG',
      /^long\.wav: 3\.0 s of audio is over the limit of 2 s/,
    );
    expect(
      (await new AudioExtractor({ factory, store, vad: false, maxSeconds: 3 }).extract(bytes)).frames,
    ).toBe(301);
  });

  it('an absurd sample rate is AUDIO_DECODE_FAILED; an odd but real one (44101 Hz) works', async () => {
    const bytes = wavBytes(
      Array.from({ length: 4000 }, (_, i) => 0.3 * Math.sin(i / 5)),
      16000,
    );
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(24, 4_000_000_000, true);
    await expectRejects(
      plain.extract(huge, 'odd.wav'),
      'AUDIO_DECODE_FAILED',
      /^odd\.wav: unsupported sample rate 4000000000 Hz/,
    );
    const odd = bytes.slice();
    new DataView(odd.buffer).setUint32(24, 44101, true);
    const r = await plain.extract(odd);
    expect(r.frames).toBe(1 + Math.floor(Math.ceil((16000 * 4000) / 44101) / 160));
    expectFiniteVector(r.vector);
  });

  it('a non-WAV is AUDIO_DECODE_FAILED', async () => {
    await expectRejects(
      plain.extract(new TextEncoder().encode('not audio at all'), 'x.wav'),
      'AUDIO_DECODE_FAILED',
      /^x\.wav: not a RIFF\/WAVE/,
    );
  });
});

describe('Silero VAD', () => {
  it('2 s of zeros: every probability < 0.1', async () => {
    const session = await factory.session(await store.path(VAD_MODEL));
    const probs = await speechProbabilities(session, new Float64Array(32000));
    expect(probs).toHaveLength(63); // ceil(32000 / 512)
    for (const p of probs) expect(p).toBeLessThan(0.1);
  });

  it.skipIf(RAVDESS.missing)(
    `speech probabilities are high inside a RAVDESS utterance and low in its silent lead-in ${RAVDESS.tag}`,
    async () => {
      const session = await factory.session(await store.path(VAD_MODEL));
      const d = decodeWav(readFileSync(join(ravdess, '03-01-05-01-01-01-01.wav')));
      const probs = await speechProbabilities(session, resample(d.mono, d.sampleRate, 16000));
      expect(Math.max(...probs)).toBeGreaterThan(0.9);
      // the clips open with ~0.2 s of room noise before the actor speaks
      expect(Math.min(...probs.subarray(0, 3))).toBeLessThan(0.3);
    },
  );

  it('segmenter: upstream rules (start >= 0.5, end after 100 ms < 0.35, drop < 250 ms, pad 30 ms)', () => {
    const chunk = 512;
    const probs = new Float32Array(60);
    probs.fill(0.9, 10, 30); // 20 chunks = 640 ms of speech from 5120 to 15360
    probs.fill(0.4, 30, 32); // between the thresholds: still speech
    probs.fill(0.9, 40, 44); // 4 chunks = 128 ms: too short, dropped
    const segs = speechSegments(probs, 60 * chunk);
    // end = first chunk below 0.35 (32·512), confirmed after >= 100 ms; pad 480 samples each side
    expect(segs).toEqual([{ start: 10 * chunk - 480, end: 32 * chunk + 480 }]);
    // a pause of 3 chunks (96 ms) after tempEnd does not end speech: one segment
    const p1 = new Float32Array(40);
    p1.fill(0.9, 2, 12);
    p1.fill(0.9, 16, 30);
    expect(speechSegments(p1, 40 * chunk)).toEqual([{ start: 2 * chunk - 480, end: 30 * chunk + 480 }]);
    // a pause of 6 chunks does: two padded segments
    const p2 = new Float32Array(40);
    p2.fill(0.9, 2, 12);
    p2.fill(0.9, 18, 30);
    expect(speechSegments(p2, 40 * chunk)).toEqual([
      { start: 2 * chunk - 480, end: 12 * chunk + 480 },
      { start: 18 * chunk - 480, end: 30 * chunk + 480 },
    ]);
    // with a 100 ms pad the 3072-sample gap (< 2 pads) is split between the two, which then touch: merged
    expect(speechSegments(p2, 40 * chunk, { ...DEFAULT_SEGMENTER, speechPadMs: 100 })).toEqual([
      { start: 0, end: 30 * chunk + 1600 },
    ]);
    // speech running to the end of the clip ends there
    const p3 = new Float32Array(20).fill(0.95);
    expect(speechSegments(p3, 20 * chunk - 100)).toEqual([{ start: 0, end: 20 * chunk - 100 }]);
    expect(speechSegments(new Float32Array(20).fill(0.2), 20 * chunk)).toEqual([]);
  });

  it('trimToSpeech concatenates the segments', () => {
    const x = Float64Array.from({ length: 10 }, (_, i) => i);
    expect(
      Array.from(
        trimToSpeech(x, [
          { start: 1, end: 3 },
          { start: 6, end: 12 },
        ]),
      ),
    ).toEqual([1, 2, 6, 7, 8, 9]);
  });
});
