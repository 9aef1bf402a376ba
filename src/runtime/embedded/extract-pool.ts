import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import 'sharp'; // loaded on the main thread first, as sharp asks of programs that use it in workers
import {
  ERROR_CODES,
  EmoflowError,
  firstLine,
  type EmoflowWarning,
  type ErrorCode,
} from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import { packageRoot } from '../../core/package-root.js';
import type { Sample } from '../../core/sample.js';
import { buildExtractors } from '../../features/extractors.js';
import type { FeatureSpec } from '../../features/feature-spec.js';
import type { ModalityExtractor } from '../../features/modality-extractor.js';
import { ModelStore } from '../../models/model-store.js';
import { isExclusiveDevice, SessionFactory, type Device } from '../../models/session-factory.js';
import { DeviceLock, processDeviceLock } from '../../models/device-lock.js';
import type { ReadOptions } from '../../io/read-input.js';
import { VAD_MODEL } from '../../features/audio/audio-extractor.js';
import { extractSamples, failedFeatures, type SampleFeatures } from '../../pipeline/extract.js';
import type { RecordError } from '../../pipeline/record.js';
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
  /** The V8 heap of each thread, in MB (DEFAULT_THREAD_HEAP_MB when absent). */
  threadHeapMb?: number;
  /** Every thread's warnings (each thread reports its own DEVICE_FALLBACK: see oncePerRun). */
  onWarning: (w: EmoflowWarning) => void;
}

/**
 * The V8 heap an extraction thread may use. Extracting a micro-batch of 32 takes well under
 * 100 MB; a thread that needs more is fed something pathological, and it is stopped at this
 * limit (its sample gets EXTRACTION_FAILED) instead of taking the machine's memory.
 */
export const DEFAULT_THREAD_HEAP_MB = 512;

/**
 * Starts the extraction. The model files it needs are checked (sha256) here, once, before any
 * thread or native session sees them: MODEL_NOT_FOUND / MODEL_CHECKSUM name the file and the
 * command that fixes it, whatever the number of threads.
 */
export async function startExtraction(options: ExtractionOptions): Promise<Extraction> {
  const { workers, onWarning: warn, threadHeapMb, ...rest } = options;
  const init: ExtractWorkerInit = {
    ...rest,
    verifiedModels: await verifyModels(rest),
    // Every thread's sessions and the calling thread's (the head's) share one device lock.
    deviceLock: processDeviceLock().buffer,
  };
  if (workers <= 0) return InProcessExtraction.start(init, warn);
  return WorkerExtraction.start(workers, init, threadHeapMb ?? DEFAULT_THREAD_HEAP_MB, warn);
}

/** The store's models that the extractors of `init` load. */
export function modelsOf(init: ExtractWorkerInit, store: ModelStore): string[] {
  const names: string[] = [];
  if (init.modalities.includes('text')) {
    // A text model named by its folder is checked when it is one of the store's.
    const named = init.textModel === undefined ? undefined : store.modelInFolder(init.textModel);
    if (init.textModel === undefined) names.push(TEXT_MODEL);
    else if (named !== undefined) names.push(named.name);
  }
  if (init.modalities.includes('image')) names.push(...IMAGE_MODELS);
  if (init.modalities.includes('audio') && init.vad) names.push(VAD_MODEL);
  return names;
}

/** Checks the models of `init` on this thread; returns their names, for the threads to trust. */
async function verifyModels(init: ExtractWorkerInit): Promise<string[]> {
  const store = openStore(init);
  const names = modelsOf(init, store);
  await store.verify(names);
  return names;
}

function openStore(init: ExtractWorkerInit): ModelStore {
  const options = { verified: init.verifiedModels ?? [] };
  return init.modelsDir === undefined
    ? new ModelStore(undefined, options)
    : new ModelStore(init.modelsDir, options);
}

/** What `startHeadExtraction` needs besides the head (the runtimes' own options, passed through). */
/** What a runtime's options say of extraction (ingest's and the queue worker's share these). */
export interface ExtractionSettings {
  device: Device;
  threads?: number | undefined;
  modelsDir?: string | undefined;
  textModel?: string | undefined;
  /** The most bytes of a text read (DEFAULT_MAX_TEXT_BYTES when absent). */
  maxTextBytes?: number | undefined;
  /** The V8 heap of each extraction thread, in MB (DEFAULT_THREAD_HEAP_MB when absent). */
  threadHeapMb?: number | undefined;
}

