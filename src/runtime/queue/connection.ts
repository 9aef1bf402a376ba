import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { EmoflowError } from '../../core/errors.js';
import { hashTag } from './shards.js';

/** The four queues of docs/queue.md: one per modality, and `fuse` for the parent jobs. */
export const QUEUE_NAMES = ['text', 'image', 'audio', 'fuse'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const DEFAULT_PREFIX = 'emoflow';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The environment variable that gives every `--redis` flag its default (it keeps a password out of `ps`). */
export const REDIS_URL_ENV = 'EMOFLOW_REDIS_URL';

/** A connection to one Redis, or to a Redis Cluster. BullMQ takes either as `connection`. */
export type RedisClient = Redis | Cluster;

/** Where a `--redis` URL points: one Redis, or the seed nodes of a cluster. */
export type RedisTarget =
  | { kind: 'single'; options: RedisOptions }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; options: ClusterOptions };

/** `$EMOFLOW_REDIS_URL` when set and not empty, else redis://127.0.0.1:6379: the default of `--redis`. */
export function defaultRedisUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const v = env[REDIS_URL_ENV];
  return v === undefined || v.trim() === '' ? DEFAULT_REDIS_URL : v.trim();
}

/**
 * A `--redis` value as a URL: the word `env` stands for `$EMOFLOW_REDIS_URL`, so that commands
 * whose `--redis` has no default (`ingest`, `bench e2e`) can also keep the password off the
 * command line. CONFIG_INVALID if the variable is unset.
 */
export function resolveRedisUrl(
  value: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (value.trim() !== 'env') return value;
  const v = env[REDIS_URL_ENV]?.trim();
  if (v === undefined || v === '' || v === 'env')
    throw new EmoflowError('CONFIG_INVALID', `--redis env: set ${REDIS_URL_ENV} to the Redis URL`);
  return v;
}

/** True for the cluster URL form, `redis+cluster://` or `rediss+cluster://`. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//i.test(resolveRedisUrl(url).trim());
}

/**
 * Checks a key prefix. BullMQ joins prefix, queue name and id with ':'. On a Redis Cluster
 * (`redisUrl` in the cluster form) the prefix must carry a hash tag such as `{emoflow}`, so
 * that every key of a queue is in one slot, as BullMQ's scripts need.
 */
export function checkPrefix(prefix: string, redisUrl?: string): string {
  if (prefix === '' || /\s/.test(prefix) || prefix.length > 100) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prefix '${prefix}': use a non-empty key prefix without spaces`,
    );
  }
  if (redisUrl !== undefined && isClusterUrl(redisUrl) && hashTag(prefix) === undefined) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--prefix '${prefix}': on a Redis Cluster the prefix needs a hash tag, e.g. --prefix '{${prefix.replace(/[{}]/g, '')}}' (BullMQ keeps each queue's keys in one slot)`,
    );
  }
  return prefix;
}

/** Both forms retry the same way: back off up to 2 s, so a Redis restart is ridden out. */
const retryStrategy = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2000);

function invalid(url: string, why: string): EmoflowError {
  return new EmoflowError('CONFIG_INVALID', `--redis '${maskUrl(url)}': ${why}`);
}

/** user and password of a URL's user-info part (percent-decoded). */
function credentials(url: string, userinfo: string): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const [user, password] = colon < 0 ? [userinfo, ''] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  try {
    return {
      ...(user === '' ? {} : { username: decodeURIComponent(user) }),
      ...(password === '' ? {} : { password: decodeURIComponent(password) }),
    };
  } catch {
    throw invalid(url, 'bad %-escape in the user or password');
  }
}

/**
 * The cluster form: `redis+cluster://[user:password@]host1:port1,host2:port2,…` (`rediss+cluster`
 * for TLS). One seed node is enough (the client discovers the others from it); listing several
 * lets it start while one is down. A cluster has database 0 only.
 */
