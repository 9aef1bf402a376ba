import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import 'sharp'; // loaded on the main thread first, as sharp asks of programs that use it in workers
import { ERROR_CODES, EmoflowError, type EmoflowWarning, type ErrorCode } from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import { packageRoot } from '../../core/package-root.js';
import type { Sample } from '../../core/sample.js';
import { buildExtractors } from '../../features/extractors.js';
import type { FeatureSpec } from '../../features/feature-spec.js';
import type { ModalityExtractor } from '../../features/modality-extractor.js';
import { ModelStore } from '../../models/model-store.js';
import { SessionFactory, type Device } from '../../models/session-factory.js';
import { extractSamples, type SampleFeatures } from '../../pipeline/extract.js';
import type { HeadRunner } from '../../pipeline/head-runner.js';
import type { ExtractWorkerInit, FromWorker } from './protocol.js';

/** Where samples are turned into features: in worker threads, or on the calling thread. */
export interface Extraction {
  readonly specs: { modality: Modality; spec: FeatureSpec }[];
  readonly device: Device;
  /** Extracts one micro-batch; resolves in any order relative to other calls. */
  extract(samples: Sample[]): Promise<SampleFeatures[]>;
  close(): Promise<void>;
}

export interface ExtractionOptions extends ExtractWorkerInit {
  /** Worker threads; 0 extracts on the calling thread. */
  workers: number;
  /** Every thread's warnings (each thread reports its own DEVICE_FALLBACK: see oncePerRun). */
  onWarning: (w: EmoflowWarning) => void;
}

export async function startExtraction(options: ExtractionOptions): Promise<Extraction> {
  const { workers, onWarning: warn, ...init } = options;
  if (workers <= 0) return InProcessExtraction.start(init, warn);
  return WorkerExtraction.start(workers, init, warn);
}

/** What `startHeadExtraction` needs besides the head (the runtimes' own options, passed through). */
export interface HeadExtractionOptions {
  workers: number;
  device: Device;
  threads?: number | undefined;
  batch: number;
  modelsDir?: string | undefined;
  textModel?: string | undefined;
  onWarning: (w: EmoflowWarning) => void;
}

/**
 * Extraction for a head: the extractors of `modalities` the head takes, with VAD as its audio
 * features were made, checked to give exactly the feature specs it was trained on
 * (HEAD_INCOMPATIBLE otherwise). Both runtimes start their extraction through this.
 */
export async function startHeadExtraction(
  head: HeadRunner,
  modalities: readonly Modality[],
  options: HeadExtractionOptions,
): Promise<Extraction> {
  const extraction = await startExtraction({
    workers: options.workers,
    onWarning: options.onWarning,
    modalities: modalities.filter((m) => head.specs[m] !== undefined),
    vad: head.vad,
    device: options.device,
    threads: options.threads ?? 1,
    batch: options.batch,
    ...(options.modelsDir === undefined ? {} : { modelsDir: options.modelsDir }),
    ...(options.textModel === undefined ? {} : { textModel: options.textModel }),
  });
  try {
    head.checkExtractors(extraction.specs);
  } catch (e) {
    await extraction.close();
    throw e;
  }
  return extraction;
}

/** The session factory and extractors an extraction thread (or the calling thread) works with. */
export async function loadExtractors(
  init: ExtractWorkerInit,
  warn: (w: EmoflowWarning) => void,
): Promise<{ factory: SessionFactory; extractors: ModalityExtractor[] }> {
  const factory = new SessionFactory({
    device: init.device,
    intraOpThreads: init.threads,
    interOpThreads: 1,
    onWarning: warn,
  });
  const store = init.modelsDir === undefined ? new ModelStore() : new ModelStore(init.modelsDir);
  const extractors = await buildExtractors({
    factory,
    store,
    modalities: init.modalities,
    vad: init.vad,
    batch: init.batch,
    ...(init.textModel === undefined ? {} : { textModel: init.textModel }),
  });
  return { factory, extractors };
}

