import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';
import { AudioExtractor } from '../features/audio/audio-extractor.js';
import { resample } from '../features/audio/resample.js';
import { decodeWav } from '../io/wav.js';
import { ModelStore } from '../models/model-store.js';
import { SessionFactory, type Device } from '../models/session-factory.js';
import { HeadRunner } from '../pipeline/head-runner.js';

/**
 * `emoflow bench timeline`: a long recording (default 60 minutes) made of the example calls with
 * pauses between them, written to a temporary WAV, then read as a timeline (two streaming passes)
 * and its segments scored by the head; segments per second, the real-time factor and the
 * process's peak resident memory.
 */

const RATE = 16000;

/**
 * Writes a 16 kHz 16-bit mono WAV of `seconds`: examples/calls' clips one after another, each
 * followed by 1.5 s of faint noise, over and over; written in blocks, never held whole.
 */
export async function writeLongWav(path: string, seconds: number): Promise<void> {
  const calls = join(packageRoot(), 'examples', 'calls');
  const clips: Float64Array[] = [];
  for (const f of ['0001.wav', '0002.wav', '0003.wav']) {
    const d = decodeWav(await readFile(join(calls, f)), f);
    clips.push(resample(d.mono, d.sampleRate, RATE));
  }
  const total = Math.round(seconds * RATE);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + 2 * total, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(2 * RATE, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(2 * total, 40);
  const fh = await open(path, 'w');
  try {
    await fh.write(header);
    let written = 0;
    let k = 0;
    let noise = 12345;
    const pause = new Float64Array(1.5 * RATE).map(() => {
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      return 0.002 * (noise / 2 ** 32 - 0.5);
    });
    while (written < total) {
      for (const part of [clips[k++ % clips.length]!, pause]) {
        const n = Math.min(part.length, total - written);
        const buf = Buffer.alloc(2 * n);
        for (let i = 0; i < n; i++)
          buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(part[i]! * 32767))), 2 * i);
        await fh.write(buf);
        written += n;
      }
    }
  } finally {
    await fh.close();
  }
}

export interface TimelineBenchResult {
  recordingSeconds: number;
  fileMb: number;
  segments: number;
  /** Reading, the VAD pass and the segments' features. */
  extractSeconds: number;
  /** Scoring the segments with the head. */
  scoreSeconds: number;
  segmentsPerSecond: number;
  /** Seconds of recording per second of compute (extraction and scoring). */
  realtimeFactor: number;
  /** Resident memory once the models were loaded, and the process's peak (all of it, models included). */
  rssMb: { afterModels: number; peak: number };
}

export async function benchTimeline(options: {
  minutes: number;
  device: Device;
  head: string;
  modelsDir?: string;
}): Promise<TimelineBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-bench-timeline-'));
  const factory = new SessionFactory({ device: options.device, intraOpThreads: 1, interOpThreads: 1 });
  try {
    const path = join(dir, 'recording.wav');
    await writeLongWav(path, options.minutes * 60);
    const runner = await HeadRunner.load(options.head, factory);
    const extractor = new AudioExtractor({
      factory,
      store: options.modelsDir === undefined ? new ModelStore() : new ModelStore(options.modelsDir),
      vad: runner.vad,
      prosody: runner.prosody,
    });
    // A short timeline first, so that the models are loaded before memory is read.
    await extractor.timeline(join(packageRoot(), 'examples', 'calls', '0001.wav'), 'warm-up');
    const afterModels = process.memoryUsage().rss / 2 ** 20;
    const t0 = performance.now();
    const timeline = await extractor.timeline(path, 'recording.wav');
    const t1 = performance.now();
    await runner.predict([
      { id: 'recording', inputs: { audio: 'recording.wav' }, modalities: {}, warnings: [], timeline },
    ]);
    const t2 = performance.now();
    const seconds = (t2 - t0) / 1000;
    return {
      recordingSeconds: timeline.totalSeconds,
      fileMb: (await stat(path)).size / 2 ** 20,
      segments: timeline.segments.length,
      extractSeconds: (t1 - t0) / 1000,
      scoreSeconds: (t2 - t1) / 1000,
      segmentsPerSecond: timeline.segments.length / seconds,
      realtimeFactor: timeline.totalSeconds / seconds,
      rssMb: { afterModels, peak: process.resourceUsage().maxRSS / 1024 },
    };
  } finally {
    await factory.release();
    await rm(dir, { recursive: true, force: true });
  }
}