function parseClusterUrl(url: string): RedisTarget {
  const m = /^(rediss?)\+cluster:\/\/([^/?#]*)(\/[^?#]*)?(\?.*)?$/i.exec(url.trim());
  if (m === null) throw invalid(url, 'write redis+cluster://[user:password@]host:port,host:port,…');
  const tls = m[1]!.toLowerCase() === 'rediss';
  const at = m[2]!.lastIndexOf('@');
  const userinfo = at < 0 ? '' : m[2]!.slice(0, at);
  const hostList = at < 0 ? m[2]! : m[2]!.slice(at + 1);
  if (m[3] !== undefined && m[3] !== '/' && m[3] !== '/0')
    throw invalid(url, 'a Redis Cluster has database 0 only: drop the /db part');
  if (m[4] !== undefined) throw invalid(url, 'the cluster form takes no ?options');
  const nodes = hostList.split(',').map((h) => {
    let u: URL;
    try {
      u = new URL(`redis://${h.trim()}`);
    } catch {
      throw invalid(url, `'${h}' is not host:port`);
    }
    if (u.hostname === '' || u.pathname !== '' || u.username !== '')
      throw invalid(url, `'${h}' is not host:port`);
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 6379 : Number(u.port) };
  });
  const nodeOptions: RedisOptions = {
    ...credentials(url, userinfo),
    maxRetriesPerRequest: null,
    // Servernames differ per node: Node's TLS takes each node's host name as its servername.
    ...(tls ? { tls: {} } : {}),
  };
  return {
    kind: 'cluster',
    nodes,
    options: {
      redisOptions: nodeOptions,
      enableReadyCheck: true,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: 2000,
    },
  };
}

/**
 * What a `--redis` URL names. `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS):
 * one Redis; `redis+cluster://[user:password@]host:port,host:port,…` or `rediss+cluster://…`:
 * a Redis Cluster. BullMQ workers need `maxRetriesPerRequest: null`; reconnection backs off up
 * to 2 s.
 */
export function parseRedisUrl(value: string): RedisTarget {
  const url = resolveRedisUrl(value);
  if (isClusterUrl(url)) return parseClusterUrl(url);
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  if (authority.slice(authority.lastIndexOf('@') + 1).includes(',')) {
    throw invalid(
      url,
      `several hosts name a Redis Cluster: write ${maskUrl(url).replace(/^(rediss?):\/\//i, '$1+cluster://')}`,
    );
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(
      url,
      'not a URL (redis://[user:password@]host:port[/db], rediss://… for TLS, redis+cluster://host:port,… for a cluster)',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw invalid(url, 'the scheme must be redis:// or rediss:// (TLS), or redis+cluster:// for a cluster');
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw invalid(url, 'bad database number');
  const options: RedisOptions = {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy,
  };
  if (u.username !== '') options.username = decodeURIComponent(u.username);
  if (u.password !== '') options.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') options.tls = { servername: u.hostname };
  return { kind: 'single', options };
}

/**
 * ioredis options for a single Redis's URL (see `parseRedisUrl`). A cluster URL is CONFIG_INVALID
 * here: BullMQ cannot build a cluster client from options; use `bullConnection`.
 */
export function redisOptions(url: string): RedisOptions {
  const target = parseRedisUrl(url);
  if (target.kind === 'cluster') throw clusterNotSupported(resolveRedisUrl(url));
  return target.options;
}

function clusterNotSupported(url: string): EmoflowError {
  return invalid(
    url,
    'names a Redis Cluster, which this command does not take (the queue commands do; benchmarks measure one Redis): give one Redis as redis://host:port',
  );
}

/** The URL with its password masked, for messages and logs (either URL form). */
export function maskUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url);
  if (m === null) return url;
  const rest = m[2]!;
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0 || colon === userinfo.length - 1) return url;
  return `${m[1]}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

/** How long commands try to reach Redis: EMOFLOW_REDIS_TIMEOUT_MS, default 10 s. */
function defaultTimeoutMs(): number {
  const v = Number(process.env['EMOFLOW_REDIS_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

/** Errors that waiting does not cure: stop at once instead of retrying until the timeout. */
function fatalConnectError(url: string, e: Error): EmoflowError | undefined {
  const text = [e.message, (e as { lastNodeError?: Error }).lastNodeError?.message].join(' ');
  if (/\b(WRONGPASS|NOAUTH)\b|invalid (username-)?password/i.test(text)) {
    return new EmoflowError(
      'REDIS_UNAVAILABLE',
      `Redis at ${maskUrl(url)} refused the credentials (${text.includes('NOAUTH') ? 'NOAUTH: a password is required' : 'WRONGPASS: wrong user or password'}); give them in the URL, user:password@host, preferably through ${REDIS_URL_ENV}`,
    );
  }
  if (/\bNOPERM\b/.test(text)) {
    return new EmoflowError(
      'REDIS_UNAVAILABLE',
      `Redis at ${maskUrl(url)}: the user lacks a permission emoflow needs (${e.message})`,
    );
  }
  if (/cluster support disabled/i.test(text)) {
    return new EmoflowError(
      'CONFIG_INVALID',
      `--redis '${maskUrl(url)}' is in the cluster form, but that Redis is not a cluster node: write redis://host:port`,
    );
  }
  return undefined;
}

