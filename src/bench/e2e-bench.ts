import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODALITIES, type Modality } from '../core/labels.js';
import { packageRoot } from '../core/package-root.js';
import type { Sample } from '../core/sample.js';
import { walkFolder } from '../data/folder.js';
import { buildExtractors } from '../features/extractors.js';
import type { ExtractorInput } from '../core/sample.js';
import { ModelStore } from '../models/model-store.js';
import { SessionFactory, type Device } from '../models/session-factory.js';
import { extractSamples, readSamples, type SampleFeatures } from '../pipeline/extract.js';
import { HeadRunner } from '../pipeline/head-runner.js';
import { ingest, type IngestSummary } from '../runtime/embedded/ingest.js';
import { median } from './timing.js';
import { connectRedis } from '../runtime/queue/connection.js';
import { ingestViaQueue } from '../runtime/queue/ingest-queue.js';
import { deletePrefix } from '../runtime/queue/store.js';
import { startWorkerProcess, stopWorkerProcess, tasksetPath } from '../runtime/queue/worker-process.js';

/** Every non-empty subset of the three modalities: the fixed mix of the e2e batch. */
const COMBOS: Modality[][] = [
  ['text'],
  ['image'],
  ['audio'],
  ['text', 'image'],
  ['text', 'audio'],
  ['image', 'audio'],
  ['text', 'image', 'audio'],
];

/** Inputs of the batch: the committed examples, so the benchmark needs nothing beyond the clone. */
const SOURCES: Record<Modality, string[]> = {
  text: [
    'posts/good-news.txt',
    'posts/commute.txt',
    'posts/goodbye.txt',
    'posts/parcel.txt',
    'mixed/launch.txt',
    'mixed/complaint.txt',
  ],
  image: ['photos/astronaut.jpg', 'photos/astronaut-face.png', 'mixed/launch.jpg'],
  audio: ['calls/0001.wav', 'calls/0002.wav', 'calls/0003.wav', 'mixed/launch.wav', 'mixed/complaint.wav'],
};

/**
 * Writes the fixed mixed batch: `perCombo` samples of each of the 7 modality subsets, files
 * cycling through the committed examples. Returns the folder.
 */
export async function makeE2eBatch(dir: string, perCombo: number): Promise<string> {
  const examples = join(packageRoot(), 'examples');
  const root = join(dir, 'batch');
  await mkdir(root, { recursive: true });
  let n = 0;
  for (const combo of COMBOS) {
    for (let k = 0; k < perCombo; k++, n++) {
      const stem = join(root, `${combo.join('-')}-${String(k).padStart(4, '0')}`);
      for (const m of combo) {
        const src = SOURCES[m][n % SOURCES[m].length]!;
        await copyFile(join(examples, src), stem + src.slice(src.lastIndexOf('.')));
      }
    }
  }
  return root;
}

export interface E2eResult {
  embedded: {
    samples: number;
    samplesPerSecond: number;
    boundSamplesPerSecond: number;
    ratio: number;
    peakRssMb: number;
    workers: number;
    startupSeconds: number;
  };
  /**
   * CPU seconds per sample of each stage (all threads of the process, so sharp's decoding on
   * libuv threads counts), each stage run alone from one JS thread over the same samples.
   */
  stages: Record<'decode' | Modality | 'head', number>;
  /** The same stages' wall seconds per sample. */
  stagesWall: Record<'decode' | Modality | 'head', number>;
  cores: number;
  queue?: QueueBench;
}

export interface QueueBench {
  oneWorker: { samplesPerSecond: number; workers: number };
  /** Embedded samples per second / one worker's: the queue's cost at equal threads. */
  overheadVsEmbedded: number;
  oneCoreWorker: { samplesPerSecond: number };
  twoOneCoreWorkers: { samplesPerSecond: number };
  scaling: number;
  /** Whether the one-core workers were held to one core each (taskset) or only to one thread. */
  pinned: boolean;
}

