import { createHash } from 'node:crypto';
import { FlowProducer, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { EmoflowError } from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import { modalityPath, type Sample } from '../../core/sample.js';
import { readModality } from '../../data/extract-features.js';
import { inputsOf, presentModalities } from '../../pipeline/extract.js';
import { openInput } from '../embedded/input-source.js';
import type { SkippedFile } from '../../data/folder.js';
import { redisOptions } from './connection.js';
import { batchKeys, DEFAULT_TTL_SECONDS, deriveBatchId, fuseJobId, modalityJobId } from './keys.js';
import type { FuseJob, JobInput, ModalityJob } from './schemas.js';

/** Retries of a modality or fuse job on transient errors, with exponential backoff. */
export const JOB_ATTEMPTS = 4;
export const JOB_BACKOFF = { type: 'exponential' as const, delay: 1000 };

export interface SubmitOptions {
  redisUrl: string;
  prefix: string;
  /** A batch id of the user's; default: derived from the inputs. */
  batch?: string;
  ttlSeconds?: number;
  onProgress?: (done: number) => void;
}

export interface SubmitResult {
  batch: string;
  samples: number;
  /** Flows added by this call (0 when the same inputs were submitted before). */
  added: number;
  /** Samples skipped because their record or their flow already exists. */
  existing: number;
  /** Files of a folder that are no sample's input: how many, and their names (up to 10,000). */
  skipped: number;
  skippedFiles: SkippedFile[];
}

interface Planned {
  sample: Sample;
  modalities: { modality: Modality; input: JobInput; sha256: string }[];
}

function sha(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Each modality's job input and content hash (an unreadable file hashes its error: its job reports it). */
async function plan(sample: Sample): Promise<Planned> {
  const modalities: Planned['modalities'] = [];
  for (const m of presentModalities(sample)) {
    if (m === 'text' && sample.text !== undefined) {
      modalities.push({ modality: m, input: { text: sample.text }, sha256: sha(sample.text) });
      continue;
    }
    const rel = modalityPath(sample, m)!;
    const read = await readModality(sample, m);
    const digest = read?.status === 'ok' ? sha(read.input.bytes) : sha(`unreadable\0${rel}`);
    modalities.push({ modality: m, input: { path: rel, root: sample.root }, sha256: digest });
  }
  return { sample, modalities };
}

/**
 * Submits a folder, manifest or corpus spec as one flow per sample (DESIGN.md §8): a parent on
 * `fuse`, a child per modality. Job ids come from batch, sample, modality and content, and a
 * sample whose flow or record exists is not added again, so the same inputs submitted twice
 * make one batch and no duplicate work.
 */
export async function submitBatch(
  redis: Redis,
  input: string,
  options: SubmitOptions,
): Promise<SubmitResult> {
  const source = await openInput(input);
  const planned: Planned[] = [];
  const seen = new Set<string>();
  // Files are read and hashed 32 samples at a time, so that the reads overlap.
  let wave: Sample[] = [];
  const flush = async () => {
    planned.push(...(await Promise.all(wave.map(plan))));
    wave = [];
    options.onProgress?.(planned.length);
  };
  for await (const s of source.samples) {
    if (seen.has(s.id))
      throw new EmoflowError('MANIFEST_INVALID', `${input}: sample id '${s.id}' appears twice`);
    seen.add(s.id);
    wave.push(s);
    if (wave.length === 32) await flush();
  }
  await flush();
  const batch =
    options.batch ??
    deriveBatchId(
      planned.map((p) => ({
        sampleId: p.sample.id,
        hashes: p.modalities.map((m) => `${m.modality}:${m.sha256}`),
      })),
    );
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const keys = batchKeys(options.prefix, batch);
  const created = await redis.hsetnx(keys.meta, 'samples', String(planned.length));
  if (created === 1) {
    const multi = redis.multi();
    multi.hset(keys.meta, { createdAt: new Date().toISOString(), ttlSeconds: String(ttl), input });
    for (let i = 0; i < planned.length; i += 1000)
      multi.rpush(keys.ids, ...planned.slice(i, i + 1000).map((p) => p.sample.id));
    multi.expire(keys.meta, ttl);
    multi.expire(keys.ids, ttl);
    await multi.exec();
  } else {
    const known = Number(await redis.hget(keys.meta, 'samples'));
    if (known !== planned.length) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `batch ${batch} exists with ${known} samples; these inputs have ${planned.length}: choose another --batch`,
      );
    }
  }
  const producer = new FlowProducer({ connection: redisOptions(options.redisUrl), prefix: options.prefix });
  let added = 0;
  let existing = 0;
  try {
    for (let i = 0; i < planned.length; i += 200) {
      const part = planned.slice(i, i + 200);
      const check = redis.pipeline();
      for (const p of part) {
        check.exists(`${options.prefix}:fuse:${fuseJobId(batch, p.sample.id)}`);
        check.hexists(keys.records, p.sample.id);
      }
      const answers = (await check.exec()) ?? [];
      const flows: FlowJob[] = [];
      part.forEach((p, k) => {
        const flowExists = answers[2 * k]?.[1] === 1;
        const recordExists = answers[2 * k + 1]?.[1] === 1;
        if (flowExists || recordExists) existing++;
        else flows.push(flowOf(batch, p, ttl));
      });
      if (flows.length > 0) await producer.addBulk(flows);
      added += flows.length;
    }
  } finally {
    await producer.close();
  }
  return {
    batch,
    samples: planned.length,
    added,
    existing,
    skipped: source.skippedCount(),
    skippedFiles: source.skipped,
  };
}

function flowOf(batch: string, p: Planned, ttl: number): FlowJob {
  const keep = { age: ttl };
  const data: FuseJob = {
    batch,
    sampleId: p.sample.id,
    inputs: inputsOf(p.sample),
    modalities: p.modalities.map((m) => m.modality),
    ttlSeconds: ttl,
  };
  return {
    name: 'sample',
    queueName: 'fuse',
    data,
    opts: {
      jobId: fuseJobId(batch, p.sample.id),
      attempts: JOB_ATTEMPTS,
      backoff: JOB_BACKOFF,
      // The record is what stays (under the batch); a completed parent is not needed.
      removeOnComplete: true,
      removeOnFail: keep,
    },
    children: p.modalities.map((m) => {
      const child: ModalityJob = {
        batch,
        sampleId: p.sample.id,
        modality: m.modality,
        input: m.input,
        sha256: m.sha256,
      };
      return {
        name: m.modality,
        queueName: m.modality,
        data: child,
        opts: {
          jobId: modalityJobId(batch, p.sample.id, m.modality, m.sha256),
          attempts: JOB_ATTEMPTS,
          backoff: JOB_BACKOFF,
          // An input error fails the child; the parent still runs and reports it for that modality.
          ignoreDependencyOnFailure: true,
          // The parent holds the child's result once it completes; the vector need not stay twice.
          removeOnComplete: true,
          removeOnFail: keep,
        },
      };
    }),
  };
}
