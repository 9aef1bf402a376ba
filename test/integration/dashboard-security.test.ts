import { request } from 'node:http';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { isEmoflowError } from '../../src/core/errors.js';
import { redisOptions } from '../../src/runtime/queue/connection.js';
import {
  allowedHostsFrom,
  parseHostPort,
  startDashboard,
  stopDashboard,
  type DashboardOptions,
  type RunningDashboard,
} from '../../src/runtime/queue/dashboard.js';
import { dashboardProcess } from '../support/dashboard.js';
import { cleanPrefix, REDIS_URL, uniquePrefix } from '../support/queue.js';

const dashboards: RunningDashboard[] = [];
const queues: Queue[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const d of dashboards.splice(0)) await stopDashboard(d);
  for (const q of queues.splice(0)) await q.close();
  for (const p of prefixes.splice(0)) await cleanPrefix(REDIS_URL, p);
});

async function start(options: Partial<DashboardOptions> = {}): Promise<RunningDashboard> {
  const prefix = uniquePrefix('dsec');
  prefixes.push(prefix);
  const d = await startDashboard({ redisUrl: REDIS_URL, prefix, port: 0, ...options });
  dashboards.push(d);
  return d;
}

function queueOf(d: RunningDashboard, name: string): Queue {
  const q = new Queue(name, { connection: redisOptions(REDIS_URL), prefix: d.prefix });
  queues.push(q);
  return q;
}

interface Reply {
  status: number;
  body: string;
}

/**
 * One HTTP request to the dashboard's port on 127.0.0.1 with the headers as given, Host
 * included (fetch does not let a caller set Host, a browser under DNS rebinding does).
 */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** bull-board's "add job" action on the text queue. */
function addJob(d: RunningDashboard, headers: Record<string, string>): Promise<Reply> {
  return send(
    d.port,
    'POST',
    '/api/queues/text/add',
    { host: `127.0.0.1:${d.port}`, 'content-type': 'application/json', ...headers },
    JSON.stringify({ name: 'from-the-board', data: { text: 'hello' }, options: {} }),
  );
}

