import { EmoflowError } from '../../core/errors.js';
import { checkPrefix, isClusterUrl, type RedisClient } from './connection.js';
import { batchKeys } from './keys.js';
import { hashTag, shardOfBatch, shardPrefixes } from './shards.js';

/** The environment variable that gives every `--shards` flag its default. */
export const SHARDS_ENV = 'EMOFLOW_SHARDS';

/**
 * Where a deployment's queues and batches live: the `--prefix` and `--shards` of its commands.
 * One shard is today's layout: every key under the prefix as given. S > 1 shards are S complete
 * queue sets, each under a hash-tagged prefix of its own (`shardPrefixes`), and a batch lives in
 * one of them (`shardOfBatch`).
 */
export interface QueueLayout {
  /** The `--prefix` as given. */
  readonly prefix: string;
  readonly shards: number;
  /** The key prefix of each shard, shard 0 first (`[prefix]` for one shard). */
  readonly prefixes: readonly string[];
  /** The key prefix of a batch's shard. */
  prefixOf(batch: string): string;
  /** The flags that name this layout, for messages: `--prefix emoflow --shards 3`. */
  readonly flags: string;
}

/** `$EMOFLOW_SHARDS` when set, else 1: the default of `--shards`. CONFIG_INVALID if it is not 1 … 1024. */
export function defaultShards(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const v = env[SHARDS_ENV]?.trim();
  if (v === undefined || v === '') return 1;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024)
    throw new EmoflowError('CONFIG_INVALID', `${SHARDS_ENV}='${v}': use an integer from 1 to 1024`);
  return n;
}

/**
 * The layout of `prefix` over `shards` shards (default `defaultShards()`), checked for the Redis
 * of `redisUrl`: on a Redis Cluster one shard needs a hash-tagged prefix (`{emoflow}`), while
 * several shards are hash-tagged by construction. CONFIG_INVALID otherwise.
 */
export function queueLayout(
  prefix: string,
  shards: number = defaultShards(),
  redisUrl?: string,
): QueueLayout {
  checkPrefix(prefix);
  if (shards === 1) {
    if (redisUrl !== undefined && isClusterUrl(redisUrl) && hashTag(prefix) === undefined) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `--prefix '${prefix}': on a Redis Cluster the prefix needs a hash tag, e.g. --prefix '{${prefix.replace(/[{}]/g, '')}}' (BullMQ keeps each queue's keys in one slot: one master), or give --shards N (or ${SHARDS_ENV}) to spread batches over N masters`,
      );
    }
    return { prefix, shards, prefixes: [prefix], prefixOf: () => prefix, flags: `--prefix ${prefix}` };
  }
  const prefixes = shardPrefixes(prefix, shards);
  return {
    prefix,
    shards,
    prefixes,
    prefixOf: (batch) => prefixes[shardOfBatch(batch, shards)]!,
    flags: `--prefix ${prefix} --shards ${shards}`,
  };
}

/** Whether a batch has keys under `prefix`: its meta (emoflow submit) or records (a producer of its own). */
async function batchUnder(redis: RedisClient, prefix: string, batch: string): Promise<boolean> {
  const k = batchKeys(prefix, batch);
  const [meta, records] = await Promise.all([redis.exists(k.meta), redis.exists(k.records)]);
  return meta + records > 0;
}

/**
 * The key prefix under which `batch` lives: its shard's (`layout.prefixOf`), else another shard
 * of the layout that holds it (a producer of its own may put a batch anywhere), else undefined.
 * When it is found nowhere but under another shard count, CONFIG_INVALID says which `--shards`
 * put it there (every command of a deployment needs the same).
 */
export async function findBatch(
  redis: RedisClient,
  layout: QueueLayout,
  batch: string,
  redisUrl?: string,
): Promise<string | undefined> {
  const own = layout.prefixOf(batch);
  if (await batchUnder(redis, own, batch)) return own;
  for (const p of layout.prefixes) if (p !== own && (await batchUnder(redis, p, batch))) return p;
  for (let s = 1; s <= 16; s++) {
    if (s === layout.shards) continue;
    let other: QueueLayout;
    try {
      other = queueLayout(layout.prefix, s, redisUrl);
    } catch {
      continue; // one untagged shard on a cluster, or a prefix that cannot be sharded
    }
    const p = other.prefixOf(batch);
    if (await batchUnder(redis, p, batch)) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `batch '${batch}' is not under ${layout.flags} (prefix ${own}) but under ${other.flags} (prefix ${p}): give every command of a deployment the same --shards (or set ${SHARDS_ENV})`,
      );
    }
  }
  return undefined;
}
