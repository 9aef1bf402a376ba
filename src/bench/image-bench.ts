import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ModelStore } from '../models/model-store.js';
import { timeIt } from './timing.js';
import type { SessionFactory } from '../models/session-factory.js';
import {
  extractImageBatch,
  loadImageModels,
  prepareOrtInputs,
  runOrtOnly,
  type ImageInput,
  type ImageModels,
  type PreparedOrtInputs,
} from '../features/image/image-extractor.js';

export interface ImageBenchOptions {
  factory: SessionFactory;
  store: ModelStore;
  /** Images per CNN run (and per extractor call); default 64. */
  batch?: number;
}

export interface ImageBenchResult {
  stage: 'image';
  /** Images per second through the full path: decode, detect, crop, CNN. */
  perSecond: number;
  /** Images per second of onnxruntime alone on the same, already prepared, tensors. */
  rawOrtPerSecond: number;
  /** onnxruntime intra-op threads of the factory (0 = onnxruntime's choice). */
  threads: number;
  batch: number;
  images: number;
}

/** Timing rounds; each round times both paths, and the best of each is reported. */
const ROUNDS = 3;

/**
 * Throughput of the image path against onnxruntime alone on the same inputs, measured in the
 * same process and alternated (full, raw, full, raw) so that machine load hits both alike.
 * Files are read before timing. The raw inputs are the exact tensors the full path feeds
 * onnxruntime (one 320x240 detector tensor per image, one [n, 1, 64, 64] crop tensor per batch).
 *
 * Threads: `threads` is the factory's onnxruntime intra-op count (1 for the figure).
 * onnxruntime-node runs sessions on the JS thread, so every ORT run, resize and crop of both
 * paths is on that one thread. libvips is held to one thread per image for the run
 * (sharp.concurrency(1), restored afterwards; it is already the default on glibc Linux without
 * jemalloc), and the full path has at most one decode in flight: the next image's, which
 * overlaps the current detector run (see image-extractor.ts). So the full path keeps at most
 * two threads busy where raw onnxruntime keeps one; decoding strictly in turn measured about
 * 0.5-0.6 of the raw rate on the 2-core development machine, instead of about 0.75-0.8.
 */
export async function benchImage(
  files: readonly string[],
  opts: ImageBenchOptions,
): Promise<ImageBenchResult> {
  const batch = opts.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be a positive integer, got ${batch}`);
  const items: ImageInput[] = await Promise.all(
    files.map(async (path) => ({ bytes: await readFile(path), path })),
  );
  const batches: ImageInput[][] = [];
  for (let i = 0; i < items.length; i += batch) batches.push(items.slice(i, i + batch));

  const previousConcurrency = sharp.concurrency();
  sharp.concurrency(1);
  try {
    const models = await loadImageModels(opts.factory, opts.store);
    const prepared: PreparedOrtInputs[] = [];
    for (const b of batches) prepared.push(await prepareOrtInputs(models, b));

    // Warm-up: sessions' first runs allocate and plan.
    if (batches[0] !== undefined && prepared[0] !== undefined) {
      await extractImageBatch(models, batches[0]);
      await runOrtOnly(models, prepared[0]);
    }

    let full = Infinity;
    let raw = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      full = Math.min(full, await timeIt(() => runFull(models, batches)));
      raw = Math.min(raw, await timeIt(() => runRaw(models, prepared)));
    }
    return {
      stage: 'image',
      perSecond: items.length / full,
      rawOrtPerSecond: items.length / raw,
      threads: opts.factory.threads,
      batch,
      images: items.length,
    };
  } finally {
    sharp.concurrency(previousConcurrency);
  }
}

async function runFull(models: ImageModels, batches: readonly ImageInput[][]): Promise<void> {
  for (const b of batches) await extractImageBatch(models, b);
}

async function runRaw(models: ImageModels, prepared: readonly PreparedOrtInputs[]): Promise<void> {
  for (const p of prepared) await runOrtOnly(models, p);
}
