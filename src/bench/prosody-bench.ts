import { performance } from 'node:perf_hooks';
import { prosodyVector } from '../features/audio/prosody.js';
import { cpuModel, median } from './timing.js';

export interface ProsodyBenchResult {
  stage: 'prosody';
  /** Seconds of 16 kHz audio turned into the `audio-prosody` vector per second of compute, one thread. */
  audioSecondsPerSecond: number;
  threads: 1;
  cpu: string;
  /** Median seconds of one run. */
  seconds: number;
}

/**
 * Speed of the prosody features (YIN F0, frame energy, ZCR and spectral measures, jitter, shimmer and
 * the 19 clip statistics) on already decoded 16 kHz audio: median of `repeats` timed runs after one
 * warm-up, decoding excluded. JS runs on this one thread.
 */
export function benchProsody(x16k: Float64Array, repeats = 7): ProsodyBenchResult {
  prosodyVector(x16k);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    prosodyVector(x16k);
    times.push((performance.now() - t0) / 1000);
  }
  const seconds = median(times);
  return {
    stage: 'prosody',
    audioSecondsPerSecond: x16k.length / 16000 / seconds,
    threads: 1,
    cpu: cpuModel(),
    seconds,
  };
}
