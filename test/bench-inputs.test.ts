import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUDIO_INPUT,
  DEFAULT_IMAGE_INPUT,
  DEFAULT_TEXT_INPUT,
  EXAMPLE_IMAGES,
  audioBenchInput,
  generatedSentences,
  imageBenchInput,
  speechLikeSignal,
  textBenchInput,
} from '../src/bench/bench-inputs.js';
import { mfccWithDeltas } from '../src/features/audio/mfcc.js';
import { emoflow } from './support/cli.js';
import { repoRoot } from './support/paths.js';

/** RMS of x[from, to). */
function rms(x: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

describe('built-in benchmark inputs (no corpora needed)', () => {
  it('speechLikeSignal: 60 s at 16 kHz, the same every time, loud syllables and quiet pauses', () => {
    const x = speechLikeSignal(60);
    expect(x).toHaveLength(60 * 16000);
    expect(speechLikeSignal(60)).toEqual(x);
    expect(speechLikeSignal(60, 2)).not.toEqual(x);
    let peak = 0;
    for (const v of x) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeGreaterThan(0.2);
    expect(peak).toBeLessThanOrEqual(0.5);
    // 50 ms windows: some are pauses (faint noise), most carry sound.
    const win = 800;
    const levels = Array.from({ length: x.length / win }, (_, w) => rms(x, w * win, (w + 1) * win));
    const quiet = levels.filter((l) => l < 0.002).length;
    const loud = levels.filter((l) => l > 0.03).length;
    expect(quiet).toBeGreaterThan(levels.length * 0.03);
    expect(loud).toBeGreaterThan(levels.length * 0.5);
    // Its MFCCs are finite and vary over time, as speech's do.
    const m = mfccWithDeltas(x.subarray(0, 5 * 16000));
    expect(m.frames).toBe(501);
    expect(m.mfcc.every(Number.isFinite)).toBe(true);
    const c1 = Array.from({ length: m.frames }, (_, t) => m.mfcc[t * 13 + 1]!);
    expect(Math.max(...c1) - Math.min(...c1)).toBeGreaterThan(5);
  });

  it('generatedSentences: the same every time, 3 to about 40 words, mostly distinct', () => {
    const s = generatedSentences(1024);
    expect(s).toHaveLength(1024);
    expect(generatedSentences(1024)).toEqual(s);
    expect(generatedSentences(10)).toEqual(s.slice(0, 10));
    const words = s.map((x) => x.split(/\s+/).length);
    expect(Math.min(...words)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...words)).toBeGreaterThan(25);
    expect(Math.max(...words)).toBeLessThanOrEqual(50);
    expect(new Set(s).size).toBeGreaterThan(500);
    for (const x of s) expect(x).toMatch(/^[A-Z].*[.!?]$/);
  });

  it('a given input is read and named as given, relative to the package root inside it', async () => {
    const audio = await audioBenchInput(join(repoRoot, 'examples', 'calls', '0003.wav')); // 44.1 kHz stereo
    expect(audio.input).toBe(join('examples', 'calls', '0003.wav'));
    expect(audio.path).toBe(join(repoRoot, 'examples', 'calls', '0003.wav'));
    expect(audio.x16k.length).toBeGreaterThan(6.5 * 16000);
    expect(audio.x16k.length).toBeLessThan(6.7 * 16000);
    const text = await textBenchInput(join(repoRoot, 'examples', 'posts', 'parcel.txt'), 5);
    expect(text.sentences).toHaveLength(1);
    expect(text.input).toBe(join('examples', 'posts', 'parcel.txt'));
    const images = await imageBenchInput(join(repoRoot, 'examples', 'photos'), 5);
    expect(images.files.map((f) => f.slice(repoRoot.length))).toEqual([
      join('examples', 'photos', 'astronaut-face.png'),
      join('examples', 'photos', 'astronaut.jpg'),
    ]);
    await expect(audioBenchInput(join(repoRoot, 'nope.wav'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('without --input: the corpora beside the clone where present, else the built-in inputs', async () => {
    const audio = await audioBenchInput(undefined);
    const text = await textBenchInput(undefined, 64);
    const images = await imageBenchInput(undefined, 7);
    if (existsSync(DEFAULT_AUDIO_INPUT())) expect(audio.path).toBe(DEFAULT_AUDIO_INPUT());
    else {
      expect(audio.path).toBeUndefined();
      expect(audio.input).toMatch(/^built-in: 60 s generated speech-like signal/);
      expect(audio.x16k).toEqual(speechLikeSignal(60));
    }
    if (existsSync(DEFAULT_TEXT_INPUT())) expect(text.input).toMatch(/dev_sent_emo\.csv$/);
    else {
      expect(text.input).toMatch(/^built-in: 64 generated English sentences/);
      expect(text.sentences).toEqual(generatedSentences(64));
    }
    expect(text.sentences).toHaveLength(64);
    expect(images.files).toHaveLength(7);
    if (existsSync(DEFAULT_IMAGE_INPUT())) expect(images.input).toMatch(/FER2013Valid$/);
    else {
      expect(images.input).toMatch(/^built-in: the repository's example photos/);
      expect(images.files.map((f) => f.slice(join(repoRoot, 'examples').length + 1))).toEqual([
        ...EXAMPLE_IMAGES,
        ...EXAMPLE_IMAGES,
        EXAMPLE_IMAGES[0],
      ]);
    }
  });

  it('emoflow bench mfcc --json names its input', async () => {
    const r = await emoflow(['bench', 'mfcc', '--repeats', '1', '--no-torchaudio', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ input: string; audioSeconds: number; audioSecondsPerSecond: number }>();
    expect(j.audioSeconds).toBeCloseTo(60, 3);
    expect(j.audioSecondsPerSecond).toBeGreaterThan(0);
    expect(j.input).toBe((await audioBenchInput(undefined)).input);
  });
});