/** DEVICE_FALLBACK is one warning per run, however many threads and factories noticed it. */
export function oncePerRun(warn: (w: EmoflowWarning) => void): (w: EmoflowWarning) => void {
  let fallback = false;
  return (w) => {
    if (w.code === 'DEVICE_FALLBACK') {
      if (fallback) return;
      fallback = true;
    }
    warn(w);
  };
}

class InProcessExtraction implements Extraction {
  private constructor(
    private readonly factory: SessionFactory,
    private readonly extractors: ModalityExtractor[],
  ) {}

  static async start(
    init: ExtractWorkerInit,
    warn: (w: EmoflowWarning) => void,
  ): Promise<InProcessExtraction> {
    const { factory, extractors } = await loadExtractors(init, warn);
    return new InProcessExtraction(factory, extractors);
  }

  get specs() {
    return this.extractors.map((e) => ({ modality: e.modality, spec: e.spec }));
  }

  get device(): Device {
    return this.factory.effectiveDevice;
  }

  extract(samples: Sample[]): Promise<SampleFeatures[]> {
    return extractSamples(samples, this.extractors);
  }

  close(): Promise<void> {
    return this.factory.release();
  }
}

interface Pending {
  resolve: (f: SampleFeatures[]) => void;
  reject: (e: unknown) => void;
}

/** The compiled worker entry: dist/ when running from the TypeScript sources (tests). */
export function workerEntry(): string {
  const here = fileURLToPath(new URL('./extract-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = join(packageRoot(), 'dist', 'src', 'runtime', 'embedded', 'extract-worker.js');
  if (existsSync(built)) return built;
  throw new EmoflowError('CONFIG_INVALID', `the extraction worker ${built} is missing: run 'npm run build'`);
}

/** A fixed pool of extraction threads; each call goes to the thread with the least work queued. */
class WorkerExtraction implements Extraction {
  private readonly load: number[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  private constructor(
    private readonly threads: Worker[],
    readonly specs: { modality: Modality; spec: FeatureSpec }[],
    readonly device: Device,
    private readonly warn: (w: EmoflowWarning) => void,
  ) {
    this.load = threads.map(() => 0);
    threads.forEach((w, i) => {
      w.on('message', (msg: FromWorker) => this.onMessage(i, msg));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`extraction worker ${i} exited with code ${code}`));
      });
    });
  }

  static async start(
    n: number,
    init: ExtractWorkerInit,
    warn: (w: EmoflowWarning) => void,
  ): Promise<WorkerExtraction> {
    const entry = workerEntry();
    const threads: Worker[] = [];
    const ready: Promise<Extract<FromWorker, { type: 'ready' }>>[] = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(entry, { workerData: init });
      threads.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          const onMessage = (msg: FromWorker) => {
            if (msg.type === 'warning') warn(msg.warning);
            else if (msg.type === 'fatal') reject(toError(msg.error));
            else if (msg.type === 'ready') {
              w.off('message', onMessage);
              resolve(msg);
            }
          };
          w.on('message', onMessage);
          w.once('error', reject);
        }),
      );
    }
    let first: Extract<FromWorker, { type: 'ready' }>;
    try {
      [first] = (await Promise.all(ready)) as [Extract<FromWorker, { type: 'ready' }>];
    } catch (e) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw e;
    }
    return new WorkerExtraction(threads, first.specs, first.device, warn);
  }

  private onMessage(i: number, msg: FromWorker): void {
    if (msg.type === 'warning') this.warn(msg.warning);
    else if (msg.type === 'fatal') this.fail(toError(msg.error));
    else if (msg.type === 'result') {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      this.load[i]!--;
      p?.resolve(msg.features);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  extract(samples: Sample[]): Promise<SampleFeatures[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    const id = this.nextId++;
    this.load[best]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.threads[best]!.postMessage({ type: 'extract', id, samples });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.terminate().then(() => resolve()), 5000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ type: 'stop' });
          }),
      ),
    );
  }
}

function toError(e: { code: string; message: string }): Error {
  if (e.code in ERROR_CODES) return new EmoflowError(e.code as ErrorCode, e.message);
  return new Error(e.message);
}
