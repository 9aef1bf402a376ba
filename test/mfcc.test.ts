import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchMfcc } from '../src/bench/mfcc-bench.js';
import { isEmoflowError } from '../src/core/errors.js';
import { mfccWithDeltas } from '../src/features/audio/mfcc.js';
import { deltas, frameCount, melFilterbank, mfcc } from '../src/features/audio/mfcc.js';
import { resample } from '../src/features/audio/resample.js';
import { decodeWav } from '../src/io/wav.js';
import { sharedNeed } from './support/paths.js';

const FIXTURES = sharedNeed('fixtures/mfcc');
const fixtures = FIXTURES.path;

interface Fixture {
  file: string;
  sampleRate: number;
  frames: number;
  mfcc: number[][];
  delta: number[][];
  delta2: number[][];
}

const names = (FIXTURES.missing ? [] : readdirSync(fixtures))
  .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

/** Contract of SPEC §6: |ours − ref| ≤ 0.02 + 1e-3·|ref|. Returns the max abs error and the worst contract ratio. */
function compare(ours: Float32Array, ref: number[][]): { maxAbs: number; worstRatio: number } {
  let maxAbs = 0;
  let worstRatio = 0;
  ref.forEach((row, t) =>
    row.forEach((r, i) => {
      const e = Math.abs(ours[t * 13 + i]! - r);
      maxAbs = Math.max(maxAbs, e);
      worstRatio = Math.max(worstRatio, e / (0.02 + 1e-3 * Math.abs(r)));
    }),
  );
  return { maxAbs, worstRatio };
}

describe.skipIf(FIXTURES.missing)(`mfcc vs torchaudio fixtures (SPEC §1-5) ${FIXTURES.tag}`, () => {
  it('has the 10 shared fixtures', () => {
    expect(names).toHaveLength(10);
  });

  const worst = { mfcc: 0, delta: 0, delta2: 0 };
  for (const name of names) {
    it(`${name}: equal frames, every value within 0.02 + 1e-3·|ref| (and within 5e-5 abs)`, () => {
      const fx = JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8')) as Fixture;
      const wav = decodeWav(readFileSync(join(fixtures, fx.file)));
      const x = resample(wav.mono, wav.sampleRate, 16000);
      const r = mfccWithDeltas(x);
      expect(r.frames).toBe(fx.frames);
      expect(fx.mfcc).toHaveLength(fx.frames);
      for (const key of ['mfcc', 'delta', 'delta2'] as const) {
        expect(r[key]).toHaveLength(fx.frames * 13);
        const c = compare(r[key], fx[key]);
        worst[key] = Math.max(worst[key], c.maxAbs);
        expect(c.worstRatio).toBeLessThanOrEqual(1);
        // Observed max over the 10 clips: mfcc 3.8e-6, delta 1.3e-6, delta2 8.1e-7 (float32 output
        // and the fixtures' 6-decimal rounding); the tighter bound 5e-5 guards against regressions.
        expect(c.maxAbs).toBeLessThan(5e-5);
      }
    });
  }

  it('reports the worst errors', () => {
    console.log(
      `max abs error vs fixtures: mfcc ${worst.mfcc.toExponential(2)}, delta ${worst.delta.toExponential(2)}, delta2 ${worst.delta2.toExponential(2)}`,
    );
    expect(worst.mfcc).toBeGreaterThan(0);
  });
});

