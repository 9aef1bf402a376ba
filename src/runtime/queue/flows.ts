import { FlowProducer, Queue, type ConnectionOptions, type FlowJob } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { ErrorCode } from '../../core/errors.js';
import type { Modality } from '../../core/labels.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import type { QueueName, RedisClient } from './connection.js';
import { batchKeys, fuseJobId, jobKey, modalityJobId, queueKey } from './keys.js';
import type { FuseJob, JobInput, ModalityJob } from './schemas.js';
import { forgetRecord, isRetryableRecord, RETRYABLE_CODES } from './store.js';

/** Retries of a modality or fuse job on transient errors, with exponential backoff. */
export const JOB_ATTEMPTS = 4;
export const JOB_BACKOFF = { type: 'exponential' as const, delay: 1000 };

/**
 * A sample's flow as submit planned it: what its parent records as inputs, and each modality's
 * job input with its content hash. Kept in the batch's `plan` hash, so that `retry` can add the
 * flow again without the submitter's files list.
 */
export interface SamplePlan {
  sampleId: string;
  inputs: FuseJob['inputs'];
  modalities: { modality: Modality; input: JobInput; sha256: string; segments?: boolean }[];
}

export interface AddCounts {
  /** Flows added (redone ones included). */
  added: number;
  /** Samples whose record or live flow was there already. */
  existing: number;
  /** Of `added`: samples whose failed flow or retryable record was replaced. */
  redone: number;
}

/**
 * Adds samples' flows to a batch, once: a sample whose record is stored, or whose flow is alive
 * (waiting, active, or waiting for its children), is left alone; a sample whose parent job
 * failed, or whose record failed for a reason that is not its input's (EXTRACTION_FAILED), is
 * redone: its record and leftover jobs are removed and its flow added again. A parent that is
 * missing children (a submit cut off mid-flow) gets its flow added again, which adds only the
 * missing children (BullMQ keeps an existing job and re-links it to its parent).
 *
 * `prefix` is the batch's shard's: every key read or written here (the batch's, its jobs', the
 * queues') is under it, so on a Redis Cluster each pipeline and each flow (one MULTI over the
 * four queues) stays in one slot.
 */
