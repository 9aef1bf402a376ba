import { createHash } from 'node:crypto';
import { EmoflowError } from '../../core/errors.js';

/**
 * Redis Cluster slots and emoflow's queue shards.
 *
 * A cluster spreads keys over 16384 hash slots, each owned by one master. BullMQ needs every key
 * of a queue in one slot (its Lua scripts touch several), so a cluster deployment uses a
 * hash-tagged prefix such as `{emoflow}`: keys `<prefix>:<queue>:…` then hash by `emoflow` only.
 * That also puts every queue on one master. To use several masters, a deployment runs S shards:
 * S prefixes whose hash tags hash to slots owned by different masters, each a complete set of
 * the four queues and of the batch keys, and a batch goes to one shard (`shardOfBatch`).
 */

export const CLUSTER_SLOTS = 16384;

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum of Redis Cluster's key slots. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The hash tag of a key, as Redis Cluster reads it: the text between the first `{` and the first
 * `}` after it, when that text is not empty; undefined otherwise (the whole key is hashed).
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** The cluster slot of a key (what `CLUSTER KEYSLOT key` answers): CRC16 of its hash tag or of the key, mod 16384. */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTag(key) ?? key, 'utf8')) % CLUSTER_SLOTS;
}

/**
 * The slots `redis-cli --cluster create` gives the i-th of `masters` masters: an even split,
 * `[first, last]` inclusive (redis-cli.c, clusterManagerCommandCreate).
 */
export function evenSlotRange(i: number, masters: number): [number, number] {
  const per = CLUSTER_SLOTS / masters;
  const first = i === 0 ? 0 : Math.round(per * i - 1) + 1;
  const last = i === masters - 1 ? CLUSTER_SLOTS - 1 : Math.round(per * (i + 1) - 1);
  return [first, last];
}

/**
 * The base name of a prefix for shard names: `emoflow` for `emoflow` or `{emoflow}`. Other
 * braces are refused, as they would change which part of a key is hashed.
 */
function shardBase(prefix: string): string {
  const base = /^\{([^{}]+)\}$/.exec(prefix)?.[1] ?? prefix;
  if (base === '' || /[{}\s]/.test(base)) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prefix '${prefix}': a sharded prefix is a plain name such as emoflow (or {emoflow}), without other braces or spaces`,
    );
  }
  return base;
}

/**
 * The key prefixes of `shards` shards of `prefix`. One shard is the hash-tagged prefix itself
 * (`{emoflow}`). With S > 1, shard i is `{<base>-<i>}`, or `{<base>-<i>.<k>}` with the smallest
 * k ≥ 1 that moves its slot into the middle half of the i-th of S even slot ranges: on a cluster
 * of S masters whose slots were split evenly (`redis-cli --cluster create`, `--cluster
 * rebalance`), each shard then sits on a master of its own, and stays there if a boundary moves
 * by less than a quarter of a range. The names depend on `prefix` and `shards` only.
 */
export function shardPrefixes(prefix: string, shards: number): string[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024) {
    throw new EmoflowError('CONFIG_INVALID', `--shards ${shards}: use an integer from 1 to 1024`);
  }
  const base = shardBase(prefix);
  if (shards === 1) return [`{${base}}`];
  const width = CLUSTER_SLOTS / shards;
  return Array.from({ length: shards }, (_, i) => {
    const low = width * (i + 0.25);
    const high = width * (i + 0.75);
    for (let k = 0; ; k++) {
      const tag = k === 0 ? `${base}-${i}` : `${base}-${i}.${k}`;
      const slot = keySlot(`{${tag}}`);
      if (slot >= low && slot < high) return `{${tag}}`;
    }
  });
}

/**
 * The shard (0 … shards-1) a batch belongs to: the first 4 bytes of sha256(batch id), mod
 * `shards`. Every command that touches a batch (submit, status, export) finds its shard from
 * the id alone; workers serve every shard.
 */
export function shardOfBatch(batchId: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) {
    throw new EmoflowError('CONFIG_INVALID', `--shards ${shards}: use an integer from 1 to 1024`);
  }
  return createHash('sha256').update(batchId, 'utf8').digest().readUInt32BE(0) % shards;
}
