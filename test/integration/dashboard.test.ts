import { randomBytes } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isEmoflowError } from '../../src/core/errors.js';
import { QUEUE_NAMES, redisOptions } from '../../src/runtime/queue/connection.js';
import {
  credentialsFrom,
  isLoopback,
  startDashboard,
  stopDashboard,
  type RunningDashboard,
} from '../../src/runtime/queue/dashboard.js';
import { JOB_STATES } from '../../src/runtime/queue/metrics.js';
import { dashboardProcess, metricSample } from '../support/dashboard.js';
import { REDIS_URL } from '../support/queue.js';

const connection = redisOptions(REDIS_URL);

let redis: Redis;
const prefixes: string[] = [];
const dashboards: RunningDashboard[] = [];

/** A prefix of this test run, its keys deleted after the test. */
function uniquePrefix(hashTag = false): string {
  const p = `emoflow-test-dash-${randomBytes(5).toString('hex')}`;
  const prefix = hashTag ? `{${p}}` : p;
  prefixes.push(prefix);
  return prefix;
}

async function deleteKeys(prefix: string): Promise<number> {
  const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + ':*';
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

async function start(options: Parameters<typeof startDashboard>[0]): Promise<RunningDashboard> {
  const d = await startDashboard(options);
  dashboards.push(d);
  return d;
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

async function expectCode(
  promise: Promise<unknown>,
  code: 'CONFIG_INVALID' | 'REDIS_UNAVAILABLE',
): Promise<string> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isEmoflowError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  return (e as Error).message;
}

beforeAll(() => {
  redis = new Redis(connection);
});

afterEach(async () => {
  for (const d of dashboards.splice(0)) await stopDashboard(d);
  for (const p of prefixes.splice(0)) await deleteKeys(p);
});

afterAll(async () => {
  await redis.quit();
});

describe('emoflow dashboard on a loopback address', () => {
  it('serves bull-board over the four queues and Prometheus metrics with exact counts', async () => {
    const prefix = uniquePrefix();
    const errors: Error[] = [];
    const d = await start({ redisUrl: REDIS_URL, prefix, port: 0, onError: (e) => errors.push(e) });
    expect(d.port).toBeGreaterThan(0);
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);

    const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection, prefix })]));
    const text = new Worker(
      'text',
      async () => {
        await new Promise((r) => setTimeout(r, 30));
        return { ok: true };
      },
      { connection, prefix },
    );
    const fuse = new Worker(
      'fuse',
      async () => {
        throw new Error('boom');
      },
      { connection, prefix },
    );
    try {
      const twoDone = new Promise<void>((resolve) => {
        let n = 0;
        text.on('completed', () => ++n === 2 && resolve());
      });
      const oneFailed = new Promise<void>((resolve) => fuse.once('failed', () => resolve()));
      await queues['text']!.add('t', { i: 1 });
      await queues['text']!.add('t', { i: 2 });
      await queues['audio']!.add('a', {});
      await queues['image']!.add('i', {}, { delay: 60_000 });
      await queues['fuse']!.add('f', {});
      await Promise.all([twoDone, oneFailed]);
      await fuse.close();

      // Completion events reach the histogram asynchronously: wait until both are observed.
      let metrics = '';
      for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
        const res = await fetch(`${d.url}metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        metrics = await res.text();
        if (metricSample(metrics, 'emoflow_job_processing_seconds_count', { queue: 'text' }) === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      const jobs = (queue: string, state: string): number | undefined =>
        metricSample(metrics, 'emoflow_queue_jobs', { queue, state, prefix });
      for (const q of QUEUE_NAMES) for (const s of JOB_STATES) expect(jobs(q, s), `${q} ${s}`).toBeDefined();
      expect(jobs('text', 'completed')).toBe(2);
      expect(jobs('text', 'waiting')).toBe(0);
      expect(jobs('audio', 'waiting')).toBe(1);
      expect(jobs('image', 'delayed')).toBe(1);
      expect(jobs('image', 'waiting')).toBe(0);
      expect(jobs('fuse', 'failed')).toBe(1);
      expect(jobs('fuse', 'completed')).toBe(0);

      expect(metricSample(metrics, 'emoflow_queue_workers', { queue: 'text' })).toBe(1);
      expect(metricSample(metrics, 'emoflow_queue_workers', { queue: 'fuse' })).toBe(0);
      expect(metricSample(metrics, 'emoflow_queue_workers', { queue: 'audio' })).toBe(0);

      // The histogram holds exactly the two text jobs' processing times, read back independently.
      const done = (await queues['text']!.getJobs(['completed'])) as Job[];
      const seconds = done.map((j) => (j.finishedOn! - j.processedOn!) / 1000);
      expect(seconds).toHaveLength(2);
      const h = (suffix: string, labels: Record<string, string>): number | undefined =>
        metricSample(metrics, `emoflow_job_processing_seconds${suffix}`, { queue: 'text', ...labels });
      expect(h('_count', {})).toBe(2);
      expect(h('_bucket', { le: '+Inf' })).toBe(2);
      expect(h('_sum', {})).toBeCloseTo(seconds[0]! + seconds[1]!, 6);
      expect(h('_bucket', { le: '0.005' })).toBe(seconds.filter((s) => s <= 0.005).length);
      expect(metricSample(metrics, 'emoflow_job_processing_seconds_count', { queue: 'fuse' })).toBe(0);

      const page = await fetch(d.url);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('id="root"');
      expect(html).toContain(`emoflow ${prefix}`);

      const api = await fetch(`${d.url}api/queues`);
      expect(api.status).toBe(200);
      const body = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
      expect(body.queues.map((q) => q.name).sort()).toEqual(['audio', 'fuse', 'image', 'text']);
      expect(body.queues.find((q) => q.name === 'text')!.counts['completed']).toBe(2);
      expect(body.queues.find((q) => q.name === 'audio')!.counts['waiting']).toBe(1);

      // A page of another origin cannot press bull-board's buttons.
      const csrf = await fetch(`${d.url}api/queues/pause`, {
        method: 'PUT',
        headers: { origin: 'http://evil.example' },
      });
      expect(csrf.status).toBe(403);
      expect(await queues['text']!.isPaused()).toBe(false);

      expect(errors).toEqual([]);
    } finally {
      await text.close();
      await fuse.close();
      await Promise.all(Object.values(queues).map((q) => q.close()));
    }
  });

  it('works under a hash-tagged prefix, keeping every key of a queue in one cluster slot', async () => {
    const prefix = uniquePrefix(true);
    const d = await start({ redisUrl: REDIS_URL, prefix, port: 0 });
    const fuse = new Queue('fuse', { connection, prefix });
    try {
      await fuse.add('f', {});
      const keys = await redis.keys(`${prefix.replace(/[{}]/g, '\\$&')}:fuse:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.startsWith(`${prefix}:fuse:`))).toBe(true);

      const metrics = await (await fetch(`${d.url}metrics`)).text();
      expect(metricSample(metrics, 'emoflow_queue_jobs', { queue: 'fuse', state: 'waiting', prefix })).toBe(
        1,
      );
      const body = (await (await fetch(`${d.url}api/queues`)).json()) as {
        queues: { name: string; counts: Record<string, number> }[];
      };
      expect(body.queues.find((q) => q.name === 'fuse')!.counts['waiting']).toBe(1);
    } finally {
      await fuse.close();
    }
  });

  it('says REDIS_UNAVAILABLE when Redis does not answer, and CONFIG_INVALID when the port is taken', async () => {
    await expectCode(
      startDashboard({ redisUrl: 'redis://127.0.0.1:1', port: 0, redisTimeoutMs: 300 }),
      'REDIS_UNAVAILABLE',
    );
    const prefix = uniquePrefix();
    const first = await start({ redisUrl: REDIS_URL, prefix, port: 0 });
    const message = await expectCode(
      startDashboard({ redisUrl: REDIS_URL, prefix, port: first.port }),
      'CONFIG_INVALID',
    );
    expect(message).toContain('in use');
    expect((await fetch(`${first.url}metrics`)).status).toBe(200);
  });
});