export class FlowWriter {
  private readonly producer: FlowProducer;
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly redis: RedisClient,
    /** BullMQ's `connection` (`bullConnectionOf`). */
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly batch: string,
    private readonly ttl: number,
    /** Record error codes that make a sample redone (default: EXTRACTION_FAILED). */
    private readonly retryCodes: ReadonlySet<ErrorCode> = RETRYABLE_CODES,
  ) {
    this.producer = new FlowProducer({ connection, prefix });
    this.producer.on('error', () => undefined); // connection errors: ioredis reconnects
  }

  async add(plans: readonly SamplePlan[]): Promise<AddCounts> {
    const counts: AddCounts = { added: 0, existing: 0, redone: 0 };
    if (plans.length === 0) return counts;
    const k = batchKeys(this.prefix, this.batch);
    const failedSet = queueKey(this.prefix, 'fuse', 'failed');
    const check = this.redis.pipeline();
    for (const p of plans) {
      const fuse = fuseJobId(this.batch, p.sampleId);
      check.hget(k.records, p.sampleId);
      check.exists(jobKey(this.prefix, 'fuse', fuse));
      check.zscore(failedSet, fuse);
    }
    const answers = await execOrThrow(check);
    const fresh: SamplePlan[] = [];
    const redo: { plan: SamplePlan; record: string | null }[] = [];
    const alive: SamplePlan[] = [];
    plans.forEach((p, i) => {
      const record = answers[3 * i] as string | null;
      const exists = answers[3 * i + 1] === 1;
      const failed = answers[3 * i + 2] !== null;
      if (record !== null) {
        if (isRetryableRecord(JSON.parse(record) as PredictionRecord, this.retryCodes))
          redo.push({ plan: p, record });
        else counts.existing++;
      } else if (exists && failed) redo.push({ plan: p, record: null });
      else if (exists) alive.push(p);
      else fresh.push(p);
    });
    const toAdd = [...fresh, ...(await this.missingChildren(alive, counts))];
    for (const r of redo) {
      if (await this.clear(r.plan, r.record)) {
        toAdd.push(r.plan);
        counts.redone++;
      } else counts.existing++; // a job of it is running: it is not lost
    }
    if (toAdd.length === 0) return counts;
    const plan = this.redis.pipeline();
    plan.hset(k.plan, Object.fromEntries(toAdd.map((p) => [p.sampleId, JSON.stringify(planData(p))])));
    plan.expire(k.plan, this.ttl);
    await execOrThrow(plan);
    await this.producer.addBulk(toAdd.map((p) => flowOf(this.batch, p, this.ttl)));
    counts.added += toAdd.length;
    return counts;
  }

  /** Of parents that are alive, those missing a child (their flow is added again); the rest exist. */
  private async missingChildren(alive: SamplePlan[], counts: AddCounts): Promise<SamplePlan[]> {
    if (alive.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const p of alive) {
      const key = jobKey(this.prefix, 'fuse', fuseJobId(this.batch, p.sampleId));
      pipe.scard(`${key}:dependencies`);
      pipe.hlen(`${key}:processed`);
      pipe.hlen(`${key}:failed`);
      pipe.zcard(`${key}:unsuccessful`);
    }
    const answers = await execOrThrow(pipe);
    const out: SamplePlan[] = [];
    alive.forEach((p, i) => {
      const known = [0, 1, 2, 3].reduce((a, j) => a + Number(answers[4 * i + j] ?? 0), 0);
      if (known < p.modalities.length) out.push(p);
      else counts.existing++;
    });
    return out;
  }

  /**
   * Removes a sample's record (if it is still `record`) and its leftover jobs, so that its
   * flow can be added again; false when one of its jobs is active (locked).
   */
  private async clear(plan: SamplePlan, record: string | null): Promise<boolean> {
    const fuse = fuseJobId(this.batch, plan.sampleId);
    if ((await this.queue('fuse').remove(fuse, { removeChildren: true })) !== 1) return false;
    for (const m of plan.modalities) {
      const id = modalityJobId(this.batch, plan.sampleId, m.modality, m.sha256);
      if ((await this.queue(m.modality).remove(id)) !== 1) return false;
    }
    if (record !== null) await forgetRecord(this.redis, this.prefix, this.batch, plan.sampleId, record);
    return true;
  }

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined); // connection errors: ioredis reconnects
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([this.producer.close(), ...[...this.queues.values()].map((q) => q.close())]);
  }
}

/** A pipeline's replies; the first command error is thrown (a refused write is not a reply). */
export async function execOrThrow(pipe: ChainableCommander): Promise<unknown[]> {
  const answers = (await pipe.exec()) ?? [];
  for (const [err] of answers) if (err) throw err;
  return answers.map(([, v]) => v);
}

/** What the `plan` hash holds of a sample (its key is the sample id). */
function planData(p: SamplePlan): Omit<SamplePlan, 'sampleId'> {
  return { inputs: p.inputs, modalities: p.modalities };
}

export function planFromData(sampleId: string, json: string): SamplePlan {
  const d = JSON.parse(json) as Omit<SamplePlan, 'sampleId'>;
  return { sampleId, inputs: d.inputs, modalities: d.modalities };
}

export function flowOf(batch: string, p: SamplePlan, ttl: number): FlowJob {
  const keep = { age: ttl };
  const data: FuseJob = {
    batch,
    sampleId: p.sampleId,
    inputs: p.inputs,
    modalities: p.modalities.map((m) => m.modality),
    ttlSeconds: ttl,
  };
  return {
    name: 'sample',
    queueName: 'fuse',
    data,
    opts: {
      jobId: fuseJobId(batch, p.sampleId),
      attempts: JOB_ATTEMPTS,
      backoff: JOB_BACKOFF,
      // The record is what stays (under the batch); a completed parent is not needed.
      removeOnComplete: true,
      removeOnFail: keep,
    },
    children: p.modalities.map((m) => {
      const child: ModalityJob = {
        batch,
        sampleId: p.sampleId,
        modality: m.modality,
        input: m.input,
        sha256: m.sha256,
        ...(m.segments === true ? { segments: true } : {}),
      };
      return {
        name: m.modality,
        queueName: m.modality,
        data: child,
        opts: {
          jobId: modalityJobId(batch, p.sampleId, m.modality, m.sha256),
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
