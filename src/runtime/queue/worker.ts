import { availableParallelism } from 'node:os';
import type { PriorChoice } from '../../head/label-prior.js';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Cluster } from 'ioredis';
import { ERROR_CODES, EmoflowError, type EmoflowWarning, type ErrorCode } from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import type { Sample } from '../../core/sample.js';
import type { Device } from '../../models/session-factory.js';
import { SessionFactory } from '../../models/session-factory.js';
import type { SampleFeatures } from '../../pipeline/extract.js';
import { HeadRunner } from '../../pipeline/head-runner.js';
import type { PredictionRecord, RecordError } from '../../pipeline/record.js';
import {
  extractionSettings,
  oncePerRun,
  startHeadExtraction,
  type Extraction,
} from '../embedded/extract-pool.js';
import { bullConnectionOf, connectRedisClient, type QueueName, type RedisClient } from './connection.js';
import { InputRoots, withoutInputBytes } from './input-guard.js';
import { DEFAULT_TTL_SECONDS, queueOfJobKey } from './keys.js';
import { queueLayout } from './layout.js';
import { keySlot } from './shards.js';
import { MicroBatcher, type Outcome } from './micro-batcher.js';
import { redisReason } from './redis-errors.js';
import {
  fuseJobSchema,
  modalityJobSchema,
  modalityResultSchema,
  type FuseJob,
  type ModalityJob,
  type ModalityJobResult,
} from './schemas.js';
import { storeRecord } from './store.js';
import { WriteBackoff } from './write-backoff.js';

export interface QueueWorkerOptions {
  redisUrl: string;
  /** The `--prefix`; with `shards` > 1, the base of the shards' prefixes. */
  prefix: string;
  /** Shards of the deployment (default 1): the worker serves its queues on every shard. */
  shards?: number;
  queues: readonly QueueName[];
  head: string;
  device: Device;
  /** Extraction worker threads (0: on this thread). Default: the machine's cores. */
  concurrency?: number;
  /** onnxruntime intra-op threads per extraction thread. */
  threads?: number;
  /** Largest micro-batch, and how long a job waits for others to join it. */
  batch?: number;
  gatherMs?: number;
  /** BullMQ lock of an active job; a worker that dies loses its jobs to others after this. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  modelsDir?: string;
  textModel?: string;
  /** The class prior of the emotion scores (label-prior.ts); default: the head's. */
  prior?: PriorChoice;
  /**
   * Folders job inputs `{path, root}` may be read from (see input-guard.ts); default none: only
   * inline text and base64 inputs are taken, and a file input is PATH_OUTSIDE_ROOT.
   */
  inputRoots?: readonly string[];
  onWarning?: (w: EmoflowWarning) => void;
  /** Operator messages (Redis refusing writes, then accepting them again; unexpected errors). */
  onNotice?: (message: string) => void;
  /** A fatal error (a model missing): the worker stops itself and reports it here. */
  onFatal?: (e: Error) => void;
}

export interface QueueWorker {
  /** Drains: stops taking jobs, finishes the active ones, then releases everything. */
  close(): Promise<void>;
  readonly device: Device;
  /** The key prefixes whose queues it serves: one per shard. */
  readonly prefixes: readonly string[];
  /** On a Redis Cluster, the master (`host:port`) that holds each shard, in the order of `prefixes`. */
  readonly masters?: readonly string[];
}

/**
 * On a Redis Cluster: the master that serves each shard's slot, and a line for the operator when
 * the shards do not use the masters one each (two shards on one master, masters without a shard).
 */
export function shardPlacement(
  redis: RedisClient,
  prefixes: readonly string[],
): { masters: string[]; notice?: string } | undefined {
  if (!(redis instanceof Cluster)) return undefined;
  const masters = prefixes.map((p) => redis.slots[keySlot(p)]?.[0] ?? 'unknown');
  const all = redis.nodes('master').length;
  const used = new Set(masters).size;
  const flags = prefixes.length === 1 ? 'one shard' : `${prefixes.length} shards`;
  if (used < Math.min(prefixes.length, all))
    return {
      masters,
      notice: `${flags} on ${used} of the cluster's ${all} masters (${prefixes.map((p, i) => `${p} on ${masters[i]}`).join(', ')}): move the shards' slots apart (redis-cli --cluster rebalance, or reshard), or use --shards ${all} on every command`,
    };
  if (all > prefixes.length)
    return {
      masters,
      notice: `${flags} on a cluster of ${all} masters: ${all - used} hold no queue; to use them all, give every command --shards ${all} (or set EMOFLOW_SHARDS) after the queues drain`,
    };
  return { masters };
}

