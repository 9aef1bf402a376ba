import { availableParallelism } from 'node:os';
import type { EmoflowWarning, ErrorCode } from '../../core/errors.js';
import { MODALITIES, type Modality } from '../../core/labels.js';
import { Moments, statisticsOf, type SpeakerNorm } from '../../features/speaker-norm.js';
import type { PriorChoice } from '../../head/label-prior.js';
import type { Sample } from '../../core/sample.js';
import type { SkippedFile } from '../../data/folder.js';
import { openOutput, type Format, type OutputMode } from '../../export/writers.js';
import type { Device } from '../../models/session-factory.js';
import { SessionFactory } from '../../models/session-factory.js';
import { HeadRunner } from '../../pipeline/head-runner.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import type { SampleFeatures } from '../../pipeline/extract.js';
import { extractionSettings, oncePerRun, startHeadExtraction, type Extraction } from './extract-pool.js';
import { openInput } from './input-source.js';

export interface IngestOptions {
  input: string;
  out: string;
  format: Format;
  mode: OutputMode;
  /** Head folder. */
  head: string;
  device: Device;
  /** Extraction worker threads (0: on the main thread). Default: the machine's cores. */
  workers?: number;
  /** onnxruntime intra-op threads per worker. Default 1: parallelism comes from the workers. */
  threads?: number;
  /** Samples per micro-batch (one ONNX call per modality). */
  batch?: number;
  modelsDir?: string;
  textModel?: string;
  /** The most bytes of a text read (files and inline texts); default DEFAULT_MAX_TEXT_BYTES (1 MiB). */
  maxTextBytes?: number;
  /** The V8 heap of each extraction thread in MB; default DEFAULT_THREAD_HEAP_MB. */
  threadHeapMb?: number;
  /**
   * Each audio as a timeline of speech segments (docs/timelines.md): a recording's segments are
   * standardised with its speaker's statistics over the run's segments where the input names
   * one, else with the recording's own.
   */
  segments?: boolean;
  /**
   * Stops the run when aborted (Ctrl-C): no more samples are sent, batches in flight are
   * dropped, the records written stay (a Parquet output keeps its journal) and the summary says
   * `interrupted`; `--resume` continues from there.
   */
  signal?: AbortSignal;
  /**
   * For a head trained with per-speaker standardisation: 'auto' (default) reads the input once
   * more first, to gather each speaker's statistics; 'off' uses the head's global statistics.
   */
  speakerNorm?: 'auto' | 'off';
  /**
   * The class prior of the emotion scores (label-prior.ts); default: for a corpus spec of one of
   * the head's training corpora that corpus's prior, else the head's default.
   */
  prior?: PriorChoice;
  onWarning?: (w: EmoflowWarning) => void;
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestProgress {
  done: number;
  /** Known once the input has been counted. */
  total: number | undefined;
  records: Record<PredictionRecord['status'], number>;
}

/** What every ingest run reports, embedded or through the queue. */
export interface RunSummary {
  input: string;
  output: string;
  format: Format;
  /** Samples in the input. */
  samples: number;
  /** Records written by this run. */
  written: number;
  /** Samples already in the output (`--resume`). */
  resumed: number;
  records: Record<PredictionRecord['status'], number>;
  /** Per-modality input errors, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  skipped: number;
  skippedFiles: SkippedFile[];
  seconds: number;
  samplesPerSecond: number;
}

export interface IngestSummary extends RunSummary {
  /** The run was stopped by `signal` before the end of its input. */
  interrupted: boolean;
  /** Of `seconds`, loading the head and starting the extraction workers (models loaded). */
  startupSeconds: number;
  device: Device;
  workers: number;
  head: { name: string; sha256: string };
}

/**
 * The embedded runtime (docs/queue.md): streams samples from a folder, manifest or corpus spec
 * through extraction worker threads in micro-batches, runs the head on the main thread and
 * writes each record as its batch completes, in input order. At most `2 × workers` batches are
 * in flight, so memory does not grow with the input.
 */
export async function ingest(options: IngestOptions): Promise<IngestSummary> {
  const t0 = performance.now();
  const warn = oncePerRun(options.onWarning ?? (() => undefined));
  const workers = options.workers ?? Math.max(1, availableParallelism());
  const batch = options.batch ?? 32;
  const source = await openInput(options.input);
  // With --segments every sample's audio is read as a timeline.
  const mark = (s: Sample): Sample => (options.segments === true ? { ...s, timeline: true } : s);
  const { writer, done: already } = await openOutput(options.out, options.format, options.mode);
  const factory = new SessionFactory({
    device: options.device,
    intraOpThreads: 1,
    interOpThreads: 1,
    onWarning: warn,
  });
  let extraction: Extraction | undefined;
  const records = { ok: 0, partial: 0, failed: 0 };
  const errors: Partial<Record<ErrorCode, number>> = {};
  let samples = 0;
  let written = 0;
  let resumed = 0;
  let total: number | undefined;
  let head: HeadRunner | undefined;
  let startup = 0;
  let interrupted = false;
  try {
    head = await HeadRunner.load(options.head, factory, options.prior, source.corpus);
    const runner = head;
    extraction = await startHeadExtraction(runner, MODALITIES, {
      ...extractionSettings(options),
      workers,
      onWarning: warn,
      batch,
    });
    startup = (performance.now() - t0) / 1000;
    const ex = extraction;
    const plan = runner.speakerNorm;
    runner.timelineStatistics = options.speakerNorm !== 'off';
    if (plan !== null && options.speakerNorm !== 'off')
      runner.setSpeakerStatistics(
        await speakerStatisticsOf(
          options.input,
          plan,
          ex,
          batch,
          Math.max(2, 2 * workers),
          options.signal,
          mark,
        ),
      );
    // The total is for the progress line alone: a folder is counted by a second walk, names only.
    if (options.onProgress !== undefined)
      void source.count().then(
        (n) => (total = n),
        () => undefined,
      );
    const progress = () => options.onProgress?.({ done: written + resumed, total, records });
    const finish = async (features: SampleFeatures[]) => {
      const out = await runner.predict(features);
      await writer.write(out);
      tally(out, records, errors);
      written += out.length;
      progress();
    };
    const inFlight = new InOrder(ex, Math.max(2, 2 * workers), finish);
    let part: Sample[] = [];
    const dispatch = async () => {
      await inFlight.push(part);
      part = [];
    };
    const cap = runner.groupCap;
    for await (const s of source.samples) {
      if (options.signal?.aborted === true) break;
      samples++;
      if (already.has(s.id)) {
        resumed++;
        continue;
      }
      // A context head's micro-batch waits for the rest of a group listed contiguously.
      if (cap !== undefined && part.length >= batch && !continuesGroup(part, s, cap)) await dispatch();
      part.push(mark(s));
      if (cap === undefined && part.length === batch) await dispatch();
    }
    if (options.signal?.aborted === true) {
      // What is written stays; the batches in flight are dropped (their samples are not in the output).
      interrupted = true;
      await writer.abort();
    } else {
      if (part.length > 0) await dispatch();
      await inFlight.drain();
      progress();
      await writer.close();
    }
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await extraction?.close();
    await factory.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    input: options.input,
    output: options.out,
    format: options.format,
    samples,
    written,
    resumed,
    records,
    errors,
    skipped: source.skippedCount(),
    skippedFiles: source.skipped,
    seconds,
    interrupted,
    startupSeconds: startup,
    samplesPerSecond: written / seconds,
    device: extraction?.device ?? options.device,
    workers,
    head: { name: head.head.json.name, sha256: head.head.json.sha256 },
  };
}

/**
 * Micro-batches being extracted, handed to `handle` in the order they were pushed, with at most
 * `max` in flight: pushing one more waits for the oldest.
 */
class InOrder {
  private readonly pending: Promise<SampleFeatures[]>[] = [];

