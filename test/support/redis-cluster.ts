import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** A local Redis Cluster of the test's own: masters on 127.0.0.1, no replicas. */
export interface RedisClusterHarness {
  /** The nodes' ports, in the order `redis-cli --cluster create` was given them (slot ranges ascending). */
  ports: number[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…`, the URL form emoflow takes. */
  url: string;
  /** Stops every node and deletes their directories. */
  stop(): Promise<void>;
}

/** True if `port` can be listened on at 127.0.0.1 right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port }, () => s.close(() => resolve(true)));
  });
}

/** `count` ports p whose cluster bus port p + 10000 is free too (Redis Cluster needs both). */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if (ports.includes(p) || ports.includes(p + 10_000) || ports.includes(p - 10_000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) ports.push(p);
  }
  return ports;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask(port: number, ...command: string[]): Promise<string> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined); // refused while the node starts: the caller retries
  try {
    await redis.connect();
    return String(await redis.call(command[0]!, ...command.slice(1)));
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts `masters` redis-server processes with cluster mode on (free ports, a temp directory
 * each, no persistence), joins them with `redis-cli --cluster create … --cluster-yes` (which
 * spreads the 16384 slots evenly, in port order) and waits until every node says
 * `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHarness> {
  const ports = await freePorts(masters);
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    for (const port of ports) {
      const dir = await mkdtemp(join(tmpdir(), `emoflow-cluster-${port}-`));
      dirs.push(dir);
      children.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            dir,
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '5000',
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports)
      await waitUntil(async () => (await ask(port, 'PING')) === 'PONG', 10_000, `node ${port}`);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitUntil(
        async () => (await ask(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        20_000,
        `cluster_state:ok on ${port}`,
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, stop };
}
