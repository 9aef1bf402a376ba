import { Redis, type RedisOptions } from 'ioredis';
import { EmoflowError } from '../../core/errors.js';

/** The four queues of DESIGN.md §8: one per modality, and `fuse` for the parent jobs. */
export const QUEUE_NAMES = ['text', 'image', 'audio', 'fuse'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const DEFAULT_PREFIX = 'emoflow';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Checks a key prefix. BullMQ joins prefix, queue name and id with ':'; a hash-tagged prefix
 * such as `{emoflow}` puts every key of a queue in one Redis Cluster slot.
 */
export function checkPrefix(prefix: string): string {
  if (prefix === '' || /\s/.test(prefix) || prefix.length > 100) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prefix '${prefix}': use a non-empty key prefix without spaces`,
    );
  }
  return prefix;
}

/**
 * ioredis options for a `redis://` or `rediss://` URL (user, password, database number and TLS
 * come from the URL). BullMQ workers need `maxRetriesPerRequest: null`; reconnection backs off
 * up to 2 s, so a Redis restart is ridden out.
 */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--redis '${url}' is not a URL (redis://[user:password@]host:port[/db] or rediss://…)`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--redis '${url}': the scheme must be redis:// or rediss:// (TLS)`,
    );
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new EmoflowError('CONFIG_INVALID', `--redis '${url}': bad database number`);
  const options: RedisOptions = {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  };
  if (u.username !== '') options.username = decodeURIComponent(u.username);
  if (u.password !== '') options.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') options.tls = { servername: u.hostname };
  return options;
}

/** The URL with its password masked, for messages and logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** How long commands try to reach Redis: EMOFLOW_REDIS_TIMEOUT_MS, default 10 s. */
function defaultTimeoutMs(): number {
  const v = Number(process.env['EMOFLOW_REDIS_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

/**
 * A connection that answered PING, or REDIS_UNAVAILABLE once `timeoutMs` has passed without one
 * (ioredis keeps retrying meanwhile). Commands call this first so that a wrong URL is one clear
 * line rather than a hang.
 */
export async function connectRedis(url: string, timeoutMs = defaultTimeoutMs()): Promise<Redis> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true });
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => (lastError = e));
  const deadline = Date.now() + timeoutMs;
  redis.connect().catch((e: Error) => (lastError = e));
  for (;;) {
    try {
      if (redis.status === 'ready') {
        await redis.ping();
        return redis;
      }
    } catch (e) {
      lastError = e as Error;
    }
    if (Date.now() > deadline) {
      redis.disconnect();
      throw new EmoflowError(
        'REDIS_UNAVAILABLE',
        `cannot reach Redis at ${maskUrl(url)} after ${Math.round(timeoutMs / 1000)} s${lastError ? ` (${lastError.message})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
