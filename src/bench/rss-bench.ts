import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wav from 'node-wav';
import sharp from 'sharp';
import { packageRoot } from '../core/package-root.js';
import type { Device } from '../models/session-factory.js';
import { ingest } from '../runtime/embedded/ingest.js';
import type { Format } from '../export/writers.js';

/**
 * A 16 kHz 16-bit mono WAV of a chirp with a little noise (never silent), written by node-wav
 * (the package the project writes WAVs with; docs/features.md).
 */
export function chirpWav(seconds: number, seed: number): Uint8Array {
  const rate = 16000;
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const f = 150 + 100 * seed + (400 * i) / n;
    x[i] = 0.4 * Math.sin((2 * Math.PI * f * i) / rate) + 0.05 * (s / 2 ** 32 - 0.5);
  }
  return new Uint8Array(wav.encode([x], { sampleRate: rate, bitDepth: 16 }));
}

/**
 * Writes `n` generated samples in folders of 1,000: each a sentence, and every other one a
 * face image and a short speech-like clip as well (a few distinct files, copied).
 */
export async function makeRssBatch(dir: string, n: number): Promise<string> {
  const root = join(dir, 'batch');
  const face = join(packageRoot(), 'examples', 'photos', 'astronaut-face.png');
  const images: string[] = [];
  const clips: string[] = [];
  await mkdir(join(dir, 'src'), { recursive: true });
  for (let k = 0; k < 4; k++) {
    const img = join(dir, 'src', `face${k}.png`);
    await sharp(face)
      .extract({ left: 4 * k, top: 4 * k, width: 80, height: 80 })
      .resize(48, 48)
      .png()
      .toFile(img);
    images.push(img);
    const wav = join(dir, 'src', `clip${k}.wav`);
    await writeFile(wav, chirpWav(0.6, k + 1));
    clips.push(wav);
  }
  const words = ['happy', 'furious', 'scared', 'calm', 'sad', 'surprised', 'disgusted', 'fine'];
  for (let i = 0; i < n; i++) {
    const folder = join(root, `part-${String(Math.floor(i / 1000)).padStart(3, '0')}`);
    if (i % 1000 === 0) await mkdir(folder, { recursive: true });
    const stem = join(folder, String(i).padStart(6, '0'));
    await writeFile(
      `${stem}.txt`,
      `Message ${i}: honestly I feel ${words[i % words.length]} about ${words[(i * 7) % words.length]} things today.`,
    );
    if (i % 2 === 0) {
      await copyFile(images[i % 4]!, `${stem}.png`);
      await copyFile(clips[(i >> 1) % 4]!, `${stem}.wav`);
    }
  }
  return root;
}

export interface RssResult {
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Resident set size (all threads) when the given share of the records were written. */
  rssMb: { atStart: number; at10pct: number; at50pct: number; at100pct: number; peak: number };
  /** Growth over the second half of the run, MB per 1,000 samples. */
  growthMbPer1000: number;
  records: { ok: number; partial: number; failed: number };
}

/** Ingests `n` generated samples and samples the process's RSS as records are written. */
export async function benchRss(options: {
  samples: number;
  device: Device;
  format: Format;
}): Promise<RssResult> {
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-rss-'));
  try {
    const root = await makeRssBatch(dir, options.samples);
    const rss = () => process.memoryUsage().rss / 2 ** 20;
    const atStart = rss();
    const marks: { done: number; mb: number }[] = [];
    let peak = atStart;
    const timer = setInterval(() => (peak = Math.max(peak, rss())), 100);
    const summary = await ingest({
      input: root,
      out: join(dir, `out.${options.format}`),
      format: options.format,
      mode: 'new',
      head: join(packageRoot(), 'models', 'heads', 'default'),
      device: options.device,
      onProgress: (p) => marks.push({ done: p.done, mb: rss() }),
    }).finally(() => clearInterval(timer));
    const n = summary.written;
    const at = (f: number) => marks.find((m) => m.done >= f * n)?.mb ?? rss();
    const half = marks.filter((m) => m.done >= n / 2);
    const growth =
      half.length > 1
        ? ((half.at(-1)!.mb - half[0]!.mb) / Math.max(1, half.at(-1)!.done - half[0]!.done)) * 1000
        : 0;
    return {
      samples: n,
      seconds: summary.seconds,
      samplesPerSecond: summary.samplesPerSecond,
      rssMb: { atStart, at10pct: at(0.1), at50pct: at(0.5), at100pct: at(1), peak },
      growthMbPer1000: growth,
      records: summary.records,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