/**
 * The end-to-end benchmark of the embedded runtime (issue: embedded ingestion). Stages are
 * timed alone on this thread (onnxruntime on one thread): `decode` reads the input files,
 * `text` / `image` / `audio` run each extractor on its bytes (format decoding, detection, CNN,
 * MFCC and the transformer included), `head` scores the extracted features. Each stage's cost
 * is its CPU seconds (every thread of the process: sharp decodes on libuv threads while the JS
 * thread runs onnxruntime, so wall time would undercount the work). The bound is cores / (sum
 * of the stages' CPU seconds per sample): every core busy, no overhead. The embedded run is
 * `emoflow ingest` on the same folder with its default workers, timed after startup.
 */
export async function benchE2e(options: {
  perCombo: number;
  device: Device;
  workers?: number;
  batch?: number;
  /** Also measure the queue runtime on this Redis (worker processes started here). */
  redis?: string;
  rounds?: number;
}): Promise<E2eResult> {
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-e2e-'));
  try {
    const root = await makeE2eBatch(dir, options.perCombo);
    const samples: Sample[] = [];
    for await (const s of walkFolder(root).samples) samples.push(s);
    const batch = options.batch ?? 32;
    const headDir = join(packageRoot(), 'models', 'heads', 'default');
    // Shared machines are noisy: stages and the embedded run are each measured `rounds` times,
    // alternating, and the medians reported.
    const rounds = options.rounds ?? 3;
    const stageRuns: { cpu: Stages; wall: Stages }[] = [];
    const rates: number[] = [];
    let peak = process.memoryUsage().rss;
    let summary: IngestSummary | undefined;
    for (let r = 0; r < rounds; r++) {
      stageRuns.push(await timeStages(samples, headDir, options.device, batch));
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      summary = await ingest({
        input: root,
        out: join(dir, 'out.jsonl'),
        format: 'jsonl',
        mode: 'force',
        head: headDir,
        device: options.device,
        batch,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
      }).finally(() => clearInterval(timer));
      rates.push(summary.written / (summary.seconds - summary.startupSeconds));
    }
    const med = (which: 'cpu' | 'wall') =>
      Object.fromEntries(
        Object.keys(stageRuns[0]![which]).map((k) => [
          k,
          median(stageRuns.map((x) => x[which][k as keyof Stages])),
        ]),
      ) as Stages;
    const stages = med('cpu');
    const stagesWall = med('wall');
    const cores = availableParallelism();
    const bound = cores / Object.values(stages).reduce((a, b) => a + b, 0);
    const rate = median(rates);
    const workers = summary!.workers;
    const queue =
      options.redis === undefined
        ? undefined
        : await benchQueue(root, options.redis, rate, { workers, device: options.device, batch, rounds });
    return {
      embedded: {
        samples: summary!.written,
        samplesPerSecond: rate,
        boundSamplesPerSecond: bound,
        ratio: rate / bound,
        peakRssMb: peak / 2 ** 20,
        workers,
        startupSeconds: summary!.startupSeconds,
      },
      stages,
      stagesWall,
      cores,
      ...(queue === undefined ? {} : { queue }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Stages = E2eResult['stages'];

/** Wall and CPU seconds (every thread of the process: libuv and libvips included) of `fn`. */
async function clock(fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

async function timeStages(
  samples: readonly Sample[],
  headDir: string,
  device: Device,
  batch: number,
): Promise<{ cpu: Stages; wall: Stages }> {
  const factory = new SessionFactory({ device, intraOpThreads: 1, interOpThreads: 1 });
  const store = new ModelStore();
  const head = await HeadRunner.load(headDir, factory);
  const extractors = await buildExtractors({
    factory,
    store,
    modalities: [...MODALITIES],
    vad: head.vad,
    prosody: head.prosody,
    ...(head.lexicalBuckets === undefined ? {} : { lexicalBuckets: head.lexicalBuckets }),
    batch,
  });
  try {
    // Warm-up: one pass over a few samples, so one-off session costs fall outside the timing.
    await head.predict(await extractSamples(samples.slice(0, 14), extractors));
    const n = samples.length;
    const cpu: Stages = { decode: 0, text: 0, image: 0, audio: 0, head: 0 };
    const wall: Stages = { ...cpu };
    const record = (stage: keyof Stages, t: { wall: number; cpu: number }) => {
      wall[stage] = t.wall / n;
      cpu[stage] = t.cpu / n;
    };
    // decode: reading the files as the runtime does, a micro-batch at a time with the reads
    // overlapping (the extractors decode formats themselves: that is in their stages).
    const inputs: Record<Modality, ExtractorInput[]> = { text: [], image: [], audio: [] };
    record(
      'decode',
      await clock(async () => {
        for (let i = 0; i < n; i += batch) {
          const read = await readSamples(samples.slice(i, i + batch), MODALITIES);
          for (const m of MODALITIES) inputs[m].push(...(read.inputs[m]?.inputs ?? []));
        }
      }),
    );
    for (const ex of extractors) {
      const all = inputs[ex.modality];
      record(
        ex.modality,
        await clock(async () => {
          for (let i = 0; i < all.length; i += batch) await ex.extract(all.slice(i, i + batch));
        }),
      );
    }
    const features: SampleFeatures[] = await extractSamples(samples, extractors);
    record(
      'head',
      await clock(async () => {
        for (let i = 0; i < features.length; i += batch) await head.predict(features.slice(i, i + batch));
      }),
    );
    return { cpu, wall };
  } finally {
    await factory.release();
  }
}

/**
 * Samples per second through the queue (submit, workers, records streamed back), `rounds` times
 * on the same workers, each run a batch id of its own so nothing is deduplicated against an
 * earlier run. Workers are long-running services: they are started, their models loaded, and
 * warmed with one small batch through every queue (first inference, the head's first run, the
 * JIT of the job path) before the clock starts, as the bench process itself is warm when it
 * times the embedded run (its stages ran first).
 */
async function queueRates(
  root: string,
  warmRoot: string,
  redis: string,
  processes: number,
  workerArgs: string[],
  out: string,
  pin: boolean,
  rounds: number,
): Promise<number[]> {
  const prefix = `emoflow-bench-${randomBytes(4).toString('hex')}`;
  const inputRoot = join(root, '..'); // the batch and the warm-up batch beside it
  const args = ['--redis', redis, '--prefix', prefix, '--input-root', inputRoot, ...workerArgs];
  // With `pin`, worker i runs on core i only.
  const children = await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      startWorkerProcess(args, pin ? { core: i % availableParallelism() } : {}),
    ),
  );
  const run = (input: string, batch: string) =>
    ingestViaQueue({ input, out, format: 'jsonl', mode: 'force', redisUrl: redis, prefix, batch });
  try {
    await run(warmRoot, `warm-${randomBytes(4).toString('hex')}`);
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const got = await run(root, `run-${r}-${randomBytes(4).toString('hex')}`);
      rates.push(got.written / ((performance.now() - t0) / 1000));
    }
    return rates;
  } finally {
    await Promise.all(children.map((c) => stopWorkerProcess(c)));
    await dropPrefix(redis, prefix);
  }
}

async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = await connectRedis(url);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/**
 * The queue half of `bench e2e --redis`: one worker with the embedded run's threads (the
 * overhead of going through Redis), then workers limited to one core each (one extraction
 * thread, one onnxruntime thread), one against two (the scaling).
 */
async function benchQueue(
  root: string,
  redis: string,
  embeddedRate: number,
  options: { workers: number; device: Device; batch: number; rounds: number },
): Promise<QueueBench> {
  const common = ['--device', options.device, '--batch', String(options.batch), '--threads', '1'];
  const out = join(root, '..', 'queue-out.jsonl');
  // One sample of each modality subset, beside the batch (the workers' --input-root covers both).
  const warmRoot = await makeE2eBatch(join(root, '..', 'warm'), 1);
  // Medians of `rounds` runs each: one run varies by ±25 % on a shared 2-core machine.
  const rate = async (workers: number, concurrency: number, pinned: boolean) =>
    median(
      await queueRates(
        root,
        warmRoot,
        redis,
        workers,
        [...common, '--concurrency', String(concurrency)],
        out,
        pinned,
        options.rounds,
      ),
    );
  const one = await rate(1, options.workers, false);
  const oneCore = await rate(1, 1, true);
  const twoCores = await rate(2, 1, true);
  return {
    pinned: tasksetPath() !== undefined,
    oneWorker: { samplesPerSecond: one, workers: options.workers },
    overheadVsEmbedded: embeddedRate / one,
    oneCoreWorker: { samplesPerSecond: oneCore },
    twoOneCoreWorkers: { samplesPerSecond: twoCores },
    scaling: twoCores / oneCore,
  };
}
