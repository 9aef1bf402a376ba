import type { ErrorCode } from '../../core/errors.js';
import { openOutput, type Format, type OutputMode } from '../../export/writers.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import { tally, type IngestProgress, type RunSummary } from '../embedded/ingest.js';
import { connectRedis } from './connection.js';
import { batchKeys } from './keys.js';
import { deleteBatch } from './store.js';
import { submitBatch } from './submit.js';

export interface QueueIngestOptions {
  input: string;
  out: string;
  format: Format;
  mode: OutputMode;
  redisUrl: string;
  prefix: string;
  batch?: string;
  ttlSeconds?: number;
  pollMs?: number;
  onProgress?: (p: IngestProgress) => void;
}

export interface QueueIngestSummary extends RunSummary {
  batch: string;
}

/**
 * `emoflow ingest … --redis <url>`: submits the input to the queue, then streams each record
 * into the output as the workers store it (completion order), with the embedded run's
 * progress and summary. The batch's results are removed from Redis once all are written.
 */
export async function ingestViaQueue(options: QueueIngestOptions): Promise<QueueIngestSummary> {
  const t0 = performance.now();
  const redis = await connectRedis(options.redisUrl);
  try {
    const sub = await submitBatch(redis, options.input, {
      redisUrl: options.redisUrl,
      prefix: options.prefix,
      ...(options.batch === undefined ? {} : { batch: options.batch }),
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    });
    const keys = batchKeys(options.prefix, sub.batch);
    const { writer, done } = await openOutput(options.out, options.format, options.mode);
    const records = { ok: 0, partial: 0, failed: 0 };
    const errors: Partial<Record<ErrorCode, number>> = {};
    let written = 0;
    let resumed = 0;
    try {
      let pending: string[] = [];
      const total = await redis.llen(keys.ids);
      for (let start = 0; start < total; start += 5000) {
        for (const id of await redis.lrange(keys.ids, start, start + 4999)) {
          if (done.has(id)) resumed++;
          else pending.push(id);
        }
      }
      const progress = () => options.onProgress?.({ done: written + resumed, total, records });
      progress();
      while (pending.length > 0) {
        const still: string[] = [];
        for (let i = 0; i < pending.length; i += 1000) {
          const ids = pending.slice(i, i + 1000);
          const values = await redis.hmget(keys.records, ...ids);
          const got: PredictionRecord[] = [];
          values.forEach((v, k) => {
            if (v === null) still.push(ids[k]!);
            else got.push(JSON.parse(v) as PredictionRecord);
          });
          if (got.length === 0) continue;
          await writer.write(got);
          written += got.length;
          tally(got, records, errors);
        }
        pending = still;
        progress();
        if (pending.length > 0) await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    await deleteBatch(redis, options.prefix, sub.batch);
    const seconds = (performance.now() - t0) / 1000;
    return {
      batch: sub.batch,
      input: options.input,
      output: options.out,
      format: options.format,
      samples: sub.samples,
      written,
      resumed,
      records,
      errors,
      skipped: sub.skipped,
      skippedFiles: sub.skippedFiles,
      seconds,
      samplesPerSecond: written / seconds,
    };
  } finally {
    redis.disconnect();
  }
}