/** Input errors travel as a child's failure reason: JSON `{code, message}` (UnrecoverableError). */
function inputFailure(error: RecordError): UnrecoverableError {
  return new UnrecoverableError(JSON.stringify(error));
}

/** A child's failure reason back to a record error (EXTRACTION_FAILED when it is not ours). */
export function failureToError(reason: string, modality: Modality): RecordError {
  try {
    const parsed = JSON.parse(reason) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string' && parsed.code in ERROR_CODES && typeof parsed.message === 'string')
      return { code: parsed.code as ErrorCode, message: parsed.message };
  } catch {
    // not one of ours: fall through
  }
  return { code: 'EXTRACTION_FAILED', message: `${modality}: ${reason}` };
}

function floatsToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function base64ToFloats(s: string, dim: number): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(b.subarray(0, dim * 4));
  return out;
}

/**
 * The sample a modality job describes, for the extractors' reader; a file input only once its
 * root and path are checked against the worker's input roots (PATH_OUTSIDE_ROOT otherwise).
 */
async function sampleOf(job: ModalityJob, roots: InputRoots): Promise<Sample> {
  const s: Sample = { id: job.sampleId, root: '/', labels: {} };
  const input = job.input;
  if ('text' in input) s.text = input.text;
  else if ('base64' in input)
    s.bytes = { [job.modality]: new Uint8Array(Buffer.from(input.base64, 'base64')) };
  else {
    s.root = await roots.check(input.root, input.path);
    if (job.modality === 'text') s.textPath = input.path;
    else if (job.modality === 'image') s.image = input.path;
    else s.audio = input.path;
  }
  if (job.modality === 'audio' && job.segments === true) s.timeline = true;
  return s;
}

/** One line per distinct unexpected error, at most once a minute each: seen, not a flood. */
function errorLogger(notice: (m: string) => void): (e: unknown) => void {
  const last = new Map<string, number>();
  return (e) => {
    const line = redisReason(e);
    const now = Date.now();
    if ((last.get(line) ?? 0) > now - 60_000) return;
    if (last.size > 100) last.clear();
    last.set(line, now);
    notice(`worker error: ${line}`);
  };
}

