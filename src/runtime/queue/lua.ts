import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

const shas = new Map<string, string>();

/**
 * Runs a Lua script by its sha1 (EVALSHA), sending its text only when Redis does not know it
 * yet (NOSCRIPT): a script run once per sample costs its arguments on the wire, not its body.
 * On a Redis Cluster every key of a script must be in one slot (emoflow's scripts touch keys of
 * one batch, all under its shard's hash-tagged prefix); the script runs on that slot's master.
 */
export async function runLua(
  redis: RedisClient,
  script: string,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}