describe('the dashboard checks Host and Origin (DNS rebinding)', () => {
  it('answers its loopback names on its port, and refuses any other name with 403', async () => {
    const d = await start();
    for (const host of [
      `127.0.0.1:${d.port}`,
      `localhost:${d.port}`,
      `LOCALHOST:${d.port}`,
      `[::1]:${d.port}`,
    ]) {
      for (const path of ['/', '/api/queues', '/metrics']) {
        expect((await send(d.port, 'GET', path, { host })).status, `${host} ${path}`).toBe(200);
      }
    }
    for (const host of [
      `rebind.attacker.test:${d.port}`,
      'rebind.attacker.test',
      `127.0.0.1:${d.port + 1}`,
      '127.0.0.1',
      `localhost.:${d.port}`,
      `evil@127.0.0.1:${d.port}`,
      '',
    ]) {
      for (const path of ['/', '/api/queues', '/metrics']) {
        const r = await send(d.port, 'GET', path, { host });
        expect(r.status, `${host} ${path}`).toBe(403);
        expect(r.body).toBe('host not allowed (see --allowed-host)\n');
      }
    }
  });

  it('refuses a foreign Origin, on a write and on a read, before anything happens', async () => {
    const d = await start({ readOnly: false });
    const text = queueOf(d, 'text');
    for (const origin of [
      'http://rebind.attacker.test',
      `http://127.0.0.1:${d.port + 1}`,
      'null',
      'file://',
    ]) {
      const write = await addJob(d, { origin });
      expect(write.status, origin).toBe(403);
      expect(write.body).toBe('origin not allowed\n');
      expect((await send(d.port, 'GET', '/api/queues', { host: `127.0.0.1:${d.port}`, origin })).status).toBe(
        403,
      );
    }
    expect(await text.count()).toBe(0);
    // A write from another of its names is another origin to a browser: refused as well.
    const sibling = await addJob(d, { origin: `http://localhost:${d.port}` });
    expect(sibling.status).toBe(403);
    expect(sibling.body).toBe('cross-origin request refused\n');
    expect(await text.count()).toBe(0);
    // Its own origin is fine.
    const own = await addJob(d, { origin: `http://127.0.0.1:${d.port}` });
    expect(own.status, own.body).toBe(200);
    expect(await text.count()).toBe(1);
  });

  it('accepts the names given with --allowed-host (any port, or the one written)', async () => {
    const d = await start({ allowedHosts: ['Dash.Example.test', 'proxy.example.test:8443'] });
    const get = (host: string, origin?: string) =>
      send(d.port, 'GET', '/api/queues', { host, ...(origin === undefined ? {} : { origin }) });
    expect((await get('dash.example.test')).status).toBe(200);
    expect((await get('dash.example.test:443', 'https://dash.example.test')).status).toBe(200);
    expect((await get('proxy.example.test:8443', 'https://proxy.example.test:8443')).status).toBe(200);
    expect((await get('proxy.example.test')).status).toBe(403);
    expect((await get('proxy.example.test:8443', 'https://proxy.example.test')).status).toBe(403);
    expect((await get('other.example.test')).status).toBe(403);
    // Still its own names.
    expect((await get(`127.0.0.1:${d.port}`)).status).toBe(200);

    const bad = await startDashboard({ redisUrl: REDIS_URL, port: 0, allowedHosts: ['http://x/'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEmoflowError(bad, 'CONFIG_INVALID')).toBe(true);
    expect(allowedHostsFrom([], { EMOFLOW_DASHBOARD_ALLOWED_HOSTS: 'a.test, b.test:81' })).toEqual([
      'a.test',
      'b.test:81',
    ]);
    expect(allowedHostsFrom(['c.test'], { EMOFLOW_DASHBOARD_ALLOWED_HOSTS: 'a.test' })).toEqual(['c.test']);
    expect(parseHostPort('[::1]:3000')).toEqual({ name: '[::1]', port: 3000 });
    expect(parseHostPort('127.1:80')).toEqual({ name: '127.0.0.1', port: 80 });
    expect(parseHostPort('a/b')).toBeUndefined();
  });

  it("bound on every address, answers the machine's addresses and refuses other names", async () => {
    const d = await start({ host: '0.0.0.0', auth: 'ops:pw' });
    const authorization = basic('ops', 'pw');
    expect(
      (await send(d.port, 'GET', '/api/queues', { host: `127.0.0.1:${d.port}`, authorization })).status,
    ).toBe(200);
    const rebound = await send(d.port, 'GET', '/api/queues', {
      host: `rebind.attacker.test:${d.port}`,
      authorization,
    });
    expect(rebound.status).toBe(403);
  });
});

describe('bull-board actions need credentials', () => {
  it('is read-only without credentials: the API refuses writes and the queue is untouched', async () => {
    const d = await start();
    expect(d.readOnly).toBe(true);
    const text = queueOf(d, 'text');
    await text.add('existing', {});
    const host = `127.0.0.1:${d.port}`;
    const add = await addJob(d, {});
    expect(add.status).toBe(403);
    expect(add.body).toContain('read-only');
    expect((await send(d.port, 'PUT', '/api/queues/pause', { host })).status).toBe(403);
    expect((await send(d.port, 'PUT', '/api/queues/text/clean/waiting', { host })).status).toBe(403);
    expect((await send(d.port, 'DELETE', '/api/queues/text', { host })).status).toBe(403);
    expect(await text.count()).toBe(1);
    expect(await text.isPaused()).toBe(false);
    // The UI is told, so it shows no buttons.
    const api = JSON.parse((await send(d.port, 'GET', '/api/queues', { host })).body) as {
      queues: { name: string; readOnlyMode: boolean }[];
    };
    expect(api.queues.map((q) => q.readOnlyMode)).toEqual([true, true, true, true]);
  });

  it('with credentials, a write without them is 401 and with them works', async () => {
    const d = await start({ auth: 'ops:s3cret' });
    expect(d.readOnly).toBe(false);
    const text = queueOf(d, 'text');
    const host = `127.0.0.1:${d.port}`;
    expect((await addJob(d, {})).status).toBe(401);
    expect((await addJob(d, { authorization: basic('ops', 'wrong') })).status).toBe(401);
    expect(await text.count()).toBe(0);
    const ok = await addJob(d, { authorization: basic('ops', 's3cret') });
    expect(ok.status, ok.body).toBe(200);
    expect(await text.count()).toBe(1);
    const [job] = await text.getJobs(['waiting']);
    expect(job?.name).toBe('from-the-board');
    const pause = await send(d.port, 'PUT', '/api/queues/pause', {
      host,
      authorization: basic('ops', 's3cret'),
    });
    expect(pause.status).toBe(200);
    expect(await text.isPaused()).toBe(true);
  });

  it('read-only can be forced with credentials, and lifted on loopback without them', async () => {
    const locked = await start({ auth: 'ops:pw', readOnly: true });
    expect((await addJob(locked, { authorization: basic('ops', 'pw') })).status).toBe(403);
    expect(await queueOf(locked, 'text').count()).toBe(0);

    const open = await start({ readOnly: false });
    expect((await addJob(open, {})).status).toBe(200);
    expect(await queueOf(open, 'text').count()).toBe(1);
  });
});

describe('the dashboard command', () => {
  const command = (args: string[], env: Record<string, string>) => dashboardProcess(args, env);

  it('takes Redis from EMOFLOW_REDIS_URL, allowed hosts from flags and environment, and --read-only', async () => {
    const prefix = uniquePrefix('dsec-cli');
    prefixes.push(prefix);
    const run = command(
      ['--prefix', prefix, '--port', '0', '--allowed-host', 'flag.example.test', '--read-only', 'false'],
      { EMOFLOW_REDIS_URL: REDIS_URL, EMOFLOW_DASHBOARD_ALLOWED_HOSTS: 'env.example.test' },
    );
    try {
      for (const deadline = Date.now() + 15_000; !run.out().includes('\n') && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 50));
      const port = Number(/:(\d+)\//.exec(run.out())?.[1]);
      expect(port, run.out() + run.err()).toBeGreaterThan(0);
      expect((await send(port, 'GET', '/metrics', { host: 'flag.example.test' })).status).toBe(200);
      // The flag replaces the variable.
      expect((await send(port, 'GET', '/metrics', { host: 'env.example.test' })).status).toBe(403);
      const add = await send(
        port,
        'POST',
        '/api/queues/text/add',
        { host: `localhost:${port}`, 'content-type': 'application/json' },
        JSON.stringify({ name: 'n', data: {}, options: {} }),
      );
      expect(add.status, add.body).toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    }
  });

  it('refuses a bad --read-only value and a bad EMOFLOW_DASHBOARD_ALLOWED_HOSTS in one line', async () => {
    const bad = command(['--read-only', 'maybe', '--port', '0'], {});
    expect(await bad.exit).toBe(2);
    expect(bad.err()).toMatch(/^emoflow: CONFIG_INVALID: .*--read-only.*\n$/);
    const badHost = command(['--port', '0'], { EMOFLOW_DASHBOARD_ALLOWED_HOSTS: 'https://x.test/' });
    expect(await badHost.exit).toBe(2);
    expect(badHost.err()).toMatch(/^emoflow: CONFIG_INVALID: --allowed-host 'https:\/\/x\.test\/'.*\n$/);
  });
});
