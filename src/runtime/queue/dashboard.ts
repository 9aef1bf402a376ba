import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { EmoflowError } from '../../core/errors.js';
import { checkPrefix, connectRedis, DEFAULT_PREFIX, QUEUE_NAMES } from './connection.js';
import { startQueueMetrics } from './metrics.js';

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DEFAULT_DASHBOARD_PORT = 3000;
/** Environment variables read (by the command) when the flags are not given. */
export const AUTH_ENV = 'EMOFLOW_DASHBOARD_AUTH';
export const METRICS_TOKEN_ENV = 'EMOFLOW_METRICS_TOKEN';

export interface DashboardOptions {
  redisUrl: string;
  prefix?: string;
  host?: string;
  /** 0 picks a free port; the running dashboard reports the real one. */
  port?: number;
  /** `user:password` for HTTP Basic on every route. Required when `host` is not a loopback address. */
  auth?: string | undefined;
  /** A bearer token that also opens `/metrics` (for a scraper that should not hold the Basic password). */
  metricsToken?: string | undefined;
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
}

/** What a request must present. No Basic credentials means the routes are open (loopback only). */
export interface DashboardAccess {
  basic: { user: string; password: string } | undefined;
  metricsToken: string | undefined;
}

/** The credentials of the flags, else of the environment; an empty variable counts as unset. */
export function credentialsFrom(
  flags: { auth?: string | undefined; metricsToken?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): { auth: string | undefined; metricsToken: string | undefined } {
  const orEnv = (flag: string | undefined, name: string): string | undefined =>
    flag ?? (env[name] === '' ? undefined : env[name]);
  return { auth: orEnv(flags.auth, AUTH_ENV), metricsToken: orEnv(flags.metricsToken, METRICS_TOKEN_ENV) };
}

/** True for names and addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Checks the access settings before anything connects: a dashboard reachable from other
 * machines can pause, empty and obliterate queues, so it never starts there without a password.
 */
export function resolveAccess(options: {
  host: string;
  auth?: string | undefined;
  metricsToken?: string | undefined;
}): DashboardAccess {
  let basic: DashboardAccess['basic'];
  if (options.auth !== undefined) {
    // RFC 7617: the user id cannot contain ':', the password can.
    const colon = options.auth.indexOf(':');
    if (colon <= 0 || colon === options.auth.length - 1) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `--auth / ${AUTH_ENV} must be user:password with both parts non-empty`,
      );
    }
    basic = { user: options.auth.slice(0, colon), password: options.auth.slice(colon + 1) };
  }
  if (options.metricsToken !== undefined && options.metricsToken.trim() === '') {
    throw new EmoflowError('CONFIG_INVALID', `--metrics-token / ${METRICS_TOKEN_ENV} must not be blank`);
  }
  if (basic === undefined && !isLoopback(options.host)) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--host ${options.host} is reachable from other machines: give --auth user:password or set ${AUTH_ENV}`,
    );
  }
  return { basic, metricsToken: options.metricsToken };
}

/** Compares secrets in time independent of where they differ (hashing first evens the lengths). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The credential an Authorization header carries, if it is one of the two schemes accepted. */
function presented(header: string | undefined): { scheme: 'basic' | 'bearer'; value: string } | undefined {
  const m = /^(basic|bearer)\s+(\S+)\s*$/i.exec(header ?? '');
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase() as 'basic' | 'bearer';
  return { scheme, value: scheme === 'basic' ? Buffer.from(m[2]!, 'base64').toString('utf8') : m[2]! };
}

/**
 * HTTP Basic on every route when credentials are set; `/metrics` also takes the bearer token.
 * A 401 names the schemes the route accepts, so browsers show their password prompt.
 */
function authMiddleware(access: DashboardAccess) {
  const expectedBasic =
    access.basic === undefined ? undefined : `${access.basic.user}:${access.basic.password}`;
  return (req: Request, res: Response, next: NextFunction): void => {
    // Express matches routes case-insensitively and ignores a trailing slash: so must this.
    const isMetrics = req.path.toLowerCase().replace(/\/+$/, '') === '/metrics';
    const token = isMetrics ? access.metricsToken : undefined;
    if (expectedBasic === undefined && token === undefined) return next();
    const given = presented(req.headers.authorization);
    const ok =
      (given?.scheme === 'basic' && expectedBasic !== undefined && sameSecret(given.value, expectedBasic)) ||
      (given?.scheme === 'bearer' && token !== undefined && sameSecret(given.value, token));
    if (ok) return next();
    const challenges: string[] = [];
    if (expectedBasic !== undefined) challenges.push('Basic realm="emoflow dashboard", charset="UTF-8"');
    if (token !== undefined) challenges.push('Bearer realm="emoflow metrics"');
    res.set('WWW-Authenticate', challenges).status(401).type('text/plain').send('authentication required\n');
  };
}

/**
 * Refuses state-changing requests sent by a page of another origin: browsers attach cached
 * Basic credentials to those too, and bull-board's buttons pause, empty and remove jobs.
 */
function sameOriginWrites(req: Request, res: Response, next: NextFunction): void {
  const origin = req.headers.origin;
  if (req.method === 'GET' || req.method === 'HEAD' || origin === undefined) return next();
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost !== undefined && originHost === req.headers.host) return next();
  res.status(403).type('text/plain').send('cross-origin request refused\n');
}

/**
 * The dashboard's routes: authentication first, then `/metrics`, then bull-board (its UI at `/`,
 * its API under `/api`).
 */
export function buildDashboardApp(
  queues: readonly Queue[],
  registry: Registry,
  access: DashboardAccess,
  prefix: string,
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(authMiddleware(access));
  app.use(sameOriginWrites);
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
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: `emoflow ${prefix}` } },
  });
  app.use('/', board.getRouter() as express.Router);
  return app;
}

const running = new WeakMap<RunningDashboard, () => Promise<void>>();

/**
 * Connects to Redis, opens the four queues under `prefix`, and serves bull-board and `/metrics`.
 * Throws CONFIG_INVALID (access settings, port in use) or REDIS_UNAVAILABLE, having released
 * whatever it had opened.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const access = resolveAccess({ host, auth: options.auth, metricsToken: options.metricsToken });
  const onError = options.onError ?? (() => {});

  const redis = await connectRedis(options.redisUrl, options.redisTimeoutMs);
  // One shared connection for the queues (BullMQ leaves a passed-in connection open on close).
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: redis, prefix }));
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
    const server = await listen(buildDashboardApp(queues, metrics.registry, access, prefix), host, port);
    closers.push(() => closeServer(server));
    const actual = (server.address() as AddressInfo).port;
    const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const dashboard: RunningDashboard = { host, port: actual, url: `http://${urlHost}:${actual}/`, prefix };
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
