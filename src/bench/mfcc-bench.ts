import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { packageRoot } from '../core/package-root.js';
import wav from 'node-wav';
import { mfccWithDeltas } from '../features/audio/mfcc.js';
import { cpuModel, median } from './timing.js';

const execFileAsync = promisify(execFile);

/** The reference interpreter: Debian's python3 with python3-torchaudio. */
const PYTHON = '/usr/bin/python3';

export interface MfccBenchOptions {
  /** Timed runs per measurement (median taken), after one warm-up. Default 7. */
  repeats?: number;
  /** Also measure torchaudio (scripts/bench/torchaudio_mfcc.py) in the same run, when it can be imported. */
  torchaudio?: boolean;
  /** The WAV `x16k` came from, handed to the torchaudio script; without it a float32 WAV of `x16k` is written to a temp folder. */
  wavPath?: string;
  /** Alternating rounds (ours, then torchaudio) when torchaudio runs; the median round is reported. Default 3. */
  rounds?: number;
}

export interface MfccBenchResult {
  stage: 'mfcc';
  /** Seconds of 16 kHz audio turned into MFCC + delta + delta2 per second of compute, one thread. */
  audioSecondsPerSecond: number;
  threads: 1;
  cpu: string;
  /** As audioSecondsPerSecond, from the fastest run (best-of): less sensitive to a busy machine than the median. */
  audioSecondsPerSecondBest: number;
  torchaudioAudioSecondsPerSecond?: number;
  torchaudioAudioSecondsPerSecondBest?: number;
  /** ours / torchaudio on medians (> 1: faster than torchaudio). */
  ratio?: number;
  /** ours / torchaudio on best-of runs. torchaudio's run times on a shared machine can be bimodal, so both are given. */
  ratioBest?: number;
  /** Median seconds of one run of ours. */
  seconds: number;
  /** Seconds of the fastest run of ours. */
  bestSeconds: number;
}

/** Seconds of each of `repeats` runs of mfccWithDeltas after one warm-up. JS runs on this one thread. */
function timeOurs(x16k: Float64Array, repeats: number): number[] {
  mfccWithDeltas(x16k);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    mfccWithDeltas(x16k);
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

async function torchaudioAvailable(): Promise<boolean> {
  try {
    await execFileAsync(PYTHON, ['-c', 'import torchaudio'], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs the reference script once; returns the seconds of each of its timed runs, or undefined if it failed. */
async function timeTorchaudio(wavPath: string, repeats: number): Promise<number[] | undefined> {
  const script = join(packageRoot(), 'scripts', 'bench', 'torchaudio_mfcc.py');
  try {
    // The script pins torch to one thread itself (torch.set_num_threads(1)).
    const { stdout } = await execFileAsync(PYTHON, [script, wavPath, '--runs', String(repeats)], {
      timeout: 300_000,
    });
    const last = stdout.trim().split('\n').pop() ?? '';
    const parsed = JSON.parse(last) as { runs?: unknown };
    return Array.isArray(parsed.runs) && parsed.runs.every((t) => typeof t === 'number')
      ? (parsed.runs as number[])
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Speed of the MFCC stage (MFCC + delta + delta2) on already decoded 16 kHz audio: `repeats`
 * timed runs after a warm-up, decode excluded, reported as the median and the best run. With
 * `torchaudio`, the reference script runs in alternation with ours (`rounds` times, each side
 * timed the same way) so that both see the same machine load; each side's runs are pooled over
 * the rounds, and the ratio is given on medians and on best-of runs.
 */
export async function benchMfcc(x16k: Float64Array, opts: MfccBenchOptions = {}): Promise<MfccBenchResult> {
  const repeats = opts.repeats ?? 7;
  const audioSeconds = x16k.length / 16000;
  const cpu = cpuModel();

  const ofOurs = (times: number[]): MfccBenchResult => {
    const seconds = median(times);
    const bestSeconds = Math.min(...times);
    return {
      stage: 'mfcc',
      audioSecondsPerSecond: audioSeconds / seconds,
      audioSecondsPerSecondBest: audioSeconds / bestSeconds,
      threads: 1,
      cpu,
      seconds,
      bestSeconds,
    };
  };
  const withTorch = opts.torchaudio === true && (await torchaudioAvailable());
  if (!withTorch) return ofOurs(timeOurs(x16k, repeats));

  let tmp: string | undefined;
  let wavPath = opts.wavPath;
  try {
    if (wavPath === undefined) {
      tmp = await mkdtemp(join(tmpdir(), 'emoflow-bench-'));
      wavPath = join(tmp, 'x16k.wav');
      await writeFile(
        wavPath,
        wav.encode([Float32Array.from(x16k)], { sampleRate: 16000, float: true, bitDepth: 32 }),
      );
    }
    // Every timed run of both sides, pooled over the alternating rounds.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < (opts.rounds ?? 3); r++) {
      ours.push(...timeOurs(x16k, repeats));
      const t = await timeTorchaudio(wavPath, repeats);
      if (t !== undefined) theirs.push(...t);
    }
    const result = ofOurs(ours);
    if (theirs.length > 0) {
      const ref = audioSeconds / median(theirs);
      const refBest = audioSeconds / Math.min(...theirs);
      result.torchaudioAudioSecondsPerSecond = ref;
      result.torchaudioAudioSecondsPerSecondBest = refBest;
      result.ratio = result.audioSecondsPerSecond / ref;
      result.ratioBest = result.audioSecondsPerSecondBest / refBest;
    }
    return result;
  } finally {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }
}
