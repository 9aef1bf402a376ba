import { EmoflowError, type ErrorCode } from '../../core/errors.js';
import { openOutput, type Format, type OutputMode } from '../../export/writers.js';
import { connectRedisClient, DEFAULT_PREFIX, DEFAULT_REDIS_URL, type RedisClient } from './connection.js';
import { defaultShards, findBatch, queueLayout, type QueueLayout } from './layout.js';
import { isRedisReply, redisReason } from './redis-errors.js';
import { retryBatch, type RetryResult } from './retry.js';
import { batchRecords, batchStatus, deleteBatch, type BatchStatus } from './store.js';
import { submitBatch, type SubmitResult } from './submit.js';
import { incompleteNotice, watchWorkers } from './worker-watch.js';

/** Where the queue lives. */
export interface QueueTarget {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS), or
   * `redis+cluster://host:port,host:port,…` (a Redis Cluster). Default redis://127.0.0.1:6379.
   */
  redis?: string;
  /**
   * Key prefix of the queues. Default `emoflow`. On a Redis Cluster with one shard it needs a
   * hash tag (`{emoflow}`); with several shards it is the base of the shards' prefixes.
   */
  prefix?: string;
  /**
   * Shards of the deployment (default `$EMOFLOW_SHARDS`, else 1): each batch lives in one
   * (`shardOfBatch`); every command and worker of a deployment must use the same number.
   */
  shards?: number;
}

function target(t: QueueTarget): { url: string; layout: QueueLayout } {
  const url = t.redis ?? DEFAULT_REDIS_URL;
  return { url, layout: queueLayout(t.prefix ?? DEFAULT_PREFIX, t.shards ?? defaultShards(), url) };
}

/**
 * Submits a folder, manifest or corpus spec to the queue: one flow per sample. Returns at once
 * with the batch id (derived from the inputs unless `batch` is given).
 */