/**
 * `emoflow worker`: BullMQ workers on the queues asked for, in one process. Modality jobs are
 * gathered into micro-batches and extracted in worker threads (the same pool as the embedded
 * runtime), so this thread stays free for BullMQ's lock renewal however long a batch runs. Fuse
 * jobs read their children's features, run the head (micro-batched too) and store the record
 * once under the batch.
 *
 * With several shards it runs one BullMQ Worker per queue and shard (all sharing one connection
 * for their commands on a Redis Cluster; each Worker adds one of its own for its blocking fetch),
 * and the micro-batches gather jobs of every shard. A fuse job stores its record under the prefix
 * of the shard it came from. Redis refusing writes pauses only the shard it refused them on
 * (one master of a cluster).
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const warn = oncePerRun(options.onWarning ?? (() => undefined));
  const notice = options.onNotice ?? (() => undefined);
  const layout = queueLayout(options.prefix, options.shards ?? 1, options.redisUrl);
  const roots = await InputRoots.open(options.inputRoots ?? []);
  const redis: RedisClient = await connectRedisClient(options.redisUrl);
  const connection = bullConnectionOf(redis, options.redisUrl);
  const placement = shardPlacement(redis, layout.prefixes);
  if (placement?.notice !== undefined) notice(placement.notice);
  const factory = new SessionFactory({
    device: options.device,
    intraOpThreads: 1,
    interOpThreads: 1,
    onWarning: warn,
  });
  const batch = options.batch ?? 32;
  const gatherMs = options.gatherMs ?? 5;
  const threads = options.concurrency ?? Math.max(1, availableParallelism());
  let extraction: Extraction | undefined;
  // Per shard: its Workers, and a backoff that pauses them while its Redis refuses writes.
  const shards = layout.prefixes.map((prefix) => {
    const own: Worker[] = [];
    const backoff = new WriteBackoff({
      redis,
      prefix,
      pause: async () => {
        await Promise.all(own.map((w) => w.pause(true)));
      },
      resume: () => own.forEach((w) => w.resume()),
      notice: layout.shards === 1 ? notice : (m) => notice(`${prefix}: ${m}`),
    });
    return { prefix, workers: own, backoff };
  });
  const logError = errorLogger(notice);
  // A worker started without the --input-root its producers' files need fails each such
  // modality: the operator hears of it once per job root.
  const refusedRoots = new Set<string>();
  const refused = (job: ModalityJob, e: EmoflowError) => {
    const root = 'root' in job.input ? job.input.root : '';
    if (refusedRoots.has(root) || refusedRoots.size > 100) return;
    refusedRoots.add(root);
    notice(`PATH_OUTSIDE_ROOT: ${e.message} (logged once per job root)`);
  };
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const s of shards) s.backoff.close();
      await Promise.all(shards.flatMap((s) => s.workers).map((w) => w.close()));
      await extraction?.close();
      await factory.release();
      redis.disconnect();
    })());
  const fatal = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    void close().finally(() => options.onFatal?.(err));
  };
  try {
    const head = await HeadRunner.load(options.head, factory, options.prior);
    const modalities = options.queues.filter((q): q is Modality => q !== 'fuse');
    const workerOpts = {
      connection,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? options.lockDurationMs ?? 30_000,
      maxStalledCount: 2,
    };
    if (modalities.length > 0) {
      extraction = await startHeadExtraction(head, modalities, {
        ...extractionSettings(options),
        workers: threads,
        onWarning: warn,
        batch,
      });
      const ex = extraction;
      const isFatal = (e: unknown) => e instanceof EmoflowError && e.fatal;
      const batcher = new MicroBatcher<{ job: ModalityJob; sample: Sample }, ModalityJobResult>(
        async (items) => {
          let features: SampleFeatures[];
          try {
            features = await ex.extract(items.map((x) => x.sample));
          } catch (e) {
            if (isFatal(e)) fatal(e);
            // Transient (a thread died): the batcher runs a batch of several again one job at a
            // time, so only the job that caused it fails; BullMQ retries that one with backoff.
            throw e;
          }
          return features.map((f, i): Outcome<ModalityJobResult> => {
            const modality = items[i]!.job.modality;
            if (modality === 'audio' && f.timeline !== undefined)
              return {
                ok: true,
                value: {
                  vector: '',
                  dim: 0,
                  meta: {},
                  warnings: f.warnings,
                  timeline: {
                    totalSeconds: f.timeline.totalSeconds,
                    segments: f.timeline.segments.map(({ vector, ...seg }) => ({
                      ...seg,
                      vector: floatsToBase64(vector),
                      dim: vector.length,
                    })),
                  },
                },
              };
            const m = f.modalities[modality];
            if (m === undefined) {
              const error = {
                code: 'NO_MODALITY' as const,
                message: `${f.id}: the head takes no ${modality}`,
              };
              return { ok: false, error: inputFailure(error) };
            }
            if (m.status === 'error') return { ok: false, error: inputFailure(withoutInputBytes(m.error)) };
            return {
              ok: true,
              value: {
                vector: floatsToBase64(m.vector),
                dim: m.vector.length,
                meta: m.meta,
                warnings: f.warnings,
              },
            };
          });
        },
        {
          max: batch,
          gatherMs,
          parallel: Math.max(1, threads) * 2,
          splitOnError: (e) => !isFatal(e),
        },
      );
      const processModality = async (job: Job) => {
        const parsed = modalityJobSchema.safeParse(job.data);
        if (!parsed.success)
          throw inputFailure({
            code: 'CONFIG_INVALID',
            message: `job ${job.id}: ${parsed.error.issues[0]?.message ?? 'bad payload'}`,
          });
        let sample: Sample;
        try {
          sample = await sampleOf(parsed.data, roots);
        } catch (e) {
          if (!(e instanceof EmoflowError)) throw e;
          if (e.code === 'PATH_OUTSIDE_ROOT') refused(parsed.data, e);
          throw inputFailure(e.toRecord());
        }
        // A job that stalled before may have killed its last worker: it runs alone.
        return batcher.submit({ job: parsed.data, sample }, { alone: job.stalledCounter > 0 });
      };
      for (const shard of shards) {
        for (const m of modalities) {
          shard.workers.push(
            new Worker(m, processModality, {
              ...workerOpts,
              prefix: shard.prefix,
              concurrency: batch * Math.max(1, threads) * 2,
            }),
          );
        }
      }
    }
    if (options.queues.includes('fuse')) {
      // Fuse jobs carry no group, and a micro-batch gathers whatever jobs arrive: a context
      // head scores each sample here as a one-node graph (docs/head.md, Dialogue context).
      const fuser = new MicroBatcher<SampleFeatures, PredictionRecord>(
        async (items) => (await head.predict(items)).map((r) => ({ ok: true, value: r })),
        { max: batch, gatherMs, parallel: 1 },
      );
      for (const { prefix, workers: own, backoff } of shards) {
        own.push(
          new Worker(
            'fuse',
            async (job: Job) => {
              const parsed = fuseJobSchema.safeParse(job.data);
              if (!parsed.success)
                throw new UnrecoverableError(
                  `job ${job.id}: ${parsed.error.issues[0]?.message ?? 'bad payload'}`,
                );
              const data = parsed.data;
              const features = await collectFeatures(job, data, prefix);
              const record = await fuser.submit(features);
              // Redis out of memory is not the sample's fault: wait for it rather than fail.
              for (;;) {
                try {
                  await storeRecord(
                    redis,
                    prefix,
                    data.batch,
                    record,
                    data.ttlSeconds ?? DEFAULT_TTL_SECONDS,
                  );
                  break;
                } catch (e) {
                  if (!backoff.report(e) || closing !== undefined) throw e;
                  await backoff.whenWritable();
                }
              }
              return { status: record.status };
            },
            { ...workerOpts, prefix, concurrency: batch * 2 },
          ),
        );
      }
    }
    // BullMQ reports connection errors elsewhere (ioredis reconnects); what comes here is Redis
    // refusing a write (the worker backs off) or something unexpected (logged, rate-limited).
    for (const { workers: own, backoff } of shards) {
      for (const w of own)
        w.on('error', (e) => {
          if (!backoff.report(e)) logError(e);
        });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    close,
    device: extraction?.device ?? factory.effectiveDevice,
    prefixes: layout.prefixes,
    ...(placement === undefined ? {} : { masters: placement.masters }),
  };
}

/** The sample's features from its children: their results, or their failures as modality errors. */
async function collectFeatures(job: Job, data: FuseJob, prefix: string): Promise<SampleFeatures> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const features: SampleFeatures = { id: data.sampleId, inputs: data.inputs, modalities: {}, warnings: [] };
  // A child's key is `<prefix>:<queue>:<job id>`: its queue is its modality, whatever id a
  // producer gave it.
  const modalityOfKey = (key: string): Modality | undefined => {
    const m = queueOfJobKey(prefix, key);
    return m === 'text' || m === 'image' || m === 'audio' ? m : undefined;
  };
  for (const [key, value] of Object.entries(values)) {
    const m = modalityOfKey(key);
    const parsed = modalityResultSchema.safeParse(value);
    if (m === undefined || !parsed.success) continue;
    for (const w of parsed.data.warnings) features.warnings.push(w as EmoflowWarning);
    const timeline = parsed.data.timeline;
    if (m === 'audio' && timeline !== undefined) {
      features.timeline = {
        totalSeconds: timeline.totalSeconds,
        segments: timeline.segments.map(({ vector, dim, ...seg }) => ({
          ...seg,
          vector: base64ToFloats(vector, dim),
        })),
      };
      continue;
    }
    features.modalities[m] = {
      status: 'ok',
      vector: base64ToFloats(parsed.data.vector, parsed.data.dim),
      meta: parsed.data.meta,
    };
  }
  for (const [key, reason] of Object.entries(failures)) {
    const m = modalityOfKey(key);
    if (m !== undefined) features.modalities[m] = { status: 'error', error: failureToError(reason, m) };
  }
  for (const m of data.modalities) {
    if (m === 'audio' && features.timeline !== undefined) continue;
    features.modalities[m] ??= {
      status: 'error',
      error: { code: 'EXTRACTION_FAILED', message: `${data.sampleId}: the ${m} job left no result` },
    };
  }
  return features;
}