/** The extraction settings of a runtime's options, and nothing else of them. */
export function extractionSettings(o: ExtractionSettings): ExtractionSettings {
  return {
    device: o.device,
    threads: o.threads,
    modelsDir: o.modelsDir,
    textModel: o.textModel,
    maxTextBytes: o.maxTextBytes,
    threadHeapMb: o.threadHeapMb,
  };
}

export interface HeadExtractionOptions extends ExtractionSettings {
  workers: number;
  batch: number;
  onWarning: (w: EmoflowWarning) => void;
}

/**
 * Extraction for a head: the extractors of `modalities` the head takes, with VAD and prosody as
 * its audio features were made and its text's lexical channel (if any), checked to give exactly the feature specs it was trained on
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
    prosody: head.prosody,
    ...(head.lexicalBuckets === undefined ? {} : { lexicalBuckets: head.lexicalBuckets }),
    device: options.device,
    threads: options.threads ?? 1,
    batch: options.batch,
    ...(options.modelsDir === undefined ? {} : { modelsDir: options.modelsDir }),
    ...(options.textModel === undefined ? {} : { textModel: options.textModel }),
    ...(options.maxTextBytes === undefined ? {} : { maxTextBytes: options.maxTextBytes }),
    ...(options.threadHeapMb === undefined ? {} : { threadHeapMb: options.threadHeapMb }),
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
    ...(init.deviceLock === undefined ? {} : { lock: DeviceLock.of(init.deviceLock) }),
  });
  try {
    const extractors = await buildExtractors({
      factory,
      store: openStore(init),
      modalities: init.modalities,
      vad: init.vad,
      prosody: init.prosody === true,
      ...(init.lexicalBuckets === undefined ? {} : { lexicalBuckets: init.lexicalBuckets }),
      batch: init.batch,
      ...(init.textModel === undefined ? {} : { textModel: init.textModel }),
    });
    return { factory, extractors };
  } catch (e) {
    await factory.release();
    throw e;
  }
}

/** The store's default text model, and the two image models (face detector, expression CNN). */
export const TEXT_MODEL = 'universal-sentence-encoder-lite';
export const IMAGE_MODELS = ['ultraface_rfb320', 'fer_mini_xception_emb'] as const;

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

/** Reads options of an extraction, from its init. */
export function readOptionsOf(init: ExtractWorkerInit): ReadOptions {
  return init.maxTextBytes === undefined ? {} : { maxTextBytes: init.maxTextBytes };
}

/** EXTRACTION_FAILED for one sample whose extraction failed as a whole, with why. */
function extractionFailed(sample: Sample, why: string): RecordError {
  return {
    code: 'EXTRACTION_FAILED',
    message: `${sample.id}: ${why}; the other samples of its micro-batch were extracted again without it`,
  };
}

class InProcessExtraction implements Extraction {
  private constructor(
    private readonly factory: SessionFactory,
    private readonly extractors: ModalityExtractor[],
    private readonly init: ExtractWorkerInit,
  ) {}

  static async start(
    init: ExtractWorkerInit,
    warn: (w: EmoflowWarning) => void,
  ): Promise<InProcessExtraction> {
    const { factory, extractors } = await loadExtractors(init, warn);
    return new InProcessExtraction(factory, extractors, init);
  }

  get specs() {
    return this.extractors.map((e) => ({ modality: e.modality, spec: e.spec }));
  }

  get device(): Device {
    return this.factory.effectiveDevice;
  }

  /** As the thread pool: a batch that throws is extracted again one sample at a time. */
  async extract(samples: Sample[]): Promise<SampleFeatures[]> {
    try {
      return await extractSamples(samples, this.extractors, readOptionsOf(this.init));
    } catch (e) {
      if (e instanceof EmoflowError && e.fatal) throw e;
      if (samples.length === 1) {
        const why = `its extraction failed (${firstLine(e, 300)})`;
        return [failedFeatures(samples[0]!, this.init.modalities, extractionFailed(samples[0]!, why))];
      }
      const out: SampleFeatures[] = [];
      for (const s of samples) out.push(...(await this.extract([s])));
      return out;
    }
  }

  close(): Promise<void> {
    return this.factory.release();
  }
}