export async function submit(
  input: string,
  options: QueueTarget & {
    batch?: string;
    ttlSeconds?: number;
    /** Recordings read as timelines of speech segments (docs/timelines.md). */
    segments?: boolean;
    onProgress?: (n: number) => void;
  } = {},
): Promise<SubmitResult> {
  const { url, layout } = target(options);
  const redis = await connectRedisClient(url);
  try {
    return await submitBatch(redis, input, {
      redisUrl: url,
      prefix: layout.prefix,
      shards: layout.shards,
      ...(options.batch === undefined ? {} : { batch: options.batch }),
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
      ...(options.segments === true ? { segments: true } : {}),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  } finally {
    redis.disconnect();
  }
}

/**
 * The key prefix the batch lives under (its shard's) and its status, or CONFIG_INVALID naming
 * why it may be missing.
 */
async function existingBatch(
  redis: RedisClient,
  layout: QueueLayout,
  batch: string,
  url: string,
): Promise<{ prefix: string; status: BatchStatus }> {
  const prefix = await findBatch(redis, layout, batch, url);
  const s = prefix === undefined ? undefined : await batchStatus(redis, prefix, batch);
  if (prefix === undefined || s === undefined) {
    const where =
      layout.shards === 1
        ? `prefix '${layout.prefix}'`
        : `${layout.flags} (its shard's prefix '${layout.prefixOf(batch)}')`;
    throw new EmoflowError(
      'CONFIG_INVALID',
      `no batch '${batch}' under ${where} (expired, exported, or never submitted)`,
    );
  }
  return { prefix, status: s };
}

/** Counts of a batch's samples: `{batch, samples, done, pending, records: {ok, partial, failed}}`. */
export async function status(batch: string, options: QueueTarget = {}): Promise<BatchStatus> {
  const { url, layout } = target(options);
  const redis = await connectRedisClient(url);
  try {
    return (await existingBatch(redis, layout, batch, url)).status;
  } finally {
    redis.disconnect();
  }
}

export interface ExportOptions extends QueueTarget {
  out: string;
  format: Format;
  mode?: OutputMode;
  /** Wait until every sample has its record. */
  wait?: boolean;
  /** Keep the results in Redis after a complete export (default: removed; otherwise they expire with their TTL). */
  keep?: boolean;
  pollMs?: number;
  onProgress?: (s: BatchStatus) => void;
  /**
   * Messages while waiting (no worker serving a queue the batch needs, a submit left
   * incomplete), for stderr; `watchMs` is how often workers are looked for (default 2.5 s).
   */
  onNotice?: (message: string) => void;
  watchMs?: number;
}

export interface ExportResult {
  batch: string;
  written: number;
  complete: boolean;
  /** Whether the batch's results were deleted from Redis (a complete export without `keep`). */
  removed: boolean;
  status: BatchStatus;
}

/**
 * Writes every stored record of a batch once, in submission order. With `wait`, first waits
 * for the batch to complete. After a complete export the batch's results are removed from Redis
 * unless `keep`; an incomplete one leaves them (a later export, or `--resume`, finishes it).
 */
export async function exportBatch(batch: string, options: ExportOptions): Promise<ExportResult> {
  const { url, layout } = target(options);
  const redis = await connectRedisClient(url);
  try {
    const found = await existingBatch(redis, layout, batch, url);
    const prefix = found.prefix;
    let s = found.status;
    if (options.wait === true && s.done < s.samples) {
      const notice = options.onNotice ?? (() => undefined);
      const stop = watchWorkers({
        redis,
        prefix,
        workerFlags: layout.flags,
        batch,
        notice,
        ...(options.watchMs === undefined ? {} : { checkMs: options.watchMs }),
      });
      let toldIncomplete = 0;
      try {
        while (s.done < s.samples) {
          if (s.submitted !== undefined && Date.now() - toldIncomplete > 30_000) {
            notice(incompleteNotice(s));
            toldIncomplete = Date.now();
          }
          options.onProgress?.(s);
          await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
          const now = await batchStatus(redis, prefix, batch);
          if (now === undefined)
            throw new EmoflowError(
              'CONFIG_INVALID',
              `batch '${batch}' disappeared from Redis while waiting (exported by another export, or expired)`,
            );
          s = now;
        }
      } finally {
        await stop();
      }
    }
    options.onProgress?.(s);
    const { writer, done } = await openOutput(options.out, options.format, options.mode ?? 'new');
    let written = 0;
    try {
      for await (const part of batchRecords(redis, prefix, batch)) {
        const fresh = part.filter((r) => !done.has(r.id));
        await writer.write(fresh);
        written += fresh.length;
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    const complete = s.done >= s.samples;
    const removed = complete && options.keep !== true;
    if (removed) {
      try {
        await deleteBatch(redis, prefix, batch);
      } catch (e) {
        if (!isRedisReply(e)) throw e;
        throw new EmoflowError(
          'REDIS_WRITE_FAILED',
          `${options.out} is complete (${written} records), but Redis refused to delete batch ${batch} (${redisReason(e)}); it expires with its TTL, or run the export again with --resume`,
          { cause: e },
        );
      }
    }
    return { batch, written, complete, removed, status: s };
  } finally {
    redis.disconnect();
  }
}

/**
 * Re-queues what failed in a batch: samples whose fuse job failed (a stall limit, a store that
 * kept failing) and samples whose record failed or is partial with EXTRACTION_FAILED (or one of
 * `codes`) get their flow added again from the batch's plan; see retry.ts.
 */
export async function retry(
  batch: string,
  options: QueueTarget & { codes?: readonly ErrorCode[] } = {},
): Promise<RetryResult> {
  const { url, layout } = target(options);
  const redis = await connectRedisClient(url);
  try {
    const { prefix } = await existingBatch(redis, layout, batch, url);
    return await retryBatch(redis, {
      redisUrl: url,
      prefix,
      batch,
      ...(options.codes === undefined ? {} : { codes: options.codes }),
    });
  } catch (e) {
    if (!isRedisReply(e)) throw e;
    throw new EmoflowError(
      'REDIS_WRITE_FAILED',
      `retry of batch ${batch} stopped: Redis refused a write (${redisReason(e)}); once it takes writes again, run the same retry: it goes on where this one stopped`,
      { cause: e },
    );
  } finally {
    redis.disconnect();
  }
}