describe('emoflow dashboard on a public address', () => {
  it('refuses to start without credentials, before connecting to Redis', async () => {
    // An unreachable Redis: the access check must fail first, or this would be REDIS_UNAVAILABLE.
    const down = { redisUrl: 'redis://127.0.0.1:1', port: 0, redisTimeoutMs: 300 };
    const message = await expectCode(startDashboard({ ...down, host: '0.0.0.0' }), 'CONFIG_INVALID');
    expect(message).toContain('--auth');
    expect(message).not.toContain('\n');
    await expectCode(startDashboard({ ...down, host: '0.0.0.0', metricsToken: 't' }), 'CONFIG_INVALID');
    await expectCode(startDashboard({ ...down, host: '0.0.0.0', auth: 'no-colon' }), 'CONFIG_INVALID');
    await expectCode(startDashboard({ ...down, host: '0.0.0.0', auth: 'user:' }), 'CONFIG_INVALID');
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.4', 'example.com', '128.0.0.1'].some(isLoopback)).toBe(false);
  });

  it('asks for Basic credentials on every route, and takes the bearer token on /metrics only', async () => {
    const d = await start({
      redisUrl: REDIS_URL,
      prefix: uniquePrefix(),
      host: '0.0.0.0',
      port: 0,
      auth: 'ops:pa:ss',
      metricsToken: 'scrape-me',
    });
    expect(d.url).toBe(`http://0.0.0.0:${d.port}/`);
    const base = `http://127.0.0.1:${d.port}/`;
    const get = (path: string, authorization?: string): Promise<Response> =>
      fetch(base + path, authorization === undefined ? {} : { headers: { authorization } });

    for (const path of ['', 'api/queues', 'metrics', 'queue/text', 'no-such-page']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toContain('Basic realm="emoflow dashboard"');
    }
    expect((await get('metrics')).headers.get('www-authenticate')).toContain('Bearer');
    expect((await get('', basic('ops', 'wrong'))).status).toBe(401);
    expect((await get('', basic('op', 'pa:ss'))).status).toBe(401);
    expect((await get('api/queues', 'Bearer scrape-me')).status).toBe(401);
    expect((await get('metrics', 'Bearer scrape-mf')).status).toBe(401);

    expect((await get('', basic('ops', 'pa:ss'))).status).toBe(200);
    const api = await get('api/queues', basic('ops', 'pa:ss'));
    expect(api.status).toBe(200);
    expect(((await api.json()) as { queues: unknown[] }).queues).toHaveLength(4);
    expect((await get('metrics', basic('ops', 'pa:ss'))).status).toBe(200);
    const scraped = await get('metrics', 'Bearer scrape-me');
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('emoflow_queue_jobs{');
  });

  it('on loopback, a metrics token alone guards /metrics however it is spelled, and nothing else', async () => {
    const d = await start({
      redisUrl: REDIS_URL,
      prefix: uniquePrefix(),
      port: 0,
      metricsToken: 'scrape-me',
    });
    for (const path of ['metrics', 'METRICS', 'metrics/']) {
      const res = await fetch(d.url + path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toBe('Bearer realm="emoflow metrics"');
      const ok = await fetch(d.url + path, { headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.status, path).toBe(200);
    }
    expect((await fetch(`${d.url}api/queues`)).status).toBe(200);
  });

  it('takes credentials from the environment when the flags do not give them', () => {
    const env = { EMOFLOW_DASHBOARD_AUTH: 'a:b', EMOFLOW_METRICS_TOKEN: 'tok' };
    expect(credentialsFrom({}, env)).toEqual({ auth: 'a:b', metricsToken: 'tok' });
    expect(credentialsFrom({ auth: 'c:d', metricsToken: 'x' }, env)).toEqual({
      auth: 'c:d',
      metricsToken: 'x',
    });
    expect(credentialsFrom({}, { EMOFLOW_DASHBOARD_AUTH: '' })).toEqual({
      auth: undefined,
      metricsToken: undefined,
    });
  });
});

describe('the dashboard command', () => {
  /** Runs the built command as main.js would (it is not in commands.ts yet), in its own process. */
  const command = (args: string[]) => dashboardProcess(args);

  it('prints the URL with the real port, serves, and closes cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix();
    const run = command(['--redis', REDIS_URL, '--prefix', prefix, '--port', '0']);
    for (const deadline = Date.now() + 15_000; !run.out().includes('\n') && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = /^dashboard on (http:\/\/127\.0\.0\.1:(\d+)\/) \(metrics at \/metrics\)\n$/.exec(run.out());
    expect(m, run.out() + run.err()).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
    expect((await fetch(`${m![1]}metrics`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.err()).toBe('dashboard closed (SIGTERM)\n');
  });

  it('has --help, and refuses a public host without credentials in one line', async () => {
    const help = command(['--help']);
    expect(await help.exit).toBe(0);
    for (const flag of ['--redis', '--prefix', '--port', '--host', '--auth', '--metrics-token'])
      expect(help.out()).toContain(flag);

    const refused = command(['--redis', REDIS_URL, '--host', '0.0.0.0', '--port', '0']);
    expect(await refused.exit).toBe(2);
    expect(refused.err()).toMatch(/^emoflow: CONFIG_INVALID: --host 0\.0\.0\.0 .*--auth.*\n$/);
  });
});