describe('mfcc details', () => {
  it('frames = 1 + floor(N/160)', () => {
    expect(frameCount(201)).toBe(2);
    expect(frameCount(16000)).toBe(101);
    const x = new Float64Array(1000).map((_, i) => Math.sin(i / 7));
    expect(mfcc(x).frames).toBe(7);
    expect(mfcc(x).mfcc).toHaveLength(7 * 13);
  });

  it('needs more than 200 samples (reflect padding): AUDIO_EMPTY otherwise', () => {
    const short = new Float64Array(200).fill(0.1);
    let err: unknown;
    try {
      mfcc(short);
    } catch (e) {
      err = e;
    }
    expect(isEmoflowError(err, 'AUDIO_EMPTY')).toBe(true);
    expect((err as Error).message).toMatch(/200 samples/);
    expect(mfcc(new Float64Array(201).fill(0.1)).frames).toBe(2);
  });

  it('silence gives log(1e-6) in every mel band: c0 = 40·log(1e-6)/sqrt(40), others 0', () => {
    const r = mfcc(new Float64Array(1600));
    const c0 = (40 * Math.log(1e-6)) / Math.sqrt(40);
    for (let t = 0; t < r.frames; t++) {
      expect(r.mfcc[t * 13]).toBeCloseTo(c0, 4);
      for (let i = 1; i < 13; i++) expect(Math.abs(r.mfcc[t * 13 + i]!)).toBeLessThan(1e-5);
    }
  });

  it('mel filterbank: 40 triangles with peak below 1, HTK edges (bin 0 and 8 kHz ~unused)', () => {
    const fb = melFilterbank();
    expect(fb).toHaveLength(201 * 40);
    for (let m = 0; m < 40; m++) {
      let peak = 0;
      for (let k = 0; k < 201; k++) peak = Math.max(peak, fb[k * 40 + m]!);
      expect(peak).toBeGreaterThan(0.3);
      expect(peak).toBeLessThanOrEqual(1);
    }
    for (let m = 0; m < 40; m++) {
      expect(fb[m]).toBe(0);
      // the last edge is mel_to_hz(hz_to_mel(8000)) = 8000 up to rounding
      expect(fb[200 * 40 + m]).toBeLessThan(1e-9);
    }
  });

  it('deltas: hand-computed values with edge replication', () => {
    // one coefficient, T = 5: c = [0, 1, 4, 9, 16]
    const c = Float32Array.from([0, 1, 4, 9, 16]);
    const d = deltas(c, 5, 1);
    // t=0: (c1 − c0) + 2(c2 − c0) = 1 + 8 = 9 -> 0.9
    // t=1: (4 − 0) + 2(9 − 0) = 22 -> 2.2
    // t=2: (9 − 1) + 2(16 − 0) = 40 -> 4
    // t=3: (16 − 4) + 2(16 − 1) = 42 -> 4.2
    // t=4: (16 − 9) + 2(16 − 4) = 31 -> 3.1
    expect(Array.from(d)).toEqual([0.9, 2.2, 4, 4.2, 3.1].map((v) => Math.fround(v)));
    // a linear ramp has delta 1 away from the edges
    const ramp = Float32Array.from({ length: 10 }, (_, i) => i);
    expect(deltas(ramp, 10, 1)[5]).toBeCloseTo(1, 12);
  });
});

describe('benchMfcc (shape only; speeds are never asserted)', () => {
  it('reports stage, threads, cpu and a positive rate; no torchaudio fields unless asked', async () => {
    const x = Float64Array.from({ length: 16000 }, (_, i) => Math.sin(i / 9));
    const r = await benchMfcc(x, { repeats: 3 });
    expect(r.stage).toBe('mfcc');
    expect(r.threads).toBe(1);
    expect(r.cpu.length).toBeGreaterThan(0);
    expect(r.audioSecondsPerSecond).toBeGreaterThan(0);
    expect(r.audioSecondsPerSecond).toBeCloseTo(1 / r.seconds, 6);
    // Best-of: the fastest of the runs, so never slower than the median.
    expect(r.bestSeconds).toBeLessThanOrEqual(r.seconds);
    expect(r.audioSecondsPerSecondBest).toBeCloseTo(1 / r.bestSeconds, 6);
    expect(r.torchaudioAudioSecondsPerSecond).toBeUndefined();
    expect(r.ratio).toBeUndefined();
    expect(r.ratioBest).toBeUndefined();
  });
});