  constructor(
    private readonly ex: Extraction,
    private readonly max: number,
    private readonly handle: (features: SampleFeatures[]) => Promise<void> | void,
  ) {}

  async push(samples: Sample[]): Promise<void> {
    const p = this.ex.extract(samples);
    p.catch(() => undefined); // awaited in order; a fatal error must not go unhandled meanwhile
    this.pending.push(p);
    if (this.pending.length >= this.max) await this.handle(await this.pending.shift()!);
  }

  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.handle(await this.pending.shift()!);
  }
}

/**
 * A first pass over the input for per-speaker standardisation: the plan's modalities of every
 * sample that names a speaker, extracted and summed per speaker; the statistics of speakers
 * with at least `plan.minSamples` such samples. Costs one more extraction of those modalities.
 */
async function speakerStatisticsOf(
  input: string,
  plan: SpeakerNorm,
  ex: Extraction,
  batch: number,
  maxInFlight: number,
  signal: AbortSignal | undefined,
  mark: (s: Sample) => Sample,
): Promise<Map<Modality, Map<string, { mean: number[]; std: number[] }>>> {
  const acc = new Map<Modality, Map<string, Moments>>(plan.modalities.map((m) => [m, new Map()]));
  const add = (features: readonly SampleFeatures[]) => {
    for (const f of features) {
      if (f.speaker === undefined) continue;
      for (const m of plan.modalities) {
        // A clip's vector, or with --segments every segment of the recording.
        const got = f.modalities[m];
        const vectors =
          got?.status === 'ok'
            ? [got.vector]
            : m === 'audio' && f.timeline !== undefined
              ? f.timeline.segments.map((seg) => seg.vector)
              : [];
        const bySpeaker = acc.get(m)!;
        for (const v of vectors) {
          let moments = bySpeaker.get(f.speaker);
          if (moments === undefined) bySpeaker.set(f.speaker, (moments = new Moments(v.length)));
          moments.add(v);
        }
      }
    }
  };
  const source = await openInput(input);
  // As many batches in flight as the run itself keeps.
  const inFlight = new InOrder(ex, maxInFlight, add);
  let part: Sample[] = [];
  for await (const s of source.samples) {
    if (signal?.aborted === true) break;
    if (s.speaker === undefined || s.speaker === '') continue;
    part.push(mark(onlyModalities(s, plan.modalities)));
    if (part.length === batch) {
      await inFlight.push(part);
      part = [];
    }
  }
  if (part.length > 0) await inFlight.push(part);
  await inFlight.drain();
  const out = new Map<Modality, Map<string, { mean: number[]; std: number[] }>>();
  for (const [m, bySpeaker] of acc) out.set(m, statisticsOf(bySpeaker, plan.minSamples));
  return out;
}