/** The compiled worker entry: dist/ when running from the TypeScript sources (tests). */
export function workerEntry(): string {
  const here = fileURLToPath(new URL('./extract-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = join(packageRoot(), 'dist', 'src', 'runtime', 'embedded', 'extract-worker.js');
  if (existsSync(built)) return built;
  throw new EmoflowError('CONFIG_INVALID', `the extraction worker ${built} is missing: run 'npm run build'`);
}

/** A micro-batch sent to a thread. */
interface Job {
  id: number;
  samples: Sample[];
  resolve: (f: SampleFeatures[]) => void;
  reject: (e: unknown) => void;
}

/** One extraction thread and the jobs it was sent, oldest (the one it works on) first. */
interface Slot {
  worker: Worker;
  jobs: Job[];
  ready: boolean;
  /** Why the thread died, from its `error` event (the `exit` that follows has only a code). */
  death?: string;
  /** The thread's id, kept: `worker.threadId` reads -1 once it has exited. */
  threadId: number;
}

/** How long a closing thread may take to finish its batch before it is terminated. */
const CLOSE_GRACE_MS = 30_000;

/**
 * A fixed pool of extraction threads; each call goes to the thread with the least work queued.
 * A thread that dies (its heap limit reached, a crash) or whose batch throws does not fail the
 * run: it is replaced by a fresh thread, the batch it was working on is extracted again one
 * sample at a time, and a sample that fails alone gets an EXTRACTION_FAILED record; batches
 * queued behind it are sent again as they were. Only fatal errors (a model that cannot be
 * loaded) reject every call.
 */
class WorkerExtraction implements Extraction {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  private constructor(
    private readonly entry: string,
    private readonly init: ExtractWorkerInit,
    private readonly heapMb: number,
    private readonly warn: (w: EmoflowWarning) => void,
    readonly specs: { modality: Modality; spec: FeatureSpec }[],
    readonly device: Device,
  ) {}

  static async start(
    n: number,
    init: ExtractWorkerInit,
    heapMb: number,
    warn: (w: EmoflowWarning) => void,
  ): Promise<WorkerExtraction> {
    const entry = workerEntry();
    const workers = Array.from({ length: n }, () => spawn(entry, init, heapMb));
    const ready = await Promise.allSettled(workers.map((w) => readyOf(w, warn)));
    const failed = ready.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      // Every thread has finished loading by now (ready or failed): stopping them cannot cut a
      // native session creation short.
      await Promise.all(workers.map((w) => stopThread(w)));
      const fatal = ready
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => r.reason as unknown)
        .find((e) => e instanceof EmoflowError);
      throw fatal ?? failed.reason;
    }
    const first = (ready[0] as PromiseFulfilledResult<ReadyMessage>).value;
    const pool = new WorkerExtraction(entry, init, heapMb, warn, first.specs, first.device);
    for (const w of workers) pool.attach(w, true);
    return pool;
  }

  /** Takes `worker` into the pool (a started one, or a fresh replacement still loading). */
  private attach(worker: Worker, ready: boolean): Slot {
    const slot: Slot = { worker, jobs: [], ready, threadId: worker.threadId };
    this.slots.push(slot);
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (e) => (slot.death ??= firstLine(e, 300)));
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type === 'warning') this.warn(msg.warning);
    else if (msg.type === 'ready') slot.ready = true;
    else if (msg.type === 'fatal') this.fail(toError(msg.error));
    else if (msg.type === 'result') this.take(slot, msg.id)?.resolve(msg.features);
    else if (msg.type === 'failed') {
      const job = this.take(slot, msg.id);
      if (job !== undefined) this.retry(job, `its extraction failed (${firstLine(msg.error.message, 300)})`);
    }
  }

  /** Removes job `id` from the slot's list. */
  private take(slot: Slot, id: number): Job | undefined {
    const at = slot.jobs.findIndex((j) => j.id === id);
    return at < 0 ? undefined : slot.jobs.splice(at, 1)[0];
  }

  private onExit(slot: Slot, code: number): void {
    // A thread stopped at its heap limit in the middle of a run must not keep the device.
    if (this.init.deviceLock !== undefined)
      DeviceLock.of(this.init.deviceLock).releaseIfHeldBy(slot.threadId);
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    if (this.closing || this.failure !== undefined) return;
    if (!slot.ready) {
      // A replacement that died while loading: something is wrong beyond one input.
      this.fail(
        new Error(
          `an extraction thread died while loading its models (${slot.death ?? `exit code ${code}`})`,
        ),
      );
      return;
    }
    const why =
      slot.death !== undefined && /memory/i.test(slot.death)
        ? `its extraction ran its worker thread out of memory (the limit is ${this.heapMb} MB of heap per thread)`
        : `its extraction stopped its worker thread (${slot.death ?? `exit code ${code}`})`;
    const [running, ...queued] = slot.jobs;
    slot.jobs = [];
    this.attach(spawn(this.entry, this.init, this.heapMb), false);
    // Batches queued behind the one that ran never started: they go out again as they were.
    if (running !== undefined) this.retry(running, why);
    for (const job of queued) this.send(job);
  }

  /** A job that failed: alone, its sample gets an error record; in a batch, each sample is tried alone. */
  private retry(job: Job, why: string): void {
    if (job.samples.length === 1) {
      const s = job.samples[0]!;
      job.resolve([failedFeatures(s, this.init.modalities, extractionFailed(s, why))]);
      return;
    }
    Promise.all(job.samples.map((s) => this.extract([s]))).then(
      (parts) => job.resolve(parts.flat()),
      (e: unknown) => job.reject(e),
    );
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const slot of this.slots) {
      for (const job of slot.jobs) job.reject(this.failure);
      slot.jobs = [];
    }
  }

  extract(samples: Sample[]): Promise<SampleFeatures[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the extraction is closed'));
    return new Promise((resolve, reject) => this.send({ id: this.nextId++, samples, resolve, reject }));
  }

  /** Posts a job to the thread with the fewest jobs (a replacement still loading queues it). */
  private send(job: Job): void {
    let best: Slot | undefined;
    for (const slot of this.slots) if (best === undefined || slot.jobs.length < best.jobs.length) best = slot;
    if (best === undefined) {
      job.reject(this.failure ?? new Error('no extraction thread is running'));
      return;
    }
    best.jobs.push(job);
    best.worker.postMessage({ type: 'extract', id: job.id, samples: job.samples });
  }

  async close(): Promise<void> {
    this.closing = true;
    const slots = [...this.slots];
    for (const slot of slots) {
      for (const job of slot.jobs) job.reject(new Error('the extraction was closed'));
      slot.jobs = [];
    }
    // On a device whose sessions share one context (WebGPU), the threads end one after another:
    // each frees its sessions and unloads onnxruntime's thread state while no other does.
    if (isExclusiveDevice(this.device)) for (const slot of slots) await stopThread(slot.worker);
    else await Promise.all(slots.map((slot) => stopThread(slot.worker)));
  }
}

