import { Queue } from 'bullmq';
import type { ErrorCode } from '../../core/errors.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import { bullConnectionOf, type RedisClient } from './connection.js';
import { FlowWriter, planFromData, type SamplePlan } from './flows.js';
import { batchKeys, DEFAULT_TTL_SECONDS } from './keys.js';
import { isRetryableRecord, RETRYABLE_CODES } from './store.js';

export interface RetryOptions {
  redisUrl: string;
  /** The key prefix the batch lives under (its shard's). */
  prefix: string;
  batch: string;
  /** Record error codes that make a sample redone (default: EXTRACTION_FAILED). */
  codes?: readonly ErrorCode[];
}

export interface RetryResult {
  batch: string;
  /** Samples looked at (those with a plan: submitted by `emoflow submit`). */
  checked: number;
  /** Flows added again: failed ones redone, and any that was missing. */
  requeued: number;
  /** Of `requeued`: samples whose fuse job had failed or whose record had a retryable error. */
  redone: number;
  /** Samples left alone: an ok or final record, or a flow still alive. */
  existing: number;
  /**
   * Samples that cannot be redone here: a batch of a producer of its own keeps no plan (its
   * failed fuse jobs are retried in place instead, counted in `requeued`), and a submit cut
   * off part-way planned only what it reached (run the same submit again).
   */
  notRedoable: number;
}

/**
 * `emoflow retry <batch>`: redoes what failed for reasons that are not the input's. From the
 * batch's plan (what submit added), each sample whose fuse job failed (stalled out, a store that
 * kept failing), whose record failed or is partial with a retryable code, or whose flow is
 * missing is added again (FlowWriter: leftover jobs and the record are removed first); samples
 * with a final record or a live flow are left alone. Batches without a plan (a producer of its
 * own) get their failed fuse jobs retried in place (BullMQ `Job.retry`).
 */
export async function retryBatch(redis: RedisClient, options: RetryOptions): Promise<RetryResult> {
  const k = batchKeys(options.prefix, options.batch);
  const codes = new Set(options.codes ?? RETRYABLE_CODES);
  const result: RetryResult = {
    batch: options.batch,
    checked: 0,
    requeued: 0,
    redone: 0,
    existing: 0,
    notRedoable: 0,
  };
  if ((await redis.hlen(k.plan)) === 0) return retryWithoutPlan(redis, options, codes, result);
  const ttl = Number((await redis.hget(k.meta, 'ttlSeconds')) ?? DEFAULT_TTL_SECONDS);
  const writer = new FlowWriter(
    redis,
    bullConnectionOf(redis, options.redisUrl),
    options.prefix,
    options.batch,
    ttl,
    codes,
  );
  try {
    const total = await redis.llen(k.ids);
    for (let start = 0; start < total; start += 500) {
      const ids = await redis.lrange(k.ids, start, start + 499);
      const data = await redis.hmget(k.plan, ...ids);
      const plans: SamplePlan[] = [];
      ids.forEach((id, i) => {
        const d = data[i];
        if (d === null || d === undefined) result.notRedoable++;
        else plans.push(planFromData(id, d));
      });
      const got = await writer.add(plans);
      result.checked += plans.length;
      result.requeued += got.added;
      result.redone += got.redone;
      result.existing += got.existing;
    }
  } finally {
    await writer.close();
  }
  return result;
}

async function retryWithoutPlan(
  redis: RedisClient,
  options: RetryOptions,
  codes: ReadonlySet<ErrorCode>,
  result: RetryResult,
): Promise<RetryResult> {
  const fuse = new Queue('fuse', {
    connection: bullConnectionOf(redis, options.redisUrl),
    prefix: options.prefix,
  });
  fuse.on('error', () => undefined);
  try {
    for (let start = 0; ; start += 500) {
      const failed = await fuse.getFailed(start, start + 499);
      let retried = 0;
      for (const job of failed) {
        const data = job.data as { batch?: unknown } | undefined;
        if (data?.batch !== options.batch) continue;
        await job.retry('failed');
        retried++;
      }
      result.requeued += retried;
      // Retried jobs leave the failed set: the next page starts that much earlier.
      start -= retried;
      if (failed.length < 500) break;
    }
  } finally {
    await fuse.close();
  }
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(
      batchKeys(options.prefix, options.batch).records,
      cursor,
      'COUNT',
      500,
    );
    cursor = next;
    for (let i = 1; i < flat.length; i += 2)
      if (isRetryableRecord(JSON.parse(flat[i]!) as PredictionRecord, codes)) result.notRedoable++;
  } while (cursor !== '0');
  result.redone = result.requeued;
  return result;
}