/** A sample with only modalities `ms` (the others' inputs left out, so they are not read). */
function onlyModalities(s: Sample, ms: readonly Modality[]): Sample {
  const out: Sample = { id: s.id, root: s.root, labels: {} };
  if (s.speaker !== undefined) out.speaker = s.speaker;
  if (ms.includes('text')) {
    if (s.text !== undefined) out.text = s.text;
    if (s.textPath !== undefined) out.textPath = s.textPath;
  }
  if (ms.includes('image') && s.image !== undefined) out.image = s.image;
  if (ms.includes('audio') && s.audio !== undefined) out.audio = s.audio;
  if (s.bytes !== undefined)
    out.bytes = Object.fromEntries(Object.entries(s.bytes).filter(([m]) => ms.includes(m as Modality)));
  return out;
}

/**
 * Whether `next` continues the group of the samples at the end of `part` and that run is still
 * under `cap`: a context head scores each micro-batch as one graph per group, so a dialogue
 * listed contiguously stays in one batch (up to `cap` samples); samples of a group far apart
 * in the input are scored as separate graphs.
 */
export function continuesGroup(part: readonly Sample[], next: Sample, cap: number): boolean {
  if (next.group === undefined || next.group === '') return false;
  let run = 0;
  for (let k = part.length - 1; k >= 0 && part[k]!.group === next.group; k--) run++;
  return run > 0 && run < cap;
}

/** Adds records to the run's counts: records by status, and per-modality input errors by code. */
export function tally(
  out: readonly PredictionRecord[],
  records: Record<PredictionRecord['status'], number>,
  errors: Partial<Record<ErrorCode, number>>,
): void {
  for (const r of out) {
    records[r.status]++;
    for (const m of Object.values(r.modalities))
      if (m?.status === 'error') errors[m.error.code] = (errors[m.error.code] ?? 0) + 1;
    if (r.status === 'failed' && r.error?.code === 'NO_MODALITY')
      errors.NO_MODALITY = (errors.NO_MODALITY ?? 0) + 1;
  }
}