/** Resolves once `client` is ready and answers PING; rejects at once on a fatal error, else at the deadline. */
async function waitReady(client: RedisClient, url: string, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  let fatal: EmoflowError | undefined;
  const onError = (e: Error): void => {
    lastError = e;
    fatal ??= fatalConnectError(url, e);
  };
  client.on('error', onError);
  client.on('node error', onError);
  const deadline = Date.now() + timeoutMs;
  client.connect().catch(onError);
  try {
    for (;;) {
      if (fatal !== undefined) throw fatal;
      try {
        if (client.status === 'ready') {
          await client.ping();
          return;
        }
      } catch (e) {
        onError(e as Error);
        if (fatal !== undefined) throw fatal;
      }
      if (Date.now() > deadline) {
        throw new EmoflowError(
          'REDIS_UNAVAILABLE',
          `cannot reach Redis at ${maskUrl(url)} after ${Math.round(timeoutMs / 1000)} s${lastError ? ` (${lastError.message})` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    client.disconnect();
    throw e;
  } finally {
    client.off('error', onError);
    client.off('node error', onError);
    // Later errors (a restart) are retried by ioredis; the owner listens for them if it cares.
    client.on('error', () => undefined);
  }
}

/**
 * A connection to the Redis or Redis Cluster of `url` that answered PING, or an EmoflowError:
 * REDIS_UNAVAILABLE once `timeoutMs` has passed without an answer (ioredis keeps retrying
 * meanwhile), at once for refused credentials (WRONGPASS, NOAUTH) or missing permissions;
 * CONFIG_INVALID at once for a single-Redis URL that points at a cluster node (whose commands
 * would all answer MOVED) or a cluster URL that points at a plain Redis. The client is usable
 * as BullMQ's `connection` (BullMQ leaves a client it was given open on close).
 */
export async function connectRedisClient(
  value: string,
  timeoutMs = defaultTimeoutMs(),
): Promise<RedisClient> {
  const url = resolveRedisUrl(value);
  const target = parseRedisUrl(url);
  if (target.kind === 'cluster') {
    const cluster = new Cluster(target.nodes, { ...target.options, lazyConnect: true });
    await waitReady(cluster, url, timeoutMs);
    return cluster;
  }
  const redis = new Redis({ ...target.options, lazyConnect: true });
  await waitReady(redis, url, timeoutMs);
  const info = await redis.info('cluster').catch(() => ''); // INFO may be denied by an ACL: then skip the check
  if (/^cluster_enabled:1/m.test(info)) {
    redis.disconnect();
    throw invalid(
      url,
      `is a Redis Cluster node (its commands would answer MOVED): write ${maskUrl(url).replace(/^(rediss?):\/\//i, '$1+cluster://')}`,
    );
  }
  return redis;
}

/**
 * `connectRedisClient` for the commands that take one Redis only (the benchmarks, which read one
 * server's counters): a cluster URL is CONFIG_INVALID (see `connectRedisClient` for the other
 * errors). Commands call this first so that a wrong URL is one clear line rather than a hang.
 */
export async function connectRedis(value: string, timeoutMs = defaultTimeoutMs()): Promise<Redis> {
  const url = resolveRedisUrl(value);
  if (isClusterUrl(url)) {
    parseRedisUrl(url); // a malformed cluster URL says what is malformed first
    throw clusterNotSupported(url);
  }
  return (await connectRedisClient(url, timeoutMs)) as Redis;
}

/**
 * BullMQ's `connection` beside a client of `connectRedisClient(url)`: for one Redis, its options
 * (each BullMQ object opens and closes connections of its own); for a cluster, the connected
 * Cluster client itself, shared (BullMQ leaves it open on close; workers duplicate it for their
 * blocking commands).
 */
export function bullConnectionOf(client: RedisClient, url: string): ConnectionOptions {
  if (client instanceof Cluster) return client;
  const target = parseRedisUrl(url);
  return target.kind === 'single' ? target.options : client;
}

/** What BullMQ's Queue, Worker, QueueEvents and FlowProducer take as `connection` for a URL. */
export interface BullConnection {
  connection: ConnectionOptions;
  /** Closes what `bullConnection` opened (BullMQ leaves a client it was given open). */
  close(): Promise<void>;
}

/**
 * BullMQ's `connection` for `url`. One Redis: its options (each BullMQ object opens and closes
 * connections of its own, as before). A cluster: one ioredis Cluster client, not yet connected
 * (BullMQ connects it), that BullMQ objects may share; workers duplicate it for their blocking
 * commands. Call `close()` after closing the BullMQ objects. Check the prefix with
 * `checkPrefix(prefix, url)` first.
 */
export function bullConnection(url: string): BullConnection {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return { connection: target.options, close: async () => undefined };
  const cluster = new Cluster(target.nodes, { ...target.options, lazyConnect: true });
  cluster.on('error', () => undefined); // retried by ioredis; BullMQ reports errors on its objects
  return {
    connection: cluster,
    async close() {
      if (cluster.status === 'end') return;
      await cluster.quit().catch(() => cluster.disconnect());
    },
  };
}
