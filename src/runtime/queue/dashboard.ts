import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { EmoflowError } from '../../core/errors.js';
import { connectRedisClient, DEFAULT_PREFIX, QUEUE_NAMES } from './connection.js';
import {
  accessGuards,
  DEFAULT_DASHBOARD_HOST,
  resolveAccess,
  type DashboardAccess,
} from './dashboard-access.js';
import { defaultShards, queueLayout } from './layout.js';
import { startQueueMetrics } from './metrics.js';

export const DEFAULT_DASHBOARD_PORT = 3000;
export {
  ALLOWED_HOSTS_ENV,
  allowedHostsFrom,
  AUTH_ENV,
  credentialsFrom,
  isLoopback,
  DEFAULT_DASHBOARD_HOST,
  METRICS_TOKEN_ENV,
  parseHostPort,
  resolveAccess,
  type AllowedHost,
  type DashboardAccess,
} from './dashboard-access.js';

export interface DashboardOptions {
  redisUrl: string;
  prefix?: string;
  /**
   * Shards of the deployment (default `$EMOFLOW_SHARDS`, else 1): with several, the dashboard
   * shows the four queues of every shard, each named `<shard prefix>:<queue>`.
   */
  shards?: number;
  host?: string;
  /** 0 picks a free port; the running dashboard reports the real one. */
  port?: number;
  /** `user:password` for HTTP Basic on every route. Required when `host` is not a loopback address. */
  auth?: string | undefined;
  /** A bearer token that also opens `/metrics` (for a scraper that should not hold the Basic password). */
  metricsToken?: string | undefined;
  /**
   * Names the dashboard is reached by, beyond its listening address's own (`name` for any port,
   * `name:port` for one): a reverse proxy's public name, say. Requests whose Host or Origin
   * names anything else are refused (DNS rebinding).
   */
  allowedHosts?: readonly string[] | undefined;
  /** Refuse bull-board's actions (retry, add, clean, pause, …). Default: read-only unless `auth` is set. */
  readOnly?: boolean | undefined;
  /** How long to wait for Redis before REDIS_UNAVAILABLE. */
  redisTimeoutMs?: number;
  /** Errors after start (Redis connection lost, an event that could not be read). */
  onError?: (error: Error) => void;
}

export interface RunningDashboard {
  host: string;
  port: number;
  /** `http://host:port/`, with the real port when 0 was asked for. */
  url: string;
  prefix: string;
  /** The key prefixes shown: one per shard. */
  prefixes: readonly string[];
  /** Whether bull-board's actions are refused. */
  readOnly: boolean;
}

/**
 * The dashboard's routes: the Host and Origin check first, then authentication, the write
 * guards, `/metrics`, and bull-board (its UI at `/`, its API under `/api`). `listening` is the
 * address and port the server listens on.
 */
export function buildDashboardApp(
  queues: readonly Queue[],
  registry: Registry,
  access: DashboardAccess,
  prefix: string,
  listening: { host: string; port: () => number },
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(...accessGuards(access, listening));
  app.get('/metrics', (_req, res) => {
    registry.metrics().then(
      (text) => res.type(registry.contentType).send(text),
      (e: unknown) =>
        res
          .status(503)
          .type('text/plain')
          .send(`metrics unavailable: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  const board = new ExpressAdapter();
  board.setBasePath('/');
  // Several shards: the same four queue names under each shard's prefix, told apart by it.
  const sharded = new Set(queues.map((q) => q.opts.prefix)).size > 1;
  createBullBoard({
    queues: queues.map(
      (q) =>
        new BullMQAdapter(q, {
          readOnlyMode: access.readOnly,
          ...(sharded ? { prefix: `${q.opts.prefix ?? prefix}:`, delimiter: ':' } : {}),
        }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: `emoflow ${prefix}` } },
  });
  app.use('/', board.getRouter() as express.Router);
  return app;
}

const running = new WeakMap<RunningDashboard, () => Promise<void>>();

/**
 * Connects to Redis (or a Redis Cluster: a `redis+cluster://` URL and a hash-tagged prefix, or
 * several shards), opens the four queues under `prefix` (under each shard's prefix with several
 * shards), and serves bull-board and `/metrics`.
 * Throws CONFIG_INVALID (access settings, port in use) or REDIS_UNAVAILABLE, having released
 * whatever it had opened.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  const layout = queueLayout(
    options.prefix ?? DEFAULT_PREFIX,
    options.shards ?? defaultShards(),
    options.redisUrl,
  );
  const prefix = layout.prefix;
  const access = resolveAccess({
    host,
    auth: options.auth,
    metricsToken: options.metricsToken,
    allowedHosts: options.allowedHosts,
    readOnly: options.readOnly,
  });
  const onError = options.onError ?? (() => {});

  const redis = await connectRedisClient(options.redisUrl, options.redisTimeoutMs);
  // One shared connection for the queues (BullMQ leaves a passed-in connection open on close).
  const queues = layout.prefixes.flatMap((p) =>
    QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix: p })),
  );
  for (const q of queues) q.on('error', onError);
  const closers: (() => Promise<unknown>)[] = [
    async () => {
      await Promise.all(queues.map((q) => q.close()));
      await redis.quit();
    },
  ];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    const metrics = await startQueueMetrics(queues, { connection: redis, prefix, onError });
    closers.push(() => metrics.close());
    let actual = port;
    const app = buildDashboardApp(queues, metrics.registry, access, prefix, { host, port: () => actual });
    const server = await listen(app, host, port);
    closers.push(() => closeServer(server));
    actual = (server.address() as AddressInfo).port;
    const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const dashboard: RunningDashboard = {
      host,
      port: actual,
      url: `http://${urlHost}:${actual}/`,
      prefix,
      prefixes: layout.prefixes,
      readOnly: access.readOnly,
    };
    running.set(dashboard, closeAll);
    return dashboard;
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Closes the HTTP server, the event listeners, the queues and Redis, in that order. */
export async function stopDashboard(dashboard: RunningDashboard): Promise<void> {
  const close = running.get(dashboard);
  running.delete(dashboard);
  if (close !== undefined) await close();
}

function listen(app: Express, host: string, port: number): Promise<Server> {
  const server = createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'is in use (pick another --port, or 0 for a free one)'
          : `cannot be opened (${e.code ?? e.message})`;
      reject(new EmoflowError('CONFIG_INVALID', `--host ${host} --port ${port} ${why}`, { cause: e }));
    });
    server.listen({ host, port }, () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((e) => (e === undefined ? resolve() : reject(e)));
    // Browsers keep connections alive; the dashboard has no request worth waiting for.
    server.closeAllConnections();
  });
}
