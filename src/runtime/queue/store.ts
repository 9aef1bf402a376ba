import { Cluster } from 'ioredis';
import type { ErrorCode } from '../../core/errors.js';
import type { PredictionRecord } from '../../pipeline/record.js';
import type { RedisClient } from './connection.js';
import { batchKeys } from './keys.js';
import { runLua } from './lua.js';

/**
 * Stores a record once: HSETNX, and the status counter and the completion log (`done`) only
 * when the record is new, in one script, so a fuse job that runs twice (a worker killed after
 * storing, its job recovered as stalled) neither duplicates nor double-counts. Every key gets
 * the batch's TTL.
 */
const STORE_ONCE = `
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
return added
`;

/**
 * Deletes a record and takes it off its status counter, in one script, when it is still the
 * record `expected` (so two retries of a batch never decrement twice). Returns 1 if deleted.
 */
const FORGET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
return 1
`;

export async function storeRecord(
  redis: RedisClient,
  prefix: string,
  batch: string,
  record: PredictionRecord,
  ttlSeconds: number,
): Promise<boolean> {
  const k = batchKeys(prefix, batch);
  const added = (await runLua(
    redis,
    STORE_ONCE,
    [k.records, k.counts, k.done],
    [record.id, JSON.stringify(record), record.status, String(ttlSeconds)],
  )) as number;
  return added === 1;
}

/**
 * Whether a stored record is to be redone by `retry` or a second `submit`: it failed (wholly or
 * for a modality) with one of `codes`; by default for a reason that is not the input's
 * (EXTRACTION_FAILED: a worker that died, a job that stalled too often, a fuse job that lost
 * its children's results).
 */
export function isRetryableRecord(
  record: PredictionRecord,
  codes: ReadonlySet<ErrorCode> = RETRYABLE_CODES,
): boolean {
  if (record.status === 'ok') return false;
  if (record.error !== undefined && codes.has(record.error.code)) return true;
  return Object.values(record.modalities).some((m) => m?.status === 'error' && codes.has(m.error.code));
}

export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set(['EXTRACTION_FAILED']);

/** Deletes the stored record `json` of `sampleId` (as read), so that its sample is redone. */
export async function forgetRecord(
  redis: RedisClient,
  prefix: string,
  batch: string,
  sampleId: string,
  json: string,
): Promise<boolean> {
  const k = batchKeys(prefix, batch);
  const status = (JSON.parse(json) as PredictionRecord).status;
  return ((await runLua(redis, FORGET, [k.records, k.counts], [sampleId, json, status])) as number) === 1;
}

export interface BatchStatus {
  batch: string;
  samples: number;
  /**
   * Present only while a submit is incomplete (Redis refused a write part-way): how many samples
   * have their flow; running the same submit again adds the rest.
   */
  submitted?: number;
  done: number;
  pending: number;
  records: { ok: number; partial: number; failed: number };
}

/**
 * Counts of samples, not jobs (docs/queue.md). `samples` comes from the batch's meta; a batch
 * added by a producer of its own has none, and counts its stored records.
 */
export async function batchStatus(
  redis: RedisClient,
  prefix: string,
  batch: string,
): Promise<BatchStatus | undefined> {
  const k = batchKeys(prefix, batch);
  const [meta, done, counts] = await Promise.all([
    redis.hmget(k.meta, 'samples', 'submitted'),
    redis.hlen(k.records),
    redis.hgetall(k.counts),
  ]);
  const [known, submittedText] = meta;
  if ((known === null || known === undefined) && done === 0) return undefined;
  const samples = known === null || known === undefined ? done : Number(known);
  // Batches of a producer of its own have no `submitted`; an older submit wrote none either.
  const submitted = submittedText === null || submittedText === undefined ? samples : Number(submittedText);
  const n = (s: string) => Number(counts[s] ?? 0);
  return {
    batch,
    samples,
    ...(submitted < samples ? { submitted } : {}),
    done,
    pending: Math.max(0, samples - done),
    records: { ok: n('ok'), partial: n('partial'), failed: n('failed') },
  };
}

/**
 * The batch's stored records, in submission order (the `ids` list), `chunk` at a time; ids
 * without a record yet are skipped. Batches without an ids list (own producers) go by HSCAN.
 */
export async function* batchRecords(
  redis: RedisClient,
  prefix: string,
  batch: string,
  chunk = 500,
): AsyncGenerator<PredictionRecord[]> {
  const k = batchKeys(prefix, batch);
  const total = await redis.llen(k.ids);
  if (total === 0) {
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(k.records, cursor, 'COUNT', chunk);
      cursor = next;
      const out: PredictionRecord[] = [];
      for (let i = 1; i < flat.length; i += 2) out.push(JSON.parse(flat[i]!) as PredictionRecord);
      if (out.length > 0) yield out;
    } while (cursor !== '0');
    return;
  }
  for (let start = 0; start < total; start += chunk) {
    const ids = await redis.lrange(k.ids, start, start + chunk - 1);
    const values = await redis.hmget(k.records, ...ids);
    const out = values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as PredictionRecord);
    if (out.length > 0) yield out;
  }
}

/** Removes a batch's stored results (after a complete export). */
export async function deleteBatch(redis: RedisClient, prefix: string, batch: string): Promise<void> {
  const k = batchKeys(prefix, batch);
  await redis.del(k.meta, k.ids, k.plan, k.records, k.counts, k.done);
}

/**
 * Deletes every key under `prefix` (SCAN and UNLINK, never KEYS): tests and benchmarks clean up
 * with it. On a Redis Cluster every master is scanned (SCAN sees one node's keys), and keys are
 * unlinked one by one (a multi-key command must stay in one slot).
 */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      if (redis instanceof Cluster) {
        const pipe = node.pipeline();
        for (const key of keys) pipe.unlink(key);
        await pipe.exec();
      } else await node.del(...keys);
    } while (cursor !== '0');
  }
}
