import type { Redis } from 'ioredis';
import type { PredictionRecord } from '../../pipeline/record.js';
import { batchKeys } from './keys.js';

/**
 * Stores a record once: HSETNX, and the status counter only when the record is new, in one
 * script, so a fuse job that runs twice (a worker killed after storing, its job recovered as
 * stalled) neither duplicates nor double-counts. Every key gets the batch's TTL.
 */
const STORE_ONCE = `
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return added
`;

export async function storeRecord(
  redis: Redis,
  prefix: string,
  batch: string,
  record: PredictionRecord,
  ttlSeconds: number,
): Promise<boolean> {
  const k = batchKeys(prefix, batch);
  const added = (await redis.eval(
    STORE_ONCE,
    2,
    k.records,
    k.counts,
    record.id,
    JSON.stringify(record),
    record.status,
    String(ttlSeconds),
  )) as number;
  return added === 1;
}

export interface BatchStatus {
  batch: string;
  samples: number;
  done: number;
  pending: number;
  records: { ok: number; partial: number; failed: number };
}

/**
 * Counts of samples, not jobs (DESIGN.md §8). `samples` comes from the batch's meta; a batch
 * added by a producer of its own has none, and counts its stored records.
 */
export async function batchStatus(
  redis: Redis,
  prefix: string,
  batch: string,
): Promise<BatchStatus | undefined> {
  const k = batchKeys(prefix, batch);
  const [meta, done, counts] = await Promise.all([
    redis.hget(k.meta, 'samples'),
    redis.hlen(k.records),
    redis.hgetall(k.counts),
  ]);
  if (meta === null && done === 0) return undefined;
  const samples = meta === null ? done : Number(meta);
  const n = (s: string) => Number(counts[s] ?? 0);
  return {
    batch,
    samples,
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
  redis: Redis,
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
export async function deleteBatch(redis: Redis, prefix: string, batch: string): Promise<void> {
  const k = batchKeys(prefix, batch);
  await redis.del(k.meta, k.ids, k.records, k.counts);
}

/** Deletes every key under `prefix` (SCAN and DEL, never KEYS): tests and benchmarks clean up with it. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
