import type { ErrorCode } from '../../core/errors.js';
import { openOutput, type Format, type OutputMode } from '../../export/writers.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import { tally, type IngestProgress, type RunSummary } from '../embedded/ingest.js';
import { connectRedisClient } from './connection.js';
import { queueLayout } from './layout.js';
import { batchKeys } from './keys.js';
import { batchStatus, deleteBatch } from './store.js';
import { submitBatch } from './submit.js';
import { incompleteNotice, watchWorkers } from './worker-watch.js';

export interface QueueIngestOptions {
  input: string;
  out: string;
  format: Format;
  mode: OutputMode;
  redisUrl: string;
  /** The `--prefix` (with several shards, the base of the shards' prefixes). */
  prefix: string;
  /** Shards of the deployment (default 1); the batch goes to its shard, as with `emoflow submit`. */
  shards?: number;
  batch?: string;
  ttlSeconds?: number;
  /** Recordings read as timelines of speech segments (docs/timelines.md). */
  segments?: boolean;
  /** How often the completion log is read (default 50 ms: a poll costs only what is new). */
  pollMs?: number;
  onProgress?: (p: IngestProgress) => void;
  /**
   * Messages for stderr while waiting: no worker serving a queue the batch needs (looked for
   * every `watchMs`, default 2.5 s, and said again every 30 s while it lasts), and the batch
   * being removed from Redis at the end.
   */
  onNotice?: (message: string) => void;
  watchMs?: number;
}

export interface QueueIngestSummary extends RunSummary {
  batch: string;
}

/**
 * `emoflow ingest … --redis <url>`: submits the input to the queue, then streams each record
 * into the output as the workers store it (completion order: the batch's `done` log, read from
 * where the last poll stopped, so a poll costs what is new rather than what is pending), with
 * the embedded run's progress and summary. The batch's results are removed from Redis once all
 * are written.
 */
export async function ingestViaQueue(options: QueueIngestOptions): Promise<QueueIngestSummary> {
  const t0 = performance.now();
  const notice = options.onNotice ?? (() => undefined);
  const layout = queueLayout(options.prefix, options.shards ?? 1, options.redisUrl);
  const redis = await connectRedisClient(options.redisUrl);
  try {
    const sub = await submitBatch(redis, options.input, {
      redisUrl: options.redisUrl,
      prefix: layout.prefix,
      shards: layout.shards,
      ...(options.batch === undefined ? {} : { batch: options.batch }),
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
      ...(options.segments === true ? { segments: true } : {}),
    });
    // Every key of the batch is under its shard's prefix.
    const prefix = sub.prefix;
    const keys = batchKeys(prefix, sub.batch);
    const { writer, done } = await openOutput(options.out, options.format, options.mode);
    const records = { ok: 0, partial: 0, failed: 0 };
    const errors: Partial<Record<ErrorCode, number>> = {};
    let written = 0;
    let resumed = 0;
    const stopWatch = watchWorkers({
      redis,
      prefix,
      workerFlags: layout.flags,
      batch: sub.batch,
      notice,
      ...(options.watchMs === undefined ? {} : { checkMs: options.watchMs }),
    });
    try {
      const pending = new Set<string>();
      const total = await redis.llen(keys.ids);
      for (let start = 0; start < total; start += 5000) {
        for (const id of await redis.lrange(keys.ids, start, start + 4999)) {
          if (done.has(id)) resumed++;
          else pending.add(id);
        }
      }
      const progress = () => options.onProgress?.({ done: written + resumed, total, records });
      progress();
      const take = async (ids: string[]) => {
        for (let i = 0; i < ids.length; i += 1000) {
          const part = ids.slice(i, i + 1000);
          const values = await redis.hmget(keys.records, ...part);
          const got: PredictionRecord[] = [];
          values.forEach((v, k) => {
            if (v !== null && pending.delete(part[k]!)) got.push(JSON.parse(v) as PredictionRecord);
          });
          if (got.length === 0) continue;
          await writer.write(got);
          written += got.length;
          tally(got, records, errors);
        }
      };
      // Records stored before this run (a second ingest of the same inputs) are not in the part
      // of the log read from here on: one sweep over everything pending takes them.
      let cursor = await redis.llen(keys.done);
      await take([...pending]);
      let lastSweep = Date.now();
      let toldIncomplete = 0;
      while (pending.size > 0) {
        progress();
        await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
        const fresh = await redis.lrange(keys.done, cursor, cursor + 9999);
        cursor += fresh.length;
        await take(fresh.filter((id) => pending.has(id)));
        // Every 10 s all pending ids are swept too: a record whose log entry went elsewhere
        // (a record deleted and stored again by `retry`) is not waited for forever.
        if (Date.now() - lastSweep > 10_000 && pending.size > 0) {
          lastSweep = Date.now();
          await take([...pending]);
          const s = await batchStatus(redis, prefix, sub.batch);
          if (s?.submitted !== undefined && Date.now() - toldIncomplete > 30_000) {
            notice(incompleteNotice(s));
            toldIncomplete = Date.now();
          }
        }
      }
      progress();
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    } finally {
      await stopWatch();
    }
    await deleteBatch(redis, prefix, sub.batch);
    notice(`removed batch ${sub.batch} from Redis (all ${written + resumed} records are in ${options.out})`);
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
