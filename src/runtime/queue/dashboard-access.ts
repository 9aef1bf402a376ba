import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { EmoflowError } from '../../core/errors.js';

/**
 * Who may do what on the dashboard: the names it answers to (Host and Origin, against DNS
 * rebinding), its credentials (HTTP Basic, and a bearer token for `/metrics`), and whether
 * bull-board's actions are allowed (read-only unless credentials are set).
 */

/** Environment variables read (by the command) when the flags are not given. */
export const AUTH_ENV = 'EMOFLOW_DASHBOARD_AUTH';

/** Where the dashboard listens unless told otherwise: this machine only. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const METRICS_TOKEN_ENV = 'EMOFLOW_METRICS_TOKEN';
export const ALLOWED_HOSTS_ENV = 'EMOFLOW_DASHBOARD_ALLOWED_HOSTS';

/** What a request must present. No Basic credentials means the routes are open (loopback only). */
export interface DashboardAccess {
  basic: { user: string; password: string } | undefined;
  metricsToken: string | undefined;
  /** Requests other than GET, HEAD and OPTIONS are refused. */
  readOnly: boolean;
  /** Host names accepted in Host and Origin beyond the listening address's own. */
  allowedHosts: AllowedHost[];
}

/** An entry of `--allowed-host`: a name (lower case; IPv6 in brackets), and a port or any port. */
export interface AllowedHost {
  name: string;
  port: number | undefined;
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

/** The `--allowed-host` entries, else those of the environment (separated by commas or spaces). */
export function allowedHostsFrom(
  flags: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  if (flags.length > 0) return [...flags];
  return (env[ALLOWED_HOSTS_ENV] ?? '').split(/[\s,]+/).filter((h) => h !== '');
}

/**
 * `name[:port]` of a Host header, an Origin's host or an `--allowed-host` entry: the name lower
 * case (an IPv6 address in brackets, IPv4 in its canonical form), the port if one is written.
 * Undefined for anything else (a path, user info, a bad port).
 */
export function parseHostPort(value: string): { name: string; port: number | undefined } | undefined {
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/i.test(value)) return undefined;
  let u: URL;
  try {
    u = new URL(`http://${value}`);
  } catch {
    return undefined;
  }
  const explicit = /:(\d{1,5})$/.exec(value)?.[1];
  const port = explicit === undefined ? undefined : Number(explicit);
  if (port !== undefined && port > 65535) return undefined;
  return { name: u.hostname.toLowerCase(), port };
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
  allowedHosts?: readonly string[] | undefined;
  readOnly?: boolean | undefined;
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
  const allowedHosts = (options.allowedHosts ?? []).map((entry) => {
    const parsed = parseHostPort(entry.trim());
    if (parsed === undefined) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `--allowed-host '${entry}' / ${ALLOWED_HOSTS_ENV}: give a host name or address, optionally with :port (no scheme or path)`,
      );
    }
    return parsed;
  });
  // Without credentials anyone who reaches the port could press bull-board's buttons: read-only
  // unless asked otherwise (which only a loopback address allows, see above).
  const readOnly = options.readOnly ?? basic === undefined;
  return { basic, metricsToken: options.metricsToken, readOnly, allowedHosts };
}

/** The names (without port) a dashboard listening on `host` is reached by. */
function ownNames(host: string): string[] {
  const bracket = (a: string): string => (isIP(a) === 6 ? `[${a}]` : a);
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const loopback = ['127.0.0.1', 'localhost', '[::1]'];
  if (isLoopback(bare)) return [...loopback, bracket(bare)];
  if (bare === '0.0.0.0' || bare === '::' || bare === '') {
    // Every address of the machine (read per request: interfaces come and go) and its name.
    const addresses = Object.values(networkInterfaces())
      .flat()
      .map((i) => bracket(i!.address.replace(/%.*$/, '')));
    return [...loopback, ...addresses, hostname()];
  }
  return [bracket(bare)];
}

/**
 * A check of the names a request was sent to. A browser sends the name it resolved in Host,
 * and its page's origin in Origin: a page that rebinds its own name to this machine's address
 * (DNS rebinding) gets its own name refused, whatever the address it reached.
 */
function hostCheck(bound: string, port: () => number, extra: readonly AllowedHost[]) {
  const allowed = (target: { name: string; port: number }): boolean => {
    if (extra.some((a) => a.name === target.name && (a.port === undefined || a.port === target.port)))
      return true;
    if (target.port !== port()) return false;
    const own = ownNames(bound).map((n) => parseHostPort(n)?.name);
    return own.includes(target.name);
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const host = parseHostPort(req.headers.host ?? '');
    if (host === undefined || !allowed({ name: host.name, port: host.port ?? 80 })) {
      res.status(403).type('text/plain').send('host not allowed (see --allowed-host)\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    let from: URL | undefined;
    try {
      from = new URL(origin);
    } catch {
      from = undefined;
    }
    const fromHost = from === undefined ? undefined : parseHostPort(from.host);
    const ok =
      from !== undefined &&
      fromHost !== undefined &&
      (from.protocol === 'http:' || from.protocol === 'https:') &&
      allowed({ name: fromHost.name, port: fromHost.port ?? (from.protocol === 'https:' ? 443 : 80) });
    if (!ok) {
      res.status(403).type('text/plain').send('origin not allowed\n');
      return;
    }
    next();
  };
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

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses every request that could change a queue (bull-board's actions are POST, PUT, PATCH, DELETE). */
function readOnlyGuard(req: Request, res: Response, next: NextFunction): void {
  if (READS.has(req.method)) return next();
  res
    .status(403)
    .type('text/plain')
    .send(
      'read-only dashboard: start it with --auth (or --read-only false on loopback) to retry, add, clean or pause\n',
    );
}

/**
 * Refuses state-changing requests sent by a page of another origin: browsers attach cached
 * Basic credentials to those too, and bull-board's buttons pause, empty and remove jobs.
 */
function sameOriginWrites(req: Request, res: Response, next: NextFunction): void {
  const origin = req.headers.origin;
  if (READS.has(req.method) || origin === undefined) return next();
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
 * The checks every request passes, in order: Host and Origin, credentials, cross-origin writes,
 * and, on a read-only dashboard, no writes. `listening` is the address the server listens on
 * and its port (known once it listens, when 0 was asked for).
 */
export function accessGuards(
  access: DashboardAccess,
  listening: { host: string; port: () => number },
): RequestHandler[] {
  const guards: RequestHandler[] = [
    hostCheck(listening.host, listening.port, access.allowedHosts),
    authMiddleware(access),
    sameOriginWrites,
  ];
  if (access.readOnly) guards.push(readOnlyGuard);
  return guards;
}