type ReadyMessage = Extract<FromWorker, { type: 'ready' }>;

/** A fresh extraction thread, its V8 heap capped so that no input can take the machine's memory. */
function spawn(entry: string, init: ExtractWorkerInit, heapMb: number): Worker {
  const w = new Worker(entry, { workerData: init, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
  w.on('error', () => undefined); // each phase listens for itself; an error is never left unhandled
  return w;
}

/** Resolves with the thread's `ready`, or rejects with the error it reports (or dies of). */
function readyOf(w: Worker, warn: (w: EmoflowWarning) => void): Promise<ReadyMessage> {
  return new Promise((resolve, reject) => {
    const done = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'warning') warn(msg.warning);
      else if (msg.type === 'fatal') {
        done();
        reject(toError(msg.error));
      } else if (msg.type === 'ready') {
        done();
        resolve(msg);
      }
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`an extraction thread exited with code ${code} while loading its models`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

/**
 * Asks a thread to stop (it finishes the batch it runs, releases its sessions and exits) and
 * waits for it; terminates it only if it has not exited after CLOSE_GRACE_MS.
 */
function stopThread(w: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (w.threadId < 0) {
      resolve(); // already exited
      return;
    }
    const timer = setTimeout(() => void w.terminate().then(() => resolve()), CLOSE_GRACE_MS);
    w.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    w.postMessage({ type: 'stop' });
  });
}

function toError(e: { code: string; message: string }): Error {
  if (e.code in ERROR_CODES) return new EmoflowError(e.code as ErrorCode, e.message);
  return new Error(e.message);
}
